//! `POST /indexes/{uid}/search`: strict parameter validation, then the search
//! semantics our tantivy engine implements too.
//!
//! - Text is lowercased, accent-folded and split into runs of alphanumerics.
//! - `q`: words must all match (matchingStrategy `all`; `last` and `frequency`
//!   are accepted and treated as `all`); `"a phrase"` must appear as
//!   consecutive tokens in one attribute; `-word` / `-"phrase"` at the start
//!   of a chunk must not appear (exactly) in any searched attribute; stop
//!   words are dropped; the last word, when `q` does not end in whitespace,
//!   also matches as a prefix. Typos: 0 below `oneTypo` chars, 1 below
//!   `twoTypos`, else 2 (optimal string alignment distance). Synonyms are
//!   one-way: an alternative's tokens appearing consecutively match the word.
//! - Ranking: `sort` keys, then fewer typos, then the searchable-attribute
//!   rank of the first term's best attribute, then primary key (as a string).
//!   Placeholder search: `sort`, then primary key.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::filter;
use super::settings::View;
use super::store::IndexData;
use super::{ApiError, backticked, check_fields, text, type_error};

const FIELDS: &[&str] = &[
    "q",
    "offset",
    "limit",
    "hitsPerPage",
    "page",
    "filter",
    "facets",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "showRankingScore",
    "showRankingScoreDetails",
    "rankingScoreThreshold",
    "sort",
    "matchingStrategy",
    "attributesToSearchOn",
    "distinct",
    "locales",
    "retrieveVectors",
    "hybrid",
    "vector",
];

/// Validated search parameters.
pub(super) struct Params {
    q: String,
    offset: usize,
    limit: usize,
    page: Option<usize>,
    hits_per_page: Option<usize>,
    filter: Option<Value>,
    facets: Option<Vec<String>>,
    attributes_to_retrieve: Option<Vec<String>>,
    attributes_to_crop: Option<Vec<String>>,
    attributes_to_highlight: Option<Vec<String>>,
    highlight_pre_tag: String,
    highlight_post_tag: String,
    show_matches_position: bool,
    show_ranking_score: bool,
    show_ranking_score_details: bool,
    ranking_score_threshold: Option<f64>,
    sort: Option<Vec<String>>,
    attributes_to_search_on: Option<Vec<String>>,
    distinct: Option<String>,
    hybrid_embedder: Option<String>,
}

fn code(key: &str) -> String {
    format!("invalid_search_{}", super::settings::snake(key))
}

struct Body<'a>(&'a Map<String, Value>);

impl Body<'_> {
    fn fail(&self, key: &str, expected: &str, found: &Value) -> ApiError {
        type_error(&code(key), &format!(".{key}"), expected, found)
    }

    /// A non-negative integer; `null` only when `nullable`.
    fn usize(&self, key: &str, nullable: bool) -> Result<Option<usize>, ApiError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64().map(|n| usize::try_from(n).unwrap_or(usize::MAX))),
            Some(other) => Err(self.fail(key, "a positive integer", other)),
        }
    }

    fn string(&self, key: &str, nullable: bool) -> Result<Option<String>, ApiError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.fail(key, "a string", other)),
        }
    }

    fn bool(&self, key: &str) -> Result<bool, ApiError> {
        match self.0.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.fail(key, "a boolean", other)),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(type_error(&code(key), &format!(".{key}[{i}]"), "a string", other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.fail(key, "an array", other)),
        }
    }
}

/// Validates a search body (types and known fields only; attribute checks need the index).
pub(super) fn parse_params(body: &Value) -> Result<Params, ApiError> {
    let object = body.as_object().ok_or_else(|| type_error("bad_request", "", "an object", body))?;
    check_fields(object, FIELDS)?;
    let b = Body(object);
    let filter = match object.get("filter") {
        None | Some(Value::Null) => None,
        Some(v @ (Value::String(_) | Value::Array(_))) => Some(v.clone()),
        Some(other) => {
            return Err(ApiError::new(
                "invalid_search_filter",
                format!("Invalid syntax for the filter parameter: `expected String, Array, found: {other}`."),
            ));
        }
    };
    if let Some(strategy) = b.string("matchingStrategy", false)?
        && !matches!(strategy.as_str(), "last" | "all" | "frequency")
    {
        return Err(ApiError::new(
            "invalid_search_matching_strategy",
            format!("Unknown value `{strategy}` at `.matchingStrategy`: expected one of `last`, `all`, `frequency`"),
        ));
    }
    let ranking_score_threshold = match object.get("rankingScoreThreshold") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if (0.0..=1.0).contains(&t) => Some(t),
            _ => {
                return Err(ApiError::new(
                    "invalid_search_ranking_score_threshold",
                    format!(
                        "Invalid value at `.rankingScoreThreshold`: the value of `rankingScoreThreshold` is invalid, expected a float between `0.0` and `1.0`, but found `{n}`."
                    ),
                ));
            }
        },
        Some(other) => return Err(b.fail("rankingScoreThreshold", "a number", other)),
    };
    b.usize("cropLength", false)?;
    b.string("cropMarker", false)?;
    b.bool("retrieveVectors")?;
    b.strings("locales")?;
    if let Some(vector) = object.get("vector").filter(|v| !v.is_null())
        && !vector.as_array().is_some_and(|a| a.iter().all(Value::is_number))
    {
        return Err(b.fail("vector", "an array", vector));
    }
    let hybrid_embedder = match object.get("hybrid") {
        None | Some(Value::Null) => None,
        Some(Value::Object(hybrid)) => {
            let allowed = ["embedder", "semanticRatio"];
            if let Some(key) = hybrid.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(super::unknown_field("invalid_search_hybrid_query", ".hybrid", key, &allowed));
            }
            if let Some(ratio) = hybrid.get("semanticRatio")
                && !ratio.as_f64().is_some_and(|r| (0.0..=1.0).contains(&r))
            {
                return Err(ApiError::new(
                    "invalid_search_semantic_ratio",
                    format!(
                        "Invalid value at `.hybrid.semanticRatio`: the value of `semanticRatio` is invalid, expected a float between `0.0` and `1.0`, but found `{ratio}`."
                    ),
                ));
            }
            match hybrid.get("embedder") {
                Some(Value::String(name)) => Some(name.clone()),
                Some(other) => {
                    return Err(type_error("invalid_search_embedder", ".hybrid.embedder", "a string", other));
                }
                None => {
                    return Err(ApiError::new("invalid_search_embedder", "Missing field `embedder` inside `.hybrid`"));
                }
            }
        }
        Some(other) => return Err(type_error("invalid_search_hybrid_query", ".hybrid", "an object", other)),
    };
    if hybrid_embedder.is_none() && object.get("vector").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::new(
            "missing_search_hybrid",
            "Invalid request: missing `hybrid` parameter when `vector` is present.",
        ));
    }
    Ok(Params {
        q: b.string("q", true)?.unwrap_or_default(),
        offset: b.usize("offset", false)?.unwrap_or(0),
        limit: b.usize("limit", false)?.unwrap_or(20),
        page: b.usize("page", true)?,
        hits_per_page: b.usize("hitsPerPage", true)?,
        filter,
        facets: b.strings("facets")?,
        attributes_to_retrieve: b.strings("attributesToRetrieve")?,
        attributes_to_crop: b.strings("attributesToCrop")?,
        attributes_to_highlight: b.strings("attributesToHighlight")?,
        highlight_pre_tag: b.string("highlightPreTag", false)?.unwrap_or_else(|| "<em>".to_string()),
        highlight_post_tag: b.string("highlightPostTag", false)?.unwrap_or_else(|| "</em>".to_string()),
        show_matches_position: b.bool("showMatchesPosition")?,
        show_ranking_score: b.bool("showRankingScore")?,
        show_ranking_score_details: b.bool("showRankingScoreDetails")?,
        ranking_score_threshold,
        sort: b.strings("sort")?,
        attributes_to_search_on: b.strings("attributesToSearchOn")?,
        distinct: b.string("distinct", true)?,
        hybrid_embedder,
    })
}

/// `GET /indexes/{uid}/search?...`: the query string as the equivalent JSON body.
pub(super) fn body_from_query(query: &str) -> Result<Value, ApiError> {
    const PARAMS: &[&str] = &[
        "q",
        "offset",
        "limit",
        "page",
        "hitsPerPage",
        "filter",
        "facets",
        "attributesToRetrieve",
        "attributesToCrop",
        "cropLength",
        "cropMarker",
        "attributesToHighlight",
        "highlightPreTag",
        "highlightPostTag",
        "showMatchesPosition",
        "showRankingScore",
        "showRankingScoreDetails",
        "rankingScoreThreshold",
        "sort",
        "matchingStrategy",
        "attributesToSearchOn",
        "distinct",
        "locales",
        "retrieveVectors",
        "hybridEmbedder",
        "hybridSemanticRatio",
        "vector",
    ];
    let params = super::query_params(query, PARAMS)?;
    let mut body = Map::new();
    for (name, raw) in &params {
        let value = match name.as_str() {
            "offset" | "limit" | "page" | "hitsPerPage" | "cropLength" => {
                json!(super::param_usize(&params, name, &code(name))?.unwrap_or_default())
            }
            "showMatchesPosition" | "showRankingScore" | "showRankingScoreDetails" | "retrieveVectors" => {
                json!(super::param_bool(&params, name, &code(name))?.unwrap_or_default())
            }
            "rankingScoreThreshold" => json!(raw.parse::<f64>().map_err(|_| ApiError::new(
                "invalid_search_ranking_score_threshold",
                format!("Invalid value in parameter `rankingScoreThreshold`: could not parse `{raw}` as a float")
            ))?),
            "facets"
            | "sort"
            | "attributesToRetrieve"
            | "attributesToCrop"
            | "attributesToHighlight"
            | "attributesToSearchOn"
            | "locales" => json!(super::split_list(raw)),
            "vector" => {
                let numbers: Result<Vec<f64>, _> = super::split_list(raw).iter().map(|n| n.parse::<f64>()).collect();
                json!(numbers.map_err(|_| ApiError::new(
                    "invalid_search_vector",
                    format!("Invalid value in parameter `vector`: could not parse `{raw}` as a list of floats")
                ))?)
            }
            "hybridEmbedder" | "hybridSemanticRatio" => continue,
            _ => Value::String(raw.clone()),
        };
        body.insert(name.clone(), value);
    }
    if let Some(embedder) = params.get("hybridEmbedder") {
        let mut hybrid = Map::new();
        hybrid.insert("embedder".to_string(), json!(embedder));
        if let Some(ratio) = params.get("hybridSemanticRatio") {
            let ratio = ratio.parse::<f64>().map_err(|_| {
                ApiError::new(
                    "invalid_search_semantic_ratio",
                    format!("Invalid value in parameter `hybridSemanticRatio`: could not parse `{ratio}` as a float"),
                )
            })?;
            hybrid.insert("semanticRatio".to_string(), json!(ratio));
        }
        body.insert("hybrid".to_string(), Value::Object(hybrid));
    }
    Ok(Value::Object(body))
}

// ---------------------------------------------------------------------------
// Query terms

/// A word or phrase of `q`.
struct Term {
    /// Normalized tokens (one for a word).
    tokens: Vec<String>,
    phrase: bool,
    negated: bool,
    /// The last word of a `q` not ending in whitespace.
    prefix: bool,
}

fn parse_q(q: &str, stop_words: &HashSet<String>) -> Vec<Term> {
    let chars: Vec<char> = q.chars().collect();
    let mut terms: Vec<Term> = Vec::new();
    let mut i = 0;
    let mut chunk_start = true;
    let mut negate = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            chunk_start = true;
            negate = false;
            i += 1;
        } else if c == '"' {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && chars[end] != '"' {
                end += 1;
            }
            let inner: String = chars[start..end].iter().collect();
            let tokens = text::tokens(&inner);
            if !tokens.is_empty() {
                terms.push(Term { tokens, phrase: true, negated: negate, prefix: false });
            }
            negate = false;
            chunk_start = false;
            i = end + 1;
        } else if c == '-' && chunk_start && chars.get(i + 1).is_some_and(|n| *n == '"' || n.is_alphanumeric()) {
            negate = true;
            chunk_start = false;
            i += 1;
        } else if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let raw: String = chars[start..i].iter().collect();
            for token in text::tokens(&raw) {
                terms.push(Term { tokens: vec![token], phrase: false, negated: negate, prefix: false });
                negate = false;
            }
            chunk_start = false;
        } else {
            negate = false;
            chunk_start = false;
            i += 1;
        }
    }
    if !q.ends_with(char::is_whitespace)
        && let Some(last) = terms.last_mut()
        && !last.phrase
        && !last.negated
    {
        last.prefix = true;
    }
    terms.retain(|t| t.phrase || !stop_words.contains(&t.tokens[0]));
    terms
}

/// A positive word, ready to be matched.
struct Word {
    text: String,
    chars: Vec<char>,
    prefix: bool,
    budget: usize,
    synonyms: Vec<Vec<String>>,
}

impl Word {
    fn new(term: &Term, view: &View) -> Word {
        let text = term.tokens[0].clone();
        let chars: Vec<char> = text.chars().collect();
        let len = chars.len();
        let numeric = text.chars().all(|c| c.is_ascii_digit());
        let budget = if !view.typo_enabled
            || view.typo_disabled_words.contains(&text)
            || (numeric && view.typo_disabled_numbers)
            || len < view.one_typo
        {
            0
        } else if len < view.two_typos {
            1
        } else {
            2
        };
        let synonyms = view.synonyms.get(&text).cloned().unwrap_or_default();
        Word { text, chars, prefix: term.prefix, budget, synonyms }
    }

    /// Typos needed to match a token of `tokens` (`None`: no match).
    fn typos(&self, tokens: &[String], typos_allowed: bool) -> Option<usize> {
        if tokens.iter().any(|t| *t == self.text || (self.prefix && t.starts_with(&self.text)))
            || self.synonyms.iter().any(|alt| text::contains_run(tokens, alt))
        {
            return Some(0);
        }
        if self.budget == 0 || !typos_allowed {
            return None;
        }
        tokens
            .iter()
            .map(|t| {
                let token: Vec<char> = t.chars().collect();
                if self.prefix {
                    text::prefix_distance(&self.chars, &token)
                } else {
                    text::distance(&self.chars, &token)
                }
            })
            .filter(|d| *d <= self.budget)
            .min()
    }

    /// Whether a single token matches (for highlighting).
    fn matches_token(&self, token: &str) -> bool {
        self.typos(std::slice::from_ref(&token.to_string()), true).is_some()
    }
}

/// Texts of a searched attribute: strings, numbers, and array elements, each on its own.
fn attribute_texts(doc: &Map<String, Value>, attribute: &str, strings_only: bool) -> Vec<String> {
    filter::values(doc, attribute)
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if !strings_only => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// The attributes a search looks into.
struct Searched {
    /// (rank = position in searchableAttributes, attribute)
    attributes: Vec<(usize, String)>,
    /// How many attributes are ranked (at least 1).
    ranked: usize,
    /// `searchableAttributes: ["*"]` searches string values only.
    strings_only: bool,
}

fn searched_attributes(index: &IndexData, view: &View, params: &Params) -> Result<Searched, ApiError> {
    let ranked: Vec<String> = view.searchable.clone().unwrap_or_else(|| index.fields.clone());
    let strings_only = view.searchable.is_none();
    let rank_of = |a: &str| ranked.iter().position(|r| r == a).unwrap_or(ranked.len());
    let searched = match &params.attributes_to_search_on {
        Some(list) if !list.iter().any(|a| a == "*") => {
            if let Some(searchable) = &view.searchable
                && let Some(bad) =
                    list.iter().find(|a| !searchable.iter().any(|s| super::settings::pattern_matches(s, a)))
            {
                return Err(ApiError::new(
                    "invalid_search_attributes_to_search_on",
                    format!(
                        "Attribute `{bad}` is not searchable. Available searchable attributes are: {}.",
                        backticked(searchable)
                    ),
                ));
            }
            list.iter().map(|a| (rank_of(a), a.clone())).collect()
        }
        _ => ranked.iter().enumerate().map(|(i, a)| (i, a.clone())).collect(),
    };
    Ok(Searched { attributes: searched, ranked: ranked.len().max(1), strings_only })
}

// ---------------------------------------------------------------------------
// Sorting

enum SortRule {
    Field { attribute: String, asc: bool },
    Geo { point: (f64, f64), asc: bool },
}

fn sort_error(message: String) -> ApiError {
    ApiError::new("invalid_search_sort", message)
}

fn parse_sort(raw: &str, view: &View) -> Result<SortRule, ApiError> {
    let (lhs, asc) = match raw.rsplit_once(':') {
        Some((lhs, "asc")) => (lhs, true),
        Some((lhs, "desc")) => (lhs, false),
        _ => {
            return Err(sort_error(format!(
                "Invalid syntax for the sort parameter: expected expression ending by `:asc` or `:desc`, found `{raw}`."
            )));
        }
    };
    let lhs = lhs.trim();
    if let Some(args) = lhs.strip_prefix("_geoPoint(").and_then(|r| r.strip_suffix(')')) {
        let coordinates: Vec<f64> = args.split(',').filter_map(|n| n.trim().parse::<f64>().ok()).collect();
        let [lat, lng] = coordinates[..] else {
            return Err(sort_error(format!(
                "Invalid syntax for the geo parameter: expected expression formatted like `_geoPoint(latitude, longitude)` and ending by `:asc` or `:desc`, found `{raw}`."
            )));
        };
        if !(-90.0..=90.0).contains(&lat) {
            return Err(sort_error(format!(
                "Bad latitude `{lat}`. Latitude must be contained between -90 and 90 degrees."
            )));
        }
        if !(-180.0..=180.0).contains(&lng) {
            return Err(sort_error(format!(
                "Bad longitude `{lng}`. Longitude must be contained between -180 and 180 degrees."
            )));
        }
        check_sortable("_geo", view)?;
        return Ok(SortRule::Geo { point: (lat, lng), asc });
    }
    if lhs == "_geo"
        || lhs.starts_with("_geoDistance")
        || lhs.starts_with("_geoRadius")
        || lhs.starts_with("_geoBoundingBox")
        || lhs.starts_with("_geoPoint")
    {
        return Err(sort_error("`_geo` is a reserved keyword and thus can't be used as a sort expression. Use the _geoPoint(latitude, longitude) built-in rule to sort on _geo field coordinates.".to_string()));
    }
    check_sortable(lhs, view)?;
    Ok(SortRule::Field { attribute: lhs.to_string(), asc })
}

fn check_sortable(attribute: &str, view: &View) -> Result<(), ApiError> {
    if view.is_sortable(attribute) {
        return Ok(());
    }
    if view.sortable.is_empty() {
        return Err(sort_error(format!(
            "Attribute `{attribute}` is not sortable. This index does not have configured sortable attributes."
        )));
    }
    Err(sort_error(format!(
        "Attribute `{attribute}` is not sortable. Available sortable attributes are: {}.",
        backticked(&view.sortable)
    )))
}

/// A sort key value: numbers before strings, missing values last (either direction).
#[derive(Clone, Debug)]
enum Key {
    Number(f64),
    Text(String),
    Missing,
}

fn key_cmp(a: &Key, b: &Key, asc: bool) -> Ordering {
    let directed = |o: Ordering| if asc { o } else { o.reverse() };
    match (a, b) {
        (Key::Missing, Key::Missing) => Ordering::Equal,
        (Key::Missing, _) => Ordering::Greater,
        (_, Key::Missing) => Ordering::Less,
        (Key::Number(x), Key::Number(y)) => directed(x.partial_cmp(y).unwrap_or(Ordering::Equal)),
        (Key::Text(x), Key::Text(y)) => directed(x.cmp(y)),
        (Key::Number(_), Key::Text(_)) => Ordering::Less,
        (Key::Text(_), Key::Number(_)) => Ordering::Greater,
    }
}

fn sort_key(doc: &Map<String, Value>, rule: &SortRule) -> (Key, Option<f64>) {
    match rule {
        SortRule::Geo { point, .. } => match filter::geo_point(doc) {
            Some(p) => {
                let distance = filter::haversine(*point, p);
                (Key::Number(distance), Some(distance))
            }
            None => (Key::Missing, None),
        },
        SortRule::Field { attribute, asc } => {
            let keys: Vec<Key> = filter::values(doc, attribute)
                .into_iter()
                .filter_map(|v| match v {
                    Value::Number(n) => n.as_f64().map(Key::Number),
                    Value::String(s) => Some(Key::Text(s.to_lowercase())),
                    Value::Bool(b) => Some(Key::Text(b.to_string())),
                    _ => None,
                })
                .collect();
            // Arrays sort by their smallest element ascending, their largest descending.
            let best = keys.into_iter().reduce(|a, b| if key_cmp(&b, &a, *asc).is_lt() { b } else { a });
            (best.unwrap_or(Key::Missing), None)
        }
    }
}

// ---------------------------------------------------------------------------
// Execution

struct Candidate<'a> {
    id: &'a str,
    doc: &'a Map<String, Value>,
    typos: usize,
    rank: usize,
    keys: Vec<Key>,
    geo_distance: Option<f64>,
    score: f64,
}

pub(super) fn run(index: &IndexData, params: &Params) -> Result<Value, ApiError> {
    let started = Instant::now();
    let view = index.view_settings();

    if let Some(name) = &params.hybrid_embedder
        && !view.embedders.contains(name)
    {
        return Err(ApiError::new("invalid_search_embedder", format!("Cannot find embedder with name `{name}`.")));
    }
    let searched = searched_attributes(index, &view, params)?;
    let (attribute_count, strings_only) = (searched.ranked, searched.strings_only);
    let sort_rules = match &params.sort {
        Some(list) if !list.is_empty() => {
            if !view.ranking_rules.iter().any(|r| r == "sort") {
                return Err(sort_error(
                    "You must specify where `sort` is listed in the rankingRules setting to use the sort parameter at search time.".to_string(),
                ));
            }
            list.iter().map(|s| parse_sort(s, &view)).collect::<Result<Vec<_>, _>>()?
        }
        _ => Vec::new(),
    };
    let facets: Option<Vec<String>> = match &params.facets {
        Some(list) if list.iter().any(|f| f == "*") => {
            Some(view.filterable.iter().filter(|f| !f.contains('*')).cloned().collect())
        }
        Some(list) => {
            if let Some(bad) = list.iter().find(|f| !view.is_filterable(f)) {
                let available = view.filterable.join(", ");
                let message = if view.filterable.is_empty() {
                    format!(
                        "Invalid facet distribution, attribute `{bad}` is not filterable. This index does not have configured filterable attributes."
                    )
                } else {
                    format!(
                        "Invalid facet distribution, attribute `{bad}` is not filterable. The available filterable attributes are `{available}`."
                    )
                };
                return Err(ApiError::new("invalid_search_facets", message));
            }
            Some(list.clone())
        }
        None => None,
    };
    let distinct = match &params.distinct {
        Some(attribute) if !view.is_filterable(attribute) => {
            return Err(ApiError::new(
                "invalid_search_distinct",
                format!(
                    "Attribute `{attribute}` is not filterable and thus, cannot be used as distinct attribute. Available filterable attributes are: {}.",
                    backticked(&view.filterable)
                ),
            ));
        }
        Some(attribute) => Some(attribute.clone()),
        None => view.distinct.clone(),
    };
    let filter = match &params.filter {
        Some(value) => filter::from_json(value).map_err(|m| ApiError::new("invalid_search_filter", m))?,
        None => None,
    };
    if let Some(expr) = &filter {
        filter::check_filterable(expr, &view)
            .map_err(|m| ApiError::new("invalid_search_filter", format!("Index `{}`: {m}", index.uid)))?;
    }

    let terms = parse_q(&params.q, &view.stop_words);
    let positives: Vec<&Term> = terms.iter().filter(|t| !t.negated).collect();
    let negatives: Vec<&Term> = terms.iter().filter(|t| t.negated).collect();
    let words: Vec<Option<Word>> = positives.iter().map(|t| (!t.phrase).then(|| Word::new(t, &view))).collect();
    let placeholder = positives.is_empty() && negatives.is_empty();

    let mut candidates = Vec::new();
    'docs: for (id, doc) in &index.docs {
        if let Some(expr) = &filter
            && !filter::matches(expr, doc)
        {
            continue;
        }
        let texts: Vec<(usize, bool, Vec<Vec<String>>)> = searched
            .attributes
            .iter()
            .map(|(rank, attribute)| {
                let typos_ok = !view.typo_disabled_attributes.contains(attribute);
                let tokens = attribute_texts(doc, attribute, strings_only).iter().map(|t| text::tokens(t)).collect();
                (*rank, typos_ok, tokens)
            })
            .collect();
        for term in &negatives {
            if texts.iter().any(|(_, _, values)| values.iter().any(|tokens| text::contains_run(tokens, &term.tokens))) {
                continue 'docs;
            }
        }
        let mut total_typos = 0;
        let mut first_rank = 0;
        for (n, (term, word)) in positives.iter().zip(&words).enumerate() {
            let mut best: Option<(usize, usize)> = None;
            for (rank, typos_ok, values) in &texts {
                for tokens in values {
                    let typos = match word {
                        Some(word) => word.typos(tokens, *typos_ok),
                        None => text::contains_run(tokens, &term.tokens).then_some(0),
                    };
                    if let Some(typos) = typos {
                        best = Some(match best {
                            Some((t, r)) => (t.min(typos), r.min(*rank)),
                            None => (typos, *rank),
                        });
                    }
                }
            }
            let Some((typos, rank)) = best else { continue 'docs };
            total_typos += typos;
            if n == 0 {
                first_rank = rank;
            }
        }
        let mut keys = Vec::with_capacity(sort_rules.len());
        let mut geo_distance = None;
        for rule in &sort_rules {
            let (key, distance) = sort_key(doc, rule);
            keys.push(key);
            geo_distance = geo_distance.or(distance);
        }
        let word_count = positives.len() as f64;
        let score = if positives.is_empty() {
            1.0
        } else {
            let typo_score = 1.0 - total_typos as f64 / (2.0 * word_count + 1.0);
            let rank_score = 1.0 - first_rank.min(attribute_count) as f64 / attribute_count as f64 * 0.1;
            (typo_score * rank_score * 10_000.0).round() / 10_000.0
        };
        candidates.push(Candidate { id, doc, typos: total_typos, rank: first_rank, keys, geo_distance, score });
    }

    candidates.sort_by(|a, b| {
        for (i, rule) in sort_rules.iter().enumerate() {
            let asc = match rule {
                SortRule::Field { asc, .. } | SortRule::Geo { asc, .. } => *asc,
            };
            let o = key_cmp(&a.keys[i], &b.keys[i], asc);
            if o.is_ne() {
                return o;
            }
        }
        if !placeholder {
            let o = a.typos.cmp(&b.typos).then(a.rank.cmp(&b.rank));
            if o.is_ne() {
                return o;
            }
        }
        a.id.cmp(b.id)
    });
    if let Some(attribute) = &distinct {
        let mut seen = HashSet::new();
        candidates.retain(|c| {
            let values = filter::values(c.doc, attribute);
            values.is_empty() || seen.insert(values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\u{1f}"))
        });
    }
    if let Some(threshold) = params.ranking_score_threshold {
        candidates.retain(|c| c.score >= threshold);
    }

    let mut response = Map::new();
    let capped = candidates.len().min(view.max_total_hits);
    let (skip, take) = match (params.page, params.hits_per_page) {
        (None, None) => (params.offset, params.limit),
        (page, per_page) => {
            let page = page.unwrap_or(1);
            let per_page = per_page.unwrap_or(20);
            (page.saturating_sub(1).saturating_mul(per_page), if page == 0 { 0 } else { per_page })
        }
    };
    let shown: Vec<&Candidate> = candidates.iter().take(capped).skip(skip).take(take).collect();
    let hits: Vec<Value> = shown.iter().map(|c| hit(c, &view, params, &positives, &words, &searched)).collect();
    response.insert("hits".to_string(), Value::Array(hits));
    response.insert("query".to_string(), json!(params.q));
    response.insert(
        "processingTimeMs".to_string(),
        json!(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)),
    );
    match (params.page, params.hits_per_page) {
        (None, None) => {
            response.insert("limit".to_string(), json!(params.limit));
            response.insert("offset".to_string(), json!(params.offset));
            response.insert("estimatedTotalHits".to_string(), json!(capped));
        }
        (page, per_page) => {
            let per_page = per_page.unwrap_or(20);
            let total_pages = if per_page == 0 { 0 } else { capped.div_ceil(per_page) };
            response.insert("hitsPerPage".to_string(), json!(per_page));
            response.insert("page".to_string(), json!(page.unwrap_or(1)));
            response.insert("totalPages".to_string(), json!(total_pages));
            response.insert("totalHits".to_string(), json!(capped));
        }
    }
    if let Some(facets) = &facets {
        let (distribution, stats) = facet_distribution(&candidates, facets, &view);
        response.insert("facetDistribution".to_string(), Value::Object(distribution));
        response.insert("facetStats".to_string(), Value::Object(stats));
    }
    Ok(Value::Object(response))
}

/// Counts over all matching documents (each value once per document), at most
/// `maxValuesPerFacet` values per facet (the most frequent), plus numeric min/max.
fn facet_distribution(
    candidates: &[Candidate],
    facets: &[String],
    view: &View,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut distribution = Map::new();
    let mut stats = Map::new();
    for facet in facets {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        // Values are grouped case-insensitively and reported as first seen.
        let mut originals: HashMap<String, String> = HashMap::new();
        let mut range: Option<(f64, f64)> = None;
        for candidate in candidates {
            let mut seen = HashSet::new();
            for value in filter::values(candidate.doc, facet) {
                let key = match value {
                    Value::String(s) => {
                        originals.entry(s.to_lowercase()).or_insert_with(|| s.clone());
                        s.to_lowercase()
                    }
                    Value::Number(n) => {
                        if let Some(f) = n.as_f64() {
                            range = Some(range.map_or((f, f), |(lo, hi)| (lo.min(f), hi.max(f))));
                        }
                        n.to_string()
                    }
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                if seen.insert(key.clone()) {
                    *counts.entry(key).or_default() += 1;
                }
            }
        }
        let mut entries: Vec<(String, usize)> =
            counts.into_iter().map(|(k, n)| (originals.get(&k).cloned().unwrap_or(k), n)).collect();
        let by_count =
            view.facet_order.get(facet).or_else(|| view.facet_order.get("*")).and_then(Value::as_str) == Some("count");
        // Meilisearch keeps the first `maxValuesPerFacet` values in the
        // configured order: the most frequent with `count`, else alphabetical.
        if by_count {
            entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        } else {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        entries.truncate(view.max_values_per_facet);
        distribution.insert(facet.clone(), Value::Object(entries.into_iter().map(|(k, n)| (k, json!(n))).collect()));
        if let Some((min, max)) = range {
            stats.insert(facet.clone(), json!({"min": min, "max": max}));
        }
    }
    (distribution, stats)
}

fn wanted(list: &Option<Vec<String>>, attribute: &str) -> bool {
    list.as_ref().is_some_and(|l| l.iter().any(|a| a == "*" || super::settings::pattern_matches(a, attribute)))
}

/// Highlights the matching tokens of `value`.
fn highlight(value: &str, positives: &[&Term], words: &[Option<Word>], pre: &str, post: &str) -> String {
    let spans = match_spans(value, positives, words);
    let mut out = String::with_capacity(value.len());
    let mut last = 0;
    for (start, len) in spans {
        out.push_str(&value[last..start]);
        out.push_str(pre);
        out.push_str(&value[start..start + len]);
        out.push_str(post);
        last = start + len;
    }
    out.push_str(&value[last..]);
    out
}

/// Byte spans of the tokens of `value` a query word or phrase matches.
fn match_spans(value: &str, positives: &[&Term], words: &[Option<Word>]) -> Vec<(usize, usize)> {
    let spans = text::token_spans(value);
    let tokens: Vec<String> = spans.iter().map(|(_, _, t)| t.clone()).collect();
    let mut hit = vec![false; spans.len()];
    for (term, word) in positives.iter().zip(words) {
        match word {
            Some(word) => {
                for (i, token) in tokens.iter().enumerate() {
                    hit[i] |= word.matches_token(token);
                }
            }
            None => {
                for start in 0..tokens.len().saturating_sub(term.tokens.len() - 1) {
                    if tokens[start..start + term.tokens.len()] == term.tokens[..] {
                        hit[start..start + term.tokens.len()].iter_mut().for_each(|h| *h = true);
                    }
                }
            }
        }
    }
    spans.iter().zip(hit).filter(|(_, h)| *h).map(|((s, l, _), _)| (*s, *l)).collect()
}

fn hit(
    candidate: &Candidate,
    view: &View,
    params: &Params,
    positives: &[&Term],
    words: &[Option<Word>],
    searched: &Searched,
) -> Value {
    let displayed = |k: &str| view.displayed.as_ref().is_none_or(|d| d.iter().any(|a| a == k));
    let retrieved =
        |k: &str| params.attributes_to_retrieve.as_ref().is_none_or(|r| r.iter().any(|a| a == "*" || a == k));
    let mut hit: Map<String, Value> = candidate
        .doc
        .iter()
        .filter(|(k, _)| displayed(k) && retrieved(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(distance) = candidate.geo_distance {
        hit.insert("_geoDistance".to_string(), json!(distance.round() as u64));
    }
    if params.attributes_to_highlight.is_some() || params.attributes_to_crop.is_some() {
        let (pre, post) = (params.highlight_pre_tag.as_str(), params.highlight_post_tag.as_str());
        let formatted: Map<String, Value> = hit
            .iter()
            .filter(|(k, _)| k.as_str() != "_geoDistance")
            .map(|(k, v)| {
                let highlighted = wanted(&params.attributes_to_highlight, k);
                let formatted = match v {
                    Value::String(s) if highlighted => Value::String(highlight(s, positives, words, pre, post)),
                    Value::Array(items) if highlighted => Value::Array(
                        items
                            .iter()
                            .map(|item| match item {
                                Value::String(s) => Value::String(highlight(s, positives, words, pre, post)),
                                other => other.clone(),
                            })
                            .collect(),
                    ),
                    Value::Number(n) if highlighted || wanted(&params.attributes_to_crop, k) => {
                        Value::String(n.to_string())
                    }
                    other => other.clone(),
                };
                (k.clone(), formatted)
            })
            .collect();
        hit.insert("_formatted".to_string(), Value::Object(formatted));
    }
    if params.show_matches_position {
        let mut positions = Map::new();
        for (_, attribute) in &searched.attributes {
            let mut found = Vec::new();
            let value = filter::values(candidate.doc, attribute);
            let is_array = candidate.doc.get(attribute).is_some_and(Value::is_array);
            for (i, v) in value.iter().enumerate() {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) if !searched.strings_only => n.to_string(),
                    _ => continue,
                };
                for (start, length) in match_spans(&text, positives, words) {
                    let mut entry = json!({"start": start, "length": length});
                    if is_array {
                        entry["indices"] = json!([i]);
                    }
                    found.push(entry);
                }
            }
            if !found.is_empty() {
                positions.insert(attribute.clone(), Value::Array(found));
            }
        }
        hit.insert("_matchesPosition".to_string(), Value::Object(positions));
    }
    if params.show_ranking_score {
        hit.insert("_rankingScore".to_string(), json!(candidate.score));
    }
    if params.show_ranking_score_details {
        let count = positives.len();
        hit.insert(
            "_rankingScoreDetails".to_string(),
            json!({
                "words": {"order": 0, "matchingWords": count, "maxMatchingWords": count, "score": 1.0},
                "typo": {
                    "order": 1,
                    "typoCount": candidate.typos,
                    "maxTypoCount": 2 * count,
                    "score": if count == 0 { 1.0 } else { 1.0 - candidate.typos as f64 / (2.0 * count as f64 + 1.0) },
                },
            }),
        );
    }
    Value::Object(hit)
}
