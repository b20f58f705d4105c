//! Venues over REST: an owner creates a venue, invites a manager and a
//! staff member by single-use links, opens zones (always-on rooms) and
//! prints table cards; one table-driven test walks every venue route for
//! every kind of caller and checks that a refusal changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, call, spawn_app};

const PASSWORD: &str = "violet kettle 42 orbit";

async fn register(app: &TestApp, username: &str) -> (String, String) {
    let body = json!({"username": username, "password": PASSWORD, "display_name": username.to_uppercase()});
    let (status, body) = app.post("/api/accounts", body).await;
    assert_eq!(status, 201, "{body}");
    (body["token"].as_str().expect("token").to_string(), body["user"]["id"].as_str().expect("id").to_string())
}

fn details(name: &str) -> Value {
    json!({
        "name": name,
        "address": "1 Quay Street",
        "city": "Brest",
        "location": {"lat": 48.38, "lng": -4.49},
        "time_zone": "Europe/Paris",
        "opening_hours": [{"day": 5, "opens": "17:00", "closes": "02:00"}],
    })
}

/// An account token by role: owner, manager, staff, and an outsider.
struct People {
    owner: String,
    manager: String,
    staff: String,
    outsider: String,
    staff_id: String,
}

async fn venue_with_staff(app: &TestApp) -> (String, People) {
    let (owner, _) = register(app, "owen").await;
    let (manager, _) = register(app, "mona").await;
    let (staff, staff_id) = register(app, "sam").await;
    let (outsider, _) = register(app, "otto").await;
    let (status, created) = call(app, Method::POST, "/api/venues", Some(&owner), Some(details("Harbour Club"))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["role"], "owner");
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    for (token, role) in [(&manager, "manager"), (&staff, "staff")] {
        let path = format!("/api/venues/{id}/invitations");
        let (status, invited) = call(app, Method::POST, &path, Some(&owner), Some(json!({"role": role}))).await;
        assert_eq!(status, 201, "{invited}");
        assert!(invited["url"].as_str().expect("url").ends_with(invited["invitation"]["id"].as_str().expect("id")));
        let accept = format!("/api/invitations/{}/accept", invited["invitation"]["id"].as_str().expect("id"));
        let (status, joined) = call(app, Method::POST, &accept, Some(token), None).await;
        assert_eq!((status, joined["role"].as_str()), (200, Some(role)), "{joined}");
        let (status, again) = call(app, Method::POST, &accept, Some(&outsider), None).await;
        assert_eq!((status, again["error"]["code"].as_str()), (404, Some("invitation_not_found")), "used once");
    }
    (id, People { owner, manager, staff, outsider, staff_id })
}

#[tokio::test]
async fn an_owner_runs_a_venue_with_zones_and_table_cards() {
    let app = spawn_app().await;
    let (id, people) = venue_with_staff(&app).await;
    let (status, mine) = call(&app, Method::GET, "/api/venues", Some(&people.staff), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (mine["venues"][0]["venue"]["id"].as_str(), mine["venues"][0]["role"].as_str()),
        (Some(id.as_str()), Some("staff"))
    );

    let zones = format!("/api/venues/{id}/zones");
    let (status, zone) =
        call(&app, Method::POST, &zones, Some(&people.manager), Some(json!({"name": "Terrace"}))).await;
    assert_eq!(status, 201, "{zone}");
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    // The zone is an always-on room; the manager is its host.
    let (_, info) = app.get(&format!("/api/rooms/{code}")).await;
    assert_eq!((info["room"]["kind"].as_str(), info["room"]["name"].as_str()), (Some("venue"), Some("Terrace")));
    let host = app.connect(zone["token"].as_str().expect("token")).await;
    assert_eq!(host.snapshot().await["me"]["role"], "host");
    // Staff who join with their account moderate it; a guest does not.
    let joined = json!({"name": "Sam", "account_token": people.staff});
    let (_, sam) = app.post(&format!("/api/rooms/{code}/join"), joined).await;
    assert_eq!(sam["member"]["role"], "cohost", "{sam}");
    let (_, guest) = app.post(&format!("/api/rooms/{code}/join"), json!({"name": "Gil"})).await;
    assert_eq!(guest["member"]["role"], "guest");

    // Table cards: an A4 sheet of six, with the venue, the zone and the link.
    let cards = app.http.get(app.url(&format!("{zones}/{room_id}/cards.svg"))).bearer_auth(&people.staff).send().await;
    let cards = cards.expect("cards");
    assert_eq!(cards.status(), 200);
    assert_eq!(cards.headers()["content-type"], "image/svg+xml");
    let svg = cards.text().await.expect("svg");
    assert_eq!(svg.matches("class=\"card\"").count(), 6);
    assert!(svg.contains("Harbour Club") && svg.contains("Terrace") && svg.contains(code));

    // Removing a zone deletes its room; deleting the venue deletes them all.
    let (status, _) = call(&app, Method::DELETE, &format!("{zones}/{room_id}"), Some(&people.manager), None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&format!("/api/rooms/{code}")).await.0, 404);
    let (_, second) = call(&app, Method::POST, &zones, Some(&people.owner), Some(json!({"name": "Bar"}))).await;
    let second_code = second["zone"]["code"].as_str().expect("code").to_string();
    let (status, _) = call(&app, Method::DELETE, &format!("/api/venues/{id}"), Some(&people.owner), None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&format!("/api/rooms/{second_code}")).await.0, 404);
    let (status, body) = call(&app, Method::GET, &format!("/api/venues/{id}"), Some(&people.owner), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("venue_not_found")));
}

/// Every venue route × every caller: the expected answer, and a venue
/// unchanged by each refusal.
#[tokio::test]
async fn every_venue_route_checks_the_callers_role_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let (id, p) = venue_with_staff(&app).await;
    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&p.owner), Some(json!({"name": "Floor"})))
            .await;
    let room_id = zone["zone"]["room_id"].as_str().expect("room").to_string();
    let venue = format!("/api/venues/{id}");
    let forged = "eyJzIjoieCIsInUiOiJ5In0.AAAA".to_string();
    let callers: [(&str, Option<&String>); 6] = [
        ("no token", None),
        ("forged", Some(&forged)),
        ("outsider", Some(&p.outsider)),
        ("staff", Some(&p.staff)),
        ("manager", Some(&p.manager)),
        ("owner", Some(&p.owner)),
    ];
    // Route, method, body, then the answer of each caller above, in order:
    // a status (2xx: allowed) or an error code.
    let rename = json!({"name": "Renamed", "time_zone": "Europe/Paris"});
    type Case<'a> = (Method, String, Option<Value>, [&'a str; 6]);
    let cases: Vec<Case> = vec![
        (Method::GET, venue.clone(), None, ["unauthorized", "unauthorized", "not_venue_staff", "200", "200", "200"]),
        (
            Method::GET,
            format!("{venue}/zones/{room_id}/cards.svg"),
            None,
            ["unauthorized", "unauthorized", "not_venue_staff", "200", "200", "200"],
        ),
        (
            Method::PUT,
            venue.clone(),
            Some(rename.clone()),
            ["unauthorized", "unauthorized", "not_venue_staff", "forbidden", "allowed", "allowed"],
        ),
        (
            Method::POST,
            format!("{venue}/zones"),
            Some(json!({"name": "Z"})),
            ["unauthorized", "unauthorized", "not_venue_staff", "forbidden", "allowed", "allowed"],
        ),
        (
            Method::POST,
            format!("{venue}/invitations"),
            Some(json!({"role": "staff"})),
            ["unauthorized", "unauthorized", "not_venue_staff", "forbidden", "forbidden", "allowed"],
        ),
        (
            Method::PUT,
            format!("{venue}/staff/{}", p.staff_id),
            Some(json!({"role": "manager"})),
            ["unauthorized", "unauthorized", "not_venue_staff", "forbidden", "forbidden", "allowed"],
        ),
        (
            Method::DELETE,
            format!("{venue}/zones/{room_id}"),
            None,
            ["unauthorized", "unauthorized", "not_venue_staff", "forbidden", "allowed", "allowed"],
        ),
        (
            Method::DELETE,
            venue.clone(),
            None,
            ["unauthorized", "unauthorized", "not_venue_staff", "forbidden", "forbidden", "allowed"],
        ),
    ];
    for (method, path, body, expected) in cases {
        for ((who, token), want) in callers.iter().zip(expected) {
            if want == "allowed" {
                continue; // changes the venue: checked once below, per role
            }
            let before = app.state.venues.store.venues().venue(&id).await.expect("read");
            let (status, answer) = call(&app, method.clone(), &path, token.map(String::as_str), body.clone()).await;
            let got = if (200..300).contains(&status) {
                status.to_string()
            } else {
                answer["error"]["code"].as_str().unwrap_or("?").to_string()
            };
            assert_eq!(got, want, "{method} {path} as {who}: {status} {answer}");
            if !(200..300).contains(&status) {
                let after = app.state.venues.store.venues().venue(&id).await.expect("read");
                assert_eq!(after, before, "{method} {path} as {who} changed the venue");
            }
        }
    }
    // The allowed writes, each by the least powerful role allowed.
    let (status, _) = call(&app, Method::PUT, &venue, Some(&p.manager), Some(rename)).await;
    assert_eq!(status, 200, "a manager edits the venue");
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("{venue}/staff/{}", p.staff_id),
        Some(&p.owner),
        Some(json!({"role": "manager"})),
    )
    .await;
    assert_eq!(status, 200, "the owner changes a role");
    // The owner's own role cannot change, and the owner cannot be removed.
    let (_, me) = call(&app, Method::GET, "/api/me", Some(&p.owner), None).await;
    let owner_id = me["user"]["id"].as_str().expect("owner id").to_string();
    let (status, body) = call(&app, Method::DELETE, &format!("{venue}/staff/{owner_id}"), Some(&p.owner), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("target_is_owner")));
    // Removed staff lose every power at once.
    let (status, _) = call(&app, Method::DELETE, &format!("{venue}/staff/{}", p.staff_id), Some(&p.owner), None).await;
    assert_eq!(status, 204);
    let (status, body) = call(&app, Method::GET, &venue, Some(&p.staff), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_venue_staff")));
    let (status, _) = call(&app, Method::DELETE, &format!("{venue}/zones/{room_id}"), Some(&p.manager), None).await;
    assert_eq!(status, 204, "a manager removes a zone");
    let (status, _) = call(&app, Method::DELETE, &venue, Some(&p.owner), None).await;
    assert_eq!(status, 204, "the owner deletes the venue");
}

#[tokio::test]
async fn bad_venue_input_is_refused_with_typed_errors() {
    let app = spawn_app().await;
    let (owner, _) = register(&app, "owen").await;
    let cases = [
        (json!({"name": "X", "time_zone": "Mars/Olympus"}), "invalid_venue"),
        (json!({"name": "", "time_zone": "Europe/Paris"}), "invalid_venue"),
        (
            json!({"name": "X", "time_zone": "Europe/Paris", "opening_hours": [{"day": 9, "opens": "10:00", "closes": "11:00"}]}),
            "invalid_venue",
        ),
        (
            json!({"name": "X", "time_zone": "Europe/Paris", "opening_hours": [{"day": 1, "opens": "25:00", "closes": "11:00"}]}),
            "invalid_venue",
        ),
        (json!({"name": "X", "time_zone": "Europe/Paris", "location": {"lat": 100, "lng": 0}}), "invalid_venue"),
        (json!({"name": "X"}), "invalid_payload"),
        (json!({"name": 5, "time_zone": "Europe/Paris"}), "invalid_payload"),
        (json!({"name": "X", "time_zone": "Europe/Paris", "surprise": true}), "invalid_payload"),
    ];
    for (body, code) in cases {
        let (status, answer) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(body.clone())).await;
        assert_eq!(answer["error"]["code"].as_str(), Some(code), "{body}: {status} {answer}");
    }
    let (_, mine) = call(&app, Method::GET, "/api/venues", Some(&owner), None).await;
    assert_eq!(mine["venues"], json!([]), "nothing was created");
    let (_, created) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(details("V"))).await;
    let id = created["venue"]["id"].as_str().expect("id");
    let invitations = format!("/api/venues/{id}/invitations");
    for body in [json!({"role": "owner"}), json!({"role": "boss"}), json!({})] {
        let (status, answer) = call(&app, Method::POST, &invitations, Some(&owner), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_payload")), "{body}");
    }
    let zones = format!("/api/venues/{id}/zones");
    for body in [json!({"name": ""}), json!({"name": "x".repeat(81)}), json!({})] {
        let (status, answer) = call(&app, Method::POST, &zones, Some(&owner), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_payload")), "{body}");
    }
    let (status, answer) = call(&app, Method::POST, "/api/invitations/forged/accept", Some(&owner), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("invitation_not_found")));
    // The owner's own invitation: already staff.
    let (_, invited) = call(&app, Method::POST, &invitations, Some(&owner), Some(json!({"role": "staff"}))).await;
    let accept = format!("/api/invitations/{}/accept", invited["invitation"]["id"].as_str().expect("id"));
    let (status, answer) = call(&app, Method::POST, &accept, Some(&owner), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("already_staff")));
    let (status, answer) = call(&app, Method::GET, "/api/venues/nope/zones/nope/cards.svg", Some(&owner), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("venue_not_found")));
    let (status, answer) =
        call(&app, Method::GET, &format!("/api/venues/{id}/zones/nope/cards.svg"), Some(&owner), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("zone_not_found")));
}

/// A zone plays its venue's catalogue: anything else is refused with a
/// typed error and nothing changes; a party room plays anything.
#[tokio::test]
async fn a_zone_queues_only_its_venues_catalogue() {
    let app = spawn_app().await;
    let (owner, _) = register(&app, "owen").await;
    let (staff, _) = register(&app, "sam").await;
    let (_, created) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(details("Shop"))).await;
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    let catalogue = format!("/api/venues/{id}/catalogue");
    let licensed: Vec<String> = (1..=3).map(TestApp::track_id).collect();
    let (status, added) =
        call(&app, Method::POST, &catalogue, Some(&owner), Some(json!({"track_ids": licensed}))).await;
    assert_eq!((status, added["added"].as_u64()), (200, Some(3)), "{added}");
    let (_, page) = call(&app, Method::GET, &format!("{catalogue}?limit=2"), Some(&owner), None).await;
    assert_eq!(page["tracks"].as_array().map(Vec::len), Some(2));
    let (_, rest) = call(
        &app,
        Method::GET,
        &format!("{catalogue}?limit=2&after={}", page["next"].as_str().expect("next")),
        Some(&owner),
        None,
    )
    .await;
    assert_eq!((rest["tracks"].as_array().map(Vec::len), rest["next"].clone()), (Some(1), Value::Null));

    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&owner), Some(json!({"name": "Floor"})))
            .await;
    let code = zone["zone"]["code"].as_str().expect("code");
    let (_, guest) = app.post(&format!("/api/rooms/{code}/join"), json!({"name": "Gil"})).await;
    let gs = app.connect(guest["token"].as_str().expect("token")).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let version = gs.snapshot().await["version"].clone();
    assert_eq!(gs.refused("queue:add", json!({"track_id": TestApp::track_id(9)})).await, "not_in_catalogue");
    let host = app.connect(zone["token"].as_str().expect("token")).await;
    let fallback = json!({"track_ids": [TestApp::track_id(2), TestApp::track_id(9)]});
    assert_eq!(host.refused("room:set_fallback", fallback).await, "not_in_catalogue");
    assert_eq!(gs.snapshot().await["version"], version, "refusals changed nothing");
    // Taken out of the catalogue, a track can no longer be asked for.
    let out = json!({"track_ids": [TestApp::track_id(2)]});
    assert_eq!(call(&app, Method::DELETE, &catalogue, Some(&owner), Some(out)).await.0, 204);
    assert_eq!(gs.refused("queue:add", json!({"track_id": TestApp::track_id(2)})).await, "not_in_catalogue");
    // A party room is not a zone: anything goes.
    let party = app.create_room(json!({})).await;
    app.connect(&party.token).await.ok("queue:add", json!({"track_id": TestApp::track_id(9)})).await;

    // Bad catalogue input: typed errors, nothing added.
    for body in [
        json!({"track_ids": []}),
        json!({"track_ids": ["no-such-track"]}),
        json!({"ids": ["x"]}),
        json!({"track_ids": "x"}),
    ] {
        let (status, answer) = call(&app, Method::POST, &catalogue, Some(&owner), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_payload")), "{body}");
    }
    let (status, answer) = call(&app, Method::GET, &format!("{catalogue}?limit=0"), Some(&owner), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_payload")));
    let (_, all) = call(&app, Method::GET, &catalogue, Some(&owner), None).await;
    assert_eq!(all["tracks"].as_array().map(Vec::len), Some(2), "1 and 3 remain");
    // Only owners and managers change it.
    let (status, answer) =
        call(&app, Method::POST, &catalogue, Some(&staff), Some(json!({"track_ids": [TestApp::track_id(4)]}))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("not_venue_staff")));
}

async fn first_hit(app: &TestApp, query: &str) -> String {
    let (_, found) = app.get(&format!("/api/search/tracks?q={query}&limit=1")).await;
    found["hits"][0]["id"].as_str().expect("a demo track").to_string()
}

/// Day parts apply by themselves: the clock moves past a day part's end and
/// the zone's defaults are in force, with no restart and no write.
#[tokio::test]
async fn a_zones_day_part_limits_what_guests_ask_for_until_it_ends() {
    let app = spawn_app().await;
    let (owner, _) = register(&app, "owen").await;
    let (_, created) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(details("Club"))).await;
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    let (disco, rock) = (first_hit(&app, "genre%3Adisco").await, first_hit(&app, "genre%3Arock").await);
    let catalogue = format!("/api/venues/{id}/catalogue");
    call(&app, Method::POST, &catalogue, Some(&owner), Some(json!({"track_ids": [disco, rock]}))).await;
    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&owner), Some(json!({"name": "Floor"})))
            .await;
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    // The test clock starts on Tuesday 2023-11-14 at 23:13 in Paris.
    let plan = json!({
        "defaults": {"genres_blocked": ["disco"]},
        "day_parts": [{"name": "Disco night", "days": [2], "starts": "22:00", "ends": "02:00",
                       "limits": {"genres_allowed": ["disco"]}}],
    });
    let path = format!("/api/venues/{id}/zones/{room_id}/schedule");
    let (status, set) = call(&app, Method::PUT, &path, Some(&owner), Some(plan)).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        (set["day_part"]["name"].as_str(), set["schedule"]["time_zone"].as_str()),
        (Some("Disco night"), Some("Europe/Paris"))
    );

    let (_, guest) = app.post(&format!("/api/rooms/{code}/join"), json!({"name": "Gil"})).await;
    let gs = app.connect(guest["token"].as_str().expect("token")).await;
    let seen = gs.snapshot().await;
    assert_eq!(seen["day_part"]["name"], "Disco night");
    let before = seen["version"].clone();
    let refusal = gs.ack("queue:add", json!({"track_id": rock})).await;
    assert_eq!(refusal["error"]["code"], "outside_day_part", "{refusal}");
    assert!(refusal["error"]["message"].as_str().expect("message").contains("Disco night"), "{refusal}");
    assert_eq!(gs.snapshot().await["version"], before, "nothing changed");
    gs.ok("queue:add", json!({"track_id": disco})).await;

    // 02:00 passes: the defaults (no disco) apply by themselves.
    app.clock.advance(3 * 3_600_000);
    let later = gs.snapshot().await;
    assert_eq!(later["day_part"]["name"], Value::Null, "{}", later["day_part"]);
    assert_eq!(later["day_part"]["limits"]["genres_blocked"], json!(["disco"]));
    gs.ok("queue:add", json!({"track_id": rock})).await;
    // Staff curate: the host is not held to the limits.
    let host = app.connect(zone["token"].as_str().expect("token")).await;
    assert_eq!(host.snapshot().await["me"]["role"], "host");

    // Bad schedules change nothing: overlapping, inverted (empty), unknown fields.
    let stored = app.state.store.load_room(room_id).await.expect("read").expect("room").schedule;
    for bad in [
        json!({"day_parts": [{"name": "A", "days": [1], "starts": "10:00", "ends": "12:00"}, {"name": "B", "days": [1], "starts": "11:00", "ends": "13:00"}]}),
        json!({"day_parts": [{"name": "A", "days": [1], "starts": "10:00", "ends": "10:00"}]}),
        json!({"day_parts": [{"name": "A", "days": [8], "starts": "10:00", "ends": "11:00"}]}),
        json!({"defaults": {"energy": [90, 10]}}),
    ] {
        let (status, answer) = call(&app, Method::PUT, &path, Some(&owner), Some(bad.clone())).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_schedule")), "{bad}: {answer}");
    }
    let (status, answer) = call(&app, Method::PUT, &path, Some(&owner), Some(json!({"surprise": 1}))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_payload")));
    let unchanged = app.state.store.load_room(room_id).await.expect("read").expect("room").schedule;
    assert_eq!(unchanged, stored, "refused schedules changed nothing");
    let (status, _) = call(&app, Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(status, 204);
    assert_eq!(gs.snapshot().await.get("day_part"), None, "no schedule, no day part");
}

fn has_change(event: &Value, kind: &str) -> bool {
    event["changes"].as_array().is_some_and(|cs| cs.iter().any(|c| c["type"] == kind))
}

/// Requests waiting for approval, over real sockets: the guest asks, the
/// venue's staff (a co-host in the zone) see it live and approve or
/// decline, the guest is told; a track declined often enough is blocked
/// until staff unblock it; the hourly limit holds.
#[tokio::test]
async fn staff_approve_and_decline_guests_requests_live() {
    let app = spawn_app().await;
    let (id, people) = venue_with_staff(&app).await;
    let tracks: Vec<String> = (1..=6).map(TestApp::track_id).collect();
    let catalogue = format!("/api/venues/{id}/catalogue");
    call(&app, Method::POST, &catalogue, Some(&people.owner), Some(json!({"track_ids": tracks}))).await;
    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&people.owner), Some(json!({"name": "Bar"})))
            .await;
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    let plan = json!({"defaults": {"approval": true, "requests_per_hour": 3}});
    let schedule = format!("/api/venues/{id}/zones/{room_id}/schedule");
    let (status, set) = call(&app, Method::PUT, &schedule, Some(&people.owner), Some(plan)).await;
    assert_eq!(status, 200, "{set}");
    let (status, read) = call(&app, Method::GET, &schedule, Some(&people.staff), None).await;
    assert_eq!((status, read["schedule"]["defaults"]["approval"].as_bool()), (200, Some(true)), "{read}");
    // One decline blocks a track here.
    let mut edited = details("Harbour Club");
    edited["block_after_declines"] = json!(1);
    let (status, venue) =
        call(&app, Method::PUT, &format!("/api/venues/{id}"), Some(&people.owner), Some(edited)).await;
    assert_eq!((status, venue["venue"]["block_after_declines"].as_u64()), (200, Some(1)), "{venue}");

    let join = format!("/api/rooms/{code}/join");
    let (_, sam) = app.post(&join, json!({"name": "Sam", "account_token": people.staff})).await;
    let staff = app.connect(sam["token"].as_str().expect("token")).await;
    assert_eq!(staff.snapshot().await["me"]["role"], "cohost");
    let (_, gil) = app.post(&join, json!({"name": "Gil"})).await;
    let guest = app.connect(gil["token"].as_str().expect("token")).await;
    let other = app.connect(app.join(code, "Ivy").await.token.as_str()).await;

    let asked = guest.ok("queue:add", json!({"track_id": tracks[0]})).await;
    assert_eq!(asked["pending"], true, "{asked}");
    let request_id = asked["request"]["id"].as_str().expect("request id").to_string();
    let seen = staff.wait_for("room:changed", |v| has_change(v, "request_added")).await;
    assert_eq!(seen["changes"][0]["request"]["requested_by_name"], "Gil", "{seen}");
    let snapshot = staff.snapshot().await;
    assert_eq!(
        (snapshot["queue"].as_array().map(Vec::len), snapshot["requests"][0]["id"].as_str()),
        (Some(0), Some(request_id.as_str()))
    );
    assert_eq!(other.refused("queue:add", json!({"track_id": tracks[0]})).await, "already_requested");
    // Guests cannot answer requests, nor withdraw another's.
    assert_eq!(other.refused("request:approve", json!({"request_id": request_id})).await, "forbidden");
    assert_eq!(other.refused("request:withdraw", json!({"request_id": request_id})).await, "forbidden");
    assert_eq!(staff.refused("request:approve", json!({"request_id": "nope"})).await, "request_not_found");
    assert_eq!(staff.refused("request:approve", json!({"id": request_id})).await, "invalid_payload");
    assert_eq!(staff.refused("request:decline", json!({"request_id": 7})).await, "invalid_payload");

    staff.ok("request:approve", json!({"request_id": request_id})).await;
    let approved = guest.wait_for("room:changed", |v| has_change(v, "request_approved")).await;
    // Nothing was playing: the approved track starts at once, as the guest's.
    assert!(has_change(&approved, "now_playing"), "{approved}");
    let playing = guest.snapshot().await;
    assert_eq!(playing["now_playing"]["added_by"], gil["member"]["id"], "{playing}");
    assert_eq!(playing["requests"], json!([]));

    let declined = guest.ok("queue:add", json!({"track_id": tracks[1]})).await;
    let declined_id = declined["request"]["id"].as_str().expect("id").to_string();
    let answer = staff.ok("request:decline", json!({"request_id": declined_id})).await;
    assert_eq!(answer["blocked"], true, "{answer}");
    let told = guest.wait_for("room:changed", |v| has_change(v, "request_declined")).await;
    let change = told["changes"].as_array().expect("changes").iter().find(|c| c["type"] == "request_declined").cloned();
    assert_eq!(change.map(|c| c["member_id"].clone()), Some(gil["member"]["id"].clone()), "{told}");
    // Blocked at the venue: nobody may ask for it, until staff unblock it.
    assert_eq!(other.refused("queue:add", json!({"track_id": tracks[1]})).await, "track_banned");
    let (_, venue) = call(&app, Method::GET, &format!("/api/venues/{id}"), Some(&people.staff), None).await;
    assert_eq!(venue["venue"]["blocked"][0]["track_id"].as_str(), Some(tracks[1].as_str()), "{venue}");
    let unblock = format!("/api/venues/{id}/blocked/{}", tracks[1]);
    assert_eq!(call(&app, Method::DELETE, &unblock, Some(&people.outsider), None).await.0, 403);
    assert_eq!(call(&app, Method::DELETE, &unblock, Some(&people.staff), None).await.0, 204);
    let again = other.ok("queue:add", json!({"track_id": tracks[1]})).await;
    assert_eq!(again["pending"], true);
    // The guest withdraws their own; the hourly limit (3) then holds.
    let third = guest.ok("queue:add", json!({"track_id": tracks[2]})).await;
    guest.ok("request:withdraw", json!({"request_id": third["request"]["id"]})).await;
    let version = guest.snapshot().await["version"].clone();
    assert_eq!(guest.refused("queue:add", json!({"track_id": tracks[3]})).await, "request_limit_reached");
    assert_eq!(guest.snapshot().await["version"], version, "refused: nothing changed");
}

/// The player announces a day part at its start, by itself, with no
/// command from anyone: every client gets `day_part_changed`.
#[tokio::test]
async fn a_day_part_is_announced_to_the_room_when_it_starts() {
    let app = spawn_app().await;
    let (owner, _) = register(&app, "owen").await;
    let (_, created) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(details("Club"))).await;
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&owner), Some(json!({"name": "Floor"})))
            .await;
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    // The test clock starts on Tuesday 2023-11-14 at 23:13 in Paris.
    let plan = json!({"day_parts": [{"name": "Closing", "days": [2], "starts": "23:30", "ends": "23:59"}]});
    let path = format!("/api/venues/{id}/zones/{room_id}/schedule");
    assert_eq!(call(&app, Method::PUT, &path, Some(&owner), Some(plan)).await.0, 200);
    let guest = app.connect(app.join(code, "Gil").await.token.as_str()).await;
    let before = guest.snapshot().await;
    assert_eq!(before["day_part"]["name"], Value::Null);
    app.clock.advance(17 * 60_000);
    let announced = guest.wait_for("room:changed", |v| has_change(v, "day_part_changed")).await;
    assert_eq!(announced["changes"][0]["day_part"]["name"], "Closing", "{announced}");
    assert_eq!(announced["version"], before["version"].as_u64().expect("version") + 1, "one write");
}

/// A zone whose queue runs dry plays on: the autopilot picks a catalogue
/// track for the guests present and says why; a fallback list chosen by
/// the staff wins over it.
#[tokio::test]
async fn the_autopilot_fills_a_silent_zone_from_the_catalogue_with_a_reason() {
    let app = spawn_app().await;
    let (owner, _) = register(&app, "owen").await;
    let (_, created) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(details("Club"))).await;
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    let tracks: Vec<String> = (1..=8).map(TestApp::track_id).collect();
    let catalogue = format!("/api/venues/{id}/catalogue");
    call(&app, Method::POST, &catalogue, Some(&owner), Some(json!({"track_ids": tracks}))).await;
    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&owner), Some(json!({"name": "Floor"})))
            .await;
    let code = zone["zone"]["code"].as_str().expect("code");
    let host = app.connect(zone["token"].as_str().expect("token")).await;
    let guest = app.connect(app.join(code, "Gil").await.token.as_str()).await;
    guest.ok("queue:add", json!({"track_id": tracks[0]})).await;
    let first = guest.snapshot().await["now_playing"].clone();
    assert_eq!(first["track"]["id"], tracks[0].as_str());
    assert_eq!(first.get("reason"), None, "a guest's track has no reason");
    host.ok("player:skip", json!({})).await;
    let picked = guest
        .wait_for("room:changed", |v| {
            v["changes"].as_array().is_some_and(|cs| cs.iter().any(|c| c["now_playing"]["reason"].is_string()))
        })
        .await;
    let now_playing = picked["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find_map(|c| c["now_playing"].as_object().cloned())
        .expect("now playing");
    let id_played = now_playing["track"]["id"].as_str().expect("id");
    assert!(tracks.iter().any(|t| t == id_played) && id_played != tracks[0], "a new catalogue track: {id_played}");
    assert_ne!(now_playing["track"]["artists"], first["track"]["artists"], "not the same artist again at once");
    let reason = now_playing["reason"].as_str().expect("reason");
    assert!(reason.contains("guest") || reason.contains("catalogue"), "{reason}");

    // With a fallback list the staff chose, the list plays instead.
    host.ok("room:set_fallback", json!({"track_ids": [tracks[7]]})).await;
    host.ok("player:skip", json!({})).await;
    let snapshot = guest.snapshot().await;
    assert_eq!(snapshot["now_playing"]["track"]["id"], tracks[7].as_str());
    assert_eq!(snapshot["now_playing"].get("reason"), None);
}

/// A guest who scans in without an account picks a few genres from the
/// zone's catalogue; the autopilot plays for them.
#[tokio::test]
async fn quick_picks_on_joining_a_zone_steer_the_autopilot() {
    let app = spawn_app().await;
    let (owner, _) = register(&app, "olga").await;
    let (_, created) = call(&app, Method::POST, "/api/venues", Some(&owner), Some(details("Corner"))).await;
    let id = created["venue"]["id"].as_str().expect("id").to_string();
    // One track of each of eight artists: several genres.
    let tracks: Vec<String> = (0..8).map(|n| TestApp::track_id(1 + 8 * n)).collect();
    let catalogue = format!("/api/venues/{id}/catalogue");
    call(&app, Method::POST, &catalogue, Some(&owner), Some(json!({"track_ids": tracks}))).await;
    let (_, zone) =
        call(&app, Method::POST, &format!("/api/venues/{id}/zones"), Some(&owner), Some(json!({"name": "Shop"}))).await;
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    let guest = app.connect(&app.join(code, "Gus").await.token).await;

    let mut genres = Vec::new();
    for track in &tracks {
        for genre in app.state.store.track(track).await.expect("read").expect("track").genres {
            if !genres.contains(&genre) {
                genres.push(genre);
            }
        }
    }
    let options = guest.ok("picks:options", json!({})).await;
    let offered: Vec<String> =
        options["genres"].as_array().expect("genres").iter().map(|g| g.as_str().expect("genre").to_string()).collect();
    assert!(!offered.is_empty() && offered.iter().all(|g| genres.contains(g)), "{options}");
    assert_eq!((options["picks"].clone(), options["max"].clone()), (json!([]), json!(3)));

    let wanted = offered.last().expect("a genre").clone();
    let set = guest.ok("picks:set", json!({"genres": [wanted.to_uppercase()]})).await;
    assert_eq!(set["picks"], json!([wanted.to_lowercase()]));
    assert_eq!(guest.ok("picks:options", json!({})).await["picks"], json!([wanted.to_lowercase()]));

    let filled = app.state.autopilot.fill(room_id).await.expect("fill").expect("a pick");
    let playing = filled.now_playing.expect("playing");
    assert!(playing.track.genres.contains(&wanted), "{:?} for {wanted}", playing.track.genres);
    assert_eq!(playing.reason.as_deref(), Some(format!("a guest here likes {wanted}").as_str()));

    // Refused, and nothing changed.
    let version = guest.snapshot().await["version"].clone();
    for (data, code) in [
        (json!({"genres": ["polka from mars"]}), "invalid_picks"),
        (json!({"genres": [&wanted, &wanted, &wanted, &wanted]}), "invalid_picks"),
        (json!({"genres": "disco"}), "invalid_payload"),
        (json!({}), "invalid_payload"),
    ] {
        assert_eq!(guest.refused("picks:set", data.clone()).await, code, "{data}");
    }
    assert_eq!(guest.snapshot().await["version"], version);
    let party = app.create_room(json!({})).await;
    let partier = app.connect(&party.token).await;
    assert_eq!(partier.refused("picks:options", json!({})).await, "not_a_zone");
    assert_eq!(partier.refused("picks:set", json!({"genres": ["pop"]})).await, "not_a_zone");
}

/// A zone of venue `id` whose catalogue holds library tracks 1..=`tracks`
/// and whose requests wait for approval: (room id, code, tracks).
async fn approval_zone(app: &TestApp, id: &str, owner: &str, tracks: usize) -> (String, String, Vec<String>) {
    let tracks: Vec<String> = (1..=tracks).map(TestApp::track_id).collect();
    let catalogue = format!("/api/venues/{id}/catalogue");
    call(app, Method::POST, &catalogue, Some(owner), Some(json!({"track_ids": tracks}))).await;
    let zones = format!("/api/venues/{id}/zones");
    let (_, zone) = call(app, Method::POST, &zones, Some(owner), Some(json!({"name": "Bar"}))).await;
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    let schedule = format!("/api/venues/{id}/zones/{room_id}/schedule");
    let plan = json!({"defaults": {"approval": true}});
    assert_eq!(call(app, Method::PUT, &schedule, Some(owner), Some(plan)).await.0, 200);
    (room_id.to_string(), code.to_string(), tracks)
}

/// The owner's report, asked until `ready` holds (events are recorded
/// right after the commit, apart from it).
async fn report_when(app: &TestApp, path: &str, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (status, report) = call(app, Method::GET, path, Some(token), None).await;
        assert_eq!(status, 200, "{report}");
        if ready(&report) {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the report never showed what was expected");
}

#[tokio::test]
async fn the_dashboard_counts_plays_requests_votes_and_guests() {
    let app = spawn_app().await;
    let (id, people) = venue_with_staff(&app).await;
    let (room_id, code, tracks) = approval_zone(&app, &id, &people.owner, 4).await;
    let (room_id, code) = (room_id.as_str(), code.as_str());
    let zones = format!("/api/venues/{id}/zones");
    let (_, terrace) = call(&app, Method::POST, &zones, Some(&people.owner), Some(json!({"name": "Terrace"}))).await;

    let analytics = format!("/api/venues/{id}/analytics");
    let (status, empty) = call(&app, Method::GET, &analytics, Some(&people.manager), None).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!((empty["days"].as_array().map(Vec::len), empty["totals"]["plays"].as_u64()), (Some(30), Some(0)));
    assert_eq!(empty["hours"].as_array().map(Vec::len), Some(24));
    assert_eq!(empty["time_zone"], "Europe/Paris");

    let join = format!("/api/rooms/{code}/join");
    let (_, sam) = app.post(&join, json!({"name": "Sam", "account_token": people.staff})).await;
    let staff = app.connect(sam["token"].as_str().expect("token")).await;
    let gil = app.connect(app.join(code, "Gil").await.token.as_str()).await;
    let ivy = app.connect(app.join(code, "Ivy").await.token.as_str()).await;

    let asked = gil.ok("queue:add", json!({"track_id": tracks[0]})).await;
    staff.ok("request:approve", json!({"request_id": asked["request"]["id"]})).await;
    let declined = ivy.ok("queue:add", json!({"track_id": tracks[1]})).await;
    staff.ok("request:decline", json!({"request_id": declined["request"]["id"]})).await;
    staff.ok("queue:add", json!({"track_id": tracks[2]})).await;
    let entry_id = crate::helpers::queue_ids(&staff.snapshot().await)[0].clone();
    for guest in [&gil, &ivy] {
        guest.ok("queue:vote", json!({"entry_id": entry_id, "value": 1})).await;
    }
    staff.ok("player:skip", json!({})).await;
    staff.ok("player:skip", json!({})).await;

    let report = report_when(&app, &analytics, &people.owner, |r| {
        r["totals"]["plays"] == 2 && r["totals"]["requests_declined"] == 1 && r["totals"]["guests"] == 3
    })
    .await;
    let totals = &report["totals"];
    assert_eq!(totals["skips"], 2, "{report}");
    // An entry starts with its adder's vote: 1 for Gil's request, 3 for Sam's track.
    assert_eq!((totals["skip_rate"].as_f64(), totals["votes_up"].as_u64()), (Some(1.0), Some(4)), "{report}");
    assert_eq!(totals["requests_approved"], 1, "{report}");
    let today = report["days"].as_array().and_then(|d| d.last()).cloned().expect("today");
    assert_eq!((today["plays"].as_u64(), today["guests"].as_u64()), (Some(2), Some(3)), "{report}");
    let voted = report["tracks"].as_array().expect("tracks").iter().find(|t| t["track_id"] == tracks[2].as_str());
    assert_eq!(voted.map(|t| t["votes_up"].clone()), Some(json!(3)), "{report}");
    let seen: u64 = report["hours"].as_array().expect("hours").iter().filter_map(|h| h["guests"].as_u64()).sum();
    assert!(seen >= 3, "each guest is present in an hour: {report}");

    // One zone, or another; the same figures by range.
    let (_, bar) = call(&app, Method::GET, &format!("{analytics}?zone={room_id}"), Some(&people.owner), None).await;
    assert_eq!(bar["totals"]["plays"], 2, "{bar}");
    let terrace_id = terrace["zone"]["room_id"].as_str().expect("terrace");
    let (_, other) =
        call(&app, Method::GET, &format!("{analytics}?zone={terrace_id}"), Some(&people.owner), None).await;
    assert_eq!(other["totals"]["plays"], 0, "{other}");
    let day = today["day"].as_str().expect("day");
    let one_day = format!("{analytics}?from={day}&to={day}");
    let (_, single) = call(&app, Method::GET, &one_day, Some(&people.owner), None).await;
    assert_eq!((single["days"].as_array().map(Vec::len), single["totals"]["plays"].as_u64()), (Some(1), Some(2)));

    // The CSV holds every played track.
    let export = app
        .http
        .get(app.url(&format!("{analytics}/export?table=tracks")))
        .bearer_auth(&people.manager)
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    assert!(export.headers()["content-disposition"].to_str().expect("disposition").contains("tracks-"));
    let csv = export.text().await.expect("csv");
    let title = voted.map(|t| t["title"].as_str().unwrap_or_default().to_string()).unwrap_or_default();
    assert!(csv.starts_with("track_id,title,artist,plays,skips,skip_rate,votes_up,votes_down\n"), "{csv}");
    assert!(csv.contains(&title) && csv.lines().count() == 3, "{csv}");

    // Who may see it, and bad input: typed errors.
    let refusals = [
        (Some(people.staff.as_str()), analytics.clone(), 403, "forbidden"),
        (Some(people.outsider.as_str()), analytics.clone(), 403, "not_venue_staff"),
        (Some("forged.token"), analytics.clone(), 401, "unauthorized"),
        (None, analytics.clone(), 401, "unauthorized"),
        (Some(people.owner.as_str()), format!("{analytics}?from=1926-01-01&to=2026-01-01"), 400, "invalid_range"),
        (Some(people.owner.as_str()), format!("{analytics}?from=2026-12-05&to=2026-12-01"), 400, "invalid_range"),
        (Some(people.owner.as_str()), format!("{analytics}?from=2026-02-30"), 400, "invalid_range"),
        (Some(people.owner.as_str()), format!("{analytics}?from=last%20week"), 400, "invalid_range"),
        (Some(people.owner.as_str()), format!("{analytics}?colour=red"), 400, "invalid_payload"),
        (Some(people.owner.as_str()), format!("{analytics}?zone=nope"), 404, "zone_not_found"),
        (Some(people.owner.as_str()), format!("{analytics}?table=tracks"), 400, "invalid_payload"),
        (Some(people.owner.as_str()), format!("{analytics}/export?table=secrets"), 400, "invalid_payload"),
        (Some(people.owner.as_str()), "/api/venues/nope/analytics".to_string(), 404, "venue_not_found"),
    ];
    for (token, path, status, code) in refusals {
        let (got, body) = call(&app, Method::GET, &path, token, None).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{path}: {body}");
    }
}

#[tokio::test]
async fn removed_staff_still_connected_lose_their_zone_powers_at_once() {
    let app = spawn_app().await;
    let (id, people) = venue_with_staff(&app).await;
    let (_, code, tracks) = approval_zone(&app, &id, &people.owner, 2).await;
    let join = format!("/api/rooms/{code}/join");
    let (_, sam) = app.post(&join, json!({"name": "Sam", "account_token": people.staff})).await;
    let staff = app.connect(sam["token"].as_str().expect("token")).await;
    assert_eq!(staff.snapshot().await["me"]["role"], "cohost");
    let guest = app.connect(app.join(&code, "Gil").await.token.as_str()).await;
    let asked = guest.ok("queue:add", json!({"track_id": tracks[0]})).await;

    let path = format!("/api/venues/{id}/staff/{}", people.staff_id);
    assert_eq!(call(&app, Method::DELETE, &path, Some(&people.owner), None).await.0, 204);
    let told = staff.wait_for("room:changed", |v| has_change(v, "member_updated")).await;
    assert!(told.to_string().contains(sam["member"]["id"].as_str().expect("id")), "{told}");
    let snapshot = staff.snapshot().await;
    assert_eq!(snapshot["me"]["role"], "guest", "{snapshot}");
    let version = snapshot["version"].clone();
    for (event, payload) in [
        ("request:approve", json!({"request_id": asked["request"]["id"]})),
        ("request:decline", json!({"request_id": asked["request"]["id"]})),
        ("player:skip", json!({})),
    ] {
        assert_eq!(staff.refused(event, payload).await, "forbidden", "{event}");
    }
    assert_eq!(staff.snapshot().await["version"], version, "refused: nothing changed");
    // Joining again with the account no longer makes them co-host.
    let (_, again) = app.post(&join, json!({"name": "Sam", "account_token": people.staff})).await;
    assert_eq!(again["member"]["role"], "guest", "{again}");
}
