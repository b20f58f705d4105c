//! Index settings: `search-config/{tracks,rooms,users}.json`, written in
//! Meilisearch's index-settings format and compiled into the binary. The
//! Meilisearch engine sends each file as is; the tantivy engine reads the same
//! lists (searchable in priority order, filterable, sortable, synonyms, stop
//! words, typo tolerance, facet and pagination limits). Field *behaviour* is
//! configured only here; what each field *holds* (text, number, boolean,
//! location) is the document's shape, declared once in `FIELDS`.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

/// The indexes crowdjuke keeps; the name is the index uid in Meilisearch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexName {
    Tracks,
    Rooms,
    Users,
}

impl IndexName {
    pub const ALL: [IndexName; 3] = [IndexName::Tracks, IndexName::Rooms, IndexName::Users];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tracks => "tracks",
            Self::Rooms => "rooms",
            Self::Users => "users",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// The settings file, as shipped.
    fn settings_json(self) -> &'static str {
        match self {
            Self::Tracks => include_str!("../../search-config/tracks.json"),
            Self::Rooms => include_str!("../../search-config/rooms.json"),
            Self::Users => include_str!("../../search-config/users.json"),
        }
    }

    /// What each document field holds.
    fn fields(self) -> &'static [(&'static str, Kind)] {
        match self {
            Self::Tracks => &[
                ("title", Kind::Str),
                ("artist", Kind::Str),
                ("album", Kind::Str),
                ("genre", Kind::Str),
                ("year", Kind::Int),
                ("decade", Kind::Int),
                ("duration_ms", Kind::Int),
                ("explicit", Kind::Bool),
                ("popularity", Kind::Int),
                ("bpm", Kind::Int),
                ("energy", Kind::Int),
                ("playable", Kind::Bool),
            ],
            Self::Rooms => &[
                ("name", Kind::Str),
                ("city", Kind::Str),
                ("kind", Kind::Str),
                ("members", Kind::Int),
                ("_geo", Kind::Geo),
            ],
            Self::Users => &[("display_name", Kind::Str), ("username", Kind::Str), ("followers", Kind::Int)],
        }
    }
}

impl std::fmt::Display for IndexName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a document field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string or an array of strings.
    Str,
    /// An integer.
    Int,
    Bool,
    /// Meilisearch's `_geo: {lat, lng}`.
    Geo,
}

/// Every document has this field, a string.
pub const PRIMARY_KEY: &str = "id";

/// One index's settings, parsed from its file.
#[derive(Clone, Debug)]
pub struct IndexConfig {
    pub name: IndexName,
    /// The file as written, for Meilisearch.
    pub raw: Value,
    /// Highest priority first.
    pub searchable: Vec<String>,
    pub filterable: Vec<String>,
    pub sortable: Vec<String>,
    pub synonyms: HashMap<String, Vec<String>>,
    pub stop_words: HashSet<String>,
    pub typos: TypoTolerance,
    pub max_values_per_facet: usize,
    pub max_total_hits: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct TypoTolerance {
    pub enabled: bool,
    /// Shortest word that may have one typo.
    pub one_typo: usize,
    /// Shortest word that may have two.
    pub two_typos: usize,
}

impl TypoTolerance {
    /// Typos tolerated in a query word (Meilisearch's rule).
    pub fn budget(&self, word: &str) -> u8 {
        let len = word.chars().count();
        match () {
            _ if !self.enabled || len < self.one_typo => 0,
            _ if len < self.two_typos => 1,
            _ => 2,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsFile {
    searchable_attributes: Vec<String>,
    #[serde(default)]
    filterable_attributes: Vec<String>,
    #[serde(default)]
    sortable_attributes: Vec<String>,
    #[serde(default)]
    synonyms: HashMap<String, Vec<String>>,
    #[serde(default)]
    stop_words: Vec<String>,
    #[serde(default)]
    typo_tolerance: TypoFile,
    #[serde(default)]
    faceting: FacetingFile,
    #[serde(default)]
    pagination: PaginationFile,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TypoFile {
    enabled: bool,
    min_word_size_for_typos: MinWordSize,
}

impl Default for TypoFile {
    fn default() -> Self {
        Self { enabled: true, min_word_size_for_typos: MinWordSize { one_typo: 5, two_typos: 9 } }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MinWordSize {
    one_typo: usize,
    two_typos: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct FacetingFile {
    max_values_per_facet: usize,
}

impl Default for FacetingFile {
    fn default() -> Self {
        Self { max_values_per_facet: 100 }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PaginationFile {
    max_total_hits: usize,
}

impl Default for PaginationFile {
    fn default() -> Self {
        Self { max_total_hits: 1000 }
    }
}

impl IndexConfig {
    /// The shipped settings of `name`; panics only if a shipped file is
    /// broken, which the unit tests rule out.
    pub fn shipped(name: IndexName) -> Self {
        Self::parse(name, name.settings_json()).expect("search-config files are valid (unit tested)")
    }

    fn parse(name: IndexName, json: &str) -> anyhow::Result<Self> {
        let raw: Value = serde_json::from_str(json)?;
        let file: SettingsFile = serde_json::from_value(raw.clone())?;
        let config = Self {
            name,
            raw,
            searchable: file.searchable_attributes,
            filterable: file.filterable_attributes,
            sortable: file.sortable_attributes,
            synonyms: file.synonyms.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect(),
            stop_words: file.stop_words.into_iter().map(|w| w.to_lowercase()).collect(),
            typos: TypoTolerance {
                enabled: file.typo_tolerance.enabled,
                one_typo: file.typo_tolerance.min_word_size_for_typos.one_typo,
                two_typos: file.typo_tolerance.min_word_size_for_typos.two_typos,
            },
            max_values_per_facet: file.faceting.max_values_per_facet,
            max_total_hits: file.pagination.max_total_hits,
        };
        config.check()?;
        Ok(config)
    }

    /// Every attribute named in the settings is a field of the document, with
    /// a kind that supports what the settings ask of it.
    fn check(&self) -> anyhow::Result<()> {
        for field in &self.searchable {
            anyhow::ensure!(
                self.kind(field) == Some(Kind::Str),
                "{}: searchable `{field}` must be a text field",
                self.name
            );
        }
        for field in &self.filterable {
            anyhow::ensure!(self.kind(field).is_some(), "{}: filterable `{field}` is not a field", self.name);
        }
        for field in &self.sortable {
            let kind = self.kind(field);
            anyhow::ensure!(
                matches!(kind, Some(Kind::Int | Kind::Geo)),
                "{}: sortable `{field}` must be a number or `_geo`",
                self.name
            );
        }
        Ok(())
    }

    /// The kind of a document field, `None` if the index has no such field.
    pub fn kind(&self, field: &str) -> Option<Kind> {
        self.name.fields().iter().find(|(name, _)| *name == field).map(|(_, kind)| *kind)
    }

    /// Every field of the document, in declaration order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, Kind)> {
        self.name.fields().iter().copied()
    }

    pub fn is_searchable(&self, field: &str) -> bool {
        self.searchable.iter().any(|f| f == field)
    }

    pub fn is_filterable(&self, field: &str) -> bool {
        self.filterable.iter().any(|f| f == field)
    }

    pub fn is_sortable(&self, field: &str) -> bool {
        self.sortable.iter().any(|f| f == field)
    }

    /// Fields a query may name, for error messages.
    pub fn queryable_fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> =
            self.searchable.iter().chain(&self.filterable).map(String::as_str).filter(|f| *f != "_geo").collect();
        fields.dedup();
        let mut seen = HashSet::new();
        fields.retain(|f| seen.insert(*f));
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_settings_file_is_valid() {
        for name in IndexName::ALL {
            let config = IndexConfig::shipped(name);
            assert!(!config.searchable.is_empty(), "{name}");
            assert!(config.raw.get("searchableAttributes").is_some());
        }
    }

    #[test]
    fn typo_budget_follows_meilisearch_defaults() {
        let typos = IndexConfig::shipped(IndexName::Tracks).typos;
        assert_eq!(typos.budget("love"), 0);
        assert_eq!(typos.budget("light"), 1);
        assert_eq!(typos.budget("midnights"), 2);
    }

    #[test]
    fn a_setting_naming_an_unknown_field_is_refused() {
        let json = r#"{"searchableAttributes": ["title", "lyrics"]}"#;
        assert!(IndexConfig::parse(IndexName::Tracks, json).is_err());
        let json = r#"{"searchableAttributes": ["title"], "sortableAttributes": ["title"]}"#;
        assert!(IndexConfig::parse(IndexName::Tracks, json).is_err());
    }
}
