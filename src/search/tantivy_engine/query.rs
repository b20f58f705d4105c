//! Executes a planned query tree natively in tantivy. Each word matches in
//! any searchable field (or the one it names): exactly (weighted highest),
//! as a prefix when it is the last word typed, or within the typo budget.
//! Synonyms of a word from the settings match too.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::schema::Fields;
use crate::search::config::IndexConfig;
use crate::search::plan::{self, Filter, Node, Phrase, Value, Word};

/// Weight of an exact word match relative to a prefix or typo match.
const EXACT_WEIGHT: f32 = 3.0;

pub struct Builder<'a> {
    pub config: &'a IndexConfig,
    pub fields: &'a Fields,
}

type Boxed = Box<dyn Query>;

fn boolean(clauses: Vec<(Occur, Boxed)>) -> Boxed {
    Box::new(BooleanQuery::new(clauses))
}

impl Builder<'_> {
    /// The whole request: the query (scored) and the filter (not scored).
    pub fn request(&self, query: Option<&Node>, filter: Option<&Node>, extra: Option<Boxed>) -> Boxed {
        let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
        if let Some(q) = query {
            clauses.push((Occur::Must, self.node(q)));
        }
        if let Some(f) = filter {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(self.node(f), 0.0))));
        }
        if let Some(extra) = extra {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(extra, 0.0))));
        }
        if clauses.is_empty() {
            return Box::new(AllQuery);
        }
        boolean(clauses)
    }

    fn node(&self, node: &Node) -> Boxed {
        match node {
            Node::And(children) => {
                let mut clauses: Vec<(Occur, Boxed)> = children
                    .iter()
                    .map(|c| match c {
                        Node::Not(inner) => (Occur::MustNot, self.negated(inner)),
                        other => (Occur::Must, self.node(other)),
                    })
                    .collect();
                if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                boolean(clauses)
            }
            Node::Or(children) => boolean(children.iter().map(|c| (Occur::Should, self.node(c))).collect()),
            Node::Not(inner) => boolean(vec![(Occur::Must, Box::new(AllQuery)), (Occur::MustNot, self.negated(inner))]),
            Node::Word(word) => self.word(word),
            Node::Phrase(phrase) => self.phrase(phrase),
            Node::Filter(filter) => self.filter(filter),
        }
    }

    /// What a negation excludes: a negated word only as written (no
    /// prefix, typo or synonym), as in Meilisearch.
    fn negated(&self, node: &Node) -> Boxed {
        match node {
            Node::Word(w) => {
                let exact = self.text_fields(w.field.as_deref()).into_iter().map(|(field, _)| {
                    let term = Term::from_field_text(field, &w.text);
                    (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Boxed)
                });
                boolean(exact.collect())
            }
            other => self.node(other),
        }
    }

    /// The fields a word or phrase is searched in, with their weights.
    fn text_fields(&self, field: Option<&str>) -> Vec<(Field, f32)> {
        match field {
            Some(name) => self.fields.text_field(name).into_iter().collect(),
            None => self.fields.text.iter().map(|(_, f, b)| (*f, *b)).collect(),
        }
    }

    fn word(&self, word: &Word) -> Boxed {
        let mut alternatives = vec![self.single_word(word)];
        for synonym in self.config.synonyms.get(&word.text).into_iter().flatten() {
            let words = plan::words(synonym);
            alternatives.push(self.phrase(&Phrase { field: word.field.clone(), words, boost: word.boost }));
        }
        let query = if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            boolean(alternatives.into_iter().map(|q| (Occur::Should, q)).collect())
        };
        match word.boost {
            Some(boost) => Box::new(BoostQuery::new(query, boost)),
            None => query,
        }
    }

    fn single_word(&self, word: &Word) -> Boxed {
        let distance = word.fuzzy.unwrap_or_else(|| self.config.typos.budget(&word.text));
        let per_field = self.text_fields(word.field.as_deref()).into_iter().flat_map(|(field, weight)| {
            let term = Term::from_field_text(field, &word.text);
            let exact: Boxed = Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
            let loose: Option<Boxed> = match (word.prefix, distance) {
                (true, d) => Some(Box::new(FuzzyTermQuery::new_prefix(term, d, true))),
                (false, 0) => None,
                (false, d) => Some(Box::new(FuzzyTermQuery::new(term, d, true))),
            };
            let exact: (Occur, Boxed) = (Occur::Should, Box::new(BoostQuery::new(exact, weight * EXACT_WEIGHT)));
            let loose = loose.map(|q| (Occur::Should, Box::new(BoostQuery::new(q, weight)) as Boxed));
            std::iter::once(exact).chain(loose)
        });
        boolean(per_field.collect())
    }

    fn phrase(&self, phrase: &Phrase) -> Boxed {
        let per_field = self.text_fields(phrase.field.as_deref()).into_iter().map(|(field, weight)| {
            let terms: Vec<Term> = phrase.words.iter().map(|w| Term::from_field_text(field, w)).collect();
            let query: Boxed = if terms.len() == 1 {
                Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::WithFreqs))
            } else {
                Box::new(PhraseQuery::new(terms))
            };
            (Occur::Should, Box::new(BoostQuery::new(query, weight * EXACT_WEIGHT)) as Boxed)
        });
        let query = boolean(per_field.collect());
        match phrase.boost {
            Some(boost) => Box::new(BoostQuery::new(query, boost)),
            None => query,
        }
    }

    fn filter(&self, filter: &Filter) -> Boxed {
        let nothing = || -> Boxed { boolean(vec![(Occur::MustNot, Box::new(AllQuery))]) };
        match filter {
            Filter::Eq { field, value } => {
                let term = match value {
                    Value::Str(s) => self.fields.keyword.get(field).map(|f| Term::from_field_text(*f, s)),
                    Value::Int(n) => self.fields.int.get(field).map(|f| Term::from_field_i64(*f, *n)),
                    Value::Bool(b) => self.fields.boolean.get(field).map(|f| Term::from_field_bool(*f, *b)),
                };
                match term {
                    Some(term) => Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    None => nothing(),
                }
            }
            Filter::Range { field, low, high } => match self.fields.int.get(field) {
                Some(f) => {
                    let term = |n: &i64| Term::from_field_i64(*f, *n);
                    // `[* TO *]` means "has a value" (tantivy needs one bound).
                    let low = match low {
                        Bound::Unbounded => Bound::Included(i64::MIN),
                        bound => *bound,
                    };
                    Box::new(RangeQuery::new(map_bound(&low, term), map_bound(high, term)))
                }
                None => nothing(),
            },
        }
    }
}

pub fn map_bound<T, U>(bound: &Bound<T>, f: impl Fn(&T) -> U) -> Bound<U> {
    match bound {
        Bound::Included(v) => Bound::Included(f(v)),
        Bound::Excluded(v) => Bound::Excluded(f(v)),
        Bound::Unbounded => Bound::Unbounded,
    }
}
