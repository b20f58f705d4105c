//! One conformance suite for the `SearchEngine` trait, run against both
//! engines on the same fixed corpus with the same expected results: the
//! embedded tantivy index (in a temporary directory) and the Meilisearch
//! engine (against `meili_double`, which refuses any request outside
//! Meilisearch's documented v1 API — every case also asserts that nothing
//! was refused). Constructs only one engine can express are checked per
//! engine: tantivy runs them, Meilisearch answers `unsupported_query`.

use std::sync::Arc;

use crowdjuke::domain::Track;
use crowdjuke::search::documents::track as search_document;
use crowdjuke::search::request::SearchParams;
use crowdjuke::search::{
    IndexConfig, IndexName, MeiliEngine, SearchEngine, SearchError, SearchRequest, SearchResults, TantivyEngine,
};
use serde_json::Value;
use tempfile::TempDir;

use crate::meili_double::MeiliDouble;

const KEY: &str = "test-master-key-0123456789";

/// An engine under test, holding what must live as long as it.
pub struct Subject {
    pub engine: Arc<dyn SearchEngine>,
    pub double: Option<MeiliDouble>,
    _dir: Option<TempDir>,
}

impl Drop for Subject {
    fn drop(&mut self) {
        if let Some(double) = &self.double {
            let refused = double.rejected();
            if !std::thread::panicking() {
                assert!(refused.is_empty(), "the Meilisearch double refused requests: {refused:#?}");
            }
        }
    }
}

pub async fn tantivy() -> Subject {
    let dir = TempDir::new().expect("temp dir");
    let engine = TantivyEngine::open(dir.path()).expect("tantivy opens");
    engine.prepare().await.expect("prepare");
    Subject { engine: Arc::new(engine), double: None, _dir: Some(dir) }
}

pub async fn meilisearch() -> Subject {
    let double = MeiliDouble::start(Some(KEY)).await;
    let engine = MeiliEngine::connect(&double.url(), Some(KEY)).expect("client");
    engine.prepare().await.expect("settings from search-config/ are accepted");
    Subject { engine: Arc::new(engine), double: Some(double), _dir: None }
}

#[allow(clippy::too_many_arguments)]
fn track(id: &str, title: &str, artist: &str, genres: &[&str], year: u16, secs: u64, explicit: bool, pop: u8) -> Track {
    Track {
        id: id.into(),
        title: title.into(),
        artists: vec![artist.into()],
        album: format!("{title} (album)"),
        genres: genres.iter().map(|g| g.to_string()).collect(),
        year,
        duration_ms: secs * 1000,
        explicit,
        popularity: pop,
        ..Track::default()
    }
}

/// Thirteen tracks chosen so every case has a small, exact answer.
fn corpus() -> Vec<Track> {
    vec![
        track("t01", "Golden Heart", "Daft Punk", &["house", "electronic"], 1997, 240, false, 90),
        track("t02", "Heart of Gold", "Neil Young", &["rock", "folk"], 1972, 190, false, 80),
        track("t03", "Midnight City", "M83", &["electronic"], 2011, 243, false, 85),
        track("t04", "Golden Hour", "Kacey Musgraves", &["country"], 2018, 200, false, 60),
        track("t05", "Crazy in Love", "Beyoncé", &["r&b", "pop"], 2003, 236, false, 95),
        track("t06", "Love Will Tear Us Apart", "Joy Division", &["rock"], 1980, 205, false, 70),
        track("t07", "Live Forever", "Oasis", &["rock"], 1994, 276, false, 75),
        track("t08", "Juicy", "The Notorious B.I.G.", &["hip-hop"], 1994, 305, true, 88),
        track("t09", "Around the World", "Daft Punk", &["house"], 1997, 429, false, 82),
        track("t10", "Electric Feel", "MGMT", &["indie", "electronic"], 2008, 229, false, 78),
        track("t11", "Extraordinary Machine", "Fiona Apple", &["pop"], 2005, 224, false, 40),
        track("t12", "Love Live Forever", "The Lovers", &["pop"], 1999, 180, true, 20),
        track("t13", "Midnights", "Taylor Swift", &["pop"], 2022, 200, false, 50),
    ]
}

async fn loaded(subject: Subject) -> Subject {
    let docs: Vec<Value> = corpus().iter().map(search_document).collect();
    subject.engine.upsert(IndexName::Tracks, &docs).await.expect("corpus indexed");
    subject
}

fn request(q: &str, filter: Option<&str>, facets: Option<&str>, sort: Option<&str>) -> SearchRequest {
    let params = SearchParams {
        q: q.into(),
        filter: filter.map(str::to_string),
        facets: facets.map(str::to_string),
        sort: sort.map(str::to_string),
        limit: Some(100),
        ..SearchParams::default()
    };
    SearchRequest::build(&IndexConfig::shipped(IndexName::Tracks), &params).expect("a valid request")
}

async fn run(subject: &Subject, request: &SearchRequest) -> Result<SearchResults, SearchError> {
    subject.engine.search(IndexName::Tracks, request).await
}

fn ids(results: &SearchResults) -> Vec<String> {
    results.hits.iter().map(|h| h["id"].as_str().expect("id").to_string()).collect()
}

/// The ids matching `q`, sorted (ranking aside).
async fn matching(subject: &Subject, q: &str) -> Vec<String> {
    let mut found = ids(&run(subject, &request(q, None, None, None)).await.expect("search"));
    found.sort();
    found
}

fn expected(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn the_last_word_matches_as_a_prefix(subject: Subject) {
    let s = loaded(subject).await;
    assert_eq!(matching(&s, "golde").await, expected(&["t01", "t02", "t04"]));
    assert_eq!(matching(&s, "golden he").await, expected(&["t01"]));
    assert_eq!(matching(&s, "midn").await, expected(&["t03", "t13"]));
    assert!(matching(&s, "midn ").await.is_empty(), "a finished word is not a prefix");
}

async fn typos_are_tolerated_by_word_length(subject: Subject) {
    let s = loaded(subject).await;
    assert_eq!(matching(&s, "midnigt ").await, expected(&["t03"]), "one typo from five letters");
    assert_eq!(matching(&s, "electirc ").await, expected(&["t10"]), "a swap counts as one typo");
    assert_eq!(matching(&s, "extraordnery ").await, expected(&["t11"]), "two typos from nine letters");
    assert!(matching(&s, "lvoe ").await.is_empty(), "no typo below five letters");
    assert!(matching(&s, "mdinigt ").await.is_empty(), "two typos need nine letters");
}

async fn every_word_must_match_and_phrases_keep_order(subject: Subject) {
    let s = loaded(subject).await;
    assert_eq!(matching(&s, "love forever").await, expected(&["t12"]));
    assert_eq!(matching(&s, "heart golden ").await, expected(&["t01"]));
    assert!(matching(&s, "\"heart golden\"").await.is_empty());
    assert_eq!(matching(&s, "\"golden heart\"").await, expected(&["t01"]));
    assert_eq!(matching(&s, "\"heart of gold\"").await, expected(&["t02"]));
}

async fn negated_words_exclude(subject: Subject) {
    let s = loaded(subject).await;
    assert_eq!(matching(&s, "love -live").await, expected(&["t05", "t06"]));
    assert_eq!(matching(&s, "golden -\"golden hour\"").await, expected(&["t01"]));
    assert_eq!(matching(&s, "love -forevr").await, expected(&["t05", "t06", "t12"]), "negation is exact only");
}

async fn accents_and_case_are_folded_and_synonyms_apply(subject: Subject) {
    let s = loaded(subject).await;
    assert_eq!(matching(&s, "BEYONCE").await, expected(&["t05"]));
    assert_eq!(matching(&s, "beyoncé crazy").await, expected(&["t05"]));
    assert_eq!(matching(&s, "hiphop ").await, expected(&["t08"]), "synonym from search-config/tracks.json");
}

async fn fields_filters_and_ranges_narrow_the_results(subject: Subject) {
    let s = loaded(subject).await;
    assert_eq!(matching(&s, "artist:\"daft punk\"").await, expected(&["t01", "t09"]));
    assert_eq!(matching(&s, "title:love").await, expected(&["t05", "t06", "t12"]));
    assert_eq!(matching(&s, "genre:(rock OR folk) year:[1970 TO 1990]").await, expected(&["t02", "t06"]));
    assert_eq!(matching(&s, "love explicit:true").await, expected(&["t12"]));
    assert_eq!(matching(&s, "genre:hip-hop").await, expected(&["t08"]));
    assert_eq!(matching(&s, "juicy hip-hop").await, expected(&["t08"]), "a hyphenated word is two words");
    assert_eq!(matching(&s, "genre:hip-hop year:[* TO *]").await, expected(&["t08"]), "has a year");
    assert_eq!(matching(&s, "duration_ms:{300000 TO *]").await, expected(&["t08", "t09"]));
    assert_eq!(matching(&s, "genre:house -year:1997").await, Vec::<String>::new());
    let filtered = request("love", Some("year:[* TO 2000} AND NOT explicit:true"), None, None);
    assert_eq!(ids(&run(&s, &filtered).await.expect("search")), expected(&["t06"]));
}

async fn facets_count_every_match(subject: Subject) {
    let s = loaded(subject).await;
    let found = run(&s, &request("", Some("year:[1990 TO 1999]"), Some("genre,decade,explicit"), None)).await;
    let found = found.expect("search");
    assert_eq!(found.total, 5);
    let count = |facet: &str, value: &str| found.facets[facet].get(value).copied();
    assert_eq!(count("genre", "house"), Some(2));
    assert_eq!(count("genre", "rock"), Some(1));
    assert_eq!(count("genre", "hip-hop"), Some(1));
    assert_eq!(count("decade", "1990"), Some(5));
    assert_eq!(count("explicit", "true"), Some(2));
    assert_eq!(count("explicit", "false"), Some(3));
}

async fn sorting_and_pages_are_exact(subject: Subject) {
    let s = loaded(subject).await;
    let by_popularity = run(&s, &request("", None, None, Some("popularity:desc"))).await.expect("search");
    assert_eq!(ids(&by_popularity)[..3], expected(&["t05", "t01", "t08"]));
    assert_eq!(by_popularity.total, 13);
    let oldest = run(&s, &request("genre:rock", None, None, Some("year:asc"))).await.expect("search");
    assert_eq!(ids(&oldest), expected(&["t02", "t06", "t07"]));
    let mut page = request("", None, None, Some("popularity:asc"));
    (page.offset, page.limit) = (2, 3);
    let page = run(&s, &page).await.expect("search");
    assert_eq!((ids(&page), page.total), (expected(&["t13", "t04", "t06"]), 13));
}

async fn an_exact_match_ranks_before_a_typo(subject: Subject) {
    let s = loaded(subject).await;
    let found = run(&s, &request("midnight ", None, None, None)).await.expect("search");
    assert_eq!(ids(&found), expected(&["t03", "t13"]));
    let found = run(&s, &request("midnights ", None, None, None)).await.expect("search");
    assert_eq!(ids(&found), expected(&["t13", "t03"]));
}

async fn filter_values_cannot_inject_syntax(subject: Subject) {
    let s = loaded(subject).await;
    for value in [r#"rock\" OR genre = \"pop"#, "rock' OR genre = 'pop", r"rock\\", "x) OR (year > 0"] {
        let q = format!("genre:\"{value}\"");
        assert!(matching(&s, &q).await.is_empty(), "{q} must match the literal value only");
    }
}

async fn documents_are_replaced_and_deleted_by_id(subject: Subject) {
    let s = loaded(subject).await;
    let mut changed = corpus().remove(2);
    changed.title = "Noon Village".into();
    changed.album = "Noon".into();
    s.engine.upsert(IndexName::Tracks, &[search_document(&changed)]).await.expect("replace");
    assert!(matching(&s, "\"midnight city\"").await.is_empty());
    assert_eq!(matching(&s, "noon village").await, expected(&["t03"]));
    s.engine.delete(IndexName::Tracks, &["t03".into(), "unknown".into()]).await.expect("delete");
    assert!(matching(&s, "noon").await.is_empty());
    assert_eq!(s.engine.count(IndexName::Tracks).await.expect("count"), 12);
    s.engine.clear(IndexName::Tracks).await.expect("clear");
    assert_eq!(s.engine.count(IndexName::Tracks).await.expect("count"), 0);
}

async fn a_document_without_a_valid_id_fails_the_write(subject: Subject) {
    let s = loaded(subject).await;
    let bad = serde_json::json!({"id": "has space", "title": "x"});
    let result = s.engine.upsert(IndexName::Tracks, &[bad]).await;
    assert!(matches!(result, Err(SearchError::Failed(ref m)) if m.contains("invalid_document_id")), "{result:?}");
    assert_eq!(s.engine.count(IndexName::Tracks).await.expect("count"), 13, "nothing half-written");
}

/// Public rooms in four cities: Paris (two), Lyon, Berlin, São Paulo.
fn rooms() -> Vec<Value> {
    let room = |id: &str, name: &str, city: &str, kind: &str, members: u64, lat: f64, lng: f64| {
        serde_json::json!({"id": id, "code": id.to_uppercase(), "name": name, "city": city, "kind": kind,
            "members": members, "_geo": {"lat": lat, "lng": lng}})
    };
    vec![
        room("r1", "Le Comptoir Jukebox", "Paris", "venue", 40, 48.8566, 2.3522),
        room("r2", "Rooftop Party", "Paris", "party", 12, 48.8738, 2.2950),
        room("r3", "Vinyl Bar", "Lyon", "venue", 25, 45.7640, 4.8357),
        room("r4", "Spree Rooftop", "Berlin", "party", 80, 52.5200, 13.4050),
        room("r5", "Samba Jukebox", "São Paulo", "venue", 5, -23.5505, -46.6333),
    ]
}

fn room_request(q: &str, params: SearchParams) -> SearchRequest {
    let params = SearchParams { q: q.into(), limit: Some(100), ..params };
    SearchRequest::build(&IndexConfig::shipped(IndexName::Rooms), &params).expect("a valid request")
}

async fn rooms_are_found_by_name_city_and_distance(subject: Subject) {
    let s = subject;
    s.engine.upsert(IndexName::Rooms, &rooms()).await.expect("rooms indexed");
    let search = |request: SearchRequest| {
        let engine = s.engine.clone();
        async move { engine.search(IndexName::Rooms, &request).await.expect("search") }
    };
    let found = search(room_request("rooftop", SearchParams::default())).await;
    let mut found_ids = ids(&found);
    found_ids.sort();
    assert_eq!(found_ids, expected(&["r2", "r4"]));
    let in_paris = search(room_request("city:paris", SearchParams::default())).await;
    assert_eq!(in_paris.total, 2);
    let exact = search(room_request("city:\"SÃO PAULO\"", SearchParams::default())).await;
    assert_eq!(ids(&exact), expected(&["r5"]), "filters ignore case");
    let folded = search(room_request("city:\"sao paulo\"", SearchParams::default())).await;
    assert!(folded.hits.is_empty(), "filters keep accents, as Meilisearch's do");
    assert_eq!(ids(&search(room_request("sao", SearchParams::default())).await), expected(&["r5"]), "words fold");
    let cities = SearchParams { facets: Some("city".into()), ..SearchParams::default() };
    let cities = search(room_request("", cities)).await;
    assert_eq!(cities.facets["city"].get("São Paulo"), Some(&1), "facet values as written: {:?}", cities.facets);
    assert_eq!(cities.facets["city"].get("Paris"), Some(&2));
    let near_lyon = SearchParams { near: Some("45.75,4.85".into()), ..SearchParams::default() };
    let nearest = search(room_request("", near_lyon)).await;
    assert_eq!(ids(&nearest), expected(&["r3", "r1", "r2", "r4", "r5"]), "nearest first");
    let metres = nearest.hits[0]["_geoDistance"].as_u64().expect("distance in metres");
    assert!((1_000..3_000).contains(&metres), "{metres}");
    let within = SearchParams {
        near: Some("48.86,2.34".into()),
        radius: Some(10_000.0),
        facets: Some("kind".into()),
        ..SearchParams::default()
    };
    let within = search(room_request("", within)).await;
    assert_eq!((ids(&within), within.total), (expected(&["r1", "r2"]), 2));
    assert_eq!(within.facets["kind"].get("venue"), Some(&1));
    let busiest = SearchParams { sort: Some("members:desc".into()), ..SearchParams::default() };
    assert_eq!(ids(&search(room_request("", busiest)).await)[0], "r4");
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod tantivy_engine {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::tantivy().await).await;
            })*
        }
        mod meilisearch_engine {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::meilisearch().await).await;
            })*
        }
    };
}

conformance!(
    the_last_word_matches_as_a_prefix,
    typos_are_tolerated_by_word_length,
    every_word_must_match_and_phrases_keep_order,
    negated_words_exclude,
    accents_and_case_are_folded_and_synonyms_apply,
    fields_filters_and_ranges_narrow_the_results,
    facets_count_every_match,
    sorting_and_pages_are_exact,
    an_exact_match_ranks_before_a_typo,
    filter_values_cannot_inject_syntax,
    documents_are_replaced_and_deleted_by_id,
    a_document_without_a_valid_id_fails_the_write,
    rooms_are_found_by_name_city_and_distance,
);

/// Lucene constructs tantivy executes natively and Meilisearch cannot.
const LUCENE_ONLY: [(&str, &[&str]); 4] = [
    ("midnihgt~2 ", &["t03", "t13"]),
    ("golden OR juicy", &["t01", "t04", "t08"]),
    ("title:love artist:lovers", &["t12"]),
    ("love^3 crazy", &["t05"]),
];

#[tokio::test]
async fn tantivy_runs_fuzzy_or_boosts_and_mixed_fields() {
    let s = loaded(tantivy().await).await;
    for (q, want) in LUCENE_ONLY {
        assert_eq!(matching(&s, q).await, expected(want), "{q}");
    }
}

#[tokio::test]
async fn meilisearch_refuses_what_it_cannot_express_by_name() {
    let s = loaded(meilisearch().await).await;
    for (q, _) in LUCENE_ONLY {
        let result = run(&s, &request(q, None, None, None)).await;
        let Err(SearchError::Unsupported(message)) = result else { panic!("{q}: {result:?}") };
        assert!(message.contains("not supported by the Meilisearch engine"), "{message}");
    }
}

#[tokio::test]
async fn a_failed_meilisearch_task_is_an_error_not_a_silent_loss() {
    let s = meilisearch().await;
    let double = s.double.as_ref().expect("double");
    double.fail_next_task("internal");
    let result = s.engine.upsert(IndexName::Tracks, &[search_document(&corpus()[0])]).await;
    assert!(matches!(result, Err(SearchError::Failed(_))), "{result:?}");
    double.set_down(true);
    let result = s.engine.search(IndexName::Tracks, &request("x", None, None, None)).await;
    assert!(matches!(result, Err(SearchError::Unavailable(_))), "{result:?}");
    double.set_down(false);
}
