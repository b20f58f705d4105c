//! Index settings: the documented keys with their defaults, strict validation
//! of updates (unknown keys, wrong types), partial application, and the typed
//! view search uses.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::{ApiError, text, type_error, unknown_field};

/// A setting's body key and its sub-route (`/indexes/{uid}/settings/{route}`).
pub(super) struct SettingSpec {
    pub key: &'static str,
    route: &'static str,
    /// Updated with PATCH (nested objects) rather than PUT.
    pub patch: bool,
}

const fn spec(key: &'static str, route: &'static str, patch: bool) -> SettingSpec {
    SettingSpec { key, route, patch }
}

static SPECS: &[SettingSpec] = &[
    spec("displayedAttributes", "displayed-attributes", false),
    spec("searchableAttributes", "searchable-attributes", false),
    spec("filterableAttributes", "filterable-attributes", false),
    spec("sortableAttributes", "sortable-attributes", false),
    spec("rankingRules", "ranking-rules", false),
    spec("stopWords", "stop-words", false),
    spec("nonSeparatorTokens", "non-separator-tokens", false),
    spec("separatorTokens", "separator-tokens", false),
    spec("dictionary", "dictionary", false),
    spec("synonyms", "synonyms", false),
    spec("distinctAttribute", "distinct-attribute", false),
    spec("proximityPrecision", "proximity-precision", false),
    spec("typoTolerance", "typo-tolerance", true),
    spec("faceting", "faceting", true),
    spec("pagination", "pagination", true),
    spec("embedders", "embedders", true),
    spec("searchCutoffMs", "search-cutoff-ms", false),
    spec("localizedAttributes", "localized-attributes", false),
    spec("facetSearch", "facet-search", false),
    spec("prefixSearch", "prefix-search", false),
];

pub(super) fn spec_by_route(route: &str) -> Option<&'static SettingSpec> {
    SPECS.iter().find(|s| s.route == route)
}

fn keys() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.key).collect()
}

/// Settings of an index nobody configured.
pub(super) fn defaults() -> Map<String, Value> {
    let value = json!({
        "displayedAttributes": ["*"],
        "searchableAttributes": ["*"],
        "filterableAttributes": [],
        "sortableAttributes": [],
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
        "stopWords": [],
        "nonSeparatorTokens": [],
        "separatorTokens": [],
        "dictionary": [],
        "synonyms": {},
        "distinctAttribute": null,
        "proximityPrecision": "byWord",
        "typoTolerance": {
            "enabled": true,
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
            "disableOnWords": [],
            "disableOnAttributes": [],
            "disableOnNumbers": false,
        },
        "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "alpha"}},
        "pagination": {"maxTotalHits": 1000},
        "embedders": {},
        "searchCutoffMs": null,
        "localizedAttributes": null,
        "facetSearch": true,
        "prefixSearch": "indexingTime",
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `DELETE /settings`: every key back to its default.
pub(super) fn reset_all() -> Map<String, Value> {
    SPECS.iter().map(|s| (s.key.to_string(), Value::Null)).collect()
}

pub(super) fn snake(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn code_for(key: &str) -> String {
    format!("invalid_settings_{}", snake(key))
}

/// Validates a `PATCH /settings` body and returns it.
pub(super) fn validate_patch(body: &Value) -> Result<Map<String, Value>, ApiError> {
    let object = body.as_object().ok_or_else(|| type_error("bad_request", "", "an object", body))?;
    let known = keys();
    for (key, value) in object {
        if !known.contains(&key.as_str()) {
            return Err(unknown_field("bad_request", "", key, &known));
        }
        validate_one(key, value, &format!(".{key}"))?;
    }
    Ok(object.clone())
}

struct Check<'a> {
    code: String,
    path: &'a str,
}

impl Check<'_> {
    fn fail(&self, path: &str, expected: &str, found: &Value) -> ApiError {
        type_error(&self.code, path, expected, found)
    }

    fn strings(&self, path: &str, value: &Value) -> Result<(), ApiError> {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        return Err(self.fail(&format!("{path}[{i}]"), "a string", item));
                    }
                }
                Ok(())
            }
            other => Err(self.fail(path, "an array", other)),
        }
    }

    fn object<'v>(&self, path: &str, value: &'v Value, allowed: &[&str]) -> Result<&'v Map<String, Value>, ApiError> {
        let object = value.as_object().ok_or_else(|| self.fail(path, "an object", value))?;
        if let Some(key) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(unknown_field(&self.code, path, key, allowed));
        }
        Ok(object)
    }

    fn nullable(
        &self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        expected: &str,
        ok: fn(&Value) -> bool,
    ) -> Result<(), ApiError> {
        match object.get(key) {
            Some(v) if !v.is_null() && !ok(v) => Err(self.fail(&format!("{path}.{key}"), expected, v)),
            _ => Ok(()),
        }
    }

    fn one_of(&self, path: &str, value: &Value, allowed: &[&str]) -> Result<(), ApiError> {
        match value.as_str() {
            Some(s) if allowed.contains(&s) => Ok(()),
            Some(s) => Err(ApiError::new(
                &self.code,
                format!("Unknown value `{s}` at `{path}`: expected one of {}", super::backticked(allowed)),
            )),
            None => Err(self.fail(path, "a string", value)),
        }
    }
}

fn is_u64(v: &Value) -> bool {
    v.is_u64()
}

fn is_u8(v: &Value) -> bool {
    v.as_u64().is_some_and(|n| n <= 255)
}

fn is_string_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

const RULES: &[&str] = &["words", "typo", "proximity", "attribute", "sort", "exactness"];

/// Validates the value of one setting (`null` always means "reset").
pub(super) fn validate_one(key: &str, value: &Value, path: &str) -> Result<(), ApiError> {
    let check = Check { code: code_for(key), path };
    let path = check.path;
    if value.is_null() {
        return Ok(());
    }
    match key {
        "displayedAttributes"
        | "searchableAttributes"
        | "sortableAttributes"
        | "stopWords"
        | "nonSeparatorTokens"
        | "separatorTokens"
        | "dictionary" => check.strings(path, value),
        "filterableAttributes" => {
            let items = value.as_array().ok_or_else(|| check.fail(path, "an array", value))?;
            for (i, item) in items.iter().enumerate() {
                let at = format!("{path}[{i}]");
                match item {
                    Value::String(_) => {}
                    Value::Object(_) => {
                        let rule = check.object(&at, item, &["attributePatterns", "features"])?;
                        let patterns = rule.get("attributePatterns").ok_or_else(|| {
                            ApiError::new(&check.code, format!("Missing field `attributePatterns` inside `{at}`"))
                        })?;
                        check.strings(&format!("{at}.attributePatterns"), patterns)?;
                        if let Some(features) = rule.get("features") {
                            let f = check.object(&format!("{at}.features"), features, &["facetSearch", "filter"])?;
                            check.nullable(
                                f,
                                "facetSearch",
                                &format!("{at}.features"),
                                "a boolean",
                                Value::is_boolean,
                            )?;
                            if let Some(filter) = f.get("filter") {
                                let fp = format!("{at}.features.filter");
                                let modes = check.object(&fp, filter, &["equality", "comparison"])?;
                                check.nullable(modes, "equality", &fp, "a boolean", Value::is_boolean)?;
                                check.nullable(modes, "comparison", &fp, "a boolean", Value::is_boolean)?;
                            }
                        }
                    }
                    other => return Err(check.fail(&at, "a string or an object", other)),
                }
            }
            Ok(())
        }
        "rankingRules" => {
            check.strings(path, value)?;
            for rule in value.as_array().into_iter().flatten().filter_map(Value::as_str) {
                let custom = rule
                    .rsplit_once(':')
                    .is_some_and(|(attr, dir)| !attr.is_empty() && (dir == "asc" || dir == "desc"));
                if !RULES.contains(&rule) && !custom {
                    return Err(ApiError::new(
                        &check.code,
                        format!(
                            "Invalid value at `{path}`: `{rule}` ranking rule is invalid. Valid ranking rules are words, typo, sort, proximity, attribute, exactness and custom ranking rules."
                        ),
                    ));
                }
            }
            Ok(())
        }
        "synonyms" => {
            let object = value.as_object().ok_or_else(|| check.fail(path, "an object", value))?;
            for (word, alternatives) in object {
                check.strings(&format!("{path}.{word}"), alternatives)?;
            }
            Ok(())
        }
        "distinctAttribute" => value.is_string().then_some(()).ok_or_else(|| check.fail(path, "a string", value)),
        "proximityPrecision" => check.one_of(path, value, &["byWord", "byAttribute"]),
        "typoTolerance" => {
            let allowed =
                ["enabled", "minWordSizeForTypos", "disableOnWords", "disableOnAttributes", "disableOnNumbers"];
            let object = check.object(path, value, &allowed)?;
            check.nullable(object, "enabled", path, "a boolean", Value::is_boolean)?;
            check.nullable(object, "disableOnNumbers", path, "a boolean", Value::is_boolean)?;
            check.nullable(object, "disableOnWords", path, "an array", is_string_array)?;
            check.nullable(object, "disableOnAttributes", path, "an array", is_string_array)?;
            if let Some(sizes) = object.get("minWordSizeForTypos").filter(|v| !v.is_null()) {
                let at = format!("{path}.minWordSizeForTypos");
                let sizes = check.object(&at, sizes, &["oneTypo", "twoTypos"])?;
                check.nullable(sizes, "oneTypo", &at, "a positive integer", is_u8)?;
                check.nullable(sizes, "twoTypos", &at, "a positive integer", is_u8)?;
            }
            Ok(())
        }
        "faceting" => {
            let object = check.object(path, value, &["maxValuesPerFacet", "sortFacetValuesBy"])?;
            check.nullable(object, "maxValuesPerFacet", path, "a positive integer", is_u64)?;
            if let Some(order) = object.get("sortFacetValuesBy").filter(|v| !v.is_null()) {
                let at = format!("{path}.sortFacetValuesBy");
                let order = order.as_object().ok_or_else(|| check.fail(&at, "an object", order))?;
                for (facet, how) in order {
                    check.one_of(&format!("{at}.{facet}"), how, &["alpha", "count"])?;
                }
            }
            Ok(())
        }
        "pagination" => {
            let object = check.object(path, value, &["maxTotalHits"])?;
            check.nullable(object, "maxTotalHits", path, "a positive integer", is_u64)
        }
        "embedders" => {
            let object = value.as_object().ok_or_else(|| check.fail(path, "an object", value))?;
            for (name, embedder) in object {
                let at = format!("{path}.{name}");
                match embedder {
                    Value::Null => {}
                    Value::Object(conf) => match conf.get("source") {
                        Some(source) => check.one_of(
                            &format!("{at}.source"),
                            source,
                            &["openAi", "huggingFace", "ollama", "userProvided", "rest", "composite"],
                        )?,
                        None => {
                            return Err(ApiError::new(&check.code, format!("Missing field `source` inside `{at}`")));
                        }
                    },
                    other => return Err(check.fail(&at, "an object", other)),
                }
            }
            Ok(())
        }
        "searchCutoffMs" => value.is_u64().then_some(()).ok_or_else(|| check.fail(path, "a positive integer", value)),
        "localizedAttributes" => {
            let items = value.as_array().ok_or_else(|| check.fail(path, "an array", value))?;
            for (i, item) in items.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let rule = check.object(&at, item, &["locales", "attributePatterns"])?;
                for field in ["locales", "attributePatterns"] {
                    let v = rule
                        .get(field)
                        .ok_or_else(|| ApiError::new(&check.code, format!("Missing field `{field}` inside `{at}`")))?;
                    check.strings(&format!("{at}.{field}"), v)?;
                }
            }
            Ok(())
        }
        "facetSearch" => value.is_boolean().then_some(()).ok_or_else(|| check.fail(path, "a boolean", value)),
        "prefixSearch" => check.one_of(path, value, &["indexingTime", "disabled"]),
        _ => Err(unknown_field("bad_request", "", key, &keys())),
    }
}

/// Merges `patch` into the object `target` one level deep (`null` = default).
fn merge_object(target: &mut Value, patch: &Map<String, Value>, defaults: &Value) {
    let Some(object) = target.as_object_mut() else { return };
    for (key, value) in patch {
        let default = defaults.get(key).cloned().unwrap_or(Value::Null);
        match value {
            Value::Null => {
                object.insert(key.clone(), default);
            }
            Value::Object(inner) if default.is_object() && key != "sortFacetValuesBy" => {
                let mut merged = object.get(key).cloned().unwrap_or(default.clone());
                merge_object(&mut merged, inner, &default);
                object.insert(key.clone(), merged);
            }
            other => {
                object.insert(key.clone(), other.clone());
            }
        }
    }
}

fn sorted_unique(value: &mut Value) {
    if let Some(items) = value.as_array_mut()
        && items.iter().all(Value::is_string)
    {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        items.dedup();
    }
}

/// Applies a validated patch (task processing); errors fail the task.
pub(super) fn apply(settings: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<(), ApiError> {
    let defaults = defaults();
    for (key, value) in patch {
        let default = defaults.get(key).cloned().unwrap_or(Value::Null);
        let mut next = match (value, key.as_str()) {
            (Value::Null, _) => default,
            (Value::Object(inner), "typoTolerance" | "faceting" | "pagination") => {
                let mut merged = settings.get(key).cloned().unwrap_or(default.clone());
                merge_object(&mut merged, inner, &default);
                merged
            }
            (Value::Object(inner), "embedders") => {
                let mut merged = settings.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
                for (name, conf) in inner {
                    if conf.is_null() {
                        merged.remove(name);
                    } else {
                        merged.insert(name.clone(), conf.clone());
                    }
                }
                Value::Object(merged)
            }
            (other, _) => other.clone(),
        };
        if matches!(
            key.as_str(),
            "filterableAttributes"
                | "sortableAttributes"
                | "stopWords"
                | "separatorTokens"
                | "nonSeparatorTokens"
                | "dictionary"
        ) {
            sorted_unique(&mut next);
        }
        if key == "typoTolerance" {
            let sizes = &next["minWordSizeForTypos"];
            let (one, two) = (sizes["oneTypo"].as_u64().unwrap_or(5), sizes["twoTypos"].as_u64().unwrap_or(9));
            if one > two {
                return Err(ApiError::new(
                    "invalid_settings_typo_tolerance",
                    format!(
                        "`minWordSizeForTypos` setting is invalid. `oneTypo` and `twoTypos` fields should be between `0` and `255`, and `twoTypos` should be greater or equals to `oneTypo` but found `oneTypo: {one}` and twoTypos: {two}`."
                    ),
                ));
            }
        }
        settings.insert(key.clone(), next);
    }
    Ok(())
}

/// The settings search needs, typed and normalized.
pub(super) struct View {
    /// `None` = `["*"]`.
    pub searchable: Option<Vec<String>>,
    pub displayed: Option<Vec<String>>,
    /// Filterable attribute patterns.
    pub filterable: Vec<String>,
    pub sortable: Vec<String>,
    pub ranking_rules: Vec<String>,
    pub stop_words: HashSet<String>,
    /// Normalized word → token sequences of its alternatives.
    pub synonyms: HashMap<String, Vec<Vec<String>>>,
    pub typo_enabled: bool,
    pub one_typo: usize,
    pub two_typos: usize,
    pub typo_disabled_words: HashSet<String>,
    pub typo_disabled_attributes: Vec<String>,
    pub typo_disabled_numbers: bool,
    pub max_values_per_facet: usize,
    /// `sortFacetValuesBy` (facet or `*` → "alpha" | "count").
    pub facet_order: Map<String, Value>,
    pub max_total_hits: usize,
    pub distinct: Option<String>,
    pub embedders: Vec<String>,
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

fn star_or(value: &Value) -> Option<Vec<String>> {
    let list = strings(value);
    if list.iter().any(|s| s == "*") { None } else { Some(list) }
}

fn number(value: &Value, default: usize) -> usize {
    value.as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(default)
}

impl View {
    pub fn new(settings: &Map<String, Value>) -> View {
        let get = |key: &str| settings.get(key).cloned().unwrap_or(Value::Null);
        let filterable = get("filterableAttributes")
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|item| match item {
                Value::String(s) => vec![s.clone()],
                other => strings(&other["attributePatterns"]),
            })
            .collect();
        let synonyms = get("synonyms")
            .as_object()
            .into_iter()
            .flatten()
            .map(|(word, alternatives)| {
                let alternatives =
                    strings(alternatives).iter().map(|a| text::tokens(a)).filter(|t| !t.is_empty()).collect();
                (text::normalize(word), alternatives)
            })
            .collect();
        let typo = get("typoTolerance");
        let faceting = get("faceting");
        View {
            searchable: star_or(&get("searchableAttributes")),
            displayed: star_or(&get("displayedAttributes")),
            filterable,
            sortable: strings(&get("sortableAttributes")),
            ranking_rules: strings(&get("rankingRules")),
            stop_words: strings(&get("stopWords")).iter().map(|w| text::normalize(w)).collect(),
            synonyms,
            typo_enabled: typo["enabled"].as_bool().unwrap_or(true),
            one_typo: number(&typo["minWordSizeForTypos"]["oneTypo"], 5),
            two_typos: number(&typo["minWordSizeForTypos"]["twoTypos"], 9),
            typo_disabled_words: strings(&typo["disableOnWords"]).iter().map(|w| text::normalize(w)).collect(),
            typo_disabled_attributes: strings(&typo["disableOnAttributes"]),
            typo_disabled_numbers: typo["disableOnNumbers"].as_bool().unwrap_or(false),
            max_values_per_facet: number(&faceting["maxValuesPerFacet"], 100),
            facet_order: faceting["sortFacetValuesBy"].as_object().cloned().unwrap_or_default(),
            max_total_hits: number(&get("pagination")["maxTotalHits"], 1000),
            distinct: get("distinctAttribute").as_str().map(str::to_string),
            embedders: get("embedders").as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default(),
        }
    }

    pub fn is_filterable(&self, attribute: &str) -> bool {
        self.filterable.iter().any(|p| pattern_matches(p, attribute))
    }

    pub fn is_sortable(&self, attribute: &str) -> bool {
        self.sortable.iter().any(|p| pattern_matches(p, attribute))
    }
}

/// `attribute` is `pattern`, a sub-field of it, or matches its `*` wildcards.
pub(super) fn pattern_matches(pattern: &str, attribute: &str) -> bool {
    if pattern == attribute || attribute.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('.')) {
        return true;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') => {
            let middle = rest.trim_end_matches('*');
            attribute.contains(middle)
        }
        (Some(suffix), _) => attribute.ends_with(suffix),
        (None, Some(prefix)) => attribute.starts_with(prefix),
        (None, None) => false,
    }
}
