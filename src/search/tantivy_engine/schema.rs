//! The tantivy schema of an index, derived from its settings: a text field
//! per searchable attribute, an exact-value (keyword) field per filterable
//! text attribute, a fast numeric field per filterable or sortable number,
//! latitude/longitude for `_geo`, plus the id and the stored document.

use std::collections::HashMap;

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::search::config::{IndexConfig, Kind};

/// Name of the analyser registered on every index.
pub const TOKENIZER: &str = "crowdjuke";
pub const ID: &str = "id";
pub const SOURCE: &str = "_source";
pub const LAT: &str = "_geo_lat";
pub const LNG: &str = "_geo_lng";

/// The keyword field of a filterable text attribute (lower-cased values,
/// for filters).
pub fn keyword_name(field: &str) -> String {
    format!("{field}__kw")
}

/// The facet column of a filterable text attribute (values as written,
/// as Meilisearch reports them).
pub fn facet_name(field: &str) -> String {
    format!("{field}__facet")
}

pub struct Fields {
    pub id: Field,
    pub source: Field,
    /// Searchable attributes with their boost, highest priority first.
    pub text: Vec<(String, Field, f32)>,
    pub keyword: HashMap<String, Field>,
    pub facet: HashMap<String, Field>,
    pub int: HashMap<String, Field>,
    pub boolean: HashMap<String, Field>,
    pub geo: Option<(Field, Field)>,
}

impl Fields {
    pub fn text_field(&self, name: &str) -> Option<(Field, f32)> {
        self.text.iter().find(|(n, _, _)| n == name).map(|(_, f, b)| (*f, *b))
    }
}

pub fn build(config: &IndexConfig) -> (Schema, Fields) {
    let mut schema = Schema::builder();
    let id = schema.add_text_field(ID, STRING | STORED);
    let source = schema.add_text_field(SOURCE, STORED);
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text_options = TextOptions::default().set_indexing_options(indexing);
    let count = config.searchable.len();
    let text = config
        .searchable
        .iter()
        .enumerate()
        .map(|(rank, name)| {
            // Earlier attributes weigh more (Meilisearch's `attribute` rule).
            let boost = 1.0 + (count - rank) as f32;
            (name.clone(), schema.add_text_field(name, text_options.clone()), boost)
        })
        .collect();
    let (mut keyword, mut facet, mut int, mut boolean, mut geo) =
        (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new(), None);
    for (name, kind) in config.fields() {
        let filterable = config.is_filterable(name);
        let sortable = config.is_sortable(name);
        match kind {
            Kind::Str if filterable => {
                keyword.insert(name.to_string(), schema.add_text_field(&keyword_name(name), STRING));
                facet.insert(name.to_string(), schema.add_text_field(&facet_name(name), FAST));
            }
            Kind::Int if filterable || sortable => {
                int.insert(name.to_string(), schema.add_i64_field(name, INDEXED | FAST));
            }
            Kind::Bool if filterable => {
                boolean.insert(name.to_string(), schema.add_bool_field(name, INDEXED | FAST));
            }
            Kind::Geo if filterable || sortable => {
                geo = Some((schema.add_f64_field(LAT, INDEXED | FAST), schema.add_f64_field(LNG, INDEXED | FAST)));
            }
            _ => {}
        }
    }
    (schema.build(), Fields { id, source, text, keyword, facet, int, boolean, geo })
}
