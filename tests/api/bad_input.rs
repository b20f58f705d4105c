//! Bad input over Socket.IO: each case gets a typed error ack, changes
//! nothing, and the other members of the room never notice.

use crowdjuke::store::MemberList;
use serde_json::{Value, json};

use crate::helpers::{SioClient, TestApp, spawn_app};

fn member_id(snapshot: &Value, role: &str) -> String {
    let members = snapshot["members"].as_array().expect("members");
    let member = members.iter().find(|m| m["role"] == role).expect("member with role");
    member["id"].as_str().expect("id").to_string()
}

struct Party {
    app: TestApp,
    host: SioClient,
    guest: SioClient,
    entry_id: Value,
}

async fn party() -> Party {
    let app = spawn_app().await;
    let h = app.create_room(json!({})).await;
    let host = app.connect(&h.token).await;
    let g = app.join(&h.code, "Guest").await;
    let guest = app.connect(&g.token).await;
    guest.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry_id = guest.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();
    Party { app, host, guest, entry_id }
}

impl Party {
    /// The room is unchanged and the host still gets live changes.
    async fn assert_unchanged_and_alive(&self, before: &Value) {
        let now = self.host.snapshot().await;
        assert_eq!(now["version"], before["version"], "bad input changed the room");
        assert_eq!(now["queue"], before["queue"]);
        let v = self.host.ok("queue:add", json!({"track_id": TestApp::track_id(9)})).await["version"]
            .as_u64()
            .expect("version");
        self.host.changed(v).await;
    }
}

#[tokio::test]
async fn wrong_types_missing_fields_and_unknown_ids_get_typed_errors() {
    let p = party().await;
    let before = p.host.snapshot().await;
    let cases = [
        ("queue:add", json!({}), "invalid_payload"),
        ("queue:add", json!({"track_id": 7}), "invalid_payload"),
        ("queue:add", json!("demo-0001"), "invalid_payload"),
        ("queue:add", json!([1, 2]), "invalid_payload"),
        ("queue:add", json!({"track_id": "no-such-track"}), "track_not_found"),
        ("queue:vote", json!({"entry_id": p.entry_id}), "invalid_payload"),
        ("queue:vote", json!({"entry_id": p.entry_id, "value": "1"}), "invalid_payload"),
        ("queue:vote", json!({"entry_id": p.entry_id, "value": 1.5}), "invalid_payload"),
        ("queue:vote", json!({"entry_id": p.entry_id, "value": 2}), "invalid_vote"),
        ("queue:vote", json!({"entry_id": p.entry_id, "value": -7}), "invalid_vote"),
        ("queue:vote", json!({"entry_id": p.entry_id, "value": 99_999_999_999u64}), "invalid_vote"),
        ("queue:vote", json!({"entry_id": "nope", "value": 1}), "entry_not_found"),
        ("queue:remove", json!({"entry_id": null}), "invalid_payload"),
        ("queue:remove", json!({"entry_id": "nope"}), "entry_not_found"),
        ("player:skip", json!("now"), "invalid_payload"),
        ("room:update_rules", json!({"rules": {"skip_threshold": "half"}}), "invalid_payload"),
        ("room:update_rules", json!({"rules": {"no_such_rule": 1}}), "invalid_payload"),
        ("room:update_rules", json!({"rules": {"autofill": "yes"}}), "invalid_payload"),
        ("room:update_rules", json!({"rules": {"skip_threshold": 7}}), "invalid_rules"),
        ("room:set_fallback", json!({"track_ids": ["nope"]}), "track_not_found"),
        ("member:kick", json!({"member_id": "nobody"}), "member_not_found"),
        ("member:promote", json!({}), "invalid_payload"),
        ("room:set_speaker", json!({}), "invalid_payload"),
        ("room:set_speaker", json!({"member_id": 7}), "invalid_payload"),
        ("room:set_speaker", json!({"member_id": "nobody"}), "member_not_found"),
        ("no:such_event", json!({}), "unknown_event"),
    ];
    for (event, data, code) in cases {
        let client = if event.starts_with("queue") { &p.guest } else { &p.host };
        assert_eq!(client.refused(event, data.clone()).await, code, "{event} {data}");
    }
    p.assert_unchanged_and_alive(&before).await;
}

#[tokio::test]
async fn payloads_over_the_size_limit_are_refused_with_payload_too_large() {
    let p = party().await;
    let before = p.host.snapshot().await;
    let huge = "x".repeat(20 * 1024);
    assert_eq!(p.guest.refused("queue:add", json!({"track_id": huge})).await, "payload_too_large");
    assert_eq!(
        p.guest.refused("queue:vote", json!({"entry_id": p.entry_id, "value": 1, "pad": huge})).await,
        "payload_too_large"
    );
    p.assert_unchanged_and_alive(&before).await;
}

#[tokio::test]
async fn a_frame_over_one_megabyte_closes_only_that_connection() {
    let p = party().await;
    let before = p.host.snapshot().await;
    p.guest.emit("queue:add", json!({"track_id": "y".repeat(2 * 1024 * 1024)}));
    p.guest.wait_closed().await;
    p.assert_unchanged_and_alive(&before).await;
}

#[tokio::test]
async fn unknown_events_without_ack_and_malformed_packets_do_not_hurt_anyone() {
    let p = party().await;
    let before = p.host.snapshot().await;
    p.guest.emit("totally:unknown", json!({"a": 1}));
    p.guest.emit("queue:vote", json!("garbage"));
    p.guest.send_raw("42not json at all");
    p.guest.send_raw("42[]");
    p.guest.send_raw("42[42]");
    p.guest.send_raw("4");
    p.guest.send_raw("");
    p.guest.send_raw("9999");
    p.assert_unchanged_and_alive(&before).await;
    let events_without_payload = p.host.ack_raw(r#"["player:pause"]"#).await;
    assert_eq!(events_without_payload["ok"], true, "{events_without_payload}");
}

#[tokio::test]
async fn actions_on_entries_of_another_room_find_nothing() {
    let p = party().await;
    let other = p.app.create_room(json!({})).await;
    let os = p.app.connect(&other.token).await;
    let before = p.host.snapshot().await;
    assert_eq!(os.refused("queue:vote", json!({"entry_id": p.entry_id, "value": 1})).await, "entry_not_found");
    assert_eq!(os.refused("queue:remove", json!({"entry_id": p.entry_id})).await, "entry_not_found");
    let guest_id = member_id(&before, "guest");
    assert_eq!(os.refused("member:kick", json!({"member_id": guest_id})).await, "member_not_found");
    p.assert_unchanged_and_alive(&before).await;
}

#[tokio::test]
async fn a_member_removed_by_another_node_while_still_connected_is_refused() {
    let p = party().await;
    let before = p.host.snapshot().await;
    let guest_id = member_id(&before, "guest");
    let room_id = before["room"]["id"].as_str().expect("room id");
    // Another node kicks the guest: the store changes, this node's cache and sockets do not.
    let store = &p.app.state.store;
    let mut room = store.load_room(room_id).await.expect("load").expect("room");
    let expected = room.version;
    room.members.make_mut().remove(&guest_id);
    room.version += 1;
    store.save_room(&room, expected, &[], MemberList::Changed).await.expect("saved");
    assert_eq!(p.guest.refused("queue:vote", json!({"entry_id": p.entry_id, "value": -1})).await, "not_a_member");
    assert_eq!(p.guest.refused("player:vote_skip", json!({})).await, "not_a_member");
    let after = store.load_room(room_id).await.expect("load").expect("room");
    assert_eq!(after.version, expected + 1, "the refused events changed nothing");
}

#[tokio::test]
async fn a_member_flooding_events_is_rate_limited_and_nothing_changes() {
    let app = crate::helpers::spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.events_per_minute = 3).await;
    let host = app.create_room(serde_json::json!({})).await;
    let hs = app.connect(&host.token).await;
    let before = hs.wait_for("room:snapshot", |_| true).await;
    for _ in 0..3 {
        hs.ack("room:sync", serde_json::json!({})).await;
    }
    let reply = hs.ack("queue:add", serde_json::json!({"track_id": crate::helpers::TestApp::track_id(1)})).await;
    assert_eq!(reply["error"]["code"], "rate_limited", "{reply}");
    assert_eq!(
        app.state.rooms.room(&host.room_id).await.expect("room").version,
        before["version"].as_u64().expect("v")
    );
}

/// Sends one raw HTTP/1.1 request on a fresh connection and returns the
/// status line and headers of the answer (lower case).
async fn raw_answer(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    socket.write_all(request).await.ok(); // the server may stop reading a refused body
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).to_lowercase();
    text.split("\r\n\r\n").next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_request_refused_before_its_body_is_read_says_connection_close() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let boundary = "crowdjukeboundary";
    let mut body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\ncontent-type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'x', 300_000));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let head = format!(
        "POST /api/rooms/{}/photos HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\ncontent-type: multipart/form-data; boundary={boundary}\r\ncontent-length: {}\r\n\r\n",
        host.code,
        host.token,
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend(body);
    let refused = raw_answer(&app, &request).await;
    assert!(refused.starts_with("http/1.1 400"), "{refused}");
    assert!(refused.contains("connection: close"), "{refused}");

    // A forged token on a body: refused, and said the same way.
    let forged = format!(
        "POST /api/rooms/{}/photos HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer forged\r\ncontent-type: multipart/form-data; boundary=b\r\ncontent-length: 5\r\n\r\nxxxxx",
        host.code
    );
    let refused = raw_answer(&app, forged.as_bytes()).await;
    assert!(refused.starts_with("http/1.1 401") && refused.contains("connection: close"), "{refused}");

    // An accepted request with a body keeps its connection.
    let create = r#"{"name":"Kept","host_name":"Ana"}"#;
    let ok = format!(
        "POST /api/rooms HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{create}",
        create.len()
    );
    let kept = raw_answer(&app, ok.as_bytes()).await;
    assert!(kept.starts_with("http/1.1 201") && !kept.contains("connection: close"), "{kept}");
}
