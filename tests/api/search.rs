//! `GET /api/search/{index}`, library uploads and imports, driven over HTTP
//! against a real server (embedded tantivy), the Meilisearch engine through
//! the double (outbox catch-up after an outage), and the `crowdjuke import`
//! / `reindex` commands of the real binary.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, WAIT, spawn_app, spawn_with};
use crate::meili_double::MeiliDouble;

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(app: &TestApp, index: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    app.get(&format!("/api/search/{index}?{}", query.join("&"))).await
}

async fn upload(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let mut request = app.http.post(app.url("/api/library/tracks")).header("content-type", content_type).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("upload answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls until `q` finds `id` in the tracks index (indexing is asynchronous).
async fn eventually_found(app: &TestApp, q: &str, id: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = search(app, "tracks", &[("q", q)]).await;
        if status == 200 && body["hits"].as_array().is_some_and(|h| h.iter().any(|t| t["id"] == id)) {
            return body;
        }
        assert!(Instant::now() < deadline, "{id} never became searchable with {q}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const CATALOGUE: &str = "title,artist,album,genres,year,duration,explicit,popularity,isrc\n\
    Zebra Crossing Blues,Quillon Marsh,Stripes,blues;jazz,1961,3:41,no,44,GBAYE6100001\n\
    Quasar Lullaby,Quillon Marsh,Stripes,jazz,1962,4:02,no,51,GBAYE6200002\n";

/// Index, query parameters, expected status and error code.
type SearchCase<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);
/// Token, content type, body, expected status and error code.
type UploadCase<'a> = (Option<&'a str>, &'a str, Vec<u8>, u16, &'a str);

#[tokio::test]
async fn search_answers_hits_totals_and_facets_for_the_demo_library() {
    let app = spawn_app().await;
    let (status, body) =
        search(&app, "tracks", &[("q", "genre:(rock OR pop)"), ("facets", "genre,explicit"), ("limit", "5")]).await;
    assert_eq!(status, 200, "{body}");
    let hits = body["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h["genre"].as_array().expect("genres").iter().any(|g| g == "rock" || g == "pop")));
    let total = body["total"].as_u64().expect("total");
    let rock = body["facets"]["genre"]["rock"].as_u64().expect("rock count");
    let pop = body["facets"]["genre"]["pop"].as_u64().expect("pop count");
    assert!(rock + pop >= total && total >= rock.max(pop), "{body}");
    let (_, sorted) = search(&app, "tracks", &[("sort", "year:asc"), ("filter", "year:[1990 TO 1999]")]).await;
    let years: Vec<u64> =
        sorted["hits"].as_array().expect("hits").iter().map(|h| h["year"].as_u64().expect("y")).collect();
    assert!(years.windows(2).all(|w| w[0] <= w[1]) && years.iter().all(|y| (1990..=1999).contains(y)), "{years:?}");
}

/// The search box tells how many tracks match and pages through them.
#[tokio::test]
async fn the_search_box_counts_every_match_and_pages_through_them() {
    let app = spawn_app().await;
    let (status, first) = app.get("/api/tracks?q=&limit=20").await;
    assert_eq!(status, 200, "{first}");
    let total = first["total"].as_u64().expect("total");
    assert!(total > 20, "the demo library has more than a page: {first}");
    assert_eq!(first["offset"], 0);
    let (_, second) = app.get("/api/tracks?q=&limit=20&offset=20").await;
    assert_eq!(second["total"], first["total"], "the same count on every page");
    assert_eq!(second["offset"], 20);
    let ids = |page: &Value| -> Vec<String> {
        page["tracks"].as_array().expect("tracks").iter().map(|t| t["id"].as_str().expect("id").to_string()).collect()
    };
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!((a.len(), b.len()), (20, 20));
    assert!(a.iter().all(|id| !b.contains(id)), "the second page holds other tracks");
    let (status, body) = app.get("/api/tracks?q=&offset=5000").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")), "{body}");
    let (status, body) = app.get("/api/tracks?q=&offset=-1").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_payload")), "{body}");
}

#[tokio::test]
async fn bad_search_input_gets_typed_errors() {
    let app = spawn_app().await;
    let long = "a ".repeat(300);
    let cases: [SearchCase; 12] = [
        ("tracks", &[("q", "\"unbalanced")], 400, "invalid_query"),
        ("tracks", &[("q", "(a OR b")], 400, "invalid_query"),
        ("tracks", &[("q", "lyrics:love")], 400, "unknown_field"),
        ("tracks", &[("q", "title:[a TO b]")], 400, "invalid_query"),
        ("tracks", &[("q", long.as_str())], 400, "invalid_query"),
        ("tracks", &[("filter", "love")], 400, "invalid_query"),
        ("tracks", &[("facets", "title")], 400, "invalid_query"),
        ("tracks", &[("sort", "title:asc")], 400, "invalid_query"),
        ("tracks", &[("limit", "0")], 400, "invalid_query"),
        ("tracks", &[("near", "48.8,2.3")], 400, "invalid_query"),
        ("tracks", &[("unknown", "1")], 400, "invalid_payload"),
        ("songs", &[("q", "x")], 404, "index_not_found"),
    ];
    for (index, params, status, code) in cases {
        let (got, body) = search(&app, index, params).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{params:?}: {body}");
    }
    let (status, body) = search(&app, "tracks", &[("q", "   ")]).await;
    assert_eq!(status, 200, "an empty query lists everything: {body}");
    assert!(body["total"].as_u64().expect("total") > 100);
}

#[tokio::test]
async fn a_host_uploads_a_catalogue_that_becomes_searchable_and_reuploads_update() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let (status, report) = upload(&app, Some(&host.token), "text/csv", CATALOGUE).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["imported"].as_u64(), report["created"].as_u64()), (Some(2), Some(2)));
    let found = eventually_found(&app, "zebra crosing", "isrc-GBAYE6100001").await;
    assert_eq!(found["hits"][0]["artist"], json!(["Quillon Marsh"]));
    let (status, report) = upload(&app, Some(&host.token), "text/csv; charset=utf-8", CATALOGUE).await;
    assert_eq!(status, 200);
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(0), Some(2)));
    let (_, hits) = search(&app, "tracks", &[("q", "artist:\"quillon marsh\"")]).await;
    assert_eq!(hits["total"], 2, "a re-upload updates, never duplicates: {hits}");
    let (_, track) = app.get("/api/tracks/isrc-GBAYE6200002").await;
    assert_eq!(track["track"]["duration_ms"], 242_000, "uploaded tracks can be queued: {track}");
}

#[tokio::test]
async fn bad_uploads_are_refused_and_import_nothing() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Guest").await;
    let before = app.state.store.track_count().await.expect("count");
    let broken = "title,artist,duration\nGood Song,Someone,3:00\n,No Title,3:00\nBad Year,X,9:99\n";
    let (status, body) = upload(&app, Some(&host.token), "text/csv", broken).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_import")), "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("line 3: title") && message.contains("line 4: duration"), "{message}");
    let cases: [UploadCase; 6] = [
        (None, "text/csv", CATALOGUE.into(), 401, "unauthorized"),
        (Some("forged.token"), "text/csv", CATALOGUE.into(), 401, "unauthorized"),
        (Some(&guest.token), "text/csv", CATALOGUE.into(), 403, "forbidden"),
        (Some(&host.token), "text/plain", CATALOGUE.into(), 400, "invalid_payload"),
        (Some(&host.token), "text/csv", b"title,artist,duration\n\xff\xfe,x,3:00\n".to_vec(), 400, "invalid_import"),
        (Some(&host.token), "application/json", br#"{"title": "not an array"}"#.to_vec(), 400, "invalid_import"),
    ];
    for (token, content_type, body, status, code) in cases {
        let (got, answer) = upload(&app, token, content_type, body).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{content_type}: {answer}");
    }
    let huge = vec![b'a'; 51 * 1024 * 1024];
    let (status, body) = upload(&app, Some(&host.token), "text/csv", huge).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")));
    assert_eq!(app.state.store.track_count().await.expect("count"), before, "nothing was imported");
}

#[tokio::test]
async fn the_meilisearch_index_catches_up_after_an_outage() {
    let double = MeiliDouble::for_nodes("outage-test-key").await;
    let (url, key) = (double.url(), double.node_key().to_string());
    let app = spawn_with(TempDir::new().expect("dir"), |s| {
        s.meilisearch_url = Some(url);
        s.meilisearch_api_key = Some(crowdjuke::config::ApiKey(key));
    })
    .await;
    let demo_total = eventually_found(&app, "", "demo-0000").await;
    assert!(demo_total["total"].as_u64().expect("total") > 0);
    double.set_down(true);
    let before = double.requests().len();
    let host = app.create_room(json!({})).await;
    let (status, _) = upload(&app, Some(&host.token), "text/csv", CATALOGUE).await;
    assert_eq!(status, 200, "uploads are stored while search is down");
    let (status, body) = search(&app, "tracks", &[("q", "zebra")]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")));
    // The indexer tries (and fails) while search is down, then recovers.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !double.requests()[before..].iter().any(|r| r.contains("/documents")) {
        assert!(tokio::time::Instant::now() < deadline, "the indexer never tried while search was down");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    double.set_down(false);
    eventually_found(&app, "zebra", "isrc-GBAYE6100001").await;
    assert!(double.rejected().is_empty(), "{:#?}", double.rejected());
}

/// `crowdjuke search-key`, as an operator runs it once: the nodes' key is
/// made with the master key (the same key when asked again), a wrong
/// master key is said, and a node on that key (which the double holds to
/// its actions and indexes) indexes and searches.
#[tokio::test]
async fn search_key_makes_the_nodes_key_once_and_a_node_works_with_it() {
    let double = MeiliDouble::start(Some("operator-master-key")).await;
    let search_key = |master: &str| {
        let mut command = tokio::process::Command::new(crate::helpers::server_bin());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("CROWDJUKE_")) {
            command.env_remove(key);
        }
        command.arg("search-key").env("CROWDJUKE_MEILISEARCH_URL", double.url()).env("MEILI_MASTER_KEY", master);
        async move {
            let output = command.output().await.expect("crowdjuke runs");
            let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            (output.status.success(), out.trim().to_string(), err.to_string())
        }
    };
    let (ok, key, err) = search_key("operator-master-key").await;
    assert!(ok && key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()), "{key} {err}");
    let (ok, again, _) = search_key("operator-master-key").await;
    assert!(ok && again == key, "the same key: {again}");
    let (ok, out, err) = search_key("not-the-master-key").await;
    assert!(!ok && out.is_empty() && err.contains("is the master key right?"), "{err}");
    assert!(!err.contains("not-the-master-key"), "the key is not repeated: {err}");

    let url = double.url();
    let app = spawn_with(TempDir::new().expect("dir"), |s| {
        s.meilisearch_url = Some(url);
        s.meilisearch_api_key = Some(crowdjuke::config::ApiKey(key.clone()));
    })
    .await;
    let host = app.create_room(json!({})).await;
    let (status, _) = upload(&app, Some(&host.token), "text/csv", CATALOGUE).await;
    assert_eq!(status, 200);
    eventually_found(&app, "zebra", "isrc-GBAYE6100001").await;
    let rejected = double.rejected();
    assert!(rejected[0].contains("api_key_not_found"), "the first look-up: {rejected:#?}");
    assert!(rejected[1].contains("invalid_api_key"), "the wrong master key: {rejected:#?}");
    assert_eq!(rejected.len(), 2, "the node's calls were all allowed: {rejected:#?}");
}

#[tokio::test]
async fn the_import_and_reindex_commands_fill_the_index_the_server_serves() {
    let dir = TempDir::new().expect("dir");
    let file = dir.path().join("catalogue.csv");
    std::fs::write(&file, CATALOGUE).expect("write catalogue");
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let output = Command::new(crate::helpers::server_bin())
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env("CROWDJUKE_LOG_FORMAT", "json")
            .output()
            .expect("crowdjuke runs");
        (output.status.success(), String::from_utf8_lossy(&output.stdout).to_string(), output.stderr)
    };
    let (ok, out, err) = run(&["import", "tracks", file.to_str().expect("path")]);
    assert!(ok, "{out} {}", String::from_utf8_lossy(&err));
    assert!(out.contains("imported 2 tracks (2 new, 0 updated)"), "{out}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "title,artist\nA,B\n").expect("write");
    let (ok, _, err) = run(&["import", "tracks", bad.to_str().expect("path")]);
    assert!(!ok && String::from_utf8_lossy(&err).contains("line 2: duration_ms"), "{}", String::from_utf8_lossy(&err));
    let (ok, out, _) = run(&["reindex", "tracks"]);
    assert!(ok && out.contains("tracks: 2 documents indexed"), "{out}");
    let app = spawn_with(TempDir::new_in(dir.path()).expect("dir"), |s| s.data_dir = data.clone()).await;
    let (_, body) = search(&app, "tracks", &[("q", "quasar")]).await;
    assert_eq!(body["hits"][0]["id"], "isrc-GBAYE6200002", "served straight from the persisted index: {body}");
    assert_eq!(app.state.store.track_count().await.expect("count"), 2, "no demo seeding over an imported library");
}

/// Polls until the rooms search for `q` returns exactly `want` (by code).
async fn rooms_found(app: &TestApp, params: &[(&str, &str)], want: &[&str]) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = search(app, "rooms", params).await;
        let codes: Vec<&str> =
            body["hits"].as_array().map(|h| h.iter().filter_map(|r| r["code"].as_str()).collect()).unwrap_or_default();
        if status == 200 && codes == want {
            return body;
        }
        assert!(Instant::now() < deadline, "rooms search {params:?} never gave {want:?}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn public_rooms_are_searchable_by_name_and_distance_and_private_ones_never() {
    let app = spawn_app().await;
    let create = |name: &str, listing: Value| {
        let body = json!({"name": name, "host_name": "Host", "listing": listing});
        let app = &app;
        async move {
            let (status, body) = app.post("/api/rooms", body).await;
            assert_eq!(status, 201, "{body}");
            crate::helpers::guest_from(&body)
        }
    };
    let paris =
        create("Canal Bar", json!({"public": true, "city": "Paris", "location": {"lat": 48.87, "lng": 2.36}})).await;
    let lyon =
        create("Canal Club", json!({"public": true, "city": "Lyon", "location": {"lat": 45.76, "lng": 4.83}})).await;
    create("Canal Secret Party", json!({})).await;
    rooms_found(&app, &[("q", "canal"), ("near", "45.7,4.8")], &[&lyon.code, &paris.code]).await;
    let found = rooms_found(&app, &[("q", "canal"), ("near", "48.85,2.35"), ("radius", "50000")], &[&paris.code]).await;
    assert_eq!(found["hits"][0]["city"], "Paris");
    let host = app.connect(&lyon.token).await;
    host.ok("room:set_listing", json!({"public": false})).await;
    rooms_found(&app, &[("q", "canal")], &[&paris.code]).await;
    let refused = host.refused("room:set_listing", json!({"public": true, "location": {"lat": 91, "lng": 0}})).await;
    assert_eq!(refused, "invalid_listing");
    let guest = app.join(&paris.code, "Guest").await;
    let guest = app.connect(&guest.token).await;
    assert_eq!(guest.refused("room:set_listing", json!({"public": false})).await, "forbidden");
    let (status, body) = app.post("/api/rooms", json!({"name": "X", "host_name": "H", "listing": {"city": ""}})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_listing")));
}
