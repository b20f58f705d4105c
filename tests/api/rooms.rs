//! REST: creating, joining and looking up rooms; tracks; health.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn create_room_returns_201_with_a_six_character_code_a_token_and_the_host() {
    let app = spawn_app().await;
    let (status, body) = app.post("/api/rooms", json!({"name": "Birthday", "host_name": "Ana"})).await;
    assert_eq!(status, 201);
    let code = body["room"]["code"].as_str().expect("code");
    assert_eq!(code.len(), 6);
    assert!(!code.contains(['I', 'L', 'O', '0', '1']));
    assert_eq!(body["room"]["name"], "Birthday");
    assert_eq!(body["member"]["role"], "host");
    assert_eq!(body["member"]["name"], "Ana");
    assert!(body["token"].as_str().is_some_and(|t| t.len() > 20));
    assert!(body["room"]["join_url"].as_str().is_some_and(|u| u.ends_with(&format!("/join/{code}"))));
}

#[tokio::test]
async fn join_returns_the_room_a_token_and_a_guest_member() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let (status, body) =
        app.post(&format!("/api/rooms/{}/join", host.code.to_lowercase()), json!({"name": "Ben"})).await;
    assert_eq!(status, 200, "codes are case-insensitive: {body}");
    assert_eq!(body["member"]["role"], "guest");
    assert_eq!(body["room"]["id"], host.room_id.as_str());
    assert_ne!(body["member"]["id"], host.member_id.as_str());
}

#[tokio::test]
async fn join_returns_404_for_an_unknown_code() {
    let app = spawn_app().await;
    for code in ["ZZZZZZ", "nope", "ABCDE0"] {
        let (status, body) = app.post(&format!("/api/rooms/{code}/join"), json!({"name": "Ben"})).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "room_not_found");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn rejoining_with_the_same_token_keeps_the_member_identity() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Cleo").await;
    let (status, body) =
        app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": "Cleo", "token": guest.token})).await;
    assert_eq!(status, 200);
    assert_eq!(body["member"]["id"], guest.member_id.as_str());
    let room = app.state.rooms.room(&host.room_id).await.expect("room");
    assert_eq!(room.members.len(), 2, "no duplicate member");
}

#[tokio::test]
async fn a_token_of_another_room_joins_as_a_new_member() {
    let app = spawn_app().await;
    let first = app.create_room(json!({})).await;
    let second = app.create_room(json!({})).await;
    let (status, body) =
        app.post(&format!("/api/rooms/{}/join", second.code), json!({"name": "Dan", "token": first.token})).await;
    assert_eq!(status, 200);
    assert_ne!(body["member"]["id"], first.member_id.as_str());
    assert_eq!(body["member"]["role"], "guest");
}

#[tokio::test]
async fn guessing_room_codes_is_rate_limited_per_client_address() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.join_attempts_per_minute = 3).await;
    let mut statuses = Vec::new();
    for code in ["ZZZZZZ", "ZZZZZY", "ZZZZZX", "ZZZZZW", "ZZZZZV"] {
        let (status, body) = app.post(&format!("/api/rooms/{code}/join"), json!({"name": "Eve"})).await;
        statuses.push(status);
        if status == 429 {
            assert_eq!(body["error"]["code"], "rate_limited");
        }
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429]);
}

#[tokio::test]
async fn a_venue_full_of_guests_behind_one_address_joins_its_room_while_guessing_stays_limited() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| {
        s.join_attempts_per_minute = 3;
        s.room_requests_per_minute = 150;
    })
    .await;
    let host = app.create_room(json!({})).await;
    // 60 guests: each looks at the join page, then joins (120 look-ups).
    for n in 0..60 {
        let (status, _) = app.get(&format!("/api/rooms/{}", host.code)).await;
        assert_eq!(status, 200, "preview {n}");
        let (status, body) =
            app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": format!("Guest {n}")})).await;
        assert_eq!(status, 200, "join {n}: {body}");
    }
    let (_, info) = app.get(&format!("/api/rooms/{}", host.code)).await;
    assert_eq!(info["room"]["member_count"], 61);
    // The room counted once: two more codes, then guessing is refused.
    assert_eq!(app.post("/api/rooms/ZZZZZZ/join", json!({"name": "Eve"})).await.0, 404);
    assert_eq!(app.post("/api/rooms/ZZZZZY/join", json!({"name": "Eve"})).await.0, 404);
    assert_eq!(app.post("/api/rooms/ZZZZZX/join", json!({"name": "Eve"})).await.0, 429);
    // And a flood of one room stops at its own quota.
    let mut last = 200;
    for _ in 0..40 {
        last = app.get(&format!("/api/rooms/{}", host.code)).await.0;
    }
    assert_eq!(last, 429, "room_requests_per_minute holds");
}

#[tokio::test]
async fn room_info_is_public_and_the_qr_code_is_an_svg_of_the_join_link() {
    let app = spawn_app().await;
    let host = app.create_room(json!({"fair_mode": true})).await;
    let (status, body) = app.get(&format!("/api/rooms/{}", host.code)).await;
    assert_eq!(status, 200);
    assert_eq!(body["room"]["rules"]["fair_mode"], true);
    assert_eq!(body["room"]["member_count"], 1);
    assert!(body["room"].get("token").is_none());
    let response = app.http.get(app.url(&format!("/api/rooms/{}/qr.svg", host.code))).send().await.expect("qr");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.expect("svg").contains("<svg"));
    let (status, _) = app.get("/api/rooms/ZZZZZZ/qr.svg").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn create_room_refuses_bad_bodies_with_typed_errors_and_stores_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({"host_name": "Ana"}), 400, "invalid_payload"),
        (json!({"name": 5, "host_name": "Ana"}), 400, "invalid_payload"),
        (json!({"name": "", "host_name": "Ana"}), 400, "invalid_payload"),
        (json!({"name": "x".repeat(81), "host_name": "Ana"}), 400, "invalid_payload"),
        (json!({"name": "P", "host_name": "Ana", "surprise": 1}), 400, "invalid_payload"),
        (json!({"name": "P", "host_name": "Ana", "rules": {"fair_mod": true}}), 400, "invalid_payload"),
        (json!({"name": "P", "host_name": "Ana", "rules": {"skip_threshold": 3.0}}), 400, "invalid_rules"),
        (json!({"name": "P", "host_name": "Ana", "fallback_track_ids": ["nope"]}), 404, "track_not_found"),
        (json!([1, 2, 3]), 400, "invalid_payload"),
        (json!({"name": "P", "host_name": "A".repeat(70_000)}), 413, "payload_too_large"),
        (
            json!({"name": "P", "host_name": "Ana", "fallback_track_ids": vec!["demo-0001"; 501]}),
            400,
            "fallback_too_long",
        ),
    ];
    for (body, status, code) in cases {
        let (got, reply) = app.post("/api/rooms", body.clone()).await;
        assert_eq!((got, reply["error"]["code"].as_str()), (status, Some(code)), "{body}");
    }
    let not_json = app
        .http
        .post(app.url("/api/rooms"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .expect("send");
    assert_eq!(not_json.status(), 400);
    assert!(app.state.store.room_ids().await.expect("ids").is_empty());
}

#[tokio::test]
async fn a_room_can_start_with_a_fallback_playlist_that_plays_at_once() {
    let app = spawn_app().await;
    let body = json!({"name": "P", "host_name": "Ana", "fallback_track_ids": ["demo-0001", "demo-0002"]});
    let (status, reply) = app.post("/api/rooms", body).await;
    assert_eq!(status, 201);
    assert_eq!(reply["room"]["fallback_count"], 2);
    let (_, info) = app.get(&format!("/api/rooms/{}", reply["room"]["code"].as_str().expect("code"))).await;
    assert_eq!(info["room"]["now_playing"]["track"]["id"], "demo-0001");
}

#[tokio::test]
async fn track_search_matches_prefixes_and_typos() {
    let app = spawn_app().await;
    let (_, one) = app.get("/api/tracks/demo-0042").await;
    let title = one["track"]["title"].as_str().expect("title").to_string();
    let first_word = title.split(' ').next().expect("word").to_string();
    let (status, body) = app.get(&format!("/api/tracks?q={}&limit=100", &first_word[..3])).await;
    assert_eq!(status, 200);
    assert!(body["tracks"].as_array().expect("tracks").iter().any(|t| t["title"] == title.as_str()));
    let (_, body) = app.get("/api/tracks?q=midnigt&limit=5").await;
    let hits = body["tracks"].as_array().expect("tracks");
    assert!(hits.iter().any(|t| t["title"].as_str().is_some_and(|t| t.contains("Midnight"))), "{body}");
    let (_, popular) = app.get("/api/tracks?limit=3").await;
    assert_eq!(popular["tracks"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn track_routes_refuse_bad_parameters() {
    let app = spawn_app().await;
    for path in ["/api/tracks?limit=0", "/api/tracks?limit=1000", "/api/tracks?limit=abc"] {
        let (status, body) = app.get(path).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_payload")), "{path}");
    }
    let (status, body) = app.get(&format!("/api/tracks?q={}", "a".repeat(300))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_payload")));
    for odd in ["%F0%9F%8E%B5", "%22((%5B", "a%00b", "-+~^*?:"] {
        let (status, body) = app.get(&format!("/api/tracks?q={odd}")).await;
        assert_eq!(status, 200, "{odd}: {body}");
        assert!(body["tracks"].is_array());
    }
    let (status, body) = app.get("/api/tracks/nope").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("track_not_found")));
}

#[tokio::test]
async fn health_and_readiness_answer_and_unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/health").await, (200, json!({"status": "ok"})));
    let (status, ready) = app.get("/api/ready").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    assert!(ready["tracks"].as_u64().is_some_and(|n| n >= 1000));
    let (status, body) = app.get("/api/nothing-here").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) = app.get("/api/rooms").await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test]
async fn behind_a_proxy_the_forwarded_client_address_is_limited_not_the_proxy() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| {
        s.join_attempts_per_minute = 2;
        s.behind_proxy = true;
    })
    .await;
    let attempt = |forwarded: &'static str, code: &'static str| {
        let request = app.http.post(app.url(&format!("/api/rooms/{code}/join"))).header("x-forwarded-for", forwarded);
        async move { request.json(&json!({"name": "Eve"})).send().await.expect("request").status().as_u16() }
    };
    assert_eq!(attempt("10.0.0.1", "ZZZZZZ").await, 404);
    assert_eq!(attempt("10.0.0.1", "ZZZZZY").await, 404);
    assert_eq!(attempt("10.0.0.1", "ZZZZZX").await, 429);
    // A client cannot escape by prepending its own entry: the proxy's is last.
    assert_eq!(attempt("1.2.3.4, 10.0.0.1", "ZZZZZW").await, 429);
    assert_eq!(attempt("10.0.0.2", "ZZZZZX").await, 404, "another guest behind the same proxy is not limited");
}
