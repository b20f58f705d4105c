//! The double, driven with reqwest and with `meilisearch_sdk`.
#![cfg(test)]

use std::collections::HashMap;
use std::time::Duration;

use meilisearch_sdk::client::Client;
use meilisearch_sdk::documents::{DocumentDeletionQuery, DocumentsQuery};
use meilisearch_sdk::errors::{Error as SdkError, ErrorCode, ErrorType};
use meilisearch_sdk::search::Selectors;
use meilisearch_sdk::settings::Settings;
use meilisearch_sdk::tasks::Task;
use serde_json::{Value, json};

use super::MeiliDouble;
use super::filter::{self, Expr};

const KEY: &str = "master-key-for-tests";
const POLL: Duration = Duration::from_millis(5);

fn tracks() -> Value {
    json!([
        {"id": "t1", "title": "Midnight City", "artist": "Brightwater", "album": "Neon Lights",
         "genre": ["synthpop", "electronic"], "year": 2011, "explicit": false, "popularity": 80,
         "_geo": {"lat": 48.8566, "lng": 2.3522}},
        {"id": "t2", "title": "Neon Lights Live", "artist": "Kraftwerk", "album": "Live",
         "genre": ["electronic"], "year": 1978, "explicit": false, "popularity": 60,
         "_geo": {"lat": 51.2277, "lng": 6.7735}},
        {"id": "t3", "title": "Lights Of Neon", "artist": "The Midnight", "album": "Endless Summer",
         "genre": ["synthwave"], "year": 2016, "explicit": true, "popularity": 70,
         "_geo": {"lat": 34.0522, "lng": -118.2437}},
        {"id": "t4", "title": "Straight Outta Compton", "artist": "N.W.A", "album": "Straight Outta Compton",
         "genre": ["hip-hop"], "year": 1988, "explicit": true, "popularity": 90},
        {"id": "t5", "title": "Café del Mar", "artist": "Energy 52", "album": "Café del Mar",
         "genre": ["trance"], "year": 1993, "explicit": false, "popularity": 50},
        {"id": "t6", "title": "Say Hi", "artist": "The \"Quoted\" Band", "album": "Quotes",
         "genre": ["rock"], "year": 2020, "explicit": false}
    ])
}

fn track_settings() -> Value {
    json!({
        "searchableAttributes": ["title", "artist", "album", "genre"],
        "filterableAttributes": ["genre", "year", "explicit", "artist", "_geo"],
        "sortableAttributes": ["popularity", "year", "title", "_geo"],
        "rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness"],
        "synonyms": {"hiphop": ["hip-hop"]},
        "typoTolerance": {"enabled": true, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}},
        "pagination": {"maxTotalHits": 1000}
    })
}

/// A reqwest client for the double, with or without the master key.
struct Http {
    client: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Http {
    fn new(double: &MeiliDouble, key: Option<&str>) -> Http {
        Http { client: reqwest::Client::new(), base: double.url(), key: key.map(str::to_string) }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the double answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(&body)).await
    }

    /// Polls a task until it is finished; returns it and every status seen.
    async fn wait(&self, answer: &Value) -> (Value, Vec<String>) {
        let uid = answer["taskUid"].as_u64().expect("a summarized task");
        let mut seen = Vec::new();
        for _ in 0..400 {
            let (status, task) = self.get(&format!("/tasks/{uid}")).await;
            assert_eq!(status, 200, "{task}");
            let state = task["status"].as_str().unwrap_or_default().to_string();
            seen.push(state.clone());
            if state == "succeeded" || state == "failed" {
                return (task, seen);
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("task {uid} never finished");
    }

    async fn search(&self, index: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/indexes/{index}/search"), body).await
    }

    /// Ids of the hits of a search that must succeed.
    async fn ids(&self, index: &str, body: Value) -> Vec<String> {
        let (status, answer) = self.search(index, body.clone()).await;
        assert_eq!(status, 200, "{body} -> {answer}");
        hit_ids(&answer)
    }
}

fn hit_ids(answer: &Value) -> Vec<String> {
    answer["hits"].as_array().into_iter().flatten().filter_map(|h| h["id"].as_str()).map(str::to_string).collect()
}

/// A double with the `tracks` index configured and filled, over reqwest.
async fn loaded() -> (MeiliDouble, Http) {
    let double = MeiliDouble::start(Some(KEY)).await;
    let http = Http::new(&double, Some(KEY));
    let (status, answer) = http.send(reqwest::Method::PATCH, "/indexes/tracks/settings", Some(&track_settings())).await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = http.post("/indexes/tracks/documents?primaryKey=id", tracks()).await;
    assert_eq!(status, 202, "{answer}");
    let (task, _) = http.wait(&answer).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    (double, http)
}

#[tokio::test]
async fn the_sdk_creates_an_index_configures_it_and_indexes_documents() {
    let double = MeiliDouble::start(Some(KEY)).await;
    let client = Client::new(double.url(), Some(KEY)).expect("sdk client");
    assert_eq!(client.health().await.expect("health").status, "available");
    assert_eq!(client.get_version().await.expect("version").pkg_version, "1.11.0");

    let task = client.create_index("tracks", Some("id")).await.expect("create index");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("index created");
    assert!(matches!(task, Task::Succeeded { .. }), "{task:?}");

    let index = client.index("tracks");
    let settings = Settings::new()
        .with_searchable_attributes(["title", "artist", "album", "genre"])
        .with_filterable_attributes(["genre", "year", "explicit"])
        .with_sortable_attributes(["popularity", "year"])
        .with_synonyms(HashMap::from([("hiphop", vec!["hip-hop"])]))
        .with_stop_words(["the"]);
    let task = index.set_settings(&settings).await.expect("settings update");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("settings applied");
    assert!(matches!(task, Task::Succeeded { .. }), "{task:?}");

    let docs: Vec<Value> = tracks().as_array().cloned().unwrap_or_default();
    let task = index.add_documents(&docs, Some("id")).await.expect("documents sent");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("documents indexed");
    assert!(matches!(task, Task::Succeeded { .. }), "{task:?}");

    let fetched = client.get_index("tracks").await.expect("index info");
    assert_eq!(fetched.primary_key.as_deref(), Some("id"));
    let stored = index.get_settings().await.expect("settings");
    assert_eq!(stored.sortable_attributes, Some(vec!["popularity".to_string(), "year".to_string()]));
    assert_eq!(stored.stop_words, Some(vec!["the".to_string()]));
    let one: Value = index.get_document("t4").await.expect("document t4");
    assert_eq!(one["artist"], "N.W.A");
    let all = index.get_documents::<Value>().await.expect("documents");
    assert_eq!(all.total, 6);

    let results = index.search().with_query("brightwatr").execute::<Value>().await.expect("typo search");
    let ids: Vec<&str> = results.hits.iter().filter_map(|h| h.result["id"].as_str()).collect();
    assert_eq!(ids, ["t1"]);
    let results = index
        .search()
        .with_query("neo")
        .with_filter("explicit = false")
        .with_facets(Selectors::Some(&["genre"]))
        .with_sort(&["year:desc"])
        .execute::<Value>()
        .await
        .expect("prefix search with filter, facets and sort");
    let ids: Vec<&str> = results.hits.iter().filter_map(|h| h.result["id"].as_str()).collect();
    assert_eq!(ids, ["t1", "t2"]);
    let genres = &results.facet_distribution.expect("facets")["genre"];
    assert_eq!(genres.get("electronic"), Some(&2));
    assert_eq!(results.estimated_total_hits, Some(2));

    let settings = double.settings("tracks").expect("settings of tracks");
    assert_eq!(settings["filterableAttributes"], json!(["explicit", "genre", "year"]));
    assert_eq!(double.documents("tracks").len(), 6);
    assert_eq!(double.documents("tracks")[0]["id"], "t1");
    assert!(double.requests().contains(&"PATCH /indexes/tracks/settings".to_string()));
    assert_eq!(double.rejected(), Vec::<String>::new());
}

#[tokio::test]
async fn a_task_polled_right_away_is_seen_unfinished_then_succeeds() {
    let double = MeiliDouble::start(None).await;
    let http = Http::new(&double, None);
    let (status, answer) = http.post("/indexes", json!({"uid": "rooms", "primaryKey": null})).await;
    assert_eq!(status, 202);
    assert_eq!(answer["status"], "enqueued");
    assert_eq!(answer["type"], "indexCreation");
    assert_eq!(answer["indexUid"], "rooms");
    let (task, seen) = http.wait(&answer).await;
    assert!(seen[0] == "enqueued" || seen[0] == "processing", "{seen:?}");
    assert_eq!(task["status"], "succeeded");
    assert_eq!(task["details"], json!({"primaryKey": null}));
    assert!(task["duration"].as_str().is_some_and(|d| d.starts_with("PT") && d.ends_with('S')), "{task}");
    assert!(task["finishedAt"].as_str().is_some_and(|d| d.ends_with('Z')), "{task}");
    assert_eq!(task["error"], Value::Null);

    let (_, again) = http.post("/indexes", json!({"uid": "rooms"})).await;
    let (task, _) = http.wait(&again).await;
    assert_eq!(task["status"], "failed");
    assert_eq!(task["error"]["code"], "index_already_exists");
    assert_eq!(task["error"]["link"], "https://docs.meilisearch.com/errors#index_already_exists");

    let (status, index) = http.get("/indexes/rooms").await;
    assert_eq!(status, 200);
    assert_eq!(index["primaryKey"], Value::Null);
    let (status, error) = http.get("/indexes/missing").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("index_not_found")));
    let (status, error) = http.post("/indexes", json!({"uid": "bad uid!"})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_index_uid")));
    let (status, error) = http.post("/indexes", json!({"uid": "x", "name": "y"})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));
    assert_eq!(double.rejected().len(), 3, "{:?}", double.rejected());
}

#[tokio::test]
async fn search_handles_typos_prefixes_phrases_negations_and_synonyms() {
    let (double, http) = loaded().await;
    let ids = |q: &str| http.ids("tracks", json!({"q": q}));
    assert_eq!(ids("midnight").await, ["t1", "t3"], "exact, title before artist");
    assert_eq!(ids("midnigth ").await, ["t1", "t3"], "one transposition in an 8-letter word");
    assert_eq!(ids("brightwatr").await, ["t1"], "typos allowed in a 10-letter prefix");
    assert_eq!(ids("neo").await, ["t2", "t3", "t1"], "the last word is a prefix");
    assert_eq!(ids("neo ").await, Vec::<String>::new(), "not a prefix after a space");
    assert_eq!(ids("nexn").await, Vec::<String>::new(), "no typo below five letters");
    assert_eq!(ids("\"neon lights\"").await, ["t2", "t1"], "phrase in order");
    assert_eq!(ids("neon -live").await, ["t3", "t1"], "negated word");
    assert_eq!(ids("lights -\"neon lights\"").await, ["t3"], "negated phrase");
    assert_eq!(ids("hiphop").await, ["t4"], "synonym");
    assert_eq!(ids("CAFÉ").await, ["t5"], "case and accents folded");
    assert_eq!(ids("midnight compton").await, Vec::<String>::new(), "every word must match");
    assert_eq!(ids("  ").await, ["t1", "t2", "t3", "t4", "t5", "t6"], "placeholder");
    assert_eq!(http.ids("tracks", json!({"q": "midnight", "attributesToSearchOn": ["artist"]})).await, ["t3"]);

    let (status, answer) = http
        .search(
            "tracks",
            json!({"q": "straight", "limit": 1, "attributesToHighlight": ["title"], "showRankingScore": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["hits"][0]["_formatted"]["title"], "<em>Straight</em> Outta Compton");
    assert!(answer["hits"][0]["_rankingScore"].is_number());
    assert_eq!((answer["limit"].as_u64(), answer["offset"].as_u64()), (Some(1), Some(0)));
    assert_eq!(answer["query"], "straight");
    assert!(answer.get("facetDistribution").is_none());
    assert!(double.rejected().is_empty(), "{:?}", double.rejected());
}

#[tokio::test]
async fn stop_words_are_dropped_from_queries() {
    let (_double, http) = loaded().await;
    assert_eq!(http.ids("tracks", json!({"q": "the midnight"})).await, ["t3"]);
    let (_, answer) =
        http.send(reqwest::Method::PUT, "/indexes/tracks/settings/stop-words", Some(&json!(["the"]))).await;
    let (task, _) = http.wait(&answer).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(http.ids("tracks", json!({"q": "the midnight"})).await, ["t1", "t3"]);
}

#[tokio::test]
async fn filters_parse_quotes_and_reject_attributes_that_are_not_filterable() {
    let (double, http) = loaded().await;
    let ids = |filter: Value| http.ids("tracks", json!({"filter": filter}));
    assert_eq!(ids(json!("genre = \"hip-hop\"")).await, ["t4"]);
    assert_eq!(ids(json!(r#"artist = "The \"Quoted\" Band""#)).await, ["t6"]);
    assert_eq!(ids(json!(r#"artist = 'the "quoted" band'"#)).await, ["t6"]);
    assert_eq!(ids(json!("year 1980 TO 2000")).await, ["t4", "t5"]);
    assert_eq!(ids(json!("genre IN [trance, synthwave]")).await, ["t3", "t5"]);
    assert_eq!(ids(json!("genre NOT IN [electronic, rock]")).await, ["t3", "t4", "t5"]);
    assert_eq!(ids(json!("NOT explicit = true")).await, ["t1", "t2", "t5", "t6"]);
    assert_eq!(ids(json!("year > 2010 AND (genre = rock OR genre = synthwave)")).await, ["t3", "t6"]);
    assert_eq!(ids(json!([["genre = rock", "genre = trance"], "year > 1990"])).await, ["t5", "t6"]);
    assert_eq!(ids(json!("_geoRadius(48.8566, 2.3522, 500000)")).await, ["t1", "t2"]);
    assert_eq!(ids(json!("_geoBoundingBox([52, 7], [48, 2])")).await, ["t1", "t2"]);
    assert_eq!(ids(json!("year NOT EXISTS OR explicit IS NULL")).await, Vec::<String>::new());
    assert!(double.rejected().is_empty(), "{:?}", double.rejected());

    let (status, error) = http.search("tracks", json!({"filter": "title = Midnight"})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_filter")));
    assert!(error["message"].as_str().is_some_and(|m| m.contains("`title`")), "{error}");
    assert_eq!(error["type"], "invalid_request");
    let (status, error) = http.search("tracks", json!({"filter": "genre = rock and year = 2020"})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_filter")), "keywords are upper case");
    let (status, error) = http.search("tracks", json!({"filter": "genre = 'rock"})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_filter")));
    assert_eq!(double.rejected().len(), 3);
    assert!(double.rejected()[0].starts_with("POST /indexes/tracks/search -> invalid_search_filter: "));
}

#[test]
fn the_filter_parser_follows_meilisearch_grammar() {
    let parse = |s: &str| filter::parse(s).expect("valid filter").expect("not empty");
    assert!(matches!(parse("NOT NOT a = 1"), Expr::Compare { .. }));
    assert!(matches!(parse("a IS NOT EMPTY"), Expr::Not(_)));
    assert!(matches!(parse("a NOT EXISTS"), Expr::Not(_)));
    assert!(matches!(parse("(a = 1 OR b = 2) AND c != 3"), Expr::And(items) if items.len() == 2));
    assert!(matches!(parse("a IN [x, 'y z', \"w\",]"), Expr::In { values, .. } if values == ["x", "y z", "w"]));
    assert!(matches!(parse(r"a = 'it\'s \\ fine'"), Expr::Compare { value, .. } if value == r"it's \ fine"));
    assert!(filter::parse("   ").expect("blank is fine").is_none());
    for bad in ["a =", "a = AND", "(a = 1", "a = 1 b = 2", "_geoRadius(1, 2)", "_geoPoint(1, 2) = 3", "a IN [b"] {
        assert!(filter::parse(bad).is_err(), "{bad} should be rejected");
    }
}

#[tokio::test]
async fn facets_count_every_matching_document() {
    let (_double, http) = loaded().await;
    let (status, answer) = http.search("tracks", json!({"facets": ["genre", "year"], "limit": 1})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["hits"].as_array().map(Vec::len), Some(1));
    assert_eq!(answer["estimatedTotalHits"], 6);
    assert_eq!(
        answer["facetDistribution"]["genre"],
        json!({"electronic": 2, "hip-hop": 1, "rock": 1, "synthpop": 1, "synthwave": 1, "trance": 1})
    );
    assert_eq!(answer["facetDistribution"]["year"]["1988"], 1);
    assert_eq!(answer["facetStats"]["year"], json!({"min": 1978.0, "max": 2020.0}));

    let (status, error) = http.search("tracks", json!({"facets": ["title"]})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_facets")));
}

#[tokio::test]
async fn sort_orders_hits_and_puts_missing_values_last() {
    let (_double, http) = loaded().await;
    let ids = |sort: Value| http.ids("tracks", json!({"sort": sort}));
    assert_eq!(ids(json!(["year:desc"])).await, ["t6", "t3", "t1", "t5", "t4", "t2"]);
    assert_eq!(ids(json!(["title:asc"])).await, ["t5", "t3", "t1", "t2", "t6", "t4"]);
    assert_eq!(ids(json!(["popularity:asc"])).await, ["t5", "t2", "t3", "t1", "t4", "t6"]);
    assert_eq!(ids(json!(["popularity:desc"])).await, ["t4", "t1", "t3", "t2", "t5", "t6"]);
    let (status, answer) = http.search("tracks", json!({"sort": ["_geoPoint(48.8566, 2.3522):asc"], "limit": 2})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(hit_ids(&answer), ["t1", "t2"]);
    assert_eq!(answer["hits"][0]["_geoDistance"], 0);
    assert!(answer["hits"][1]["_geoDistance"].as_u64().is_some_and(|d| (400_000..420_000).contains(&d)));

    let (status, error) = http.search("tracks", json!({"sort": ["artist:asc"]})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_sort")));
    let (status, error) = http.search("tracks", json!({"sort": ["year"]})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_sort")));
}

#[tokio::test]
async fn pagination_stops_at_max_total_hits() {
    let (_double, http) = loaded().await;
    let (_, answer) = http
        .send(reqwest::Method::PATCH, "/indexes/tracks/settings/pagination", Some(&json!({"maxTotalHits": 3})))
        .await;
    http.wait(&answer).await;
    let (_, answer) = http.search("tracks", json!({"offset": 2, "limit": 10})).await;
    assert_eq!(hit_ids(&answer), ["t3"]);
    assert_eq!(answer["estimatedTotalHits"], 3);
    let (_, answer) = http.search("tracks", json!({"page": 2, "hitsPerPage": 2})).await;
    assert_eq!(hit_ids(&answer), ["t3"]);
    assert_eq!((answer["totalHits"].as_u64(), answer["totalPages"].as_u64()), (Some(3), Some(2)));
    assert!(answer.get("estimatedTotalHits").is_none());
}

#[tokio::test]
async fn a_document_without_its_primary_key_fails_the_task_and_changes_nothing() {
    let double = MeiliDouble::start(Some(KEY)).await;
    let client = Client::new(double.url(), Some(KEY)).expect("sdk client");
    let index = client.index("tracks");
    let docs = [json!({"id": "a", "title": "A"}), json!({"title": "no id"})];
    let task = index.add_documents(&docs, Some("id")).await.expect("documents sent");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("task finished");
    let Task::Failed { content } = task else { panic!("the task should fail: {task:?}") };
    assert_eq!(content.error.error_code, ErrorCode::MissingDocumentId);
    assert!(double.documents("tracks").is_empty());

    let docs = [json!({"id": "a b"})];
    let task = index.add_documents(&docs, Some("id")).await.expect("documents sent");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("task finished");
    assert!(matches!(&task, Task::Failed { content } if content.error.error_code == ErrorCode::InvalidDocumentId));

    double.fail_next_task("internal");
    let task = index.add_documents(&[json!({"id": 1})], Some("id")).await.expect("documents sent");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("task finished");
    assert!(matches!(&task, Task::Failed { content } if content.error.error_type == ErrorType::Internal));
    let task = index.add_documents(&[json!({"id": 1, "n": 1})], None).await.expect("documents sent");
    let task = client.wait_for_task(task, Some(POLL), None).await.expect("task finished");
    assert!(matches!(task, Task::Succeeded { .. }), "{task:?}");
    let task = index.add_or_update(&[json!({"id": 1, "m": 2})], None).await.expect("update sent");
    client.wait_for_task(task, Some(POLL), None).await.expect("task finished");
    assert_eq!(double.documents("tracks"), [json!({"id": 1, "n": 1, "m": 2})]);
    assert!(double.rejected().is_empty(), "{:?}", double.rejected());
}

#[tokio::test]
async fn a_wrong_api_key_is_forbidden_and_a_missing_one_unauthorized() {
    let double = MeiliDouble::start(Some(KEY)).await;
    let client = Client::new(double.url(), Some("wrong")).expect("sdk client");
    let error = client.get_version().await.expect_err("a wrong key is refused");
    assert!(matches!(&error, SdkError::Meilisearch(e) if e.error_code == ErrorCode::InvalidApiKey), "{error:?}");
    let (status, body) = Http::new(&double, None).get("/indexes").await;
    assert_eq!(
        (status, body["code"].as_str(), body["type"].as_str()),
        (401, Some("missing_authorization_header"), Some("auth"))
    );
    let (status, _) = Http::new(&double, None).get("/health").await;
    assert_eq!(status, 200, "health needs no key");
    let (status, _) = Http::new(&double, Some(KEY)).get("/nothing/here").await;
    assert_eq!(status, 404);
    assert_eq!(double.rejected().len(), 3, "{:?}", double.rejected());
}

#[tokio::test]
async fn unknown_fields_wrong_types_and_bad_payloads_are_rejected() {
    let (double, http) = loaded().await;
    let (status, error) = http.search("tracks", json!({"q": "x", "fuzzy": true})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));
    assert!(error["message"].as_str().is_some_and(|m| m.starts_with("Unknown field `fuzzy`")), "{error}");
    let (status, error) = http.search("tracks", json!({"limit": "10"})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_search_limit")));
    let (status, error) = http.search("nope", json!({"q": "x"})).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("index_not_found")));
    let (status, error) = http
        .send(reqwest::Method::PATCH, "/indexes/tracks/settings", Some(&json!({"searchableAttributes": "title"})))
        .await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_settings_searchable_attributes")));
    let (status, error) =
        http.send(reqwest::Method::PATCH, "/indexes/tracks/settings", Some(&json!({"searchable": ["title"]}))).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));

    let raw = reqwest::Client::new();
    let url = format!("{}/indexes/tracks/search", double.url());
    let response = raw.post(&url).bearer_auth(KEY).body("{\"q\": ").send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 415, "no content type");
    let response = raw
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{\"q\": ")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("error body");
    assert_eq!(body["code"], "malformed_payload");
    assert_eq!(double.rejected().len(), 7, "{:?}", double.rejected());
}

#[tokio::test]
async fn an_outage_answers_503_until_it_ends() {
    let double = MeiliDouble::start(None).await;
    let http = Http::new(&double, None);
    double.set_down(true);
    let (status, body) = http.get("/health").await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "internal");
    double.set_down(false);
    let (status, _) = http.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(double.requests(), ["GET /health", "GET /health"]);
    assert!(double.rejected().is_empty());
}

#[tokio::test]
async fn the_sdk_fetches_and_deletes_documents_and_indexes() {
    let (double, http) = loaded().await;
    let client = Client::new(double.url(), Some(KEY)).expect("sdk client");
    let index = client.index("tracks");

    let mut query = DocumentsQuery::new(&index);
    query.with_filter("year > 2000").with_fields(["id", "year"]).with_limit(2);
    let page = index.get_documents_with::<Value>(&query).await.expect("documents/fetch");
    assert_eq!((page.total, page.limit, page.results.len()), (3, 2, 2));
    assert_eq!(page.results[0], json!({"id": "t1", "year": 2011}));
    let mut query = DocumentsQuery::new(&index);
    query.with_offset(4).with_fields(["id"]);
    let page = index.get_documents_with::<Value>(&query).await.expect("documents");
    assert_eq!(page.results, [json!({"id": "t5"}), json!({"id": "t6"})]);

    let steps = [
        index.delete_document("t1").await.expect("delete one"),
        index.delete_documents(&["t2", "nope"]).await.expect("delete some"),
        index
            .delete_documents_with(DocumentDeletionQuery::new(&index).with_filter("genre = rock"))
            .await
            .expect("delete by filter"),
    ];
    for task in steps {
        let task = client.wait_for_task(task, Some(POLL), None).await.expect("deletion done");
        assert!(matches!(task, Task::Succeeded { .. }), "{task:?}");
    }
    let left: Vec<Value> = double.documents("tracks").iter().map(|d| d["id"].clone()).collect();
    assert_eq!(left, [json!("t3"), json!("t4"), json!("t5")]);
    let (status, answer) = http.get("/indexes/tracks/search?q=neon&attributesToRetrieve=id,title&limit=5").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["hits"], json!([{"id": "t3", "title": "Lights Of Neon"}]));

    let task = index.delete_all_documents().await.expect("clear");
    client.wait_for_task(task, Some(POLL), None).await.expect("cleared");
    assert!(double.documents("tracks").is_empty());
    let task = index.delete().await.expect("delete index");
    client.wait_for_task(task, Some(POLL), None).await.expect("index deleted");
    assert!(double.settings("tracks").is_none());
    let tasks = client.get_tasks().await.expect("task list");
    assert_eq!(tasks.results.len(), 7);
    assert!(tasks.results.iter().all(|t| matches!(t, Task::Succeeded { .. })), "{tasks:?}");
    assert!(double.rejected().is_empty(), "{:?}", double.rejected());
}

#[tokio::test]
async fn api_keys_are_made_with_the_master_key_and_allow_only_their_actions_on_their_indexes() {
    let double = MeiliDouble::start(Some(KEY)).await;
    let master = Http::new(&double, Some(KEY));
    let uid = "0b7c1f3a-2d4e-4f60-8a1b-9c8d7e6f5a4b";
    let asked = json!({"uid": uid, "name": "searcher", "actions": ["search", "documents.*", "tasks.get"],
                       "indexes": ["tracks"], "expiresAt": null});
    let (status, created) = master.post("/keys", asked.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["uid"].as_str(), created["actions"].clone()), (Some(uid), asked["actions"].clone()));
    let key = created["key"].as_str().expect("key").to_string();
    assert_eq!(key.len(), 64);
    let (status, error) = master.post("/keys", asked).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("api_key_already_exists")));
    let (status, found) = master.get(&format!("/keys/{uid}")).await;
    assert_eq!((status, found["key"].as_str()), (200, Some(key.as_str())));

    // The key may do what it says on the index it names, and nothing else.
    for uid in ["tracks", "rooms"] {
        let (_, task) = master.post("/indexes", json!({"uid": uid, "primaryKey": "id"})).await;
        master.wait(&task).await;
    }
    let scoped = Http::new(&double, Some(&key));
    let (status, answer) = scoped.post("/indexes/tracks/documents", tracks()).await;
    assert_eq!(status, 202, "documents.* allows adding: {answer}");
    let (task, _) = scoped.wait(&answer).await;
    assert_eq!(task["status"], "succeeded", "and tasks.get reading its task");
    let (status, _) = scoped.post("/indexes/tracks/search", json!({"q": "neon"})).await;
    assert_eq!(status, 200);
    for (method, path, body) in [
        (reqwest::Method::POST, "/indexes/rooms/search", Some(json!({"q": ""}))),
        (reqwest::Method::DELETE, "/indexes/tracks", None),
        (reqwest::Method::PATCH, "/indexes/tracks/settings", Some(json!({"searchableAttributes": ["title"]}))),
        (reqwest::Method::POST, "/indexes", Some(json!({"uid": "tracks2"}))),
        (reqwest::Method::GET, "/keys", None),
    ] {
        let (status, error) = scoped.send(method.clone(), path, body.as_ref()).await;
        assert_eq!((status, error["code"].as_str()), (403, Some("invalid_api_key")), "{method} {path}");
    }

    // Bad bodies get Meilisearch's codes.
    let bad = [
        (json!({"indexes": ["*"], "expiresAt": null}), "missing_api_key_actions"),
        (json!({"actions": ["search"], "expiresAt": null}), "missing_api_key_indexes"),
        (json!({"actions": ["search"], "indexes": ["*"]}), "missing_api_key_expires_at"),
        (json!({"actions": ["fly"], "indexes": ["*"], "expiresAt": null}), "invalid_api_key_actions"),
        (
            json!({"actions": ["search"], "indexes": ["*"], "expiresAt": null, "uid": "not-a-uuid"}),
            "invalid_api_key_uid",
        ),
        (json!({"actions": ["search"], "indexes": ["*"], "expiresAt": null, "colour": 1}), "bad_request"),
    ];
    for (body, code) in bad {
        let (status, error) = master.post("/keys", body.clone()).await;
        assert_eq!((status, error["code"].as_str()), (400, Some(code)), "{body}");
    }
    let (status, error) = master.get("/keys/7d1e0c2b-3a4f-4b5c-9d6e-0f1a2b3c4d5e").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("api_key_not_found")));
}
