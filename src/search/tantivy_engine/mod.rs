//! The embedded engine: one tantivy index per search index under
//! `{data_dir}/search/{index}`, its schema derived from `search-config/`. An
//! index whose settings changed is rebuilt empty and reported, so the caller
//! reindexes it from the store.

mod collect;
mod query;
mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, RangeQuery};
use tantivy::schema::Value as _;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use self::collect::{Facets, rank_key};
use self::schema::Fields;
use super::config::{IndexConfig, IndexName, Kind, PRIMARY_KEY};
use super::plan::{keyword, text_analyzer};
use super::request::{GeoPoint, SearchRequest};
use super::{SearchEngine, SearchError, SearchResult, SearchResults, top_values};

/// Memory the writer may buffer before flushing a segment.
const WRITER_MEMORY: usize = 50_000_000;

pub struct TantivyEngine {
    indexes: Vec<Arc<TantivyIndex>>,
    /// Indexes created empty at start-up (new, or settings changed).
    rebuilt: Vec<IndexName>,
}

struct TantivyIndex {
    config: IndexConfig,
    reader: IndexReader,
    /// `None` once closed.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
}

fn internal(e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(e.to_string())
}

impl TantivyEngine {
    /// Opens (or creates) every index under `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut indexes = Vec::new();
        let mut rebuilt = Vec::new();
        for name in IndexName::ALL {
            let (index, fresh) = TantivyIndex::open(&dir.join(name.as_str()), IndexConfig::shipped(name))?;
            if fresh {
                rebuilt.push(name);
            }
            indexes.push(Arc::new(index));
        }
        Ok(Self { indexes, rebuilt })
    }

    /// Indexes that start empty and need filling from the store.
    pub fn rebuilt(&self) -> &[IndexName] {
        &self.rebuilt
    }

    fn index(&self, name: IndexName) -> Arc<TantivyIndex> {
        let at = IndexName::ALL.iter().position(|n| *n == name).unwrap_or_default();
        self.indexes[at].clone()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        name: IndexName,
        work: impl FnOnce(&TantivyIndex) -> SearchResult<T> + Send + 'static,
    ) -> SearchResult<T> {
        let index = self.index(name);
        tokio::task::spawn_blocking(move || work(&index)).await.map_err(internal)?
    }
}

impl TantivyIndex {
    /// Opens the index in `dir`; a directory holding an index with another
    /// schema is wiped and recreated. Returns whether the index is new.
    fn open(dir: &PathBuf, config: IndexConfig) -> anyhow::Result<(Self, bool)> {
        let (schema, fields) = schema::build(&config);
        std::fs::create_dir_all(dir)?;
        let existed = Index::exists(&MmapDirectory::open(dir)?)?;
        let index = match Index::open_or_create(MmapDirectory::open(dir)?, schema.clone()) {
            Ok(index) => index,
            Err(e) => {
                tracing::warn!(index = %config.name, error = %e, "search settings changed: rebuilding the index");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                return Ok((Self::create(dir, config)?, true));
            }
        };
        let fresh = !existed || index.reader()?.searcher().num_docs() == 0;
        Ok((Self::finish(index, config, fields)?, fresh))
    }

    fn create(dir: &Path, config: IndexConfig) -> anyhow::Result<Self> {
        let (schema, fields) = schema::build(&config);
        let index = Index::create_in_dir(dir, schema)?;
        Self::finish(index, config, fields)
    }

    fn finish(index: Index, config: IndexConfig, fields: Fields) -> anyhow::Result<Self> {
        index.tokenizers().register(schema::TOKENIZER, text_analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        Ok(Self { config, reader, writer: Mutex::new(Some(writer)), fields })
    }

    fn write(&self, work: impl FnOnce(&mut IndexWriter, &Self) -> SearchResult<()>) -> SearchResult<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let writer = guard.as_mut().ok_or_else(|| SearchError::Unavailable("search index closed".into()))?;
        if let Err(e) = work(writer, self) {
            writer.rollback().ok();
            return Err(e);
        }
        writer.commit().map_err(internal)?;
        self.reader.reload().map_err(internal)
    }

    fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.fields.id, id)
    }

    /// The tantivy document of an indexed JSON document.
    fn document(&self, doc: &Value) -> SearchResult<(String, TantivyDocument)> {
        let id = document_id(doc)?;
        let mut out = TantivyDocument::new();
        out.add_text(self.fields.id, &id);
        out.add_text(self.fields.source, doc.to_string());
        for (name, kind) in self.config.fields() {
            let value = doc.get(name).unwrap_or(&Value::Null);
            match kind {
                Kind::Str => {
                    for text in strings(value) {
                        if let Some((field, _)) = self.fields.text_field(name) {
                            out.add_text(field, text);
                        }
                        if let Some(field) = self.fields.keyword.get(name) {
                            out.add_text(*field, keyword(text));
                        }
                        if let Some(field) = self.fields.facet.get(name) {
                            out.add_text(*field, text.trim());
                        }
                    }
                }
                Kind::Int => {
                    if let (Some(field), Some(n)) = (self.fields.int.get(name), value.as_i64()) {
                        out.add_i64(*field, n);
                    }
                }
                Kind::Bool => {
                    if let (Some(field), Some(b)) = (self.fields.boolean.get(name), value.as_bool()) {
                        out.add_bool(*field, b);
                    }
                }
                Kind::Geo => {
                    if let (Some((lat, lng)), Some(point)) = (self.fields.geo, geo_point(value)) {
                        out.add_f64(lat, point.lat);
                        out.add_f64(lng, point.lng);
                    }
                }
            }
        }
        Ok((id, out))
    }

    fn search(&self, request: &SearchRequest) -> SearchResult<SearchResults> {
        let builder = query::Builder { config: &self.config, fields: &self.fields };
        let max = self.config.max_total_hits;
        if let (Some(radius), Some(near)) = (request.radius_m, request.near()) {
            return self.search_within(request, near, radius, &builder);
        }
        let query = builder.request(request.query.as_ref(), request.filter.as_ref(), None);
        let limit = request.limit.min(max.saturating_sub(request.offset));
        let searcher = self.reader.searcher();
        let facets = Facets::new(&self.config, &request.facets);
        let sort = Arc::new(request.sort.clone());
        let top = TopDocs::with_limit(limit.max(1)).and_offset(request.offset).tweak_score(rank_key(sort));
        let (top, total, counts) = searcher.search(&query, &(top, Count, facets)).map_err(internal)?;
        let mut hits = Vec::with_capacity(limit);
        for (_, address) in top.into_iter().take(limit) {
            let doc: TantivyDocument = searcher.doc(address).map_err(internal)?;
            hits.push(self.hit(&doc, request.near()));
        }
        let facets = request
            .facets
            .iter()
            .cloned()
            .zip(counts)
            .map(|(name, counts)| (name, top_values(counts, self.config.max_values_per_facet)))
            .collect();
        Ok(SearchResults { hits, total: total.min(max), facets })
    }

    /// Search within a radius: the bounding box narrows the candidates in
    /// the index, the exact distance decides; facets are counted on the
    /// survivors (a rooms-sized index).
    fn search_within(
        &self,
        request: &SearchRequest,
        near: GeoPoint,
        radius: f64,
        builder: &query::Builder<'_>,
    ) -> SearchResult<SearchResults> {
        let Some((lat, lng)) = self.fields.geo else { return Ok(SearchResults::default()) };
        let d_lat = radius / 111_000.0;
        let range = |field, low: f64, high: f64| -> (Occur, Box<dyn tantivy::query::Query>) {
            let bound = |v: f64| std::ops::Bound::Included(Term::from_field_f64(field, v));
            (Occur::Must, Box::new(RangeQuery::new(bound(low), bound(high))))
        };
        let mut clauses = vec![range(lat, near.lat - d_lat, near.lat + d_lat)];
        // Longitude degrees shrink towards the poles; near a pole or across
        // the antimeridian the latitude band alone narrows the candidates.
        let d_lng = d_lat / near.lat.to_radians().cos().max(1e-6);
        if near.lng - d_lng > -180.0 && near.lng + d_lng < 180.0 && near.lat.abs() + d_lat < 89.0 {
            clauses.push(range(lng, near.lng - d_lng, near.lng + d_lng));
        }
        let box_query = BooleanQuery::new(clauses);
        let query = builder.request(request.query.as_ref(), request.filter.as_ref(), Some(Box::new(box_query)));
        let searcher = self.reader.searcher();
        let sort = Arc::new(request.sort.clone());
        // Every candidate in the box, ranked; the exact distance decides below.
        let candidates = (searcher.num_docs() as usize).max(1);
        let top = TopDocs::with_limit(candidates).tweak_score(rank_key(sort));
        let mut survivors = Vec::new();
        for (_, address) in searcher.search(&query, &top).map_err(internal)? {
            let doc: TantivyDocument = searcher.doc(address).map_err(internal)?;
            let hit = self.hit(&doc, Some(near));
            if geo_point(&hit["_geo"]).is_some_and(|p| near.distance_m(&p) <= radius) {
                survivors.push(hit);
            }
        }
        let mut facets = BTreeMap::new();
        for name in &request.facets {
            let mut counts = std::collections::HashMap::new();
            for hit in &survivors {
                for value in facet_values(&hit[name.as_str()]) {
                    *counts.entry(value).or_default() += 1;
                }
            }
            facets.insert(name.clone(), top_values(counts, self.config.max_values_per_facet));
        }
        survivors.truncate(self.config.max_total_hits);
        let total = survivors.len();
        let hits = survivors.into_iter().skip(request.offset).take(request.limit).collect();
        Ok(SearchResults { hits, total, facets })
    }

    fn hit(&self, doc: &TantivyDocument, near: Option<GeoPoint>) -> Value {
        let source = doc.get_first(self.fields.source).and_then(|v| v.as_str()).unwrap_or("{}");
        let mut hit: Value = serde_json::from_str(source).unwrap_or(Value::Null);
        if let (Some(near), Some(point)) = (near, geo_point(&hit["_geo"])) {
            hit["_geoDistance"] = Value::from(near.distance_m(&point).round() as u64);
        }
        hit
    }
}

/// The document's id: a string or integer of letters, digits, `-` and `_`
/// (Meilisearch's rule, so both engines accept the same documents).
fn document_id(doc: &Value) -> SearchResult<String> {
    let id = match doc.get(PRIMARY_KEY) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Err(SearchError::Failed("missing_document_id: a document has no `id`".into())),
    };
    let valid =
        !id.is_empty() && id.len() <= 511 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(SearchError::Failed(format!("invalid_document_id: `{id}`")));
    }
    Ok(id)
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn facet_values(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.trim().to_string()],
        Value::Array(items) => items.iter().flat_map(facet_values).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn geo_point(value: &Value) -> Option<GeoPoint> {
    Some(GeoPoint { lat: value.get("lat")?.as_f64()?, lng: value.get("lng")?.as_f64()? })
}

#[async_trait]
impl SearchEngine for TantivyEngine {
    async fn prepare(&self) -> SearchResult<()> {
        Ok(())
    }

    async fn upsert(&self, name: IndexName, documents: &[Value]) -> SearchResult<()> {
        let documents = documents.to_vec();
        self.blocking(name, move |index| {
            let docs = documents.iter().map(|d| index.document(d)).collect::<SearchResult<Vec<_>>>()?;
            index.write(|writer, index| {
                for (id, doc) in docs {
                    writer.delete_term(index.id_term(&id));
                    writer.add_document(doc).map_err(internal)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn delete(&self, name: IndexName, ids: &[String]) -> SearchResult<()> {
        let ids = ids.to_vec();
        self.blocking(name, move |index| {
            index.write(|writer, index| {
                for id in &ids {
                    writer.delete_term(index.id_term(id));
                }
                Ok(())
            })
        })
        .await
    }

    async fn clear(&self, name: IndexName) -> SearchResult<()> {
        self.blocking(name, |index| {
            index.write(|writer, _| writer.delete_all_documents().map(|_| ()).map_err(internal))
        })
        .await
    }

    async fn search(&self, name: IndexName, request: &SearchRequest) -> SearchResult<SearchResults> {
        let request = request.clone();
        self.blocking(name, move |index| index.search(&request)).await
    }

    async fn count(&self, name: IndexName) -> SearchResult<u64> {
        Ok(self.index(name).reader.searcher().num_docs())
    }

    async fn close(&self) {
        for index in &self.indexes {
            let writer = index.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(writer) = writer {
                let _ = tokio::task::spawn_blocking(move || writer.wait_merging_threads()).await;
            }
        }
    }
}
