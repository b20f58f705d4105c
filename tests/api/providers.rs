//! Spotify through the server, against the local fake of the Web API and
//! accounts service (`spotify_fake`): linking with PKCE, refresh and broken
//! links, imports (paged, large, empty, malformed), the catalogue fallback
//! with its cache, exports, the playback hand-off, rate limits and outages.

use std::time::Duration;

use crowdjuke::clock::Clock;
use crowdjuke::config::ApiKey;
use crowdjuke::domain::{JobKind, JobPlan, JobStatus, JobWork, ProviderJob};
use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{SioClient, TestApp, WAIT, call, spawn_app, spawn_with};
use crate::spotify_fake::{CLIENT_ID, CLIENT_SECRET, FakeSpotify, track, track_id, track_uri};

const PASSWORD: &str = "correct horse battery staple";

pub(crate) async fn spawn_spotify(fake: &FakeSpotify) -> TestApp {
    spawn_with(TempDir::new().expect("temp dir"), |s| {
        s.spotify_client_id = Some(CLIENT_ID.to_string());
        s.spotify_client_secret = Some(ApiKey(CLIENT_SECRET.to_string()));
        s.spotify_api_url = fake.api_url();
        s.spotify_accounts_url = fake.accounts_url();
        // Tests share two cores: a loaded machine must not turn a catalogue
        // answer into a library-only one.
        s.spotify_search_budget_ms = 60_000;
    })
    .await
}

async fn register(app: &TestApp, username: &str) -> String {
    let (status, body) = app.post("/api/accounts", json!({"username": username, "password": PASSWORD})).await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().expect("token").to_string()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

async fn location(url: &str) -> String {
    let response = browser().get(url).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 303, "{url}");
    response.headers()["location"].to_str().expect("location").to_string()
}

/// Starts linking: the authorization URL the server hands out.
async fn login(app: &TestApp, token: &str) -> String {
    let (status, body) = call(app, Method::POST, "/api/providers/spotify/login", Some(token), None).await;
    assert_eq!(status, 200, "{body}");
    body["url"].as_str().expect("url").to_string()
}

/// The user approves on "Spotify": the callback URL the browser is sent to.
async fn approve(authorize_url: &str) -> String {
    location(authorize_url).await
}

/// Where the server's callback sends the browser.
async fn finish(app: &TestApp, callback_url: &str) -> String {
    let path = callback_url.split_once(&app.addr.to_string()).map(|(_, p)| p.to_string()).expect("our callback");
    location(&app.url(&path)).await
}

pub(crate) async fn link(app: &TestApp, token: &str) {
    let callback = approve(&login(app, token).await).await;
    assert_eq!(finish(app, &callback).await, "/?provider=spotify&linked=1");
}

async fn job_done(app: &TestApp, token: &str, job: &Value) -> Value {
    let path = format!("/api/providers/spotify/jobs/{}", job["id"].as_str().expect("job id"));
    let deadline = tokio::time::Instant::now() + WAIT * 6;
    loop {
        let (status, body) = call(app, Method::GET, &path, Some(token), None).await;
        assert_eq!(status, 200, "{body}");
        if body["job"]["status"] != "running" {
            return body["job"].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "job still running: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn import(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, started) = call(app, Method::POST, "/api/providers/spotify/imports", Some(token), Some(body)).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["job"]["status"], "running");
    job_done(app, token, &started["job"]).await
}

fn tracks(range: std::ops::Range<usize>) -> Vec<Value> {
    range.map(|n| track(n, &format!("Song {n}"), &format!("Artist {n}"))).collect()
}

#[tokio::test]
async fn linking_uses_pkce_and_each_state_works_once() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;

    let (status, body) = call(&app, Method::GET, "/api/providers/spotify", Some(&token), None).await;
    assert_eq!((status, body["link"]["linked"].clone()), (200, json!(false)));

    let url = login(&app, &token).await;
    let parsed = url::Url::parse(&url).expect("url");
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], app.url("/api/providers/spotify/callback"));
    assert!(q["state"].len() >= 32, "an unguessable state");
    let callback = approve(&url).await;
    assert_eq!(finish(&app, &callback).await, "/?provider=spotify&linked=1");

    let (_, body) = call(&app, Method::GET, "/api/providers/spotify", Some(&token), None).await;
    let view = &body["link"];
    assert_eq!((view["linked"].clone(), view["status"].clone()), (json!(true), json!("ok")));
    assert_eq!((view["account_id"].clone(), view["account_name"].clone()), (json!("ana.spotify"), json!("Ana S")));
    assert!(view.get("sealed_grant").is_none(), "the grant never leaves the server");

    // Stored sealed: no token in clear text.
    let user_id = app.state.store.accounts().user_by_username("ana").await.expect("store").expect("user").id;
    let stored = app.state.store.providers().link(&user_id, "spotify").await.expect("store").expect("link");
    assert!(!stored.sealed_grant.contains("access") && !stored.sealed_grant.contains("refresh"));
    let revision = stored.revision;

    // Replayed: the state was used.
    assert_eq!(finish(&app, &callback).await, "/?provider=spotify&error=invalid_state");
    // Forged states, a missing state, an oversized one.
    let forged = callback.replace(&q["state"], "forgedforgedforgedforgedforgedforged");
    assert_eq!(finish(&app, &forged).await, "/?provider=spotify&error=invalid_state");
    let base = app.url("/api/providers/spotify/callback");
    assert_eq!(finish(&app, &format!("{base}?code=abc")).await, "/?provider=spotify&error=invalid_state");
    assert_eq!(
        finish(&app, &format!("{base}?code=abc&state={}", "s".repeat(5000))).await,
        "/?provider=spotify&error=invalid_state"
    );

    // Declined on Spotify (no code): the state is used up all the same.
    let declined = url::Url::parse(&login(&app, &token).await).expect("url");
    let state = declined.query_pairs().find(|(k, _)| k == "state").expect("state").1.to_string();
    let no_code = format!("{base}?error=access_denied&state={state}");
    assert_eq!(finish(&app, &no_code).await, "/?provider=spotify&error=invalid_payload");
    assert_eq!(finish(&app, &format!("{base}?code=x&state={state}")).await, "/?provider=spotify&error=invalid_state");

    // A code Spotify refuses (wrong verifier, already used) changes nothing.
    let fresh = url::Url::parse(&login(&app, &token).await).expect("url");
    let state = fresh.query_pairs().find(|(k, _)| k == "state").expect("state").1.to_string();
    assert_eq!(
        finish(&app, &format!("{base}?code=code-nobody-issued&state={state}")).await,
        "/?provider=spotify&error=invalid_state"
    );
    let after = app.state.store.providers().link(&user_id, "spotify").await.expect("store").expect("link");
    assert_eq!(after.revision, revision, "failed callbacks leave the link alone");

    let (status, _) = call(&app, Method::DELETE, "/api/providers/spotify", Some(&token), None).await;
    assert_eq!(status, 204);
    let (_, body) = call(&app, Method::GET, "/api/providers/spotify", Some(&token), None).await;
    assert_eq!(body["link"]["linked"], false);
}

#[tokio::test]
async fn provider_routes_need_an_account_a_known_service_and_configuration() {
    let fake = FakeSpotify::start().await;
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "bob").await;
    let (status, body) = call(&app, Method::POST, "/api/providers/spotify/login", None, None).await;
    assert_eq!((status, body["error"]["code"].clone()), (401, json!("unauthorized")));
    let (status, body) = call(&app, Method::POST, "/api/providers/spotify/login", Some("forged.token"), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (401, json!("unauthorized")));
    let (status, body) = call(&app, Method::POST, "/api/providers/deezer/login", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("not_found")));
    let (status, body) = call(&app, Method::GET, "/api/providers/spotify/devices", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("provider_not_linked")));
    let (status, body) = call(&app, Method::GET, "/api/providers/spotify/jobs/nope", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("job_not_found")));
    assert_eq!(fake.lock().requests.len(), 0, "nothing reached Spotify");
    let (status, body) = call(&app, Method::GET, "/api/providers", None, None).await;
    assert_eq!((status, body), (200, json!({"providers": [{"name": "spotify", "configured": true}]})));

    let plain = spawn_app().await;
    let token = register(&plain, "cyd").await;
    let (status, body) = call(&plain, Method::POST, "/api/providers/spotify/login", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("provider_not_configured")));
    let (status, body) = call(&plain, Method::GET, "/api/providers", None, None).await;
    assert_eq!((status, body["providers"][0]["configured"].clone()), (200, json!(false)));
}

#[tokio::test]
async fn a_playlist_import_fills_the_library_and_the_rooms_fallback_with_progress() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    {
        let mut inner = fake.lock();
        let mut items = tracks(0..118);
        items.push(items[3].clone()); // the same song twice
        items.push(json!({"type": "episode", "id": "ep1", "name": "A podcast"})); // not a track
        let mut local = track(500, "Home recording", "Me");
        local["is_local"] = json!(true);
        local["id"] = Value::Null;
        items.push(local);
        let mut broken = track(501, "Broken", "Nobody");
        broken.as_object_mut().expect("object").remove("duration_ms");
        items.push(broken);
        let user = inner.users.get_mut("ana.spotify").expect("user");
        user.playlists.push(("pl1".into(), "Summer".into(), items));
        user.playlists.push(("pl2".into(), "Empty".into(), Vec::new()));
    }
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;
    link(&app, &token).await;
    let feed = SioClient::connect_ns(app.addr, "/feed", json!({ "token": token })).await.expect("feed");

    let (status, body) = call(&app, Method::GET, "/api/providers/spotify/playlists", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["playlists"][0],
        json!({"id": "pl1", "name": "Summer", "tracks": 122, "url": "https://open.spotify.com/playlist/pl1"})
    );
    assert_eq!(body["total"], 2);

    let host = app.create_room(json!({})).await;
    let job =
        import(&app, &token, json!({"source": "playlist", "playlist_id": "pl1", "fallback_room_token": host.token}))
            .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"], json!({"imported": 118, "skipped": 3, "duplicates": 1, "fallback_tracks": 118}));
    assert_eq!((job["done"].clone(), job["total"].clone()), (json!(122), json!(122)));
    assert_eq!(fake.lock().count("/v1/playlists/pl1/items"), 3, "three pages of 50");

    let progress = feed.wait_for("provider:job", |v| v["job"]["status"] == "done").await;
    assert_eq!(progress["job"]["id"], job["id"]);
    assert!(feed.events("provider:job").iter().any(|v| v["job"]["status"] == "running" && v["job"]["done"] == 50));

    let (status, body) = app.get(&format!("/api/tracks/{}", track_id(7))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["track"]["title"], "Song 7");
    assert_eq!(body["track"]["provider_uri"], track_uri(7));
    assert_eq!(body["track"]["year"], 1999);
    let (_, room) = app.get(&format!("/api/rooms/{}", host.code)).await;
    assert_eq!(room["room"]["fallback_count"], 118, "{room}");
    // The import is in the account's taste profile (the newest 200 marks).
    let (_, taste) = call(&app, Method::GET, "/api/me/taste", Some(&token), None).await;
    assert_eq!(
        (taste["taste"]["imported"].as_u64(), taste["taste"]["tracks"].as_u64()),
        (Some(118), Some(0)),
        "{taste}"
    );
    let artists = taste["taste"]["artists"].as_array().expect("artists");
    assert!(
        !artists.is_empty() && artists.iter().all(|a| a["name"].as_str().is_some_and(|n| n.starts_with("artist ")))
    );

    let job = import(&app, &token, json!({"source": "playlist", "playlist_id": "pl2"})).await;
    assert_eq!(job["result"], json!({"imported": 0, "skipped": 0, "duplicates": 0, "fallback_tracks": null}));

    // A playlist Spotify does not know fails the job, with nothing written.
    let job = import(&app, &token, json!({"source": "playlist", "playlist_id": "gone"})).await;
    assert_eq!((job["status"].clone(), job["error"]["code"].clone()), (json!("failed"), json!("provider_not_found")));
}

#[tokio::test]
async fn a_ten_thousand_track_playlist_imports_whole_and_a_malformed_page_imports_nothing() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    fake.lock().users.get_mut("ana.spotify").expect("user").playlists.push((
        "big".into(),
        "Everything".into(),
        tracks(1_000..11_000),
    ));
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;
    link(&app, &token).await;
    let host = app.create_room(json!({})).await;

    let body = json!({"source": "playlist", "playlist_id": "big", "fallback_room_token": host.token});
    let job = import(&app, &token, body).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["imported"], 10_000);
    assert_eq!(fake.lock().count("/v1/playlists/big/items"), 200, "every page once");
    assert_eq!(job["result"]["fallback_tracks"], 500, "the fallback holds the first 500");
    for n in [1_000, 5_555, 10_999] {
        let (status, _) = app.get(&format!("/api/tracks/{}", track_id(n))).await;
        assert_eq!(status, 200, "track {n} imported");
    }
    let (_, room) = app.get(&format!("/api/rooms/{}", host.code)).await;
    assert_eq!(room["room"]["fallback_count"], 500);

    // Page two answers without `total`: the job fails and writes nothing.
    {
        let mut inner = fake.lock();
        let user = inner.users.get_mut("ana.spotify").expect("user");
        user.playlists.push(("pl9".into(), "Later".into(), tracks(20_000..20_080)));
        let items: Vec<Value> = tracks(20_050..20_080)
            .into_iter()
            .map(|t| json!({"added_at": null, "is_local": false, "item": t}))
            .collect();
        let body = json!({"href": "x", "items": items, "limit": 50, "next": null, "offset": 50, "previous": null});
        inner.fail("/v1/playlists/pl9/items", 200, None, body, 0);
        // Only the second request (offset 50) is malformed.
        inner.failures.last_mut().expect("failure").path = "offset=50".into();
        inner.failures.last_mut().expect("failure").times = 1;
    }
    let job = import(&app, &token, json!({"source": "playlist", "playlist_id": "pl9"})).await;
    assert_eq!(
        (job["status"].clone(), job["error"]["code"].clone()),
        (json!("failed"), json!("provider_bad_response")),
        "{job}"
    );
    let (status, _) = app.get(&format!("/api/tracks/{}", track_id(20_001))).await;
    assert_eq!(status, 404, "page one was not written either");
}

#[tokio::test]
async fn grants_are_refreshed_before_expiry_and_a_revoked_grant_breaks_the_link() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;
    link(&app, &token).await;
    let feed = SioClient::connect_ns(app.addr, "/feed", json!({ "token": token })).await.expect("feed");
    let devices = || call(&app, Method::GET, "/api/providers/spotify/devices", Some(&token), None);

    let (status, body) = devices().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["devices"],
        json!([{"id": "dev-ana.spotify", "name": "Ana S's speaker", "kind": "speaker", "active": true}])
    );
    assert_eq!(fake.lock().count("grant_type"), 0);
    let refreshes = || fake.lock().requests.iter().filter(|r| r.starts_with("POST /api/token")).count();
    assert_eq!(refreshes(), 1, "the code exchange only");

    // An hour later the grant is refreshed first (and the refresh token
    // rotated), once for two requests at the same moment.
    app.clock.advance(3_600_000);
    let ((first, _), (second, _)) = tokio::join!(devices(), devices());
    assert_eq!((first, second), (200, 200));
    assert_eq!(refreshes(), 2);
    let (status, _) = devices().await;
    assert_eq!((status, refreshes()), (200, 2), "the fresh grant is reused");

    // Spotify expires the token early: one refresh and a retry.
    fake.lock().expire_access_tokens();
    let (status, body) = devices().await;
    assert_eq!((status, refreshes()), (200, 3), "{body}");

    // Access revoked on Spotify: the link breaks with a message, and nothing
    // more is sent to Spotify for it.
    fake.lock().revoked.insert("ana.spotify".into());
    let (status, body) = devices().await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("provider_link_broken")), "{body}");
    let (_, view) = call(&app, Method::GET, "/api/providers/spotify", Some(&token), None).await;
    assert_eq!(view["link"]["status"], "broken");
    assert!(view["link"]["message"].as_str().expect("message").contains("link it again"));
    let pushed = feed.wait_for("provider:link", |v| v["link"]["status"] == "broken").await;
    assert_eq!(pushed["link"]["account_id"], "ana.spotify");
    let before = fake.lock().requests.len();
    let (status, _) = devices().await;
    assert_eq!(status, 409);
    let (status, body) =
        call(&app, Method::POST, "/api/providers/spotify/imports", Some(&token), Some(json!({"source": "liked"})))
            .await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("provider_link_broken")));
    assert_eq!(fake.lock().requests.len(), before, "a broken link is not used");

    // Linking again mends it.
    fake.lock().revoked.clear();
    link(&app, &token).await;
    let (status, _) = devices().await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_refresh_token_spotify_refuses_breaks_the_link() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;
    link(&app, &token).await;
    fake.lock().revoked.insert("ana.spotify".into());
    app.clock.advance(3_600_000);
    let (status, body) = call(&app, Method::GET, "/api/providers/spotify/devices", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("provider_link_broken")), "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("revoked or expired"));
}

#[tokio::test]
async fn retry_after_is_honoured_and_an_outage_opens_the_breaker() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    fake.lock().users.get_mut("ana.spotify").expect("user").liked = tracks(0..120);
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;
    link(&app, &token).await;

    // A job waits out a 429 and finishes.
    fake.lock().fail(
        "offset=50",
        429,
        Some(1),
        json!({"error": {"status": 429, "message": "API rate limit exceeded"}}),
        1,
    );
    let job = import(&app, &token, json!({"source": "liked"})).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["imported"], 120);
    assert_eq!(fake.lock().count("/v1/me/tracks"), 4, "the limited page was asked again");

    // Five failures in a row open the breaker: the next call fails at once.
    fake.lock().fail(
        "/me/player/devices",
        503,
        None,
        json!({"error": {"status": 503, "message": "Service unavailable"}}),
        5,
    );
    for _ in 0..5 {
        let (status, body) = call(&app, Method::GET, "/api/providers/spotify/devices", Some(&token), None).await;
        assert_eq!((status, body["error"]["code"].clone()), (503, json!("provider_unavailable")));
    }
    let before = fake.lock().requests.len();
    let (status, body) = call(&app, Method::GET, "/api/providers/spotify/devices", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (503, json!("provider_unavailable")));
    assert_eq!(fake.lock().requests.len(), before, "an open breaker does not call Spotify");

    // An interactive call meeting a 429 answers at once with Retry-After.
    let other = FakeSpotify::start().await;
    other.add_user("bo.spotify", "Bo");
    let app = spawn_spotify(&other).await;
    let token = register(&app, "bob").await;
    link(&app, &token).await;
    other.lock().fail(
        "/me/player/devices",
        429,
        Some(30),
        json!({"error": {"status": 429, "message": "slow down"}}),
        1,
    );
    let response =
        app.http.get(app.url("/api/providers/spotify/devices")).bearer_auth(&token).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "30");
    let before = other.lock().requests.len();
    let (status, body) = call(&app, Method::GET, "/api/providers/spotify/playlists", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].clone()), (429, json!("provider_rate_limited")));
    assert_eq!(other.lock().requests.len(), before, "held until Retry-After has passed");
}

#[tokio::test]
async fn few_library_hits_are_filled_from_the_catalogue_once_per_query() {
    let fake = FakeSpotify::start().await;
    fake.lock().catalogue = vec![track(1, "Zebra Crossing", "The Stripes"), track(2, "Zebra Dawn", "Savanna")];
    let app = spawn_spotify(&fake).await;

    let (status, body) = app.get("/api/tracks?q=zebra").await;
    assert_eq!(status, 200, "{body}");
    let titles: Vec<&str> =
        body["tracks"].as_array().expect("tracks").iter().filter_map(|t| t["title"].as_str()).collect();
    assert_eq!(titles, vec!["Zebra Crossing", "Zebra Dawn"]);
    assert_eq!(body["tracks"][0]["id"], track_id(1));
    assert_eq!(fake.lock().count("/v1/search"), 1);
    assert_eq!(fake.lock().count("POST /api/token"), 1, "one client-credentials token");

    let (_, again) = app.get("/api/tracks?q=Zebra").await;
    assert_eq!(again["tracks"].as_array().map(Vec::len), Some(2));
    assert_eq!(fake.lock().count("/v1/search"), 1, "the second search is served from the cache");
    let (status, _) = app.get(&format!("/api/tracks/{}", track_id(2))).await;
    assert_eq!(status, 200, "catalogue hits join the library");

    // Enough library hits: Spotify is not asked.
    let (_, popular) = app.get("/api/tracks").await;
    assert!(popular["tracks"].as_array().expect("tracks").len() >= 5);
    assert_eq!(fake.lock().count("/v1/search"), 1);

    // Spotify failing: the library's answer alone, at once.
    fake.lock().fail("/v1/search", 500, None, json!({"error": {"status": 500, "message": "oops"}}), 1);
    let (status, body) = app.get("/api/tracks?q=unicorn").await;
    assert_eq!((status, body["tracks"].clone()), (200, json!([])));
}

/// A signed-in host with a linked Spotify, a room, and its socket.
async fn linked_host(app: &TestApp) -> (String, crate::helpers::Guest, SioClient) {
    let account = register(app, "hana").await;
    link(app, &account).await;
    let (status, body) = app
        .post("/api/rooms", json!({"name": "Party", "host_name": "Hana", "account_token": account, "rules": {}}))
        .await;
    assert_eq!(status, 201, "{body}");
    let host = crate::helpers::guest_from(&body);
    let socket = app.connect(&host.token).await;
    (account, host, socket)
}

#[tokio::test]
async fn the_history_and_the_queue_export_as_new_playlists() {
    let fake = FakeSpotify::start().await;
    fake.add_user("hana.spotify", "Hana S");
    fake.lock().users.get_mut("hana.spotify").expect("user").playlists.push(("pl1".into(), "Mix".into(), tracks(0..5)));
    let app = spawn_spotify(&fake).await;
    let (account, host, socket) = linked_host(&app).await;
    let job = import(&app, &account, json!({"source": "playlist", "playlist_id": "pl1"})).await;
    assert_eq!(job["status"], "done");
    for n in 0..5 {
        socket.ok("queue:add", json!({ "track_id": track_id(n) })).await;
    }
    socket.ok("queue:add", json!({ "track_id": TestApp::track_id(1) })).await; // not on Spotify
    app.clock.advance(1_000);
    socket.ok("player:skip", json!({})).await;
    app.clock.advance(1_000);
    socket.ok("player:skip", json!({})).await;

    let (status, started) = call(
        &app,
        Method::POST,
        "/api/providers/spotify/exports",
        Some(&host.token),
        Some(json!({"source": "history"})),
    )
    .await;
    assert_eq!(status, 202, "{started}");
    let job = job_done(&app, &account, &started["job"]).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["added"], 2);
    let playlist_id = job["result"]["playlist"]["id"].as_str().expect("id").to_string();
    {
        let inner = fake.lock();
        let created = inner.created.iter().find(|c| c.0 == playlist_id).expect("created");
        assert_eq!(created.1, "Party (crowdjuke)");
        assert_eq!(created.3, vec![track_uri(0), track_uri(1)], "played order");
    }

    let body = json!({"source": "queue", "name": "Still to come"});
    let (_, started) = call(&app, Method::POST, "/api/providers/spotify/exports", Some(&host.token), Some(body)).await;
    let job = job_done(&app, &account, &started["job"]).await;
    assert_eq!((job["result"]["added"].clone(), job["result"]["skipped"].clone()), (json!(3), json!(1)), "{job}");
    let created = fake.lock().created.last().cloned().expect("created");
    assert_eq!(created.1, "Still to come");
    assert_eq!(created.3, vec![track_uri(2), track_uri(3), track_uri(4)]);

    // A guest may not export; a host without a linked account cannot.
    let guest = app.join(&host.code, "Gus").await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/providers/spotify/exports",
        Some(&guest.token),
        Some(json!({"source": "queue"})),
    )
    .await;
    assert_eq!((status, body["error"]["code"].clone()), (403, json!("forbidden")));
    let other = app.create_room(json!({})).await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/providers/spotify/exports",
        Some(&other.token),
        Some(json!({"source": "queue"})),
    )
    .await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("provider_not_linked")));
}

/// A server on `fake` with account `username` linked: (app, token, user id).
async fn linked_account(fake: &FakeSpotify, username: &str) -> (TestApp, String, String) {
    let app = spawn_spotify(fake).await;
    let account = register(&app, username).await;
    link(&app, &account).await;
    let (_, me) = call(&app, Method::GET, "/api/me", Some(&account), None).await;
    let user_id = me["user"]["id"].as_str().expect("user id").to_string();
    (app, account, user_id)
}

/// A job as a node that died left it: running, its lease held by that node
/// until one minute from now.
fn stalled(app: &TestApp, id: &str, user_id: &str, kind: JobKind, source: &str, plan: Option<JobPlan>) -> ProviderJob {
    let now = app.clock.now();
    ProviderJob {
        id: id.into(),
        user_id: user_id.into(),
        provider: "spotify".into(),
        kind,
        source: source.into(),
        status: JobStatus::Running,
        done: 0,
        total: None,
        result: Value::Null,
        error: None,
        created_at: now,
        updated_at: now,
        work: JobWork { owner: "dead-node".into(), lease_until: now + 60_000, attempts: 1, plan },
    }
}

#[tokio::test]
async fn jobs_whose_node_died_are_resumed_once_when_their_lease_runs_out() {
    let fake = FakeSpotify::start().await;
    fake.add_user("hana.spotify", "Hana S");
    fake.lock().users.get_mut("hana.spotify").expect("user").playlists.push(("pl1".into(), "Mix".into(), tracks(0..5)));
    let (app, account, user_id) = linked_account(&fake, "hana").await;
    let uris: Vec<String> = (0..150).map(track_uri).collect();
    {
        let mut inner = fake.lock();
        // The dead node created this playlist and added the first 100
        // tracks, but died before saving that progress.
        inner.created.push(("plhalf".into(), "Half done".into(), String::new(), uris[..100].to_vec()));
        // This one it created but died before saving its id.
        inner.created.push(("plmade".into(), "Just made".into(), String::new(), Vec::new()));
    }
    let export = |name: &str, uris: Vec<String>, playlist_id: Option<&str>| JobPlan::Export {
        name: name.into(),
        uris,
        skipped: 1,
        playlist_id: playlist_id.map(str::to_string),
        playlist_url: None,
    };
    let jobs = [
        stalled(
            &app,
            "halfexport",
            &user_id,
            JobKind::Export,
            "history",
            Some(export("Half done", uris.clone(), Some("plhalf"))),
        ),
        stalled(
            &app,
            "madeexport",
            &user_id,
            JobKind::Export,
            "queue",
            Some(export("Just made", uris[..3].to_vec(), None)),
        ),
        stalled(
            &app,
            "freshexport",
            &user_id,
            JobKind::Export,
            "queue",
            Some(export("Not yet", uris[..2].to_vec(), None)),
        ),
        stalled(
            &app,
            "stalledimport",
            &user_id,
            JobKind::Import,
            "playlist:pl1",
            Some(JobPlan::Import { fallback: None }),
        ),
        stalled(&app, "oldjob", &user_id, JobKind::Import, "liked", None),
    ];
    for job in &jobs {
        app.state.store.providers().put_job(job).await.expect("stored");
    }
    let feed = SioClient::connect_ns(app.addr, "/feed", json!({ "token": account })).await.expect("feed");
    let requests = fake.lock().requests.len();

    app.state.providers.resume_jobs().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.lock().requests.len(), requests, "nothing is resumed while the dead node's lease holds");
    let (_, job) = call(&app, Method::GET, "/api/providers/spotify/jobs/halfexport", Some(&account), None).await;
    assert_eq!(job["job"]["status"], "running");
    assert!(job["job"].get("work").is_none(), "how a job runs is not shown: {job}");

    app.clock.advance(61_000);
    // Every node looks at once; each job is claimed by one.
    tokio::join!(
        app.state.providers.resume_jobs(),
        app.state.providers.resume_jobs(),
        app.state.providers.resume_jobs()
    );
    let half = job_done(&app, &account, &json!({"id": "halfexport"})).await;
    assert_eq!((half["status"].clone(), half["result"]["added"].clone()), (json!("done"), json!(150)), "{half}");
    assert_eq!(half["result"]["playlist"]["id"], "plhalf");
    let made = job_done(&app, &account, &json!({"id": "madeexport"})).await;
    assert_eq!(made["result"]["playlist"]["id"], "plmade", "the playlist made before the crash is filled: {made}");
    let fresh = job_done(&app, &account, &json!({"id": "freshexport"})).await;
    assert_eq!(fresh["status"], "done", "{fresh}");
    let imported = job_done(&app, &account, &json!({"id": "stalledimport"})).await;
    assert_eq!(imported["result"]["imported"], 5, "{imported}");
    let old = job_done(&app, &account, &json!({"id": "oldjob"})).await;
    assert_eq!((old["status"].clone(), old["error"]["code"].clone()), (json!("failed"), json!("interrupted")));
    {
        let inner = fake.lock();
        let contents = |id: &str| inner.created.iter().find(|c| c.0 == id).map(|c| c.3.clone()).expect("playlist");
        assert_eq!(contents("plhalf"), uris, "each track added once, in order");
        assert_eq!(contents("plmade"), uris[..3].to_vec());
        let fresh_id = fresh["result"]["playlist"]["id"].as_str().expect("id");
        assert_eq!(contents(fresh_id), uris[..2].to_vec());
        assert_eq!(inner.count("POST /v1/me/playlists"), 1, "only the export that had made nothing makes a playlist");
    }
    assert_eq!(app.state.store.tracks_by_ids(&[track_id(4)]).await.expect("tracks").len(), 1, "the import wrote");
    for id in ["halfexport", "madeexport", "freshexport", "stalledimport", "oldjob"] {
        let ended = feed
            .events("provider:job")
            .iter()
            .filter(|e| e["job"]["id"] == id && e["job"]["status"] != "running")
            .count();
        assert_eq!(ended, 1, "{id} ends once");
    }
    // Nothing is left to resume.
    let requests = fake.lock().requests.len();
    app.clock.advance(10 * 60_000);
    app.state.providers.resume_jobs().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.lock().requests.len(), requests);
}

/// Spotify may do what was asked and still fail or time out: an export
/// then looks before asking again, so nothing is added or made twice.
#[tokio::test]
async fn an_export_whose_calls_fail_after_spotify_did_them_adds_each_track_once() {
    let fake = FakeSpotify::start().await;
    fake.add_user("hana.spotify", "Hana S");
    let (app, account, user_id) = linked_account(&fake, "hana").await;
    {
        let mut inner = fake.lock();
        let failure = |path: &str| crate::spotify_fake::Failure {
            path: path.into(),
            status: 503,
            retry_after: None,
            body: json!({"error": {"status": 503, "message": "Service unavailable"}}),
            times: 1,
        };
        inner.failures_after.push(failure("POST /v1/me/playlists"));
        inner.failures_after.push(failure("/items"));
    }
    let uris: Vec<String> = (0..150).map(track_uri).collect();
    let plan = JobPlan::Export {
        name: "Twice?".into(),
        uris: uris.clone(),
        skipped: 0,
        playlist_id: None,
        playlist_url: None,
    };
    let mut job = stalled(&app, "flakyexport", &user_id, JobKind::Export, "queue", Some(plan));
    job.work.lease_until = 0;
    app.state.store.providers().put_job(&job).await.expect("stored");
    app.state.providers.resume_jobs().await;
    let done = job_done(&app, &account, &json!({"id": "flakyexport"})).await;
    assert_eq!(done["status"], "done", "{done}");
    let inner = fake.lock();
    assert_eq!(
        inner.created.len(),
        1,
        "one playlist made: {:?}",
        inner.created.iter().map(|c| &c.1).collect::<Vec<_>>()
    );
    assert_eq!(inner.created[0].3, uris, "each track added once, in order");
}

#[tokio::test]
async fn decided_tracks_are_handed_to_the_chosen_device_and_only_then() {
    let fake = FakeSpotify::start().await;
    fake.add_user("hana.spotify", "Hana S");
    fake.lock().users.get_mut("hana.spotify").expect("user").playlists.push(("pl1".into(), "Mix".into(), tracks(0..3)));
    let app = spawn_spotify(&fake).await;
    let (account, host, socket) = linked_host(&app).await;
    import(&app, &account, json!({"source": "playlist", "playlist_id": "pl1"})).await;

    let (status, body) = call(
        &app,
        Method::PUT,
        "/api/providers/spotify/playback",
        Some(&host.token),
        Some(json!({"device_id": "dev-hana.spotify"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["playback"], json!({"provider": "spotify", "device_name": "Hana S's speaker"}));
    let changed = socket.wait_for("room:changed", |v| v["changes"].to_string().contains("playback_updated")).await;
    assert!(changed.to_string().contains("Hana S's speaker"), "{changed}");
    // Nothing plays yet: the chosen device is told to be quiet.
    wait_until(|| fake.lock().pauses.len() == 1).await;

    socket.ok("queue:add", json!({ "track_id": track_id(0) })).await;
    socket.ok("queue:add", json!({ "track_id": track_id(1) })).await;
    wait_until(|| fake.lock().plays.len() == 1).await;
    assert_eq!(fake.lock().plays[0], ("dev-hana.spotify".to_string(), track_uri(0), 0));
    // Hand-offs to the device take turns in order: once the pause that
    // follows the second add has reached Spotify, anything that add
    // handed over would have too.
    socket.ok("player:pause", json!({})).await;
    wait_until(|| fake.lock().pauses.len() == 2).await;
    assert_eq!(fake.lock().plays.len(), 1, "the queued track is not handed over before it plays");
    socket.ok("player:resume", json!({})).await;
    wait_until(|| fake.lock().plays.len() == 2).await;
    assert_eq!(fake.lock().plays[1].1, track_uri(0));

    socket.ok("player:skip", json!({})).await;
    wait_until(|| fake.lock().plays.len() == 3).await;
    assert_eq!(fake.lock().plays[2].1, track_uri(1));
    socket.ok("player:pause", json!({})).await;
    wait_until(|| fake.lock().pauses.len() == 3).await;
    app.clock.advance(5_000);
    socket.ok("player:resume", json!({})).await;
    wait_until(|| fake.lock().plays.len() == 4).await;
    assert_eq!(fake.lock().plays[3].1, track_uri(1), "resumed where it was");

    // A track that is not on Spotify: the device goes quiet.
    socket.ok("queue:add", json!({ "track_id": TestApp::track_id(2) })).await;
    socket.ok("player:skip", json!({})).await;
    wait_until(|| fake.lock().pauses.len() == 4).await;

    // Spotify failing tells the staff, and the party goes on.
    fake.lock().fail("/me/player/play", 502, None, json!({"error": {"status": 502, "message": "bad gateway"}}), 1);
    socket.ok("queue:add", json!({ "track_id": track_id(2) })).await;
    socket.ok("player:skip", json!({})).await;
    let failed = socket.wait_for("playback:failed", |_| true).await;
    assert_eq!(failed["error"]["code"], "provider_unavailable");
    let snapshot = socket.snapshot().await;
    assert_eq!(snapshot["now_playing"]["track"]["id"], track_id(2));

    // Only staff choose; an unknown device is refused; null stops.
    let guest = app.join(&host.code, "Gus").await;
    let body = json!({"device_id": "dev-hana.spotify"});
    let (status, _) = call(&app, Method::PUT, "/api/providers/spotify/playback", Some(&guest.token), Some(body)).await;
    assert_eq!(status, 403);
    let body = json!({"device_id": "nope"});
    let (status, body) =
        call(&app, Method::PUT, "/api/providers/spotify/playback", Some(&host.token), Some(body)).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!("provider_not_found")));
    let body = json!({"device_id": null});
    let (status, body) =
        call(&app, Method::PUT, "/api/providers/spotify/playback", Some(&host.token), Some(body)).await;
    assert_eq!((status, body["playback"].clone()), (200, Value::Null));
}

async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bad_provider_requests_get_typed_errors_and_start_nothing() {
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    let app = spawn_spotify(&fake).await;
    let token = register(&app, "ana").await;
    link(&app, &token).await;
    let host = app.create_room(json!({})).await;
    let imports = "/api/providers/spotify/imports";
    for body in [
        json!({}),
        json!({"source": 5}),
        json!({"source": "everything"}),
        json!({"source": "playlist"}),
        json!({"source": "playlist", "playlist_id": "../../etc"}),
        json!({"source": "playlist", "playlist_id": "x".repeat(500)}),
        json!({"source": "liked", "playlist_id": "pl1"}),
        json!({"source": "liked", "extra": true}),
        json!([1, 2]),
    ] {
        let (status, answer) = call(&app, Method::POST, imports, Some(&token), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["code"].clone()), (400, json!("invalid_payload")), "{body}");
    }
    let (status, answer) = call(
        &app,
        Method::POST,
        imports,
        Some(&token),
        Some(json!({"source": "liked", "fallback_room_token": "forged"})),
    )
    .await;
    assert_eq!((status, answer["error"]["code"].clone()), (401, json!("unauthorized")));
    let guest = app.join(&host.code, "Gus").await;
    let (status, answer) = call(
        &app,
        Method::POST,
        imports,
        Some(&token),
        Some(json!({"source": "liked", "fallback_room_token": guest.token})),
    )
    .await;
    assert_eq!((status, answer["error"]["code"].clone()), (403, json!("forbidden")));
    let huge = json!({"source": "liked", "fallback_room_token": "x".repeat(100_000)});
    let (status, answer) = call(&app, Method::POST, imports, Some(&token), Some(huge)).await;
    assert_eq!((status, answer["error"]["code"].clone()), (413, json!("payload_too_large")));

    let exports = "/api/providers/spotify/exports";
    for body in [
        json!({}),
        json!({"source": "all"}),
        json!({"source": "queue", "name": ""}),
        json!({"source": "queue", "name": "x".repeat(101)}),
        json!({"source": "queue", "name": 7}),
    ] {
        let (status, answer) = call(&app, Method::POST, exports, Some(&host.token), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["code"].clone()), (400, json!("invalid_payload")), "{body}");
    }
    let (status, _) = call(&app, Method::POST, exports, Some("forged"), Some(json!({"source": "queue"}))).await;
    assert_eq!(status, 401);
    let playback = "/api/providers/spotify/playback";
    for body in [json!({"device_id": 5}), json!({"device": "x"}), json!("x")] {
        let (status, answer) = call(&app, Method::PUT, playback, Some(&host.token), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["code"].clone()), (400, json!("invalid_payload")), "{body}");
    }
    let (status, answer) =
        call(&app, Method::GET, "/api/providers/spotify/playlists?offset=-1", Some(&token), None).await;
    assert_eq!((status, answer["error"]["code"].clone()), (400, json!("invalid_payload")));
    assert_eq!(fake.lock().count("/v1/me/tracks"), 0, "no import started");
}

#[tokio::test]
async fn two_nodes_share_link_states_refreshed_grants_and_the_catalogue_cache() {
    let _one = crate::multinode::ONE_AT_A_TIME.lock().await;
    let fake = FakeSpotify::start().await;
    fake.add_user("ana.spotify", "Ana S");
    fake.lock().catalogue = vec![track(1, "Zebra Crossing", "The Stripes")];
    let search = crate::meili_double::MeiliDouble::for_nodes(crate::multinode::MEILI_KEY).await;
    let db = crate::services::fresh_db_name();
    let mut nodes = Vec::new();
    for i in 0..2 {
        let db = db.clone();
        let node = spawn_with(TempDir::new().expect("temp dir"), |s| {
            s.mongodb_uri = Some(crate::services::mongodb_uri());
            s.mongodb_db = db;
            s.redis_url = Some(crate::services::redis_url());
            s.node_id = Some(format!("node{i}"));
            s.meilisearch_url = Some(search.url());
            s.meilisearch_api_key = Some(ApiKey(search.node_key().into()));
            s.spotify_client_id = Some(CLIENT_ID.to_string());
            s.spotify_client_secret = Some(ApiKey(CLIENT_SECRET.to_string()));
            // Behind one public address, every node registers the same redirect.
            s.spotify_redirect_url = Some("http://127.0.0.1:1/api/providers/spotify/callback".into());
            s.spotify_api_url = fake.api_url();
            s.spotify_accounts_url = fake.accounts_url();
            s.spotify_search_budget_ms = 60_000;
        })
        .await;
        nodes.push(node);
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    let token = register(a, "ana").await;

    // Login on one node, callback on the other; a replay on either fails.
    let callback = approve(&login(a, &token).await).await;
    let path = callback.trim_start_matches("http://127.0.0.1:1");
    assert_eq!(location(&b.url(path)).await, "/?provider=spotify&linked=1");
    assert_eq!(location(&a.url(path)).await, "/?provider=spotify&error=invalid_state");

    // Both nodes due to refresh at once: one refresh token is spent, both
    // answer, and the link stays usable.
    a.clock.advance(3_600_000);
    b.clock.advance(3_600_000);
    let devices = |node: &TestApp| {
        let token = token.clone();
        let url = node.url("/api/providers/spotify/devices");
        let http = node.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.expect("request").status().as_u16() }
    };
    let (first, second) = tokio::join!(devices(a), devices(b));
    assert_eq!((first, second), (200, 200));
    let (_, view) = call(b, Method::GET, "/api/providers/spotify", Some(&token), None).await;
    assert_eq!(view["link"]["status"], "ok", "{view}");
    assert_eq!(devices(b).await, 200);

    // The catalogue cache is shared: the second node does not ask Spotify.
    let (_, found) = a.get("/api/tracks?q=zebra").await;
    assert_eq!(found["tracks"][0]["title"], "Zebra Crossing", "{found}");
    let (_, found) = b.get("/api/tracks?q=zebra").await;
    assert_eq!(found["tracks"][0]["title"], "Zebra Crossing", "{found}");
    assert_eq!(fake.lock().count("/v1/search"), 1);
}
