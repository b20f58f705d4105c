//! Translates a planned query for Meilisearch: words, phrases and negated
//! words become the `q` string (the last word stays a prefix), words limited
//! to one field become `attributesToSearchOn`, filters become a filter
//! expression with every value quoted and escaped (never spliced). What
//! Meilisearch cannot express — fuzzy distances, boosts, `OR` or `NOT`
//! around words, words limited to different fields — is refused with
//! `unsupported_query` naming the construct, never silently changed.

use std::ops::Bound;

use crate::search::plan::{Filter, Node, Value};
use crate::search::request::SortKey;
use crate::search::{SearchError, SearchRequest};

#[derive(Debug, Default, PartialEq)]
pub struct Translation {
    pub q: String,
    pub filter: Option<String>,
    pub sort: Vec<String>,
    pub search_on: Vec<String>,
}

/// Meilisearch ignores the words of `q` after the tenth.
const MAX_QUERY_WORDS: usize = 10;

fn unsupported(what: &str) -> SearchError {
    SearchError::Unsupported(format!("{what} is not supported by the Meilisearch engine"))
}

pub fn translate(request: &SearchRequest) -> Result<Translation, SearchError> {
    let mut words: Vec<String> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    let mut fields: Vec<Option<String>> = Vec::new();
    let mut ends_with_prefix = false;
    let conjuncts = match &request.query {
        Some(Node::And(children)) => children.iter().collect(),
        Some(node) => vec![node],
        None => Vec::new(),
    };
    for node in conjuncts {
        if node.is_filter_only() {
            filters.push(filter(node)?);
            continue;
        }
        let (text, field, prefix) = text_term(node)?;
        words.push(text);
        fields.push(field);
        ends_with_prefix = prefix;
    }
    if words.iter().map(|w| w.split_whitespace().count()).sum::<usize>() > MAX_QUERY_WORDS {
        return Err(unsupported(&format!("a query of more than {MAX_QUERY_WORDS} words")));
    }
    if let Some(f) = &request.filter {
        filters.push(filter(f)?);
    }
    let mut q = words.join(" ");
    if !q.is_empty() && !ends_with_prefix {
        // Meilisearch treats the last word as a prefix unless a separator follows it.
        q.push(' ');
    }
    let mut sort = Vec::new();
    for key in &request.sort {
        sort.push(match key {
            SortKey::Field { field, descending } => format!("{field}:{}", if *descending { "desc" } else { "asc" }),
            SortKey::Distance(p) => format!("_geoPoint({}, {}):asc", p.lat, p.lng),
        });
    }
    if let (Some(radius), Some(p)) = (request.radius_m, request.near()) {
        filters.push(format!("_geoRadius({}, {}, {radius})", p.lat, p.lng));
    }
    let filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(filters.iter().map(|f| format!("({f})")).collect::<Vec<_>>().join(" AND ")),
    };
    Ok(Translation { q, filter, sort, search_on: search_on(fields)? })
}

/// One word or phrase of `q`, possibly negated: (text, field, is a prefix).
fn text_term(node: &Node) -> Result<(String, Option<String>, bool), SearchError> {
    match node {
        Node::Word(w) => {
            if w.fuzzy.is_some() {
                return Err(unsupported(&format!("the fuzzy distance `{}~{}`", w.text, w.fuzzy.unwrap_or(0))));
            }
            if w.boost.is_some() {
                return Err(unsupported(&format!("the boost `{}^…`", w.text)));
            }
            Ok((w.text.clone(), w.field.clone(), w.prefix))
        }
        Node::Phrase(p) => {
            if p.boost.is_some() {
                return Err(unsupported("a boost on a phrase"));
            }
            Ok((format!("\"{}\"", p.words.join(" ")), p.field.clone(), false))
        }
        Node::Not(inner) => match inner.as_ref() {
            Node::Word(_) | Node::Phrase(_) => {
                let (text, field, _) = text_term(inner)?;
                Ok((format!("-{text}"), field, false))
            }
            _ => Err(unsupported("NOT around several words")),
        },
        Node::Or(_) => Err(unsupported("OR between words")),
        Node::And(_) => Err(unsupported("a group of words inside NOT or OR")),
        Node::Filter(_) => Err(unsupported("a filter here")),
    }
}

/// All words must search the same fields: Meilisearch takes one
/// `attributesToSearchOn` for the whole query.
fn search_on(fields: Vec<Option<String>>) -> Result<Vec<String>, SearchError> {
    let Some(first) = fields.first() else { return Ok(Vec::new()) };
    if fields.iter().any(|f| f != first) {
        return Err(unsupported("words limited to different fields (like `title:a artist:b` or `title:a b`)"));
    }
    Ok(first.iter().cloned().collect())
}

fn filter(node: &Node) -> Result<String, SearchError> {
    Ok(match node {
        Node::And(c) => group(c, " AND ")?,
        Node::Or(c) => group(c, " OR ")?,
        Node::Not(c) => format!("NOT ({})", filter(c)?),
        Node::Filter(Filter::Eq { field, value }) => format!("{field} = {}", literal(value)),
        Node::Filter(Filter::Range { field, low, high }) => range(field, low, high),
        Node::Word(_) | Node::Phrase(_) => return Err(unsupported("a word inside a filter")),
    })
}

fn group(children: &[Node], op: &str) -> Result<String, SearchError> {
    let parts = children.iter().map(|c| filter(c).map(|f| format!("({f})"))).collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(op))
}

/// A value as a filter literal: strings double-quoted with `\` and `"`
/// escaped, so a value can never end the literal and inject syntax.
fn literal(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

fn range(field: &str, low: &Bound<i64>, high: &Bound<i64>) -> String {
    match (low, high) {
        (Bound::Included(a), Bound::Included(b)) => format!("{field} {a} TO {b}"),
        (Bound::Unbounded, Bound::Unbounded) => format!("{field} EXISTS"),
        _ => {
            let mut parts = Vec::new();
            match low {
                Bound::Included(a) => parts.push(format!("{field} >= {a}")),
                Bound::Excluded(a) => parts.push(format!("{field} > {a}")),
                Bound::Unbounded => {}
            }
            match high {
                Bound::Included(b) => parts.push(format!("{field} <= {b}")),
                Bound::Excluded(b) => parts.push(format!("{field} < {b}")),
                Bound::Unbounded => {}
            }
            parts.join(" AND ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::request::SearchParams;
    use crate::search::{IndexConfig, IndexName};

    fn translated(q: &str, filter: Option<&str>) -> Result<Translation, SearchError> {
        let params = SearchParams { q: q.into(), filter: filter.map(str::to_string), ..SearchParams::default() };
        translate(&SearchRequest::build(&IndexConfig::shipped(IndexName::Tracks), &params)?)
    }

    #[test]
    fn words_phrases_and_negations_become_q_with_the_prefix_last() {
        let t = translated("\"golden heart\" -live daf", None).expect("translates");
        assert_eq!(t.q, "\"golden heart\" -live daf");
        let t = translated("daft ", None).expect("translates");
        assert_eq!(t.q, "daft ");
    }

    #[test]
    fn fielded_filters_become_an_escaped_filter_expression() {
        let t = translated("love genre:(rock OR pop) year:[1990 TO 1999]", None).expect("translates");
        assert_eq!(t.q, "love ");
        assert_eq!(t.filter.as_deref(), Some("((genre = \"rock\") OR (genre = \"pop\")) AND (year 1990 TO 1999)"));
        let t = translated("", Some(r#"genre:"rock\" OR explicit = true OR \"x""#)).expect("translates");
        assert_eq!(t.filter.as_deref(), Some(r#"genre = "rock\" or explicit = true or \"x""#));
    }

    #[test]
    fn what_meilisearch_cannot_express_is_refused_by_name() {
        for q in ["love~1", "love^2", "love OR hate", "title:love artist:smith", "NOT (a b)"] {
            assert!(matches!(translated(q, None), Err(SearchError::Unsupported(_))), "{q}");
        }
    }

    #[test]
    fn one_field_for_every_word_becomes_attributes_to_search_on() {
        let t = translated("title:golden title:heart", None).expect("translates");
        assert_eq!((t.q.as_str(), t.search_on), ("golden heart", vec!["title".to_string()]));
    }
}
