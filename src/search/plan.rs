//! From a parsed `Query` to what an engine executes: field names checked
//! against the index's settings, words analysed into index tokens, values
//! typed. A fielded term on a *filterable* field is an exact-value filter
//! (`genre:house`, `year:1999`, `explicit:false`); on a searchable-only field
//! it is a word search restricted to that field (`title:love`).

use std::ops::Bound;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};

use super::SearchError;
use super::config::{IndexConfig, Kind};
use super::query::{Query, Range, Term};

/// A query checked against one index.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Word(Word),
    Phrase(Phrase),
    Filter(Filter),
}

/// One analysed word, searched in `field` or in every searchable field.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub field: Option<String>,
    pub text: String,
    pub prefix: bool,
    /// Explicit `~N`; `None` means the index's typo tolerance.
    pub fuzzy: Option<u8>,
    pub boost: Option<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Phrase {
    pub field: Option<String>,
    pub words: Vec<String>,
    pub boost: Option<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Eq { field: String, value: Value },
    Range { field: String, low: Bound<i64>, high: Bound<i64> },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Lower-cased.
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Node {
    /// True when the tree holds only filters (no words or phrases).
    pub fn is_filter_only(&self) -> bool {
        match self {
            Node::And(c) | Node::Or(c) => c.iter().all(Node::is_filter_only),
            Node::Not(c) => c.is_filter_only(),
            Node::Word(_) | Node::Phrase(_) => false,
            Node::Filter(_) => true,
        }
    }
}

/// The analyser both the index and the queries use: words are runs of
/// letters and digits, lower-cased, accents folded (`Beyoncé` → `beyonce`).
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The analyser of exact values (filters): the whole value, lower-cased.
/// Accents stay, as in Meilisearch filters (`são paulo` ≠ `sao paulo`).
pub fn keyword_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).build()
}

pub fn words(text: &str) -> Vec<String> {
    let mut analyzer = text_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

pub fn keyword(text: &str) -> String {
    let mut analyzer = keyword_analyzer();
    let mut stream = analyzer.token_stream(text.trim());
    let mut out = String::new();
    while stream.advance() {
        out.push_str(&stream.token().text);
    }
    out
}

/// Checks `query` against `config`; `None` when nothing searchable is left
/// (only punctuation or stop words).
pub fn plan(query: &Query, config: &IndexConfig) -> Result<Option<Node>, SearchError> {
    match query {
        Query::And(children) => Ok(combine(children, config, Node::And)?),
        Query::Or(children) => Ok(combine(children, config, Node::Or)?),
        Query::Not(child) => Ok(plan(child, config)?.map(|c| Node::Not(Box::new(c)))),
        Query::Term(term) => term_node(term, config),
        Query::Range(range) => range_node(range, config).map(Some),
    }
}

fn combine(
    children: &[Query],
    config: &IndexConfig,
    group: fn(Vec<Node>) -> Node,
) -> Result<Option<Node>, SearchError> {
    let mut nodes = Vec::new();
    for child in children {
        match (plan(child, config)?, group(Vec::new())) {
            // A term that analyses into several words (`hip-hop`) is itself
            // an And: flatten it into the enclosing And.
            (Some(Node::And(inner)), Node::And(_)) => nodes.extend(inner),
            (Some(Node::Or(inner)), Node::Or(_)) => nodes.extend(inner),
            (Some(node), _) => nodes.push(node),
            (None, _) => {}
        }
    }
    Ok(match nodes.len() {
        0 => None,
        1 => nodes.pop(),
        _ => Some(group(nodes)),
    })
}

fn unknown_field(field: &str, config: &IndexConfig) -> SearchError {
    SearchError::UnknownField(format!(
        "`{field}` is not a field of {}; use one of: {}",
        config.name,
        config.queryable_fields().join(", ")
    ))
}

fn term_node(term: &Term, config: &IndexConfig) -> Result<Option<Node>, SearchError> {
    if let Some(field) = &term.field {
        if config.is_filterable(field) {
            return filter_term(field, term, config).map(Some);
        }
        if !config.is_searchable(field) {
            return Err(unknown_field(field, config));
        }
    }
    let words: Vec<String> = words(&term.text);
    if term.phrase {
        if words.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Node::Phrase(Phrase { field: term.field.clone(), words, boost: term.boost })));
    }
    let words: Vec<String> = words.into_iter().filter(|w| !config.stop_words.contains(w)).collect();
    let last = words.len().saturating_sub(1);
    let nodes: Vec<Node> = words
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            Node::Word(Word {
                field: term.field.clone(),
                text,
                prefix: term.prefix && i == last,
                fuzzy: term.fuzzy,
                boost: term.boost,
            })
        })
        .collect();
    Ok(match nodes.len() {
        0 => None,
        1 => nodes.into_iter().next(),
        _ => Some(Node::And(nodes)),
    })
}

fn filter_term(field: &str, term: &Term, config: &IndexConfig) -> Result<Node, SearchError> {
    if term.fuzzy.is_some() || term.boost.is_some() {
        return Err(SearchError::InvalidQuery(format!("`~` and `^` apply to words, not to the filter `{field}:`")));
    }
    let value = typed_value(field, &term.text, config)?;
    Ok(Node::Filter(Filter::Eq { field: field.to_string(), value }))
}

fn typed_value(field: &str, text: &str, config: &IndexConfig) -> Result<Value, SearchError> {
    match config.kind(field) {
        Some(Kind::Int) => text
            .trim()
            .parse()
            .map(Value::Int)
            .map_err(|_| SearchError::InvalidQuery(format!("`{field}` takes a whole number, not `{text}`"))),
        Some(Kind::Bool) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(SearchError::InvalidQuery(format!("`{field}` is true or false, not `{text}`"))),
        },
        Some(Kind::Str) => Ok(Value::Str(keyword(text))),
        Some(Kind::Geo) | None => Err(unknown_field(field, config)),
    }
}

fn range_node(range: &Range, config: &IndexConfig) -> Result<Node, SearchError> {
    let field = &range.field;
    match config.kind(field) {
        Some(Kind::Int) if config.is_filterable(field) => {}
        Some(Kind::Str | Kind::Bool) if config.is_filterable(field) || config.is_searchable(field) => {
            return Err(SearchError::InvalidQuery(format!("ranges work on numbers; `{field}` is not a number")));
        }
        _ => return Err(unknown_field(field, config)),
    }
    let bound = |value: &Option<String>, inclusive: bool| -> Result<Bound<i64>, SearchError> {
        let Some(text) = value else { return Ok(Bound::Unbounded) };
        let n: i64 = text
            .trim()
            .parse()
            .map_err(|_| SearchError::InvalidQuery(format!("`{field}` ranges take whole numbers, not `{text}`")))?;
        Ok(if inclusive { Bound::Included(n) } else { Bound::Excluded(n) })
    };
    Ok(Node::Filter(Filter::Range {
        field: field.clone(),
        low: bound(&range.low, range.low_inclusive)?,
        high: bound(&range.high, range.high_inclusive)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::config::IndexName;
    use crate::search::query::parse;

    fn planned(q: &str) -> Result<Option<Node>, SearchError> {
        let query = parse(q).expect("parses").expect("not empty");
        plan(&query, &IndexConfig::shipped(IndexName::Tracks))
    }

    #[test]
    fn a_filterable_field_becomes_an_exact_filter() {
        let node = planned("genre:Hip-Hop").expect("plans").expect("node");
        assert_eq!(node, Node::Filter(Filter::Eq { field: "genre".into(), value: Value::Str("hip-hop".into()) }));
    }

    #[test]
    fn a_searchable_field_becomes_a_field_search() {
        let Some(Node::Word(word)) = planned("title:Beyoncé").expect("plans") else { panic!("a word") };
        assert_eq!((word.field.as_deref(), word.text.as_str(), word.prefix), (Some("title"), "beyonce", true));
    }

    #[test]
    fn unknown_fields_and_ranges_on_text_are_refused() {
        assert!(matches!(planned("lyrics:love"), Err(SearchError::UnknownField(_))));
        assert!(matches!(planned("title:[a TO b]"), Err(SearchError::InvalidQuery(_))));
        assert!(matches!(planned("year:nineties"), Err(SearchError::InvalidQuery(_))));
        assert!(matches!(planned("explicit:maybe"), Err(SearchError::InvalidQuery(_))));
    }

    #[test]
    fn punctuation_alone_plans_to_nothing() {
        assert_eq!(planned("!!! ???").expect("plans"), None);
    }
}
