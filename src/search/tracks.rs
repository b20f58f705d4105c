//! A tantivy index of tracks (title, artists, album, genres), kept in memory.
//!
//! Query semantics follow Meilisearch's defaults so the later Meilisearch
//! backend behaves the same: every word must match some field; the last word
//! matches as a prefix (search-as-you-type); words of 5+ letters tolerate one
//! typo, 9+ letters two.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query};
use tantivy::schema::{Field, STORED, STRING, Schema, TEXT, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

use crate::domain::Track;

/// Most words in one query; the rest are ignored.
const MAX_QUERY_WORDS: usize = 8;

pub struct TrackIndex {
    index: Index,
    reader: IndexReader,
    id: Field,
    /// Searchable fields with their boost, most important first.
    fields: Vec<(Field, f32)>,
}

/// Typos tolerated for a word of this many characters.
fn typos_for(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

impl TrackIndex {
    pub fn build(tracks: &[Track]) -> anyhow::Result<Self> {
        let mut schema = Schema::builder();
        let id = schema.add_text_field("id", STRING | STORED);
        let title = schema.add_text_field("title", TEXT);
        let artists = schema.add_text_field("artists", TEXT);
        let album = schema.add_text_field("album", TEXT);
        let genres = schema.add_text_field("genres", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 30_000_000)?;
        for t in tracks {
            writer.add_document(doc!(
                id => t.id.as_str(),
                title => t.title.as_str(),
                artists => t.artists.join(" "),
                album => t.album.as_str(),
                genres => t.genres.join(" "),
            ))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        let fields = vec![(title, 3.0), (artists, 2.0), (album, 1.0), (genres, 0.5)];
        Ok(Self { index, reader, id, fields })
    }

    fn words(&self, query: &str) -> Vec<String> {
        let mut analyzer: TextAnalyzer = self.index.tokenizers().get("default").unwrap_or_default();
        let mut stream = analyzer.token_stream(query);
        let mut words = Vec::new();
        while stream.advance() && words.len() < MAX_QUERY_WORDS {
            words.push(stream.token().text.clone());
        }
        words
    }

    /// Ids of the best matches, best first.
    pub fn search(&self, query: &str, limit: usize) -> anyhow::Result<Vec<String>> {
        let words = self.words(query);
        let Some(last) = words.len().checked_sub(1) else {
            return Ok(Vec::new());
        };
        let clauses = words.iter().enumerate().map(|(i, word)| {
            let per_field = self.fields.iter().map(|(field, boost)| {
                let term = Term::from_field_text(*field, word);
                let typos = typos_for(word);
                let fuzzy = if i == last {
                    FuzzyTermQuery::new_prefix(term, typos, true)
                } else {
                    FuzzyTermQuery::new(term, typos, true)
                };
                let boosted: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(fuzzy), *boost));
                (Occur::Should, boosted)
            });
            let any_field: Box<dyn Query> = Box::new(BooleanQuery::new(per_field.collect()));
            (Occur::Must, any_field)
        });
        let query = BooleanQuery::new(clauses.collect());
        let searcher = self.reader.searcher();
        let hits = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        hits.into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address)?;
                Ok(doc.get_first(self.id).and_then(|v| v.as_str()).unwrap_or_default().to_string())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::demo;

    fn index() -> (TrackIndex, Vec<Track>) {
        let tracks = demo::tracks();
        (TrackIndex::build(&tracks).expect("index builds"), tracks)
    }

    #[test]
    fn a_prefix_of_the_last_word_finds_the_track() {
        let (index, tracks) = index();
        let target = &tracks[10];
        let word = target.title.split(' ').next().unwrap_or_default();
        let prefix = &word[..word.len().min(4)];
        let hits = index.search(prefix, 100).expect("search");
        assert!(hits.contains(&target.id), "{prefix} should find {}", target.title);
    }

    #[test]
    fn one_typo_in_a_long_word_still_matches() {
        let (index, tracks) = index();
        let artist = tracks.iter().find(|t| t.artists[0].contains("Brightwater")).expect("demo artist");
        let hits = index.search("Brightwatr", 200).expect("search");
        assert!(hits.contains(&artist.id));
    }

    #[test]
    fn every_word_must_match() {
        let (index, _) = index();
        assert!(index.search("zzzzqqq", 10).expect("search").is_empty());
        assert!(index.search("", 10).expect("search").is_empty());
    }
}
