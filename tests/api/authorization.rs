//! The authorization matrix (issue 23 §1): every Socket.IO event and every
//! REST route, sent by every kind of caller, answered as the tables in
//! docs/protocol.md §9 say. The tables are the test's expectations: this
//! test reads them, runs every cell and fails on any difference, printing
//! the tables as the server answered them (`UPDATE_AUTH_MATRIX=1` writes
//! those into the doc instead, to review in the diff). A refused cell must
//! also change nothing: the room, the other room, the venue, the photos and
//! the accounts are compared before and after, and so they are for every
//! cell of "other room" (a member of another room acts on its own room,
//! never on this one).
//!
//! Each row runs on a world of its own (a fresh room with its people, a
//! venue when the row needs one), the accounts are shared. Cells that are
//! refused run first; a cell that succeeds prepares what it consumes (a
//! fresh guest to kick, a fresh entry to remove), so the cells of a row do
//! not depend on each other.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{SioClient, TestApp, call};
use crate::photos::encoded;
use crate::spotify_fake::FakeSpotify;

const PASSWORD: &str = "correct horse battery staple";
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Nobody,
    Forged,
    Guest,
    Cohost,
    Host,
    Screen,
    Kicked,
    Banned,
    OtherRoom,
    Account,
    OtherAccount,
    VenueOwner,
    VenueManager,
    VenueStaff,
}

use Caller::*;

const ROUTE_CALLERS: [Caller; 14] = [
    Nobody,
    Forged,
    Guest,
    Cohost,
    Host,
    Screen,
    Kicked,
    Banned,
    OtherRoom,
    Account,
    OtherAccount,
    VenueOwner,
    VenueManager,
    VenueStaff,
];
/// Sockets connect with a member or screen token; what every other kind of
/// caller gets at connect is in its own table.
const EVENT_CALLERS: [Caller; 5] = [Guest, Cohost, Host, Screen, OtherRoom];
const CONNECT_CALLERS: [Caller; 7] = [Nobody, Forged, Kicked, Banned, Account, Guest, Screen];

/// Callers from the least to the most likely to be let through.
const POWER: [Caller; 14] = [
    Nobody,
    Forged,
    Screen,
    Kicked,
    Banned,
    OtherRoom,
    OtherAccount,
    Guest,
    Account,
    VenueStaff,
    VenueManager,
    Cohost,
    VenueOwner,
    Host,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Nobody => "no token",
            Forged => "forged token",
            Guest => "guest",
            Cohost => "co-host",
            Host => "host",
            Screen => "screen",
            Kicked => "kicked",
            Banned => "banned",
            OtherRoom => "other room",
            Account => "account",
            OtherAccount => "other account",
            VenueOwner => "venue owner",
            VenueManager => "venue manager",
            VenueStaff => "venue staff",
        }
    }
}

#[derive(Clone)]
struct Account {
    token: String,
    id: String,
    username: String,
}

#[derive(Clone)]
struct Member {
    token: String,
    id: String,
}

/// What every row shares: the server, the fake Spotify, the accounts.
struct Shared {
    app: TestApp,
    _spotify: FakeSpotify,
    a: Account,
    b: Account,
    owner: Account,
    manager: Account,
    staff: Account,
    /// A finished import of account `a`.
    job_id: String,
    next: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn unique(&self) -> usize {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

struct Venue {
    id: String,
}

/// One row's world: room A with its people, room B, maybe a venue.
struct World {
    code: String,
    room_id: String,
    host: Member,
    cohost: Member,
    guest: Member,
    kicked: Member,
    banned: Member,
    screen: Member,
    other: Member,
    other_room_id: String,
    /// Waiting entries added by the guest and by the host.
    guest_entry: String,
    host_entry: String,
    host_socket: SioClient,
    venue: Option<Venue>,
    /// A rendered photo the guest shared.
    photo: Option<String>,
}

enum Body {
    Empty,
    Json(Value),
    Raw(&'static str, Vec<u8>),
    Photo,
}

enum Request {
    Http { method: Method, path: String, body: Body, bearer: Option<String> },
    Event { name: &'static str, payload: Value },
}

fn http(method: Method, path: String, body: Body) -> Request {
    Request::Http { method, path, body, bearer: None }
}

fn event(name: &'static str, payload: Value) -> Request {
    Request::Event { name, payload }
}

/// What a row needs beyond the plain room.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Room,
    Venue,
    /// Room A is a zone of the venue (requests need approval there).
    Zone,
    Photo,
}

struct Row {
    name: &'static str,
    needs: Needs,
}

const fn row(name: &'static str, needs: Needs) -> Row {
    Row { name, needs }
}

const EVENTS: &[Row] = &[
    row("room:sync", Needs::Room),
    row("room:members", Needs::Room),
    row("queue:add", Needs::Room),
    row("queue:vote", Needs::Room),
    row("queue:remove", Needs::Room),
    row("queue:remove (the host's entry)", Needs::Room),
    row("queue:pin", Needs::Room),
    row("queue:unpin", Needs::Room),
    row("player:skip", Needs::Room),
    row("player:vote_skip", Needs::Room),
    row("player:pause", Needs::Room),
    row("player:resume", Needs::Room),
    row("member:kick", Needs::Room),
    row("member:ban", Needs::Room),
    row("member:promote", Needs::Room),
    row("member:demote", Needs::Room),
    row("room:update_rules", Needs::Room),
    row("room:set_fallback", Needs::Room),
    row("room:set_listing", Needs::Room),
    row("room:set_speaker", Needs::Room),
    row("screen:remove", Needs::Room),
    row("request:approve", Needs::Zone),
    row("request:decline", Needs::Zone),
    row("request:withdraw", Needs::Zone),
    row("request:withdraw (another guest's)", Needs::Zone),
    row("picks:options", Needs::Zone),
    row("picks:set", Needs::Zone),
    row("photo:like", Needs::Photo),
    row("photo:unlike", Needs::Photo),
    row("photo:report", Needs::Photo),
    row("photo:remove", Needs::Photo),
    row("photo:remove (the host's photo)", Needs::Photo),
];

const ROUTES: &[Row] = &[
    row("GET /", Needs::Room),
    row("GET /join/{code}", Needs::Room),
    row("GET /room/{code}", Needs::Room),
    row("GET /display/{code}", Needs::Room),
    row("GET /venues", Needs::Room),
    row("GET /venues/{id}", Needs::Venue),
    row("GET /venues/{id}/dashboard", Needs::Venue),
    row("GET /invitations/{id}", Needs::Venue),
    row("GET /me/taste", Needs::Room),
    row("GET /api/health", Needs::Room),
    row("GET /api/ready", Needs::Room),
    row("GET /metrics", Needs::Room),
    row("GET /api/openapi.json", Needs::Room),
    row("POST /api/rooms", Needs::Room),
    row("GET /api/rooms/{code}", Needs::Room),
    row("POST /api/rooms/{code}/join", Needs::Room),
    row("POST /api/rooms/{code}/screens", Needs::Room),
    row("GET /api/rooms/{code}/qr.svg", Needs::Room),
    row("GET /api/rooms/{code}/history", Needs::Room),
    row("GET /api/rooms/{code}/audio/{track_id}", Needs::Room),
    row("GET /api/tracks", Needs::Room),
    row("GET /api/tracks/{id}", Needs::Room),
    row("GET /api/tracks/{id}/audio", Needs::Room),
    row("GET /api/tracks/{id}/artwork", Needs::Room),
    row("POST /api/library/tracks", Needs::Room),
    row("GET /api/search/{index}", Needs::Room),
    row("GET /api/rooms/{code}/photos", Needs::Photo),
    row("POST /api/rooms/{code}/photos", Needs::Room),
    row("GET /api/photos/{id}/{file}", Needs::Photo),
    row("GET /api/photos/latest", Needs::Room),
    row("POST /api/accounts", Needs::Room),
    row("POST /api/sessions", Needs::Room),
    row("DELETE /api/sessions/current", Needs::Room),
    row("POST /api/accounts/link", Needs::Room),
    row("GET /api/me", Needs::Room),
    row("PATCH /api/me", Needs::Room),
    row("DELETE /api/me", Needs::Room),
    row("PUT /api/me/avatar", Needs::Room),
    row("GET /api/me/timeline", Needs::Room),
    row("GET /api/me/taste", Needs::Room),
    row("PUT /api/me/taste", Needs::Room),
    row("DELETE /api/me/taste", Needs::Room),
    row("GET /api/users/{username}", Needs::Room),
    row("PUT /api/users/{username}/follow", Needs::Room),
    row("DELETE /api/users/{username}/follow", Needs::Room),
    row("GET /api/users/{username}/followers", Needs::Room),
    row("GET /api/users/{username}/following", Needs::Room),
    row("GET /api/users/{username}/photos", Needs::Room),
    row("GET /api/avatars/{user_id}/{file}", Needs::Room),
    row("GET /api/providers", Needs::Room),
    row("GET /api/providers/{provider}", Needs::Room),
    row("DELETE /api/providers/{provider}", Needs::Room),
    row("POST /api/providers/{provider}/login", Needs::Room),
    row("GET /api/providers/{provider}/callback", Needs::Room),
    row("GET /api/providers/{provider}/playlists", Needs::Room),
    row("GET /api/providers/{provider}/devices", Needs::Room),
    row("POST /api/providers/{provider}/imports", Needs::Room),
    row("POST /api/providers/{provider}/exports", Needs::Room),
    row("GET /api/providers/{provider}/jobs/{id}", Needs::Room),
    row("PUT /api/providers/{provider}/playback", Needs::Room),
    row("POST /api/venues", Needs::Room),
    row("GET /api/venues", Needs::Venue),
    row("GET /api/venues/{id}", Needs::Venue),
    row("PUT /api/venues/{id}", Needs::Venue),
    row("DELETE /api/venues/{id}", Needs::Venue),
    row("POST /api/venues/{id}/invitations", Needs::Venue),
    row("POST /api/invitations/{id}/accept", Needs::Venue),
    row("PUT /api/venues/{id}/staff/{user_id}", Needs::Venue),
    row("DELETE /api/venues/{id}/staff/{user_id}", Needs::Venue),
    row("POST /api/venues/{id}/zones", Needs::Venue),
    row("DELETE /api/venues/{id}/zones/{room_id}", Needs::Venue),
    row("GET /api/venues/{id}/zones/{room_id}/cards.svg", Needs::Venue),
    row("GET /api/venues/{id}/catalogue", Needs::Venue),
    row("POST /api/venues/{id}/catalogue", Needs::Venue),
    row("DELETE /api/venues/{id}/catalogue", Needs::Venue),
    row("GET /api/venues/{id}/zones/{room_id}/schedule", Needs::Venue),
    row("PUT /api/venues/{id}/zones/{room_id}/schedule", Needs::Venue),
    row("DELETE /api/venues/{id}/zones/{room_id}/schedule", Needs::Venue),
    row("DELETE /api/venues/{id}/blocked/{track_id}", Needs::Venue),
    row("GET /api/venues/{id}/analytics", Needs::Venue),
    row("GET /api/venues/{id}/analytics/export", Needs::Venue),
];

async fn register(app: &TestApp, username: &str) -> Account {
    let (status, body) = app.post("/api/accounts", json!({"username": username, "password": PASSWORD})).await;
    assert_eq!(status, 201, "{body}");
    Account {
        token: body["token"].as_str().expect("token").to_string(),
        id: body["user"]["id"].as_str().expect("id").to_string(),
        username: username.to_string(),
    }
}

async fn log_in(app: &TestApp, account: &Account) -> String {
    let (status, body) = app.post("/api/sessions", json!({"username": account.username, "password": PASSWORD})).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token").to_string()
}

fn member(body: &Value) -> Member {
    Member {
        token: body["token"].as_str().expect("token").to_string(),
        id: body["member"]["id"].as_str().or(body["screen"]["id"].as_str()).expect("member id").to_string(),
    }
}

/// Sends `request` and answers `ok` or the error code (the status when the
/// answer has no error body).
async fn send(app: &TestApp, request: Request, bearer: Option<&str>) -> String {
    let Request::Http { method, path, body, bearer: chosen } = request else { unreachable!("an HTTP request") };
    let bearer = chosen.as_deref().or(bearer);
    let mut builder = app.http.request(method, app.url(&path));
    if let Some(token) = bearer {
        builder = builder.bearer_auth(token);
    }
    builder = match body {
        Body::Empty => builder,
        Body::Json(value) => builder.json(&value),
        Body::Raw(content_type, bytes) => builder.header("content-type", content_type).body(bytes),
        Body::Photo => {
            let part = Part::bytes(encoded(64, 48, image::ImageFormat::Jpeg)).file_name("p.jpg");
            builder.multipart(Form::new().part("photo", part))
        }
    };
    let response = builder.send().await.expect("request");
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        return "ok".into();
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["error"]["code"].as_str().map(str::to_string).unwrap_or_else(|| status.as_u16().to_string())
}

async fn emit(socket: &SioClient, request: Request) -> String {
    let Request::Event { name, payload } = request else { unreachable!("an event") };
    let reply = socket.ack(name, payload).await;
    if reply["ok"] == true { "ok".into() } else { reply["error"]["code"].as_str().expect("an error code").to_string() }
}

async fn shared() -> Shared {
    let spotify = FakeSpotify::start().await;
    spotify.add_user("ana.spotify", "Ana S");
    let app = crate::providers::spawn_spotify(&spotify).await;
    let a = register(&app, "ana").await;
    crate::providers::link(&app, &a.token).await;
    let b = register(&app, "ben").await;
    let owner = register(&app, "owen").await;
    let manager = register(&app, "mona").await;
    let staff = register(&app, "sam").await;
    let (status, started) =
        call(&app, Method::POST, "/api/providers/spotify/imports", Some(&a.token), Some(json!({"source": "liked"})))
            .await;
    assert_eq!(status, 202, "{started}");
    let job_id = started["job"]["id"].as_str().expect("job").to_string();
    let avatar = Form::new().part("photo", Part::bytes(encoded(64, 64, image::ImageFormat::Jpeg)).file_name("a.jpg"));
    let response =
        app.http.put(app.url("/api/me/avatar")).bearer_auth(&a.token).multipart(avatar).send().await.expect("avatar");
    assert_eq!(response.status().as_u16(), 200, "ana's avatar");
    Shared { app, _spotify: spotify, a, b, owner, manager, staff, job_id, next: 0.into() }
}

async fn venue(sh: &Shared) -> Venue {
    let app = &sh.app;
    let details = json!({"name": "Harbour", "time_zone": "Europe/Paris"});
    let (status, created) = call(app, Method::POST, "/api/venues", Some(&sh.owner.token), Some(details)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    for (account, role) in [(&sh.manager, "manager"), (&sh.staff, "staff")] {
        invite_and_accept(sh, &id, account, role).await;
    }
    let ids: Vec<String> = (1..=200).map(TestApp::track_id).collect();
    let path = format!("/api/venues/{id}/catalogue");
    let (status, body) = call(app, Method::POST, &path, Some(&sh.owner.token), Some(json!({"track_ids": ids}))).await;
    assert_eq!(status, 200, "{body}");
    Venue { id }
}

async fn invite_and_accept(sh: &Shared, venue_id: &str, account: &Account, role: &str) {
    let path = format!("/api/venues/{venue_id}/invitations");
    let (status, invited) =
        call(&sh.app, Method::POST, &path, Some(&sh.owner.token), Some(json!({"role": role}))).await;
    assert_eq!(status, 201, "{invited}");
    let accept = format!("/api/invitations/{}/accept", invited["invitation"]["id"].as_str().expect("id"));
    let (status, joined) = call(&sh.app, Method::POST, &accept, Some(&account.token), None).await;
    assert_eq!(status, 200, "{joined}");
}

async fn world(sh: &Shared, needs: Needs) -> World {
    let app = &sh.app;
    let venue = match needs {
        Needs::Venue | Needs::Zone => Some(venue(sh).await),
        _ => None,
    };
    // Room A: a party created by account a's person, or a zone of the venue.
    let (host, code, room_id) = match (&venue, needs) {
        (Some(v), Needs::Zone) => {
            let path = format!("/api/venues/{}/zones", v.id);
            let (status, zone) =
                call(app, Method::POST, &path, Some(&sh.owner.token), Some(json!({"name": "Bar"}))).await;
            assert_eq!(status, 201, "{zone}");
            let code = zone["zone"]["code"].as_str().expect("code").to_string();
            let room_id = zone["zone"]["room_id"].as_str().expect("room").to_string();
            let (status, joined) =
                app.post(&format!("/api/rooms/{code}/join"), json!({"name": "Owen", "token": zone["token"]})).await;
            assert_eq!(status, 200, "{joined}");
            let schedule = json!({"defaults": {"approval": true}, "day_parts": []});
            let path = format!("/api/venues/{}/zones/{room_id}/schedule", v.id);
            let (status, body) = call(app, Method::PUT, &path, Some(&sh.owner.token), Some(schedule)).await;
            assert_eq!(status, 200, "{body}");
            (member(&joined), code, room_id)
        }
        _ => {
            let rules = json!({"skip_threshold": 1.0});
            let body = json!({"name": "Party", "host_name": "Hana", "account_token": sh.a.token, "rules": rules});
            let (status, created) = app.post("/api/rooms", body).await;
            assert_eq!(status, 201, "{created}");
            let code = created["room"]["code"].as_str().expect("code").to_string();
            let room_id = created["room"]["id"].as_str().expect("room").to_string();
            (member(&created), code, room_id)
        }
    };
    let join = |name: &'static str| {
        let code = code.clone();
        async move {
            let (status, body) = app.post(&format!("/api/rooms/{code}/join"), json!({ "name": name })).await;
            assert_eq!(status, 200, "{body}");
            member(&body)
        }
    };
    let host_socket = app.connect(&host.token).await;
    let cohost = if needs == Needs::Zone {
        // A venue's staff joining a zone with their account are its co-hosts.
        let body = json!({"name": "Sam", "account_token": sh.staff.token});
        let (status, joined) = app.post(&format!("/api/rooms/{code}/join"), body).await;
        assert_eq!(status, 200, "{joined}");
        member(&joined)
    } else {
        let cohost = join("Cody").await;
        host_socket.ok("member:promote", json!({"member_id": cohost.id})).await;
        cohost
    };
    let guest = join("Gus").await;
    let kicked = join("Kim").await;
    host_socket.ok("member:kick", json!({"member_id": kicked.id})).await;
    let banned = join("Bea").await;
    host_socket.ok("member:ban", json!({"member_id": banned.id})).await;
    let (status, opened) = app.post(&format!("/api/rooms/{code}/screens"), json!({"name": "TV"})).await;
    assert!(status == 201, "{opened}");
    let screen = member(&opened);
    let (status, other_room) = app.post("/api/rooms", json!({"name": "Other", "host_name": "Olga"})).await;
    assert_eq!(status, 201, "{other_room}");
    let other = member(&other_room);
    let other_room_id = other_room["room"]["id"].as_str().expect("room").to_string();

    let guest_socket = app.connect(&guest.token).await;
    host_socket.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let guest_entry = if needs == Needs::Zone {
        // Requests wait for approval in this zone: staff add instead.
        let added = host_socket.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
        added["entry"]["id"].as_str().expect("entry").to_string()
    } else {
        let added = guest_socket.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
        added["entry"]["id"].as_str().expect("entry").to_string()
    };
    let added = host_socket.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    let host_entry = added["entry"]["id"].as_str().expect("entry").to_string();
    let photo = if needs == Needs::Photo { Some(share_photo(app, &code, &guest, &host_socket).await) } else { None };
    World {
        code,
        room_id,
        host,
        cohost,
        guest,
        kicked,
        banned,
        screen,
        other,
        other_room_id,
        guest_entry,
        host_entry,
        host_socket,
        venue,
        photo,
    }
}

async fn share_photo(app: &TestApp, code: &str, by: &Member, watcher: &SioClient) -> String {
    let part = Part::bytes(encoded(64, 48, image::ImageFormat::Jpeg)).file_name("p.jpg");
    let (status, body) = crate::photos::upload(app, code, Some(&by.token), Form::new().part("photo", part)).await;
    assert_eq!(status, 202, "{body}");
    let id = body["photo"]["id"].clone();
    // Rendering runs beside the other suites on two cores: wait longer
    // than an event's usual wait.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !watcher.events("photo:new").iter().any(|p| p["photo"]["id"] == id) {
        assert!(tokio::time::Instant::now() < deadline, "photo {id} was not rendered within a minute");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    id.as_str().expect("photo id").to_string()
}

/// A token with the shape of a real one and a signature that is not.
fn forged(token: &str) -> String {
    let (payload, signature) = token.rsplit_once('.').expect("payload.signature");
    let flipped: String = signature.chars().rev().collect();
    format!("{payload}.{flipped}")
}

fn credential(sh: &Shared, w: &World, caller: Caller) -> Option<String> {
    Some(match caller {
        Nobody => return None,
        Forged => forged(&w.host.token),
        Guest => w.guest.token.clone(),
        Cohost => w.cohost.token.clone(),
        Host => w.host.token.clone(),
        Screen => w.screen.token.clone(),
        Kicked => w.kicked.token.clone(),
        Banned => w.banned.token.clone(),
        OtherRoom => w.other.token.clone(),
        Account => sh.a.token.clone(),
        OtherAccount => sh.b.token.clone(),
        VenueOwner => sh.owner.token.clone(),
        VenueManager => sh.manager.token.clone(),
        VenueStaff => sh.staff.token.clone(),
    })
}

fn account_of(sh: &Shared, caller: Caller) -> Option<&Account> {
    match caller {
        Account => Some(&sh.a),
        OtherAccount => Some(&sh.b),
        VenueOwner => Some(&sh.owner),
        VenueManager => Some(&sh.manager),
        VenueStaff => Some(&sh.staff),
        _ => None,
    }
}

/// Account `ana` is linked to Spotify (a cell may have unlinked it).
async fn ensure_linked(sh: &Shared) {
    if sh.app.state.store.providers().link(&sh.a.id, "spotify").await.expect("link").is_none() {
        crate::providers::link(&sh.app, &sh.a.token).await;
    }
}

/// A fresh guest of room A (to kick, ban, promote, hand a token over).
async fn fresh_guest(sh: &Shared, w: &World) -> Member {
    let name = format!("Fresh {}", sh.unique());
    let (status, body) = sh.app.post(&format!("/api/rooms/{}/join", w.code), json!({ "name": name })).await;
    assert_eq!(status, 200, "{body}");
    member(&body)
}

/// A track no one has added yet in this test.
fn fresh_track(sh: &Shared) -> String {
    TestApp::track_id(10 + sh.unique() % 180)
}

/// The request of one cell; prepares what the cell consumes first.
async fn request(sh: &Shared, w: &World, row: &str, caller: Caller) -> Request {
    let app = &sh.app;
    if row.contains("/api/providers/{provider}") {
        ensure_linked(sh).await;
    }
    let code = &w.code;
    let venue = w.venue.as_ref().map(|v| v.id.clone()).unwrap_or_default();
    let photo = w.photo.clone().unwrap_or_default();
    let a = &sh.a.username;
    match row {
        "room:sync" | "player:vote_skip" | "picks:options" => event(static_name(row), json!({})),
        "room:members" => event("room:members", json!({"limit": 10})),
        "queue:add" => event("queue:add", json!({"track_id": fresh_track(sh)})),
        "queue:vote" => event("queue:vote", json!({"entry_id": w.host_entry, "value": 1})),
        "queue:remove" => {
            // The guest's own entry: staff may remove it, and so may the guest.
            let guest = app.connect(&w.guest.token).await;
            let added = guest.ack("queue:add", json!({"track_id": fresh_track(sh)})).await;
            let entry = added["data"]["entry"]["id"].as_str().map(str::to_string).unwrap_or(w.guest_entry.clone());
            event("queue:remove", json!({ "entry_id": entry }))
        }
        "queue:remove (the host's entry)" => {
            let added = w.host_socket.ok("queue:add", json!({"track_id": fresh_track(sh)})).await;
            event("queue:remove", json!({ "entry_id": added["entry"]["id"] }))
        }
        "queue:pin" => event("queue:pin", json!({"entry_id": w.guest_entry})),
        "queue:unpin" => {
            w.host_socket.ack("queue:pin", json!({"entry_id": w.guest_entry})).await;
            event("queue:unpin", json!({"entry_id": w.guest_entry}))
        }
        "player:skip" => {
            w.host_socket.ok("queue:add", json!({"track_id": fresh_track(sh)})).await;
            event("player:skip", json!({}))
        }
        "player:pause" => {
            w.host_socket.ack("player:resume", json!({})).await;
            event("player:pause", json!({}))
        }
        "player:resume" => {
            w.host_socket.ack("player:pause", json!({})).await;
            event("player:resume", json!({}))
        }
        "member:kick" | "member:ban" | "member:promote" => {
            let target = fresh_guest(sh, w).await;
            event(static_name(row), json!({"member_id": target.id}))
        }
        "member:demote" => {
            let target = fresh_guest(sh, w).await;
            w.host_socket.ok("member:promote", json!({"member_id": target.id})).await;
            event("member:demote", json!({"member_id": target.id}))
        }
        "room:update_rules" => event("room:update_rules", json!({"rules": {"max_queued_per_guest": 4}})),
        "room:set_fallback" => event("room:set_fallback", json!({"track_ids": [TestApp::track_id(5)]})),
        "room:set_listing" => event("room:set_listing", json!({"public": false, "city": null, "location": null})),
        "room:set_speaker" => event("room:set_speaker", json!({"member_id": w.guest.id})),
        "screen:remove" => {
            let (status, opened) = app.post(&format!("/api/rooms/{code}/screens"), json!({})).await;
            assert_eq!(status, 201, "{opened}");
            event("screen:remove", json!({"screen_id": member(&opened).id}))
        }
        "request:approve" | "request:decline" | "request:withdraw" => {
            let guest = app.connect(&w.guest.token).await;
            let asked = guest.ok("queue:add", json!({"track_id": fresh_track(sh)})).await;
            let id = asked["request"]["id"].as_str().expect("a waiting request").to_string();
            event(static_name(row), json!({ "request_id": id }))
        }
        "request:withdraw (another guest's)" => {
            let other = fresh_guest(sh, w).await;
            let asked = app.connect(&other.token).await.ok("queue:add", json!({"track_id": fresh_track(sh)})).await;
            event("request:withdraw", json!({ "request_id": asked["request"]["id"] }))
        }
        "picks:set" => event("picks:set", json!({"genres": []})),
        "photo:like" | "photo:report" => event(static_name(row), json!({ "photo_id": photo })),
        "photo:unlike" => {
            w.host_socket.ack("photo:like", json!({ "photo_id": photo })).await;
            event("photo:unlike", json!({ "photo_id": photo }))
        }
        "photo:remove" => {
            let id = share_photo(app, code, &w.guest, &w.host_socket).await;
            event("photo:remove", json!({ "photo_id": id }))
        }
        "photo:remove (the host's photo)" => {
            let id = share_photo(app, code, &w.host, &w.host_socket).await;
            event("photo:remove", json!({ "photo_id": id }))
        }

        "GET /" => get("/".into()),
        "GET /join/{code}" => get(format!("/join/{code}")),
        "GET /room/{code}" => get(format!("/room/{code}")),
        "GET /display/{code}" => get(format!("/display/{code}")),
        "GET /venues" => get("/venues".into()),
        "GET /venues/{id}" => get(format!("/venues/{venue}")),
        "GET /venues/{id}/dashboard" => get(format!("/venues/{venue}/dashboard")),
        "GET /invitations/{id}" => get("/invitations/abcdefghijklmnop".into()),
        "GET /me/taste" => get("/me/taste".into()),
        "GET /api/health" => get("/api/health".into()),
        "GET /api/ready" => get("/api/ready".into()),
        "GET /metrics" => get("/metrics".into()),
        "GET /api/openapi.json" => get("/api/openapi.json".into()),
        "POST /api/rooms" => post("/api/rooms".into(), json!({"name": "New", "host_name": "Nia"})),
        "GET /api/rooms/{code}" => get(format!("/api/rooms/{code}")),
        "POST /api/rooms/{code}/join" => {
            // A member token in the body rejoins as that member.
            let token = credential(sh, w, caller);
            post(format!("/api/rooms/{code}/join"), json!({"name": "Joe", "token": token}))
        }
        "POST /api/rooms/{code}/screens" => {
            // Screens a room may have are few: close those earlier cells opened.
            let snapshot = w.host_socket.ok("room:sync", json!({})).await;
            for id in snapshot["screens"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()) {
                if id != w.screen.id {
                    w.host_socket.ok("screen:remove", json!({ "screen_id": id })).await;
                }
            }
            let token = credential(sh, w, caller);
            post(format!("/api/rooms/{code}/screens"), json!({"name": "TV", "token": token}))
        }
        "GET /api/rooms/{code}/qr.svg" => get(format!("/api/rooms/{code}/qr.svg")),
        "GET /api/rooms/{code}/history" => get(format!("/api/rooms/{code}/history")),
        "GET /api/rooms/{code}/audio/{track_id}" => get(format!("/api/rooms/{code}/audio/{}", TestApp::track_id(1))),
        "GET /api/tracks" => get("/api/tracks?q=a".into()),
        "GET /api/tracks/{id}" => get(format!("/api/tracks/{}", TestApp::track_id(1))),
        "GET /api/tracks/{id}/audio" => get(format!("/api/tracks/{}/audio?ticket=forged", TestApp::track_id(1))),
        "GET /api/tracks/{id}/artwork" => get(format!("/api/tracks/{}/artwork", TestApp::track_id(1))),
        "POST /api/library/tracks" => {
            let csv = format!("title,artist,duration\nNew song {n},Band {n},3:00\n", n = sh.unique());
            http(Method::POST, "/api/library/tracks".into(), Body::Raw("text/csv", csv.into_bytes()))
        }
        "GET /api/search/{index}" => get("/api/search/tracks?q=a".into()),
        "GET /api/rooms/{code}/photos" => get(format!("/api/rooms/{code}/photos")),
        "POST /api/rooms/{code}/photos" => http(Method::POST, format!("/api/rooms/{code}/photos"), Body::Photo),
        "GET /api/photos/{id}/{file}" => get(format!("/api/photos/{photo}/thumb.jpg")),
        "GET /api/photos/latest" => get("/api/photos/latest".into()),
        "POST /api/accounts" => {
            let username = format!("new{}", sh.unique());
            post("/api/accounts".into(), json!({ "username": username, "password": PASSWORD }))
        }
        "POST /api/sessions" => post("/api/sessions".into(), json!({"username": a, "password": PASSWORD})),
        "DELETE /api/sessions/current" => {
            // The caller's own session ends: accounts log in afresh for it.
            let mut request = http(Method::DELETE, "/api/sessions/current".into(), Body::Empty);
            if let (Some(account), Request::Http { bearer, .. }) = (account_of(sh, caller), &mut request) {
                *bearer = Some(log_in(app, account).await);
            }
            request
        }
        "POST /api/accounts/link" => {
            let guest = fresh_guest(sh, w).await;
            post("/api/accounts/link".into(), json!({"member_token": guest.token}))
        }
        "GET /api/me" | "GET /api/me/timeline" | "GET /api/me/taste" => get(row[4..].into()),
        "PATCH /api/me" => http(Method::PATCH, "/api/me".into(), Body::Json(json!({"display_name": "Renamed"}))),
        "DELETE /api/me" => {
            // Accounts delete an account made for the cell, with its password.
            let mut request = http(Method::DELETE, "/api/me".into(), Body::Json(json!({"password": PASSWORD})));
            if account_of(sh, caller).is_some()
                && let Request::Http { bearer, .. } = &mut request
            {
                *bearer = Some(register(app, &format!("gone{}", sh.unique())).await.token);
            }
            request
        }
        "PUT /api/me/avatar" => http(Method::PUT, "/api/me/avatar".into(), Body::Photo),
        "PUT /api/me/taste" => http(Method::PUT, "/api/me/taste".into(), Body::Json(json!({"enabled": true}))),
        "DELETE /api/me/taste" => http(Method::DELETE, "/api/me/taste".into(), Body::Empty),
        "GET /api/users/{username}" => get(format!("/api/users/{a}")),
        "PUT /api/users/{username}/follow" => http(Method::PUT, format!("/api/users/{a}/follow"), Body::Empty),
        "DELETE /api/users/{username}/follow" => http(Method::DELETE, format!("/api/users/{a}/follow"), Body::Empty),
        "GET /api/users/{username}/followers" => get(format!("/api/users/{a}/followers")),
        "GET /api/users/{username}/following" => get(format!("/api/users/{a}/following")),
        "GET /api/users/{username}/photos" => get(format!("/api/users/{a}/photos")),
        "GET /api/avatars/{user_id}/{file}" => {
            let user = app.state.store.accounts().user(&sh.a.id).await.expect("user").expect("ana");
            let version = user.avatar_version.expect("ana has an avatar");
            get(format!("/api/avatars/{}/{version}.jpg", sh.a.id))
        }
        "GET /api/providers" => get("/api/providers".into()),
        "GET /api/providers/{provider}" => get("/api/providers/spotify".into()),
        "DELETE /api/providers/{provider}" => http(Method::DELETE, "/api/providers/spotify".into(), Body::Empty),
        "POST /api/providers/{provider}/login" => post("/api/providers/spotify/login".into(), json!({})),
        "GET /api/providers/{provider}/callback" => get("/api/providers/spotify/callback?state=nope&code=nope".into()),
        "GET /api/providers/{provider}/playlists" => get("/api/providers/spotify/playlists".into()),
        "GET /api/providers/{provider}/devices" => get("/api/providers/spotify/devices".into()),
        "POST /api/providers/{provider}/imports" => {
            post("/api/providers/spotify/imports".into(), json!({"source": "liked"}))
        }
        "POST /api/providers/{provider}/exports" => {
            post("/api/providers/spotify/exports".into(), json!({"source": "queue"}))
        }
        "GET /api/providers/{provider}/jobs/{id}" => get(format!("/api/providers/spotify/jobs/{}", sh.job_id)),
        "PUT /api/providers/{provider}/playback" => {
            http(Method::PUT, "/api/providers/spotify/playback".into(), Body::Json(json!({"device_id": null})))
        }
        "POST /api/venues" => post("/api/venues".into(), json!({"name": "New bar", "time_zone": "Europe/Paris"})),
        "GET /api/venues" => get("/api/venues".into()),
        "GET /api/venues/{id}" => get(format!("/api/venues/{venue}")),
        "PUT /api/venues/{id}" => http(
            Method::PUT,
            format!("/api/venues/{venue}"),
            Body::Json(json!({"name": "Harbour", "time_zone": "Europe/Paris"})),
        ),
        "DELETE /api/venues/{id}" => http(Method::DELETE, format!("/api/venues/{venue}"), Body::Empty),
        "POST /api/venues/{id}/invitations" => {
            post(format!("/api/venues/{venue}/invitations"), json!({"role": "staff"}))
        }
        "POST /api/invitations/{id}/accept" => {
            let path = format!("/api/venues/{venue}/invitations");
            let (status, invited) =
                call(app, Method::POST, &path, Some(&sh.owner.token), Some(json!({"role": "staff"}))).await;
            assert_eq!(status, 201, "{invited}");
            post(format!("/api/invitations/{}/accept", invited["invitation"]["id"].as_str().expect("id")), json!({}))
        }
        "PUT /api/venues/{id}/staff/{user_id}" => http(
            Method::PUT,
            format!("/api/venues/{venue}/staff/{}", sh.staff.id),
            Body::Json(json!({"role": "staff"})),
        ),
        "DELETE /api/venues/{id}/staff/{user_id}" => {
            // Staff may leave by themselves: bring them back for each cell.
            let (_, seen) = call(app, Method::GET, &format!("/api/venues/{venue}"), Some(&sh.owner.token), None).await;
            let is_staff =
                seen["venue"]["staff"].as_array().is_some_and(|s| s.iter().any(|m| m["user_id"] == sh.staff.id));
            if !is_staff {
                invite_and_accept(sh, &venue, &sh.staff, "staff").await;
            }
            http(Method::DELETE, format!("/api/venues/{venue}/staff/{}", sh.staff.id), Body::Empty)
        }
        "POST /api/venues/{id}/zones" => post(format!("/api/venues/{venue}/zones"), json!({"name": "Terrace"})),
        "DELETE /api/venues/{id}/zones/{room_id}" => {
            let zone = zone(sh, &venue).await;
            http(Method::DELETE, format!("/api/venues/{venue}/zones/{zone}"), Body::Empty)
        }
        "GET /api/venues/{id}/zones/{room_id}/cards.svg" => {
            let zone = zone(sh, &venue).await;
            get(format!("/api/venues/{venue}/zones/{zone}/cards.svg"))
        }
        "GET /api/venues/{id}/catalogue" => get(format!("/api/venues/{venue}/catalogue")),
        "POST /api/venues/{id}/catalogue" => {
            post(format!("/api/venues/{venue}/catalogue"), json!({"track_ids": [TestApp::track_id(40)]}))
        }
        "DELETE /api/venues/{id}/catalogue" => http(
            Method::DELETE,
            format!("/api/venues/{venue}/catalogue"),
            Body::Json(json!({"track_ids": [TestApp::track_id(30)]})),
        ),
        "GET /api/venues/{id}/zones/{room_id}/schedule" => {
            let zone = zone(sh, &venue).await;
            get(format!("/api/venues/{venue}/zones/{zone}/schedule"))
        }
        "PUT /api/venues/{id}/zones/{room_id}/schedule" => {
            let zone = zone(sh, &venue).await;
            let schedule = json!({"defaults": {"explicit": false}, "day_parts": []});
            http(Method::PUT, format!("/api/venues/{venue}/zones/{zone}/schedule"), Body::Json(schedule))
        }
        "DELETE /api/venues/{id}/zones/{room_id}/schedule" => {
            let zone = zone(sh, &venue).await;
            http(Method::DELETE, format!("/api/venues/{venue}/zones/{zone}/schedule"), Body::Empty)
        }
        "DELETE /api/venues/{id}/blocked/{track_id}" => {
            http(Method::DELETE, format!("/api/venues/{venue}/blocked/{}", TestApp::track_id(1)), Body::Empty)
        }
        "GET /api/venues/{id}/analytics" => get(format!("/api/venues/{venue}/analytics")),
        "GET /api/venues/{id}/analytics/export" => get(format!("/api/venues/{venue}/analytics/export?table=days")),
        other => panic!("no request for row {other}"),
    }
}

fn get(path: String) -> Request {
    http(Method::GET, path, Body::Empty)
}

fn post(path: String, body: Value) -> Request {
    http(Method::POST, path, Body::Json(body))
}

fn static_name(row: &str) -> &'static str {
    EVENTS.iter().find(|r| r.name == row).map(|r| r.name).expect("an event row")
}

/// The event a row sends: its name up to a variant's ` (…)`.
fn event_of(row: &str) -> &str {
    row.split(" (").next().unwrap_or(row)
}

fn is_event(row: &str) -> bool {
    !row.starts_with(|c: char| c.is_ascii_uppercase())
}

/// A fresh zone of the venue (made by its owner); its room id.
async fn zone(sh: &Shared, venue: &str) -> String {
    let path = format!("/api/venues/{venue}/zones");
    let (status, zone) =
        call(&sh.app, Method::POST, &path, Some(&sh.owner.token), Some(json!({"name": "Patio"}))).await;
    assert_eq!(status, 201, "{zone}");
    zone["zone"]["room_id"].as_str().expect("room").to_string()
}

/// Everything a refused request must leave as it was.
async fn fingerprint(sh: &Shared, w: &World) -> Value {
    let store = &sh.app.state.store;
    let room = store.load_room(&w.room_id).await.expect("room");
    let other = store.load_room(&w.other_room_id).await.expect("room").map(|r| r.version);
    let venue = match &w.venue {
        Some(v) => serde_json::to_value(store.venues().venue(&v.id).await.expect("venue")).expect("json"),
        None => Value::Null,
    };
    let photos = store.room_photos(&w.room_id, None, 100).await.expect("photos");
    let mut accounts = Vec::new();
    for account in [&sh.a, &sh.b, &sh.owner, &sh.manager, &sh.staff] {
        let user = store.accounts().user(&account.id).await.expect("user");
        let follows = store.accounts().follow_counts(&account.id).await.expect("follows");
        accounts.push(json!({"user": serde_json::to_value(user).expect("json"), "follows": [follows.0, follows.1]}));
    }
    let link = store.providers().link(&sh.a.id, "spotify").await.expect("link").map(|l| l.revision);
    json!({
        "room": serde_json::to_value(room).expect("json"),
        "other_room": other,
        "venue": venue,
        "photos": serde_json::to_value(photos).expect("json"),
        "accounts": accounts,
        "link": link,
    })
}

/// Runs one row: every caller's answer.
async fn run_row(
    sh: &Shared,
    row: &Row,
    callers: &[Caller],
    expected: Option<&BTreeMap<Caller, String>>,
) -> Vec<String> {
    let w = world(sh, row.needs).await;
    let is_event = is_event(row.name);
    let mut sockets = BTreeMap::new();
    if is_event {
        for caller in callers {
            let token = credential(sh, &w, *caller).expect("a socket caller has a token");
            sockets.insert(*caller, sh.app.connect(&token).await);
        }
    }
    // Cells expected to be refused first, so the ones that succeed cannot
    // hide a refusal's change.
    // Without a table yet (a new row), the likely powers last.
    let mut order: Vec<Caller> = callers.to_vec();
    match expected {
        Some(e) => order.sort_by_key(|c| e.get(c).is_some_and(|answer| answer == "ok")),
        None => order.sort_by_key(|c| POWER.iter().position(|p| p == c)),
    }
    let mut answers = BTreeMap::new();
    for caller in order {
        let request = request(sh, &w, row.name, caller).await;
        let before = fingerprint(sh, &w).await;
        let answer = if is_event {
            emit(&sockets[&caller], request).await
        } else {
            send(&sh.app, request, credential(sh, &w, caller).as_deref()).await
        };
        // Without expectations (a new row) the order is the columns', and an
        // earlier success may still be at work (a photo rendering): the
        // check waits for the table.
        if expected.is_some() && (answer != "ok" || (is_event && caller == OtherRoom)) {
            let mut after = fingerprint(sh, &w).await;
            if answer == "ok" {
                // Another room's host may change its own room.
                after["other_room"] = before["other_room"].clone();
            }
            let changed: Vec<&String> = after
                .as_object()
                .expect("an object")
                .iter()
                .filter(|(key, value)| before[key.as_str()] != **value)
                .map(|(key, _)| key)
                .collect();
            assert!(changed.is_empty(), "{} by {} answered {answer} and changed {changed:?}", row.name, caller.label());
        }
        answers.insert(caller, answer);
    }
    callers.iter().map(|c| answers[c].clone()).collect()
}

/// What a socket connecting with each kind of token gets.
async fn connect_row(sh: &Shared) -> Vec<String> {
    let w = world(sh, Needs::Room).await;
    let mut answers = Vec::new();
    for caller in CONNECT_CALLERS {
        let auth = match credential(sh, &w, caller) {
            Some(token) => json!({ "token": token }),
            None => json!({}),
        };
        answers.push(match SioClient::connect(sh.app.addr, auth).await {
            Ok(_) => "ok".to_string(),
            // The connect error's message is the code.
            Err(message) => message,
        });
    }
    answers
}

fn table(title: &str, callers: &[Caller], rows: &[(String, Vec<String>)]) -> String {
    let mut out = format!("| {title} |");
    for caller in callers {
        out.push_str(&format!(" {} |", caller.label()));
    }
    out.push_str(&format!("\n|{}\n", "---|".repeat(callers.len() + 1)));
    for (name, answers) in rows {
        out.push_str(&format!("| `{name}` | {} |\n", answers.join(" | ")));
    }
    out
}

/// The rows of the table between `<!-- matrix:NAME -->` and its end marker.
fn documented(doc: &str, name: &str) -> BTreeMap<String, Vec<String>> {
    section(doc, name)
        .map(|s| {
            s.lines()
                .skip(2)
                .filter_map(|line| {
                    let cells: Vec<String> =
                        line.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
                    let (first, rest) = cells.split_first()?;
                    Some((first.trim_matches('`').to_string(), rest.to_vec()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn markers(name: &str) -> (String, String) {
    (format!("<!-- matrix:{name} -->\n"), format!("<!-- /matrix:{name} -->"))
}

fn section<'d>(doc: &'d str, name: &str) -> Option<&'d str> {
    let (start, end) = markers(name);
    let from = doc.find(&start)? + start.len();
    let to = from + doc[from..].find(&end)?;
    Some(&doc[from..to])
}

fn replace_section(doc: &str, name: &str, table: &str) -> String {
    let (start, end) = markers(name);
    let from = doc.find(&start).expect("start marker") + start.len();
    let to = from + doc[from..].find(&end).expect("end marker");
    format!("{}{table}{}", &doc[..from], &doc[to..])
}

/// Every route of the server as `METHOD /path`: the REST routes from the
/// OpenAPI document (generated from the router, and checked against it by
/// `http::tests`), and the web app's pages from src/http/web.rs.
async fn routes_of_server(sh: &Shared) -> BTreeSet<String> {
    let (status, spec) = sh.app.get("/api/openapi.json").await;
    assert_eq!(status, 200, "{spec}");
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            routes.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let web = include_str!("../../src/http/web.rs");
    // Every page is one line: `.route("/path", get(page))`.
    assert_eq!(web.matches(".route(").count(), web.matches(".route(\"").count(), "a .route( split over lines");
    for part in web.split(".route(\"").skip(1) {
        let (path, rest) = part.split_once('"').expect("a quoted path");
        assert!(rest.split('\n').next().unwrap_or_default().contains("get(page)"), "{path}: a page");
        routes.insert(format!("GET {path}"));
    }
    routes
}

/// Every event name `parse_event` answers.
fn events_in_source() -> BTreeSet<String> {
    let source = include_str!("../../src/realtime/events.rs");
    let body = &source[source.find("pub fn parse_event").expect("parse_event")..];
    let body = &body[..body.find("\n}\n").expect("end of parse_event")];
    body.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.contains(':') && !s.contains(' ') && s.chars().all(|c| c.is_ascii_lowercase() || c == ':' || c == '_')
        })
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_and_route_answers_every_kind_of_caller_as_documented() {
    let documented_events: BTreeSet<String> = EVENTS.iter().map(|r| event_of(r.name).to_string()).collect();
    assert_eq!(documented_events, events_in_source(), "the matrix has a row for every event the server takes");
    let sh = shared().await;
    let documented_routes: BTreeSet<String> = ROUTES.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(documented_routes, routes_of_server(&sh).await, "the matrix has a row for every route of the server");

    let doc = std::fs::read_to_string(DOC).expect("docs/protocol.md");
    let mut tables = Vec::new();
    let connect = connect_row(&sh).await;
    tables.push(("connect", table("Socket.IO connect", &CONNECT_CALLERS, &[("connect".into(), connect)])));
    for (name, title, rows, callers) in
        [("events", "Event", EVENTS, &EVENT_CALLERS[..]), ("routes", "Route", ROUTES, &ROUTE_CALLERS[..])]
    {
        let expected = documented(&doc, name);
        let mut answered = Vec::new();
        for row in rows {
            let cells: Option<BTreeMap<Caller, String>> =
                expected.get(row.name).map(|answers| callers.iter().copied().zip(answers.iter().cloned()).collect());
            answered.push((row.name.to_string(), run_row(&sh, row, callers, cells.as_ref()).await));
        }
        tables.push((name, table(title, callers, &answered)));
    }
    if std::env::var_os("UPDATE_AUTH_MATRIX").is_some() {
        let mut updated = doc.clone();
        for (name, table) in &tables {
            updated = replace_section(&updated, name, table);
        }
        std::fs::write(DOC, updated).expect("docs/protocol.md written");
        return;
    }
    for (name, table) in &tables {
        assert_eq!(
            section(&doc, name).unwrap_or_default(),
            table,
            "docs/protocol.md's matrix:{name} differs from what the server answers; as answered:\n{table}"
        );
    }
}
