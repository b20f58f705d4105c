//! Socket.IO: the handshake, snapshots, live changes, moderation, presence.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{SioClient, TestApp, queue_ids, spawn_app, spawn_with};

#[tokio::test]
async fn a_missing_forged_or_unknown_token_is_refused_with_unauthorized() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let (payload, sig) = host.token.split_once('.').expect("token shape");
    let forged = format!("{payload}x.{sig}");
    let other_key = "eyJyIjoieCIsIm0iOiJ5In0.AAAA";
    for auth in [
        json!({}),
        json!(null),
        json!({"token": 42}),
        json!({"token": forged}),
        json!({"token": other_key}),
        json!("str"),
    ] {
        let result = SioClient::connect(app.addr, auth.clone()).await;
        assert_eq!(result.err().as_deref(), Some("unauthorized"), "{auth}");
    }
}

#[tokio::test]
async fn connecting_sends_a_snapshot_with_version_queue_now_playing_and_members() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Gus").await;
    let socket = app.connect(&guest.token).await;
    let snapshot = socket.wait_for("room:snapshot", |_| true).await;
    assert_eq!(snapshot["version"], 2, "created (1) + one join");
    assert_eq!(snapshot["queue"], json!([]));
    assert_eq!(snapshot["now_playing"], Value::Null);
    assert_eq!(snapshot["me"]["id"], guest.member_id.as_str());
    let members = snapshot["members"].as_array().expect("members");
    let roles: Vec<_> = members.iter().map(|m| (m["name"].as_str(), m["role"].as_str())).collect();
    assert_eq!(roles, [(Some("Hana"), Some("host")), (Some("Gus"), Some("guest"))]);
    assert!(snapshot["server_time"].as_u64().is_some());
    assert_eq!(snapshot["online_count"], 1, "the guest alone is connected");
    let host_socket = app.connect(&host.token).await;
    let snapshot = host_socket.wait_for("room:snapshot", |_| true).await;
    assert_eq!(snapshot["online_count"], 2, "the guest and the host");
}

#[tokio::test]
async fn every_member_sees_each_change_once_in_version_order_with_the_same_queue() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let mut guests = Vec::new();
    for name in ["Ada", "Bo", "Cy"] {
        let g = app.join(&host.code, name).await;
        guests.push((app.connect(&g.token).await, g));
    }
    let v0 = hs.snapshot().await["version"].as_u64().expect("version");
    // The first track starts playing at once; the next two queue up.
    let first = guests[0].0.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    assert_eq!(first["now_playing_entry_id"].as_str().map(str::len), Some(16));
    let a = guests[0].0.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    let b = guests[1].0.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    let (a_id, b_id) = (a["entry"]["id"].clone(), b["entry"]["id"].clone());
    assert_eq!(a["entry"]["score"], 1);
    guests[2].0.ok("queue:vote", json!({"entry_id": b_id, "value": 1})).await;
    let dup = guests[2].0.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    assert_eq!(
        (dup["duplicate"].as_bool(), dup["entry"]["score"].as_i64()),
        (Some(true), Some(2)),
        "already up-voted: no change"
    );
    let last = guests[1].0.ok("queue:vote", json!({"entry_id": a_id, "value": -1})).await;
    let v_end = last["version"].as_u64().expect("version");
    assert_eq!(v_end, v0 + 5, "add, add, add, vote, vote — the duplicate changed nothing");
    let expected_order = json!([b_id, a_id]);
    for socket in std::iter::once(&hs).chain(guests.iter().map(|(s, _)| s)) {
        let last = socket.changed(v_end).await;
        assert_eq!(last["order"], expected_order);
        let versions: Vec<u64> =
            socket.events("room:changed").iter().filter_map(|c| c["version"].as_u64()).filter(|v| *v > v0).collect();
        let expected: Vec<u64> = ((v0 + 1)..=v_end).collect();
        assert_eq!(versions, expected, "each version exactly once, in order");
        let snapshot = socket.snapshot().await;
        assert_eq!(snapshot["version"].as_u64(), Some(v_end));
        assert_eq!(json!(queue_ids(&snapshot)), expected_order);
    }
}

#[tokio::test]
async fn a_guest_attempting_host_actions_gets_forbidden_and_nothing_changes() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let guest = app.join(&host.code, "Gil").await;
    let other = app.join(&host.code, "Oda").await;
    let gs = app.connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();
    let before = gs.snapshot().await;
    let attempts = [
        ("player:skip", json!({})),
        ("player:pause", json!({})),
        ("queue:pin", json!({"entry_id": entry})),
        ("queue:unpin", json!({"entry_id": entry})),
        ("member:kick", json!({"member_id": other.member_id})),
        ("member:ban", json!({"member_id": other.member_id})),
        ("member:promote", json!({"member_id": guest.member_id})),
        ("room:update_rules", json!({"rules": {"fair_mode": true}})),
        ("room:set_fallback", json!({"track_ids": []})),
    ];
    for (event, data) in attempts {
        assert_eq!(gs.refused(event, data).await, "forbidden", "{event}");
    }
    let after = gs.snapshot().await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["queue"], before["queue"]);
}

#[tokio::test]
async fn the_host_moderates_the_queue_and_sets_rules() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let guest = app.join(&host.code, "Gil").await;
    let gs = app.connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let e2 = gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();
    let e3 = gs.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await["entry"]["id"].clone();
    let (_, info) = app.get(&format!("/api/rooms/{}", host.code)).await;
    let join_url = gs.snapshot().await["room"]["join_url"].clone();
    assert_eq!(join_url, info["room"]["join_url"], "the snapshot has the room's join link, as REST gives it");
    hs.ok("queue:unpin", json!({"entry_id": e3})).await;
    assert_eq!(json!(queue_ids(&gs.snapshot().await)), json!([e2, e3]), "unpinning what is not pinned changes nothing");
    hs.ok("queue:pin", json!({"entry_id": e3})).await;
    assert_eq!(json!(queue_ids(&gs.snapshot().await)), json!([e3, e2]));
    hs.ok("queue:unpin", json!({"entry_id": e3})).await;
    assert_eq!(json!(queue_ids(&gs.snapshot().await)), json!([e2, e3]), "unpinned, back to its place");
    hs.ok("queue:pin", json!({"entry_id": e3})).await;
    let playing = gs.snapshot().await["now_playing"]["track"]["id"].clone();
    let before = gs.snapshot().await["version"].clone();
    assert_eq!(gs.refused("queue:add", json!({"track_id": playing})).await, "already_playing");
    assert_eq!(gs.snapshot().await["version"], before, "a refused add changes nothing");
    hs.ok("queue:remove", json!({"entry_id": e2})).await;
    hs.ok("room:update_rules", json!({"rules": {"allow_downvotes": false, "max_queued_per_guest": 1}})).await;
    let snapshot = gs.snapshot().await;
    assert_eq!(json!(queue_ids(&snapshot)), json!([e3]));
    assert_eq!(snapshot["room"]["rules"]["allow_downvotes"], false);
    assert_eq!(snapshot["room"]["rules"]["fair_mode"], false, "rules not sent keep their value");
    assert_eq!(gs.refused("queue:vote", json!({"entry_id": e3, "value": -1})).await, "downvotes_disabled");
    assert_eq!(gs.refused("queue:add", json!({"track_id": TestApp::track_id(4)})).await, "queue_limit_reached");
    hs.ok("player:pause", json!({})).await;
    let paused = gs.snapshot().await;
    assert_eq!(paused["now_playing"]["paused"], true);
    assert_eq!(hs.refused("player:pause", json!({})).await, "already_paused");
    hs.ok("player:resume", json!({})).await;
    let playing = paused["now_playing"]["entry_id"].clone();
    hs.ok("player:skip", json!({})).await;
    let skipped = gs.snapshot().await;
    assert_ne!(skipped["now_playing"]["entry_id"], playing);
    assert_eq!(skipped["now_playing"]["entry_id"], e3);
    assert_eq!(skipped["recent_plays"][0]["end"], "skipped");
}

#[tokio::test]
async fn a_promoted_cohost_can_moderate() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let co = app.join(&host.code, "Co").await;
    let cs = app.connect(&co.token).await;
    hs.ok("member:promote", json!({"member_id": co.member_id})).await;
    let promoted = cs.wait_for("room:changed", |c| c["changes"][0]["type"] == "member_updated").await;
    assert_eq!(promoted["changes"][0]["member"]["role"], "cohost");
    cs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    cs.ok("player:pause", json!({})).await;
    assert_eq!(cs.refused("member:kick", json!({"member_id": host.member_id})).await, "target_is_host");
}

#[tokio::test]
async fn a_kicked_guest_is_told_and_disconnected_and_rejoins_owning_her_tracks() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let guest = app.join(&host.code, "Kit").await;
    let gs = app.connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();
    hs.ok("member:kick", json!({"member_id": guest.member_id})).await;
    let removed = gs.wait_for("room:removed", |_| true).await;
    assert_eq!(removed["reason"], "kicked");
    gs.wait_closed().await;
    let again = SioClient::connect(app.addr, json!({"token": guest.token})).await;
    assert_eq!(again.err().as_deref(), Some("unauthorized"));
    let (status, body) =
        app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": "Kit again", "token": guest.token})).await;
    assert_eq!(status, 200);
    assert_eq!(body["member"]["id"], guest.member_id.as_str(), "the same member, so her tracks are hers");
    assert_eq!((body["member"]["name"].as_str(), body["member"]["role"].as_str()), (Some("Kit again"), Some("guest")));
    let back = app.connect(body["token"].as_str().expect("token")).await;
    let snapshot = back.snapshot().await;
    let mine = snapshot["queue"].as_array().expect("queue").iter().find(|e| e["id"] == entry).cloned().expect("entry");
    assert_eq!((mine["added_by"].clone(), mine["my_vote"].clone()), (json!(guest.member_id), json!(1)));
    back.ok("queue:remove", json!({"entry_id": entry})).await;
    // Someone else's token for this room does not make them her.
    let (_, stranger) = app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": "Kat"})).await;
    assert_ne!(stranger["member"]["id"], guest.member_id.as_str());
}

#[tokio::test]
async fn a_banned_guest_cannot_reconnect_or_rejoin_and_loses_their_entries() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let guest = app.join(&host.code, "Troll").await;
    let gs = app.connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    hs.ok("member:ban", json!({"member_id": guest.member_id})).await;
    assert_eq!(gs.wait_for("room:removed", |_| true).await["reason"], "banned");
    gs.wait_closed().await;
    assert_eq!(SioClient::connect(app.addr, json!({"token": guest.token})).await.err().as_deref(), Some("banned"));
    let (status, body) =
        app.post(&format!("/api/rooms/{}/join", host.code), json!({"name": "Troll", "token": guest.token})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("banned")));
    let snapshot = hs.snapshot().await;
    assert_eq!(snapshot["queue"], json!([]));
    assert!(snapshot["members"].as_array().expect("members").iter().all(|m| m["id"] != guest.member_id.as_str()));
}

/// The state a `room:presence` batch gives `member_id`, if it names them.
fn presence_of(p: &Value, member_id: &str) -> Option<bool> {
    let changes = p["changes"].as_array()?;
    changes.iter().find(|c| c["member_id"] == member_id).and_then(|c| c["online"].as_bool())
}

#[tokio::test]
async fn presence_counts_a_guest_with_two_tabs_once_and_broadcasts_leaving() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let guest = app.join(&host.code, "Tab").await;
    let tab1 = app.connect(&guest.token).await;
    let online = hs.wait_for("room:presence", |p| presence_of(p, &guest.member_id) == Some(true)).await;
    assert_eq!(online["online_count"], 2);
    let tab2 = app.connect(&guest.token).await;
    let snapshot = tab2.wait_for("room:snapshot", |_| true).await;
    let me =
        snapshot["members"].as_array().expect("members").iter().find(|m| m["id"] == guest.member_id.as_str()).cloned();
    assert_eq!(me.map(|m| m["online"].clone()), Some(json!(true)));
    drop(tab2);
    drop(tab1);
    let offline = hs.wait_for("room:presence", |p| presence_of(p, &guest.member_id) == Some(false)).await;
    assert_eq!(offline["online_count"], 1);
    let online_events =
        hs.events("room:presence").iter().filter(|p| presence_of(p, &guest.member_id) == Some(true)).count();
    assert_eq!(online_events, 1, "the second tab did not announce the guest again");
}

#[tokio::test]
async fn a_crowd_connecting_at_once_is_announced_in_a_few_presence_batches() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    let mut guests = Vec::new();
    for n in 0..30 {
        guests.push(app.join(&host.code, &format!("Guest {n}")).await);
    }
    let sockets = futures_util::future::join_all(guests.iter().map(|g| app.connect(&g.token))).await;
    for guest in &guests {
        hs.wait_for("room:presence", |p| presence_of(p, &guest.member_id) == Some(true)).await;
    }
    let batches = hs.events("room:presence");
    assert!(batches.iter().any(|p| p["online_count"] == 31), "the count reached everyone: {batches:?}");
    assert!(batches.len() < 30, "30 connects made {} presence events, not a few batches", batches.len());
    drop(sockets);
}

#[tokio::test]
async fn vote_to_skip_skips_once_enough_present_members_agree() {
    let app = spawn_app().await;
    let host = app.create_room(json!({"skip_threshold": 0.5})).await;
    let hs = app.connect(&host.token).await;
    let mut sockets = Vec::new();
    for name in ["A", "B", "C"] {
        let g = app.join(&host.code, name).await;
        sockets.push(app.connect(&g.token).await);
    }
    sockets[0].ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    sockets[0].ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    let playing = hs.snapshot().await["now_playing"]["track"]["id"].clone();
    sockets[1].ok("player:vote_skip", json!({})).await;
    let progress = hs.wait_for("room:changed", |c| c["changes"][0]["type"] == "skip_votes").await;
    assert_eq!(
        (progress["changes"][0]["count"].as_u64(), progress["changes"][0]["needed"].as_u64()),
        (Some(1), Some(2))
    );
    sockets[2].ok("player:vote_skip", json!({})).await;
    let now = hs.snapshot().await["now_playing"]["track"]["id"].clone();
    assert_ne!(now, playing);
    assert_eq!(now, TestApp::track_id(2));
}

#[tokio::test]
async fn a_big_room_sends_fifty_members_in_the_snapshot_and_pages_the_rest() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    for i in 1..60 {
        app.clock.advance(1);
        app.join(&host.code, &format!("guest {i:02}")).await;
    }
    let hs = app.connect(&host.token).await;
    let snapshot = hs.wait_for("room:snapshot", |_| true).await;
    let first: Vec<&str> =
        snapshot["members"].as_array().expect("members").iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(first.len(), 50);
    assert_eq!((first[0], first[1], first[49]), ("Hana", "guest 01", "guest 49"), "host first, then by join time");
    assert_eq!(snapshot["room"]["member_count"], 60);
    let page = hs.ok("room:members", json!({"offset": 50})).await;
    let rest: Vec<&str> =
        page["members"].as_array().expect("members").iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(rest.first().copied(), Some("guest 50"));
    assert_eq!((rest.len(), page["total"].as_u64()), (10, Some(60)));
    let small = hs.ok("room:members", json!({"offset": 0, "limit": 2})).await;
    assert_eq!(small["members"].as_array().map(Vec::len), Some(2));
    for bad in [json!({"limit": 0}), json!({"limit": 201}), json!({"offset": -1}), json!({"limit": "ten"}), json!("x")]
    {
        assert_eq!(hs.refused("room:members", bad).await, "invalid_payload");
    }
}

/// The `crowdjuke_…_total` counter from `GET /metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).expect("counter listed");
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a number")
}

#[tokio::test]
async fn a_socket_that_stops_reading_is_counted_and_learns_it_is_behind_when_it_reads_again() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let app =
        crate::helpers::spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.events_per_minute = 100_000).await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    // Big events: with 400 entries queued, every `room:changed` carries the
    // whole order (~8 KB); the server's kernel buffer alone takes 4 MB.
    let mut entry = Value::Null;
    for n in 1..=400 {
        entry = hs.ok("queue:add", json!({"track_id": TestApp::track_id(n)})).await["entry"]["id"].clone();
    }
    let guest = app.join(&host.code, "Stuck").await;
    // A phone that connects, then stops reading: a tiny receive window, so
    // the server's buffers for it fill.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small receive buffer");
    let stream = socket.connect(app.addr).await.expect("tcp");
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", app.addr);
    let (mut stuck, _) = tokio_tungstenite::client_async(url, stream).await.expect("upgrade");
    stuck.send(Message::text(format!("40{}", json!({ "token": guest.token })))).await.expect("auth");
    hs.wait_for("room:presence", |p| presence_of(p, &guest.member_id) == Some(true)).await;

    // Votes in bursts of 200 without waiting for each ack (the server
    // commits them in groups), until the stuck phone's buffers overflow:
    // before its heartbeat gives up on it.
    let dropped = counter(&app, "crowdjuke_dropped_deliveries_total").await;
    let mut last = 0;
    for _ in 0..10 {
        for n in 0..199 {
            hs.emit("queue:vote", json!({"entry_id": entry, "value": if n % 2 == 0 { -1 } else { 1 }}));
        }
        last = hs.ok("queue:vote", json!({"entry_id": entry, "value": 1})).await["version"].as_u64().expect("v");
        if counter(&app, "crowdjuke_dropped_deliveries_total").await > dropped {
            break;
        }
    }
    assert!(
        counter(&app, "crowdjuke_dropped_deliveries_total").await > dropped,
        "2,000 big changes never filled the stuck socket's buffers"
    );

    // Still stuck when the room settles (the first announcement, 3–6 s
    // after the last change, cannot be queued); then the phone reads again:
    // it must learn the room's latest version (the
    // announcement is retried until its buffer has room), or be closed by
    // the heartbeat so that it reconnects to a fresh snapshot.
    // The first announcement round: the host's socket, in the same room,
    // is sent it in the same pass that tries the stuck one.
    hs.wait_for("room:version", |v| v["version"] == last).await;
    let announced = format!("42[\"room:version\",{{\"version\":{last}}}]");
    let learned = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(Ok(message)) = stuck.next().await {
            match message {
                Message::Text(text) if text.as_str() == announced => return "announced",
                Message::Text(text) if text.as_str() == "2" => stuck.send(Message::text("3")).await.expect("pong"),
                Message::Close(_) => return "closed",
                _ => {}
            }
        }
        "closed"
    });
    let outcome = learned.await.expect("the stuck phone never learned it is behind");
    assert!(["announced", "closed"].contains(&outcome));
}

/// The cause of writes that "hung" in the multi-node suite (issue 18):
/// socketioxide sends the CONNECT packet, then spawns the connect handler;
/// an event the client sent the moment it was accepted could arrive before
/// that task had registered the event handlers, and was dropped without an
/// ack. It takes a busy runtime (the handler's task queued behind others
/// while the socket's reader runs on another worker) or a preempted
/// thread. Here both: a room whose every change goes to forty sockets, and
/// threads spinning on every core, while clients connect and emit at once.
/// The handlers are now registered before the CONNECT packet leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_the_moment_the_connection_is_accepted_is_answered() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.events_per_minute = 1_000_000).await;
    let host = app.create_room(json!({})).await;
    let mut listeners = Vec::new();
    for i in 0..40 {
        let guest = app.join(&host.code, &format!("listener {i}")).await;
        let socket = app.connect(&guest.token).await;
        socket.wait_for("room:snapshot", |_| true).await;
        listeners.push(socket);
    }
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let busy = busy.clone();
            std::thread::spawn(move || {
                while busy.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let hs = app.connect(&host.token).await;
    let entry = hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await["entry"]["id"].clone();
    let changes = {
        let busy = busy.clone();
        async move {
            let mut value = 1;
            while busy.load(std::sync::atomic::Ordering::Relaxed) {
                hs.ack("queue:vote", json!({"entry_id": entry, "value": value})).await;
                value = -value;
            }
        }
    };
    let arrivals = async {
        let mut unanswered = 0;
        for _ in 0..10 {
            let round = (0..30).map(|_| async {
                let socket = app.connect(&host.token).await;
                let reply = socket.ack_raw_unbounded(r#"["room:sync",{}]"#);
                tokio::time::timeout(Duration::from_secs(5), reply).await.is_err()
            });
            unanswered += futures_util::future::join_all(round).await.into_iter().filter(|lost| *lost).count();
        }
        busy.store(false, std::sync::atomic::Ordering::Relaxed);
        unanswered
    };
    let ((), unanswered) = tokio::join!(changes, arrivals);
    for spinner in spinners {
        spinner.join().ok();
    }
    assert_eq!(unanswered, 0, "events sent right after the handshake got no ack");
}

/// The big screen is a screen, not a person: it watches the room, is not
/// listed or counted among the people, cannot act, may play the music, and
/// staff remove it for good.
#[tokio::test]
async fn a_screen_watches_the_room_without_being_a_member_and_staff_remove_it() {
    let app = spawn_app().await;
    let host = app.create_room(json!({"skip_threshold": 0.5})).await;
    let hs = app.connect(&host.token).await;
    let guest = app.join(&host.code, "Gil").await;
    let gs = app.connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();

    let (status, opened) = app.post(&format!("/api/rooms/{}/screens", host.code), json!({})).await;
    assert_eq!(status, 201, "{opened}");
    let screen_id = opened["screen"]["id"].as_str().expect("id").to_string();
    assert!(screen_id.starts_with("screen-"));
    assert_eq!(
        (opened["screen"]["name"].as_str(), opened["screen"]["role"].as_str()),
        (Some("Big screen"), Some("screen"))
    );
    let token = opened["token"].as_str().expect("token").to_string();
    let (status, again) = app.post(&format!("/api/rooms/{}/screens", host.code), json!({"token": token})).await;
    assert_eq!((status, again["screen"]["id"].as_str()), (200, Some(screen_id.as_str())), "the same screen again");

    let screen = app.connect(&token).await;
    let seen = screen.snapshot().await;
    assert_eq!(seen["me"]["role"], "screen");
    assert_eq!(seen["me"]["id"], screen_id.as_str());
    assert_eq!(seen["online_count"], 2, "two people here; the screen is not one");
    assert_eq!(seen["room"]["member_count"], 2);
    assert!(seen["members"].as_array().expect("members").iter().all(|m| m["id"] != screen_id.as_str()));
    assert_eq!(seen["screens"], json!([{"id": screen_id, "name": "Big screen", "role": "screen", "online": true}]));
    assert_eq!(queue_ids(&seen), [entry.as_str().expect("id")]);
    let (_, info) = app.get(&format!("/api/rooms/{}", host.code)).await;
    assert_eq!(info["room"]["online_count"], 2);

    let version = seen["version"].clone();
    for (event, data) in [
        ("queue:add", json!({"track_id": TestApp::track_id(3)})),
        ("queue:vote", json!({"entry_id": entry, "value": 1})),
        ("player:vote_skip", json!({})),
        ("photo:like", json!({"photo_id": "nope"})),
        ("room:members", json!({})),
    ] {
        assert_eq!(screen.refused(event, data).await, "forbidden", "{event}");
    }
    assert_eq!(hs.snapshot().await["version"], version, "a screen changed nothing");
    let upload = app.http.post(app.url("/api/library/tracks")).bearer_auth(&token).header("content-type", "text/csv");
    let response = upload.body("title,artist,duration\nA,B,3:00\n").send().await.expect("upload");
    assert_eq!(response.status(), 403, "a screen is no member on REST either");

    // Half of the two people: one guest's vote skips (three would need two).
    gs.ok("player:vote_skip", json!({})).await;
    assert_eq!(hs.snapshot().await["now_playing"]["entry_id"], entry, "the guest's vote was enough");

    hs.ok("room:set_speaker", json!({"member_id": screen_id})).await;
    assert_eq!(hs.snapshot().await["room"]["speaker"], screen_id.as_str());
    assert_eq!(gs.refused("screen:remove", json!({"screen_id": screen_id})).await, "forbidden");
    assert_eq!(hs.refused("screen:remove", json!({"screen_id": "screen-nope"})).await, "screen_not_found");
    hs.ok("screen:remove", json!({"screen_id": screen_id})).await;
    assert_eq!(screen.wait_for("room:removed", |_| true).await["reason"], "removed");
    screen.wait_closed().await;
    let after = hs.snapshot().await;
    assert_eq!(
        (after["screens"].clone(), after["room"]["speaker"].clone()),
        (json!([]), Value::Null),
        "no speaker left"
    );
    let back = SioClient::connect(app.addr, json!({"token": token})).await;
    assert_eq!(back.err().as_deref(), Some("unauthorized"));
}

#[tokio::test]
async fn a_room_holds_ten_screens_and_bad_screen_requests_are_refused() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let path = format!("/api/rooms/{}/screens", host.code);
    for n in 0..10 {
        let (status, body) = app.post(&path, json!({"name": format!("TV {n}")})).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = app.post(&path, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("too_many_screens")), "{body}");
    for (body, status, code) in [
        (json!({"name": ""}), 400, "invalid_payload"),
        (json!({"name": 7}), 400, "invalid_payload"),
        (json!({"surprise": 1}), 400, "invalid_payload"),
    ] {
        let (got, answer) = app.post(&path, body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (status, body) = app.post("/api/rooms/ZZZZZZ/screens", json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("room_not_found")));
    // A member token is not a screen token: it opens a new screen, not the member.
    let (status, body) = app.post(&format!("/api/rooms/{}/screens", host.code), json!({"token": host.token})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("too_many_screens")));
}

/// `GET /metrics`: what an operator pages on, counted exactly (a server of
/// its own, in its own process), behind `metrics_token` when it is set.
#[tokio::test]
async fn metrics_count_sockets_events_joins_and_writes_behind_a_token() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let env = [("CROWDJUKE_METRICS_TOKEN", "m3trics-t0ken")];
    let server = crate::helpers::ServerProcess::start(dir.path(), &env, "metrics");
    let http = reqwest::Client::new();
    let url = format!("http://{}/metrics", server.addr);
    for token in [None, Some("wrong"), Some("m3trics-t0ken-and-more")] {
        let mut request = http.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("metrics");
        assert_eq!(response.status(), 404, "token {token:?}");
        assert_eq!(response.json::<Value>().await.expect("json")["error"]["code"], "not_found");
    }

    let body = json!({"name": "P", "host_name": "H"});
    let created = http.post(format!("http://{}/api/rooms", server.addr)).json(&body).send().await.expect("create");
    let host = crate::helpers::guest_from(&created.json().await.expect("json"));
    let join = |name: &str| {
        let url = format!("http://{}/api/rooms/{}/join", server.addr, host.code);
        http.post(url).json(&json!({"name": name})).send()
    };
    assert_eq!(join("Gus").await.expect("join").status(), 200);
    assert_eq!(join("").await.expect("join").status(), 400);
    let hs = SioClient::connect(server.addr, json!({"token": host.token})).await.expect("connects");
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    assert_eq!(hs.refused("queue:vote", json!({"entry_id": "nope", "value": 1})).await, "entry_not_found");
    assert_eq!(hs.refused("no:such_event", json!({})).await, "unknown_event");
    assert_eq!(hs.refused("another:made_up", json!({})).await, "unknown_event");
    let url_of = |path: &str| format!("http://{}{path}", server.addr);
    let searched = http.get(url_of("/api/tracks?q=demo")).bearer_auth(&host.token).send().await.expect("search");
    assert_eq!(searched.status(), 200);
    let png = crate::photos::encoded(64, 48, image::ImageFormat::Png);
    let form = reqwest::multipart::Form::new()
        .part("photo", reqwest::multipart::Part::bytes(png).file_name("p.png").mime_str("image/png").expect("mime"));
    let photos = url_of(&format!("/api/rooms/{}/photos", host.code));
    let shared = http.post(photos).bearer_auth(&host.token).multipart(form).send().await.expect("upload");
    assert_eq!(shared.status(), 202);
    hs.wait_for("photo:new", |_| true).await;

    let text = http.get(&url).bearer_auth("m3trics-t0ken").send().await.expect("metrics").text().await.expect("text");
    let value = |series: &str| -> f64 {
        let line =
            text.lines().find(|l| l.starts_with(&format!("{series} "))).unwrap_or_else(|| panic!("{series} in {text}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a number")
    };
    assert_eq!(value(r#"crowdjuke_events_total{event="queue:add",result="ok"}"#), 2.0);
    assert_eq!(value(r#"crowdjuke_events_total{event="queue:vote",result="entry_not_found"}"#), 1.0);
    assert_eq!(
        value(r#"crowdjuke_events_total{event="unknown",result="unknown_event"}"#),
        2.0,
        "one label for made-up names"
    );
    assert!(!text.contains("no:such_event"), "a client's words never become a series");
    assert_eq!(value(r#"crowdjuke_joins_total{result="ok"}"#), 1.0);
    assert_eq!(value(r#"crowdjuke_joins_total{result="invalid_payload"}"#), 1.0);
    assert_eq!(value("crowdjuke_sockets"), 1.0);
    assert_eq!(value("crowdjuke_rooms"), 1.0);
    // At least the join and the two adds, one histogram entry per write.
    let writes = value("crowdjuke_room_write_seconds_count");
    assert!(writes >= 3.0, "{writes} room writes");
    assert_eq!(value("crowdjuke_room_write_commands_count"), writes);
    assert_eq!(value("crowdjuke_dropped_deliveries_total"), 0.0);
    assert!(value("crowdjuke_process_resident_bytes") > 1e6);
    assert!(text.contains("# TYPE crowdjuke_room_write_seconds histogram"), "buckets, not a summary");
    // The store and the search engine under those writes and that search.
    // A refused vote is a room write that stores nothing: the join and the two adds are saved.
    assert!(value(r#"crowdjuke_store_call_seconds_count{call="save_room"}"#) >= 3.0);
    assert!(value(r#"crowdjuke_store_call_seconds_count{call="room_id_by_code"}"#) >= 1.0, "the join");
    assert!(value(r#"crowdjuke_search_call_seconds_count{call="search",index="tracks"}"#) >= 1.0);
    assert!(!text.contains("crowdjuke_store_errors_total{"), "no store call failed");
    assert!(value(r#"crowdjuke_broadcasts_total{event="room:changed",reach="all"}"#) >= 3.0);
    // The photo's render job came and went (the gauge is set before the
    // render is announced, and dropped with its task just after).
    let mut jobs = Vec::new();
    for _ in 0..100 {
        let text =
            http.get(&url).bearer_auth("m3trics-t0ken").send().await.expect("metrics").text().await.expect("text");
        jobs = text.lines().filter(|l| l.starts_with("crowdjuke_background_jobs{")).map(str::to_string).collect();
        if jobs.iter().any(|l| l == r#"crowdjuke_background_jobs{kind="photo_render"} 0"#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(jobs, [r#"crowdjuke_background_jobs{kind="photo_render"} 0"#]);

    drop(hs);
    let mut sockets = 1.0;
    for _ in 0..100 {
        let text =
            http.get(&url).bearer_auth("m3trics-t0ken").send().await.expect("metrics").text().await.expect("text");
        sockets = text
            .lines()
            .find_map(|l| l.strip_prefix("crowdjuke_sockets "))
            .and_then(|v| v.parse().ok())
            .expect("gauge");
        if sockets == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sockets, 0.0, "a closed socket is uncounted");
}

/// Behind a proxy on the same machine every request comes from loopback:
/// without a token, `/metrics` answers nobody there.
#[tokio::test]
async fn metrics_behind_a_proxy_need_the_token() {
    let app = spawn_with(tempfile::TempDir::new().expect("dir"), |s| s.behind_proxy = true).await;
    let response = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), 404);
    let app = crate::helpers::spawn_app().await;
    let response = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), 200, "no proxy: this machine may look");
}
