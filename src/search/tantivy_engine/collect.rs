//! Collectors: the ranking key (explicit sort keys, then relevance) and the
//! facet counts over every match.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::schema::{LAT, LNG, facet_name};
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
    /// Counts indexed by term ordinal.
    Str(StrColumn, Vec<u64>),
    Int(Column<i64>, IntCounts),
    /// Counts of false and true.
    Bool(Column<bool>, [u64; 2]),
    Missing,
}

/// Counts of integer values: a short list scanned linearly while the
/// values are few (decades, explicit years: the common facets, and twice as
/// fast as hashing), a hash map beyond that (durations).
#[derive(Default)]
pub struct IntCounts {
    few: Vec<(i64, u64)>,
    many: HashMap<i64, u64>,
}

impl IntCounts {
    const FEW: usize = 32;

    fn add(&mut self, value: i64) {
        if let Some((_, n)) = self.few.iter_mut().find(|(v, _)| *v == value) {
            *n += 1;
        } else if self.few.len() < Self::FEW {
            self.few.push((value, 1));
        } else {
            *self.many.entry(value).or_default() += 1;
        }
    }
}

pub struct SegmentFacets {
    columns: Vec<FacetColumn>,
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
            .map(|(name, kind)| {
                let column = match kind {
                    Kind::Int => fast.i64(name).ok().map(|c| FacetColumn::Int(c, IntCounts::default())),
                    Kind::Bool => fast.bool(name).ok().map(|c| FacetColumn::Bool(c, [0; 2])),
                    Kind::Str | Kind::Geo => fast.str(&facet_name(name)).ok().flatten().map(|c| {
                        let terms = c.num_terms();
                        FacetColumn::Str(c, vec![0; terms])
                    }),
                };
                column.unwrap_or(FacetColumn::Missing)
            })
            .collect();
        Ok(SegmentFacets { columns })
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
        for column in &mut self.columns {
            match column {
                FacetColumn::Str(c, counts) => {
                    for ord in c.ords().values_for_doc(doc) {
                        if let Some(count) = counts.get_mut(ord as usize) {
                            *count += 1;
                        }
                    }
                }
                FacetColumn::Int(c, counts) => c.values_for_doc(doc).for_each(|v| counts.add(v)),
                FacetColumn::Bool(c, counts) => c.values_for_doc(doc).for_each(|v| counts[usize::from(v)] += 1),
                FacetColumn::Missing => {}
            }
        }
    }

    /// Turns this segment's ordinals into values (ordinals are per segment).
    fn harvest(self) -> FacetFruit {
        self.columns
            .into_iter()
            .map(|column| match column {
                FacetColumn::Str(c, counts) => counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, n)| *n > 0)
                    .map(|(ord, n)| {
                        let mut value = String::new();
                        c.ord_to_str(ord as u64, &mut value).ok();
                        (value, n)
                    })
                    .collect(),
                FacetColumn::Int(_, counts) => {
                    counts.few.into_iter().chain(counts.many).map(|(v, n)| (v.to_string(), n)).collect()
                }
                FacetColumn::Bool(_, [no, yes]) => {
                    [("false".to_string(), no), ("true".to_string(), yes)].into_iter().filter(|(_, n)| *n > 0).collect()
                }
                FacetColumn::Missing => HashMap::new(),
            })
            .collect()
    }
}
