//! No secret ever reaches the logs: a node in its own process, scaled out
//! on a Redis and a MongoDB that ask for passwords, the Meilisearch double
//! and the Spotify fake, logging everything (`RUST_LOG=debug`, JSON), goes
//! through registration, logins (a wrong password too), rooms, joins,
//! sockets, a Spotify link and import, metrics and forged tokens; then its
//! log is searched for every secret it saw.

use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{ServerProcess, SioClient, TestApp};
use crate::meili_double::MeiliDouble;
use crate::services::{self, Service};
use crate::spotify_fake::{CLIENT_ID, CLIENT_SECRET, FakeSpotify, track};

const PASSWORD: &str = "lantern-quartz-9-meadow";
const WRONG_PASSWORD: &str = "guessed-wrong-4-orchid";
const REDIS_PASSWORD: &str = "redis-pw-5e1d0c9b";
const MONGO_PASSWORD: &str = "mongo-pw-8a2f7c3e";
const MEILI_MASTER: &str = "meili-master-0f9e8d7c";
const METRICS_TOKEN: &str = "metrics-token-3b4a5c6d";
const PROVIDER_TOKEN_KEY: &str = "9c1b7e2d4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c";

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_of_a_whole_session() {
    let db = services::fresh_db_name();
    let redis = Service::redis_with_password(REDIS_PASSWORD).await;
    let mongo = Service::mongodb_with_user(&db, "crowdjuke", MONGO_PASSWORD).await;
    let search = MeiliDouble::for_nodes(MEILI_MASTER).await;
    let spotify = FakeSpotify::start().await;
    spotify.add_user("sam.spotify", "Sam S");
    spotify.lock().users.get_mut("sam.spotify").expect("user").playlists.push((
        "pl1".into(),
        "Mix".into(),
        (0..3).map(|n| track(n, &format!("Song {n}"), "Band")).collect(),
    ));
    let (redis_url, mongodb_uri) =
        (redis.redis_url_with_password(REDIS_PASSWORD), mongo.mongodb_uri_as("crowdjuke", MONGO_PASSWORD, &db));
    let (search_url, api_url, accounts_url) = (search.url(), spotify.api_url(), spotify.accounts_url());
    let dir = TempDir::new().expect("dir");
    let log = dir.path().join("node.log");
    let env = [
        ("RUST_LOG", "debug"),
        ("CROWDJUKE_LOG_FORMAT", "json"),
        ("CROWDJUKE_REDIS_URL", redis_url.as_str()),
        ("CROWDJUKE_MONGODB_URI", mongodb_uri.as_str()),
        ("CROWDJUKE_MONGODB_DB", db.as_str()),
        ("CROWDJUKE_MEILISEARCH_URL", search_url.as_str()),
        ("CROWDJUKE_MEILISEARCH_API_KEY", search.node_key()),
        ("CROWDJUKE_METRICS_TOKEN", METRICS_TOKEN),
        ("CROWDJUKE_SPOTIFY_CLIENT_ID", CLIENT_ID),
        ("CROWDJUKE_SPOTIFY_CLIENT_SECRET", CLIENT_SECRET),
        ("CROWDJUKE_SPOTIFY_API_URL", api_url.as_str()),
        ("CROWDJUKE_SPOTIFY_ACCOUNTS_URL", accounts_url.as_str()),
        ("CROWDJUKE_PROVIDER_TOKEN_KEY", PROVIDER_TOKEN_KEY),
    ];
    let mut node = ServerProcess::start_logging_to(&dir.path().join("data"), &env, &log);
    let url = |path: &str| format!("http://{}{path}", node.addr);
    let http = reqwest::Client::builder().redirect(Policy::none()).build().expect("client");

    // An account: registered, logged in, a wrong password tried.
    let (status, registered) = json_of(
        http.post(url("/api/accounts"))
            .json(&json!({"username": "sam", "password": PASSWORD}))
            .send()
            .await
            .expect("register"),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    let (status, _) = json_of(
        http.post(url("/api/sessions"))
            .json(&json!({"username": "sam", "password": WRONG_PASSWORD}))
            .send()
            .await
            .expect("login"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, session) = json_of(
        http.post(url("/api/sessions"))
            .json(&json!({"username": "sam", "password": PASSWORD}))
            .send()
            .await
            .expect("login"),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let account = session["token"].as_str().expect("token").to_string();

    // A room, a guest, sockets, a forged token.
    let body = json!({"name": "Secret party", "host_name": "Sam", "account_token": account});
    let (status, created) = json_of(http.post(url("/api/rooms")).json(&body).send().await.expect("create")).await;
    assert_eq!(status, 201, "{created}");
    let host = crate::helpers::guest_from(&created);
    let join = url(&format!("/api/rooms/{}/join", host.code));
    let (status, joined) = json_of(http.post(join).json(&json!({"name": "Gus"})).send().await.expect("join")).await;
    assert_eq!(status, 200, "{joined}");
    let guest = crate::helpers::guest_from(&joined);
    let hs = SioClient::connect(node.addr, json!({"token": host.token})).await.expect("host connects");
    let gs = SioClient::connect(node.addr, json!({"token": guest.token})).await.expect("guest connects");
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    let forged = format!("{}x", host.token);
    assert!(SioClient::connect(node.addr, json!({"token": forged})).await.is_err(), "a forged token is refused");

    // Spotify: linked through the consent page, a playlist imported.
    let (status, login) =
        json_of(http.post(url("/api/providers/spotify/login")).bearer_auth(&account).send().await.expect("login url"))
            .await;
    assert_eq!(status, 200, "{login}");
    let consent = http.get(login["url"].as_str().expect("url")).send().await.expect("consent");
    let callback = consent.headers()["location"].to_str().expect("callback").to_string();
    let back = http.get(&callback).send().await.expect("callback");
    assert_eq!(back.status().as_u16(), 303);
    let imports = url("/api/providers/spotify/imports");
    let source = json!({"source": "playlist", "playlist_id": "pl1"});
    let (status, started) =
        json_of(http.post(imports).bearer_auth(&account).json(&source).send().await.expect("import")).await;
    assert_eq!(status, 202, "{started}");
    let job = url(&format!("/api/providers/spotify/jobs/{}", started["job"]["id"].as_str().expect("id")));
    for _ in 0..200 {
        let (_, answer) = json_of(http.get(&job).bearer_auth(&account).send().await.expect("job")).await;
        if answer["job"]["status"] != "running" {
            assert_eq!(answer["job"]["status"], "done", "{answer}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Metrics, with the token and with a wrong one.
    let metrics = http.get(url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.expect("metrics");
    assert_eq!(metrics.status().as_u16(), 200);
    let refused = http.get(url("/metrics")).bearer_auth(format!("{METRICS_TOKEN}-no")).send().await.expect("metrics");
    assert_eq!(refused.status().as_u16(), 404);

    // The token-signing secret the node keeps in MongoDB.
    let client =
        mongodb::Client::with_uri_str(mongo.mongodb_uri_as("crowdjuke", MONGO_PASSWORD, &db)).await.expect("client");
    let settings: Vec<mongodb::bson::Document> = {
        use futures_util::TryStreamExt;
        let found = client.database(&db).collection("settings").find(mongodb::bson::doc! {}).await.expect("find");
        found.try_collect().await.expect("settings")
    };
    let mut secrets: Vec<(String, String)> = vec![
        ("a password".into(), PASSWORD.into()),
        ("a wrong password".into(), WRONG_PASSWORD.into()),
        ("the Redis password".into(), REDIS_PASSWORD.into()),
        ("the MongoDB password".into(), MONGO_PASSWORD.into()),
        ("the Meilisearch key".into(), search.node_key().into()),
        ("the metrics token".into(), METRICS_TOKEN.into()),
        ("the Spotify client secret".into(), CLIENT_SECRET.into()),
        ("the provider token key".into(), PROVIDER_TOKEN_KEY.into()),
        ("an account token".into(), account.clone()),
        ("the first account token".into(), registered["token"].as_str().expect("token").into()),
        ("the host's token".into(), host.token.clone()),
        ("the guest's token".into(), guest.token.clone()),
        ("a forged token".into(), forged.clone()),
    ];
    for token in spotify.lock().issued_tokens() {
        secrets.push(("a Spotify token".into(), token));
    }
    for setting in &settings {
        for (key, value) in setting {
            if let Some(bytes) = value.as_str().map(str::to_string) {
                if bytes.len() >= 16 {
                    secrets.push((format!("the stored setting {key}"), bytes));
                }
            } else if let mongodb::bson::Bson::Binary(binary) = value {
                use base64::Engine;
                let hex: String = binary.bytes.iter().map(|b| format!("{b:02x}")).collect();
                secrets.push((format!("the stored setting {key} (hex)"), hex));
                let base64 = base64::engine::general_purpose::STANDARD.encode(&binary.bytes);
                secrets.push((format!("the stored setting {key} (base64)"), base64));
            }
        }
    }
    assert!(secrets.len() >= 15, "a Spotify grant and the stored secret were seen: {}", secrets.len());
    drop((hs, gs));
    node.kill();

    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.lines().count() > 100, "the node logged the session ({} lines)", text.lines().count());
    let leaked: Vec<String> = secrets
        .iter()
        .filter(|(_, secret)| text.contains(secret.as_str()))
        .map(|(what, secret)| {
            let line = text.lines().find(|l| l.contains(secret.as_str())).unwrap_or_default();
            format!("{what}: {}", line.chars().take(300).collect::<String>())
        })
        .collect();
    assert!(leaked.is_empty(), "secrets in the log:\n{}", leaked.join("\n"));
}
