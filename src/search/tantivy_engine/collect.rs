//! Collectors: the ranking key (explicit sort keys, then relevance) and the
//! facet counts over every match.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::schema::{LAT, LNG, keyword_name};
use crate::search::config::{IndexConfig, Kind};
use crate::search::request::{GeoPoint, SortKey};

/// Up to two sort keys (mapped so that larger is better), then relevance.
pub type RankKey = (u64, u64, Score);

/// An `i64` mapped to a `u64` of the same order.
fn ordered(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

enum KeyColumn {
    Int { column: Column<i64>, descending: bool },
    Distance { lat: Column<f64>, lng: Column<f64>, from: GeoPoint },
}

impl KeyColumn {
    /// Larger is better; documents without a value come last.
    fn key(&self, doc: DocId) -> u64 {
        match self {
            Self::Int { column, descending } => match column.first(doc) {
                Some(v) if *descending => ordered(v),
                Some(v) => !ordered(v),
                None => 0,
            },
            Self::Distance { lat, lng, from } => match (lat.first(doc), lng.first(doc)) {
                (Some(lat), Some(lng)) => !(from.distance_m(&GeoPoint { lat, lng }) as u64),
                _ => 0,
            },
        }
    }
}

/// Builds the per-segment ranking function for `tweak_score`.
pub fn rank_key(sort: Arc<Vec<SortKey>>) -> impl Fn(&SegmentReader) -> Box<dyn Fn(DocId, Score) -> RankKey> {
    move |segment: &SegmentReader| {
        let fast = segment.fast_fields();
        let columns: Vec<Option<KeyColumn>> = sort
            .iter()
            .map(|key| match key {
                SortKey::Field { field, descending } => {
                    fast.i64(field).ok().map(|column| KeyColumn::Int { column, descending: *descending })
                }
                SortKey::Distance(from) => match (fast.f64(LAT), fast.f64(LNG)) {
                    (Ok(lat), Ok(lng)) => Some(KeyColumn::Distance { lat, lng, from: *from }),
                    _ => None,
                },
            })
            .collect();
        Box::new(move |doc: DocId, score: Score| {
            let key = |i: usize| columns.get(i).and_then(Option::as_ref).map_or(0, |c| c.key(doc));
            (key(0), key(1), score)
        })
    }
}

/// Counts the values of the requested facets over every matching document.
pub struct Facets {
    /// (facet name, kind)
    pub fields: Vec<(String, Kind)>,
}

impl Facets {
    pub fn new(config: &IndexConfig, names: &[String]) -> Self {
        let fields = names.iter().filter_map(|n| config.kind(n).map(|k| (n.clone(), k))).collect();
        Self { fields }
    }
}

enum FacetColumn {
    Str(Option<StrColumn>),
    Int(Option<Column<i64>>),
    Bool(Option<Column<bool>>),
}

pub struct SegmentFacets {
    columns: Vec<FacetColumn>,
    /// Per facet: raw value (term ordinal, integer, 0/1) → count.
    counts: Vec<HashMap<i64, u64>>,
}

type FacetFruit = Vec<HashMap<String, u64>>;

impl Collector for Facets {
    type Fruit = FacetFruit;
    type Child = SegmentFacets;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = segment.fast_fields();
        let columns = self
            .fields
            .iter()
            .map(|(name, kind)| match kind {
                Kind::Int => FacetColumn::Int(fast.i64(name).ok()),
                Kind::Bool => FacetColumn::Bool(fast.bool(name).ok()),
                Kind::Str | Kind::Geo => FacetColumn::Str(fast.str(&keyword_name(name)).ok().flatten()),
            })
            .collect();
        Ok(SegmentFacets { columns, counts: vec![HashMap::new(); self.fields.len()] })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut merged: FacetFruit = vec![HashMap::new(); self.fields.len()];
        for fruit in fruits {
            for (into, from) in merged.iter_mut().zip(fruit) {
                for (value, count) in from {
                    *into.entry(value).or_default() += count;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in self.columns.iter().zip(&mut self.counts) {
            match column {
                FacetColumn::Str(Some(c)) => {
                    c.ords().values_for_doc(doc).for_each(|o| *counts.entry(o as i64).or_default() += 1)
                }
                FacetColumn::Int(Some(c)) => c.values_for_doc(doc).for_each(|v| *counts.entry(v).or_default() += 1),
                FacetColumn::Bool(Some(c)) => {
                    c.values_for_doc(doc).for_each(|v| *counts.entry(i64::from(v)).or_default() += 1)
                }
                _ => {}
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        self.columns
            .iter()
            .zip(self.counts)
            .map(|(column, counts)| {
                counts
                    .into_iter()
                    .map(|(raw, count)| {
                        let key = match column {
                            FacetColumn::Str(Some(c)) => {
                                let mut s = String::new();
                                c.ord_to_str(raw as u64, &mut s).ok();
                                s
                            }
                            FacetColumn::Bool(_) => (raw == 1).to_string(),
                            _ => raw.to_string(),
                        };
                        (key, count)
                    })
                    .collect()
            })
            .collect()
    }
}
