//! Accounts over real HTTP and Socket.IO: register, log in and out,
//! profiles, follows, the timeline and `feed:new`, a guest turning into an
//! account, the public photo feed, avatars, account deletion, and every bad
//! input refused with nothing stored.

use image::ImageFormat;
use serde_json::{Value, json};

use crate::helpers::{SioClient, TestApp, WAIT, call, spawn_app, spawn_with};
use crate::photos::{encoded, upload};

const PASSWORD: &str = "violet kettle 42 orbit";

async fn register(app: &TestApp, username: &str) -> String {
    let body = json!({"username": username, "password": PASSWORD, "display_name": username.to_uppercase()});
    let (status, body) = app.post("/api/accounts", body).await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().expect("token").to_string()
}

fn photo_form() -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(encoded(320, 240, ImageFormat::Jpeg)).file_name("a.jpg");
    reqwest::multipart::Form::new().part("photo", part)
}

#[tokio::test]
async fn register_log_in_and_out_with_argon2id_hashes_and_revocable_tokens() {
    let app = spawn_app().await;
    let body = json!({"username": "Ana.B", "password": PASSWORD, "display_name": "Ana B"});
    let (status, created) = app.post("/api/accounts", body).await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().expect("token").to_string();
    assert_eq!(created["user"]["username"], "ana.b", "usernames are lower-case");
    assert_eq!((created["user"]["photos"].as_u64(), created["user"]["followers"].as_u64()), (Some(0), Some(0)));
    assert!(created["user"].get("password_hash").is_none(), "the hash never leaves the server");
    let stored = app.state.store.accounts().user_by_username("ana.b").await.expect("get").expect("user");
    assert!(stored.password_hash.starts_with("$argon2id$"), "{}", stored.password_hash);
    assert!(!stored.password_hash.contains(PASSWORD));

    let (status, me) = call(&app, reqwest::Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!((status, me["user"]["display_name"].as_str()), (200, Some("Ana B")));
    let (status, renamed) =
        call(&app, reqwest::Method::PATCH, "/api/me", Some(&token), Some(json!({"display_name": "Ana"}))).await;
    assert_eq!((status, renamed["user"]["display_name"].as_str()), (200, Some("Ana")));

    let (status, body) = app.post("/api/sessions", json!({"username": "ana.b", "password": "wrong password 1"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    let (status, body) = app.post("/api/sessions", json!({"username": "nobody", "password": PASSWORD})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials")),
        "same answer: no username probing"
    );
    let (status, second) = app.post("/api/sessions", json!({"username": "ANA.B", "password": PASSWORD})).await;
    assert_eq!(status, 200, "{second}");
    let second = second["token"].as_str().expect("token").to_string();

    let (status, _) = call(&app, reqwest::Method::DELETE, "/api/sessions/current", Some(&token), None).await;
    assert_eq!(status, 204);
    let (status, body) = call(&app, reqwest::Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "a logged-out token stops working"
    );
    let (status, _) = call(&app, reqwest::Method::GET, "/api/me", Some(&second), None).await;
    assert_eq!(status, 200, "other sessions stay open");

    let room = app.create_room(json!({})).await;
    for bad in ["", "forged.token", room.token.as_str(), &second[..second.len() - 2]] {
        let (status, body) = call(&app, reqwest::Method::GET, "/api/me", Some(bad), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{bad:?}");
    }
    let (status, _) = call(&app, reqwest::Method::GET, "/api/me", None, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_registrations_get_clear_errors_and_store_nothing() {
    let app = spawn_app().await;
    register(&app, "taken").await;
    let cases = [
        (json!({"username": "Taken", "password": PASSWORD}), 409, "username_taken"),
        (json!({"username": "ok_name", "password": "short1!"}), 400, "weak_password"),
        (json!({"username": "ok_name", "password": "x".repeat(300)}), 400, "weak_password"),
        (json!({"username": "ok_name", "password": "Password123"}), 400, "weak_password"),
        (json!({"username": "ok_name", "password": "1234567890"}), 400, "weak_password"),
        (json!({"username": "ok_name", "password": "aaaaaaaaaaaaaa"}), 400, "weak_password"),
        (json!({"username": "ok_name", "password": "ok_name rules 2026"}), 400, "weak_password"),
        (json!({"username": "a b", "password": PASSWORD}), 400, "invalid_payload"),
        (json!({"username": "x".repeat(31), "password": PASSWORD}), 400, "invalid_payload"),
        (json!({"username": "ok_name", "password": PASSWORD, "display_name": ""}), 400, "invalid_payload"),
        (json!({"username": "ok_name"}), 400, "invalid_payload"),
        (json!({"username": 7, "password": PASSWORD}), 400, "invalid_payload"),
        (json!({"username": "ok_name", "password": PASSWORD, "admin": true}), 400, "invalid_payload"),
        (json!({"username": "ok_name", "password": PASSWORD, "member_token": "forged"}), 401, "unauthorized"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app.post("/api/accounts", body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    assert!(app.state.store.accounts().user_by_username("ok_name").await.expect("get").is_none(), "nothing stored");
    let (status, body) = app.post("/api/sessions", json!({"username": "taken", "password": "p".repeat(10_000)})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials")),
        "a huge password is not hashed"
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_address() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.login_attempts_per_minute = 3).await;
    for _ in 0..3 {
        let (status, _) = app.post("/api/sessions", json!({"username": "ana", "password": "guess number 1"})).await;
        assert_eq!(status, 401);
    }
    let response =
        app.http.post(app.url("/api/sessions")).json(&json!({"username": "ana", "password": PASSWORD})).send().await;
    let response = response.expect("post");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

/// Failing on purpose from other addresses does not lock the owner out:
/// only the failing addresses are held back (a per-username limit used to
/// refuse the owner too).
#[tokio::test]
async fn strangers_failing_on_purpose_do_not_lock_the_owner_out() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| {
        s.login_attempts_per_minute = 3;
        s.behind_proxy = true;
    })
    .await;
    register(&app, "ana").await;
    let log_in = |from: &'static str, password: &'static str| {
        let body = json!({"username": "ana", "password": password});
        let request = app.http.post(app.url("/api/sessions")).header("x-forwarded-for", from).json(&body);
        async move { request.send().await.expect("post").status().as_u16() }
    };
    for stranger in ["203.0.113.7", "198.51.100.9"] {
        for _ in 0..3 {
            assert_eq!(log_in(stranger, "guess number 1").await, 401);
        }
        assert_eq!(log_in(stranger, "guess number 2").await, 429, "the guessing address is held back");
    }
    assert_eq!(log_in("192.0.2.44", PASSWORD).await, 200, "the owner gets in");
}

/// Follows sent at once cannot pass the follow limit (each used to check
/// the count before any was written), and a refused follow changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follows_sent_at_once_never_pass_the_follow_limit() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.max_following = 3).await;
    let fan = register(&app, "fan").await;
    let names: Vec<String> = (0..26).map(|i| format!("star{i}")).collect();
    for name in &names {
        register(&app, name).await;
    }
    for name in &names[..2] {
        let (status, body) =
            call(&app, reqwest::Method::PUT, &format!("/api/users/{name}/follow"), Some(&fan), None).await;
        assert_eq!(status, 200, "{body}");
    }
    let answers = futures_util::future::join_all(names[2..].iter().map(|name| {
        let path = format!("/api/users/{name}/follow");
        let fan = fan.clone();
        let app = &app;
        async move { call(app, reqwest::Method::PUT, &path, Some(&fan), None).await }
    }))
    .await;
    let followed = answers.iter().filter(|(status, _)| *status == 200).count();
    for (status, body) in &answers {
        assert!(*status == 200 || (*status == 409 && body["error"]["code"] == "follow_limit"), "{status} {body}");
    }
    assert!(followed <= 1, "{followed} follows passed the limit: {answers:?}");
    let (_, me) = app.get("/api/users/fan").await;
    assert_eq!(me["user"]["following"].as_u64(), Some(2 + followed as u64), "{me}");
    let mut followers = 0;
    for name in &names[2..] {
        let (_, star) = app.get(&format!("/api/users/{name}")).await;
        followers += star["user"]["followers"].as_u64().expect("followers");
    }
    assert_eq!(followers, followed as u64, "a refused follow left nothing behind");
}

#[tokio::test]
async fn followers_get_a_timeline_and_feed_new_in_real_time() {
    let app = spawn_app().await;
    let ana = register(&app, "ana").await;
    let ben = register(&app, "ben").await;
    let (status, followed) = call(&app, reqwest::Method::PUT, "/api/users/ana/follow", Some(&ben), None).await;
    assert_eq!(status, 200, "{followed}");
    assert_eq!((followed["user"]["followers"].as_u64(), followed["user"]["followed"].as_bool()), (Some(1), Some(true)));
    let (status, again) = call(&app, reqwest::Method::PUT, "/api/users/ana/follow", Some(&ben), None).await;
    assert_eq!((status, again["user"]["followers"].as_u64()), (200, Some(1)), "following twice counts once");
    for (path, status, code) in
        [("/api/users/ben/follow", 400, "cannot_follow_self"), ("/api/users/nobody/follow", 404, "user_not_found")]
    {
        let (got, body) = call(&app, reqwest::Method::PUT, path, Some(&ben), None).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)));
    }
    let (_, people) = app.get("/api/users/ana/followers").await;
    assert_eq!(people["users"][0]["username"], "ben");
    let (_, people) = app.get("/api/users/ben/following").await;
    assert_eq!(people["users"][0]["username"], "ana");

    let feed = SioClient::connect_ns(app.addr, "/feed", json!({"token": ben})).await.expect("feed connects");
    let listing = json!({"public": true, "city": "Lyon"});
    let body = json!({"name": "Ana's party", "host_name": "Ana", "account_token": ana, "listing": listing});
    let (status, created) = app.post("/api/rooms", body).await;
    assert_eq!(status, 201, "{created}");
    let host = crate::helpers::guest_from(&created);
    let joined = feed.wait_for("feed:new", |v| v["item"]["kind"] == "room_joined").await;
    assert_eq!(
        (joined["item"]["user"]["username"].as_str(), joined["item"]["room"]["name"].as_str()),
        (Some("ana"), Some("Ana's party"))
    );
    let hs = app.connect(&host.token).await;
    let snapshot = hs.snapshot().await;
    assert_eq!(snapshot["me"]["username"], "ana", "a member shows their account");
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    let added = feed.wait_for("feed:new", |v| v["item"]["kind"] == "track_added").await;
    assert_eq!(added["item"]["track"]["id"], TestApp::track_id(3));
    let (status, _) = upload(&app, &host.code, Some(&host.token), photo_form()).await;
    assert_eq!(status, 202);
    let shared = feed.wait_for("feed:new", |v| v["item"]["kind"] == "photo_shared").await;
    assert!(shared["item"]["photo"]["urls"]["thumb"].is_string(), "{shared}");

    app.clock.advance(1);
    let (status, timeline) = call(&app, reqwest::Method::GET, "/api/me/timeline?limit=2", Some(&ben), None).await;
    assert_eq!(status, 200, "{timeline}");
    let kinds: Vec<&str> =
        timeline["items"].as_array().expect("items").iter().filter_map(|i| i["kind"].as_str()).collect();
    assert_eq!(kinds.len(), 2);
    let next = timeline["next"].as_str().expect("a next page");
    let (_, rest) =
        call(&app, reqwest::Method::GET, &format!("/api/me/timeline?limit=2&before={next}"), Some(&ben), None).await;
    let all: Vec<&str> = kinds
        .into_iter()
        .chain(rest["items"].as_array().expect("items").iter().filter_map(|i| i["kind"].as_str()))
        .collect();
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec!["photo_shared", "room_joined", "track_added"], "each activity once: {all:?}");
    let (_, profile) = app.get("/api/users/ana").await;
    assert_eq!((profile["user"]["photos"].as_u64(), profile["user"]["followers"].as_u64()), (Some(1), Some(1)));
    assert!(profile["user"].get("followed").is_none(), "no viewer, no followed flag");

    let (_, ana_me) = call(&app, reqwest::Method::GET, "/api/me/timeline", Some(&ana), None).await;
    assert_eq!(ana_me["items"], json!([]), "ana follows nobody");
    call(&app, reqwest::Method::DELETE, "/api/users/ana/follow", Some(&ben), None).await;
    let (_, after) = call(&app, reqwest::Method::GET, "/api/me/timeline", Some(&ben), None).await;
    assert_eq!(after["items"], json!([]), "unfollowed: gone from the timeline");
    for query in ["limit=0", "limit=500", "before=junk", "colour=red"] {
        let (status, body) =
            call(&app, reqwest::Method::GET, &format!("/api/me/timeline?{query}"), Some(&ben), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_payload")), "{query}");
    }
    for token in [json!("forged"), json!(host.token)] {
        let refused = SioClient::connect_ns(app.addr, "/feed", json!({ "token": token })).await;
        assert_eq!(refused.err().as_deref(), Some("unauthorized"), "a member token is not an account token");
    }
    let refused = SioClient::connect(app.addr, json!({ "token": ben })).await;
    assert_eq!(refused.err().as_deref(), Some("unauthorized"), "nor the other way round");

    // Logging out closes that session's feed.
    call(&app, reqwest::Method::DELETE, "/api/sessions/current", Some(&ben), None).await;
    feed.wait_closed().await;
}

#[tokio::test]
async fn a_private_party_stays_private_to_followers_who_are_not_in_it() {
    let app = spawn_app().await;
    let ana = register(&app, "ana").await;
    let ben = register(&app, "ben").await;
    let cy = register(&app, "cyd").await;
    for follower in [&ben, &cy] {
        call(&app, reqwest::Method::PUT, "/api/users/ana/follow", Some(follower), None).await;
    }
    let ben_feed = SioClient::connect_ns(app.addr, "/feed", json!({"token": ben})).await.expect("feed");
    let cy_feed = SioClient::connect_ns(app.addr, "/feed", json!({"token": cy})).await.expect("feed");
    // Cy is at the party (with her account); Ben is not.
    let (_, created) =
        app.post("/api/rooms", json!({"name": "Secret", "host_name": "Ana", "account_token": ana})).await;
    let host = crate::helpers::guest_from(&created);
    let join = format!("/api/rooms/{}/join", host.code);
    let (status, joined) = app.post(&join, json!({"name": "Cy", "account_token": cy})).await;
    assert_eq!(status, 200, "{joined}");
    let (_, again) = app.post(&join, json!({"name": "Cy", "account_token": cy})).await;
    assert_eq!(again["member"]["id"], joined["member"]["id"], "one member per account and room");
    let (status, _) = upload(&app, &host.code, Some(&host.token), photo_form()).await;
    assert_eq!(status, 202);
    cy_feed.wait_for("feed:new", |v| v["item"]["kind"] == "photo_shared").await;
    let (_, cy_timeline) = call(&app, reqwest::Method::GET, "/api/me/timeline", Some(&cy), None).await;
    assert_eq!(cy_timeline["items"].as_array().map(Vec::len), Some(2), "room_joined and the photo: {cy_timeline}");
    let (_, ben_timeline) = call(&app, reqwest::Method::GET, "/api/me/timeline", Some(&ben), None).await;
    assert_eq!(ben_timeline["items"], json!([]), "nothing from a party Ben is not in");
    assert!(ben_feed.events("feed:new").is_empty());
    let (_, anonymous) = app.get("/api/users/ana/photos").await;
    assert_eq!(anonymous["photos"], json!([]), "a private party's photos are not public");
    let (_, as_cy) = call(&app, reqwest::Method::GET, "/api/users/ana/photos", Some(&cy), None).await;
    assert_eq!(as_cy["photos"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_guest_turns_into_an_account_and_keeps_their_photos() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Gus").await;
    let hs = app.connect(&host.token).await;
    let (status, shared) = upload(&app, &host.code, Some(&guest.token), photo_form()).await;
    assert_eq!(status, 202);
    hs.wait_for("photo:new", |v| v["photo"]["id"] == shared["photo"]["id"]).await;

    let body = json!({"username": "gus", "password": PASSWORD, "member_token": guest.token});
    let (status, created) = app.post("/api/accounts", body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["user"]["photos"], 1, "the guest's photo is the account's now");
    let gus = created["token"].as_str().expect("token");
    let (_, photos) = call(&app, reqwest::Method::GET, "/api/users/gus/photos", Some(gus), None).await;
    assert_eq!(photos["photos"][0]["id"], shared["photo"]["id"]);
    let changed = hs.wait_for("room:changed", |v| v["changes"].to_string().contains("\"username\":\"gus\"")).await;
    assert!(changed["version"].is_u64());

    let other = register(&app, "other").await;
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/accounts/link",
        Some(&other),
        Some(json!({"member_token": guest.token})),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("already_linked")));
    let (status, _) =
        call(&app, reqwest::Method::POST, "/api/accounts/link", None, Some(json!({"member_token": guest.token}))).await;
    assert_eq!(status, 401);
    let body = json!({"username": "late", "password": PASSWORD, "member_token": guest.token});
    let (status, body) = app.post("/api/accounts", body).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("already_linked")));
    assert!(
        app.state.store.accounts().user_by_username("late").await.expect("get").is_none(),
        "the username is not burnt"
    );
}

#[tokio::test]
async fn deleting_an_account_removes_the_person_their_photos_and_follows() {
    let app = spawn_app().await;
    let ana = register(&app, "ana").await;
    let ben = register(&app, "ben").await;
    call(&app, reqwest::Method::PUT, "/api/users/ana/follow", Some(&ben), None).await;
    call(&app, reqwest::Method::PUT, "/api/users/ben/follow", Some(&ana), None).await;
    let (_, created) = app.post("/api/rooms", json!({"name": "P", "host_name": "Ana", "account_token": ana})).await;
    let host = crate::helpers::guest_from(&created);
    let hs = app.connect(&host.token).await;
    let (status, shared) = upload(&app, &host.code, Some(&host.token), photo_form()).await;
    assert_eq!(status, 202);
    let photo_id = shared["photo"]["id"].clone();
    hs.wait_for("photo:new", |v| v["photo"]["id"] == photo_id).await;

    let (status, body) =
        call(&app, reqwest::Method::DELETE, "/api/me", Some(&ana), Some(json!({"password": "not my password"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    assert!(app.state.store.accounts().user_by_username("ana").await.expect("get").is_some(), "nothing deleted");

    let (status, _) =
        call(&app, reqwest::Method::DELETE, "/api/me", Some(&ana), Some(json!({"password": PASSWORD}))).await;
    assert_eq!(status, 204);
    hs.wait_for("photo:removed", |v| v["photo_id"] == photo_id).await;
    let me = hs.snapshot().await["me"].clone();
    assert!(me.get("username").is_none(), "the member stays, as a plain guest: {me}");
    let (status, body) = app.get("/api/users/ana").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("user_not_found")));
    let (status, _) = call(&app, reqwest::Method::GET, "/api/me", Some(&ana), None).await;
    assert_eq!(status, 401, "the deleted account's tokens stop working");
    assert!(app.state.blobs.keys("photos/").await.expect("keys").is_empty(), "no photo file left");
    let (_, ben_profile) = app.get("/api/users/ben").await;
    assert_eq!(
        (ben_profile["user"]["followers"].as_u64(), ben_profile["user"]["following"].as_u64()),
        (Some(0), Some(0))
    );
    register(&app, "ana").await;
}

#[tokio::test]
async fn public_rooms_photos_reach_the_latest_feed_and_private_ones_never() {
    let app = spawn_app().await;
    let (_, public) = app
        .post("/api/rooms", json!({"name": "Bar", "host_name": "Bo", "listing": {"public": true, "city": "Lyon"}}))
        .await;
    let public = crate::helpers::guest_from(&public);
    let private = app.create_room(json!({})).await;
    let (ps, vs) = (app.connect(&public.token).await, app.connect(&private.token).await);
    let (_, shown) = upload(&app, &public.code, Some(&public.token), photo_form()).await;
    let (_, hidden) = upload(&app, &private.code, Some(&private.token), photo_form()).await;
    ps.wait_for("photo:new", |v| v["photo"]["id"] == shown["photo"]["id"]).await;
    vs.wait_for("photo:new", |v| v["photo"]["id"] == hidden["photo"]["id"]).await;
    let (status, latest) = app.get("/api/photos/latest").await;
    assert_eq!(status, 200);
    let ids: Vec<&Value> = latest["photos"].as_array().expect("photos").iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, vec![&shown["photo"]["id"]]);
}

#[tokio::test]
async fn avatars_are_square_jpegs_and_accounts_are_searchable() {
    let app = spawn_app().await;
    let token = register(&app, "zoe_quartz").await;
    let part = reqwest::multipart::Part::bytes(encoded(600, 400, ImageFormat::Png)).file_name("me.png");
    let form = reqwest::multipart::Form::new().part("photo", part);
    let response =
        app.http.put(app.url("/api/me/avatar")).bearer_auth(&token).multipart(form).send().await.expect("put");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    let url = body["user"]["avatar_url"].as_str().expect("avatar url").to_string();
    let avatar = app.http.get(app.url(&url)).send().await.expect("get");
    assert_eq!(avatar.headers()["content-type"], "image/jpeg");
    let picture = image::load_from_memory(&avatar.bytes().await.expect("bytes")).expect("jpeg");
    assert_eq!((picture.width(), picture.height()), (256, 256));
    let junk = reqwest::multipart::Form::new().part("photo", reqwest::multipart::Part::bytes(b"<svg/>".to_vec()));
    let response =
        app.http.put(app.url("/api/me/avatar")).bearer_auth(&token).multipart(junk).send().await.expect("put");
    assert_eq!(response.status().as_u16(), 415);

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, found) = app.get("/api/search/users?q=zoe").await;
        if status == 200 && found["hits"][0]["username"] == "zoe_quartz" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never searchable: {status} {found}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_owner_sees_turns_off_and_deletes_their_taste_profile() {
    use reqwest::Method;
    let app = spawn_app().await;
    let ana = register(&app, "ana").await;
    let (_, room) = app.post("/api/rooms", json!({"name": "Party", "host_name": "Ana", "account_token": ana})).await;
    let host = app.connect(room["token"].as_str().expect("token")).await;
    for n in 1..=2 {
        host.ok("queue:add", json!({"track_id": TestApp::track_id(n)})).await;
    }
    // Activities are recorded right after the commit, apart from it.
    let mut profile = Value::Null;
    for _ in 0..100 {
        let (status, body) = call(&app, Method::GET, "/api/me/taste", Some(&ana), None).await;
        assert_eq!(status, 200, "{body}");
        profile = body["taste"].clone();
        if profile["tracks"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!((profile["tracks"].as_u64(), profile["enabled"].as_bool()), (Some(2), Some(true)), "{profile}");
    assert!(!profile["artists"].as_array().expect("artists").is_empty(), "{profile}");
    assert_eq!(profile["since"], Value::Null);

    let (status, off) = call(&app, Method::PUT, "/api/me/taste", Some(&ana), Some(json!({"enabled": false}))).await;
    assert_eq!((status, off["taste"]["enabled"].as_bool()), (200, Some(false)), "{off}");
    assert_eq!(off["taste"]["tracks"], 2, "still shown to its owner while off: {off}");
    for (token, body, status, code) in [
        (Some(ana.as_str()), json!({"enabled": "no"}), 400, "invalid_payload"),
        (Some(ana.as_str()), json!({"enabled": true, "share": true}), 400, "invalid_payload"),
        (Some(ana.as_str()), json!({}), 400, "invalid_payload"),
        (Some("forged.token"), json!({"enabled": true}), 401, "unauthorized"),
        (None, json!({"enabled": true}), 401, "unauthorized"),
    ] {
        let (got, answer) = call(&app, Method::PUT, "/api/me/taste", token, Some(body.clone())).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    let (_, still) = call(&app, Method::GET, "/api/me/taste", Some(&ana), None).await;
    assert_eq!(still["taste"]["enabled"], false, "refused: nothing changed");

    assert_eq!(call(&app, Method::DELETE, "/api/me/taste", Some(&ana), None).await.0, 204);
    let (_, deleted) = call(&app, Method::GET, "/api/me/taste", Some(&ana), None).await;
    assert_eq!(
        (deleted["taste"]["tracks"].as_u64(), deleted["taste"]["artists"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    assert!(deleted["taste"]["since"].as_u64().is_some(), "{deleted}");
    assert_eq!(call(&app, Method::DELETE, "/api/me/taste", None, None).await.0, 401);
}

/// `GET /api/me/taste` until `ready` holds (votes are noted just after the
/// ack, apart from it).
async fn taste_when(app: &TestApp, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut profile = Value::Null;
    for _ in 0..100 {
        let (status, body) = call(app, reqwest::Method::GET, "/api/me/taste", Some(token), None).await;
        assert_eq!(status, 200, "{body}");
        profile = body["taste"].clone();
        if ready(&profile) {
            return profile;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("taste profile never got there: {profile}");
}

#[tokio::test]
async fn what_an_account_votes_up_joins_its_taste_and_a_vote_taken_back_leaves_it() {
    use reqwest::Method;
    let app = spawn_app().await;
    let ben = register(&app, "ben").await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = hs.ok("queue:add", json!({"track_id": TestApp::track_id(9)})).await["entry"]["id"]
        .as_str()
        .expect("entry")
        .to_string();
    let (_, joined) =
        app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": "Ben", "account_token": ben})).await;
    let guest = app.connect(joined["token"].as_str().expect("token")).await;
    // A guest without an account votes too: it goes nowhere.
    let anonymous = app.connect(&app.join(&host.code, "Cy").await.token).await;
    anonymous.ok("queue:vote", json!({"entry_id": entry, "value": 1})).await;

    guest.ok("queue:vote", json!({"entry_id": entry, "value": 1})).await;
    let voted = taste_when(&app, &ben, |t| t["votes"] == 1).await;
    let (_, track) = app.get(&format!("/api/tracks/{}", TestApp::track_id(9))).await;
    let artist = track["track"]["artists"][0].as_str().expect("artist").to_lowercase();
    assert_eq!(voted["artists"][0]["name"], artist.as_str(), "{voted}");
    assert_eq!((voted["tracks"].as_u64(), voted["imported"].as_u64()), (Some(0), Some(0)));

    guest.ok("queue:vote", json!({"entry_id": entry, "value": 0})).await;
    let taken_back = taste_when(&app, &ben, |t| t["votes"] == 0).await;
    assert_eq!(taken_back["artists"], json!([]), "{taken_back}");

    // Voted up again, then the profile is deleted: the vote goes with it.
    guest.ok("queue:vote", json!({"entry_id": entry, "value": 1})).await;
    taste_when(&app, &ben, |t| t["votes"] == 1).await;
    assert_eq!(call(&app, Method::DELETE, "/api/me/taste", Some(&ben), None).await.0, 204);
    let (_, deleted) = call(&app, Method::GET, "/api/me/taste", Some(&ben), None).await;
    assert_eq!(deleted["taste"]["votes"], 0, "{deleted}");

    // Turned off: a vote up is not kept (asked directly: a vote's mark is
    // written after its ack, so waiting for nothing would prove nothing).
    call(&app, Method::PUT, "/api/me/taste", Some(&ben), Some(json!({"enabled": false}))).await;
    let (_, me) = call(&app, Method::GET, "/api/me", Some(&ben), None).await;
    let user_id = me["user"]["id"].as_str().expect("id");
    let track = app.state.store.track(&TestApp::track_id(9)).await.expect("read").expect("track");
    app.state.accounts.note_vote(user_id, &track, true).await.expect("noted");
    let (_, off) = call(&app, Method::GET, "/api/me/taste", Some(&ben), None).await;
    assert_eq!(off["taste"]["votes"], 0, "{off}");
}

#[tokio::test]
async fn a_down_vote_that_removes_the_entry_also_leaves_the_voters_taste() {
    let app = spawn_app().await;
    let ben = register(&app, "ben").await;
    let host = app.create_room(json!({"downvote_removal": 1})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = hs.ok("queue:add", json!({"track_id": TestApp::track_id(9)})).await["entry"]["id"]
        .as_str()
        .expect("entry")
        .to_string();
    let (_, joined) =
        app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": "Ben", "account_token": ben})).await;
    let guest = app.connect(joined["token"].as_str().expect("token")).await;
    guest.ok("queue:vote", json!({"entry_id": entry, "value": 1})).await;
    taste_when(&app, &ben, |t| t["votes"] == 1).await;
    hs.ok("queue:vote", json!({"entry_id": entry, "value": 0})).await;
    let removed = guest.ok("queue:vote", json!({"entry_id": entry, "value": -1})).await;
    assert_eq!(removed["entry"], Value::Null, "voted off the queue: {removed}");
    let after = taste_when(&app, &ben, |t| t["votes"] == 0).await;
    assert_eq!(after["artists"], json!([]), "{after}");
}
