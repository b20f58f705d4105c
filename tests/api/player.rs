//! The player clock, driven by a manual clock: tracks end exactly once, the
//! fallback playlist fills silence, idle rooms expire.

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

#[tokio::test]
async fn a_track_ends_exactly_once_even_when_many_ticks_race() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    for n in 1..=3 {
        hs.ok("queue:add", json!({"track_id": TestApp::track_id(n)})).await;
    }
    let first = hs.snapshot().await;
    let duration = first["now_playing"]["track"]["duration_ms"].as_u64().expect("duration");
    app.clock.advance(duration);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move { state.player.advance_ended_tracks().await })
        })
        .collect();
    for racer in racers {
        racer.await.expect("tick");
    }
    let after = hs.snapshot().await;
    assert_eq!(after["now_playing"]["track"]["id"], TestApp::track_id(2));
    assert_eq!(after["version"].as_u64(), first["version"].as_u64().map(|v| v + 1), "one advance, one version");
    let (_, history) = app.get(&format!("/api/rooms/{}/history", host.code)).await;
    let plays = history["plays"].as_array().expect("plays");
    assert_eq!(plays.len(), 1);
    assert_eq!((plays[0]["track_id"].as_str(), plays[0]["end"].as_str()), (Some("demo-0001"), Some("finished")));
}

#[tokio::test]
async fn tracks_play_in_order_and_the_fallback_fills_an_empty_queue() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("room:set_fallback", json!({"track_ids": [TestApp::track_id(50)]})).await;
    assert_eq!(hs.snapshot().await["now_playing"]["track"]["id"], TestApp::track_id(50));
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    let mut played = Vec::new();
    for _ in 0..4 {
        let snapshot = hs.snapshot().await;
        played.push(snapshot["now_playing"]["track"]["id"].as_str().expect("playing").to_string());
        app.clock.advance(snapshot["now_playing"]["track"]["duration_ms"].as_u64().expect("duration"));
        app.state.player.advance_ended_tracks().await;
    }
    assert_eq!(played, ["demo-0050", "demo-0001", "demo-0002", "demo-0050"]);
    let (_, history) = app.get(&format!("/api/rooms/{}/history", host.code)).await;
    let order: Vec<_> =
        history["plays"].as_array().expect("plays").iter().filter_map(|p| p["track_id"].as_str()).collect();
    assert_eq!(order, ["demo-0050", "demo-0002", "demo-0001", "demo-0050"], "newest first, each once");
}

#[tokio::test]
async fn a_paused_track_does_not_end_and_the_position_is_kept() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    app.clock.advance(10_000);
    hs.ok("player:pause", json!({})).await;
    app.clock.advance(3_600_000);
    app.state.player.advance_ended_tracks().await;
    let snapshot = hs.snapshot().await;
    assert_eq!(snapshot["now_playing"]["track"]["id"], TestApp::track_id(1));
    assert_eq!(
        (snapshot["now_playing"]["position_ms"].as_u64(), snapshot["now_playing"]["paused"].as_bool()),
        (Some(10_000), Some(true))
    );
    hs.ok("player:resume", json!({})).await;
    app.clock.advance(5_000);
    assert_eq!(hs.snapshot().await["now_playing"]["position_ms"], 15_000);
}

#[tokio::test]
async fn idle_party_rooms_expire_but_busy_ones_stay() {
    let app = spawn_app().await;
    let idle = app.create_room(json!({})).await;
    let busy = app.create_room(json!({})).await;
    let _connected = app.connect(&busy.token).await;
    app.clock.advance(49 * 3_600_000);
    assert_eq!(app.state.expire_idle_rooms().await.expect("sweep"), 1);
    let (status, _) = app.get(&format!("/api/rooms/{}", idle.code)).await;
    assert_eq!(status, 404);
    let (status, _) = app.get(&format!("/api/rooms/{}", busy.code)).await;
    assert_eq!(status, 200);
}

/// Waits until the member is (or is not) online in the room.
async fn wait_online(app: &TestApp, room_id: &str, member_id: &str, online: bool) {
    for _ in 0..200 {
        if app.state.presence.online(room_id).await.contains(member_id) == online {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{member_id} never became online={online}");
}

#[tokio::test]
async fn a_room_pauses_when_its_speaker_is_gone_past_the_grace_period_and_resumes_when_it_is_back() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    // The big screen: a screen, not a member (protocol.md §3.3.1).
    let (_, opened) = app.post(&format!("/api/rooms/{}/screens", host.code), json!({})).await;
    let screen = crate::helpers::Guest {
        token: opened["token"].as_str().expect("token").to_string(),
        member_id: opened["screen"]["id"].as_str().expect("id").to_string(),
        room_id: host.room_id.clone(),
        code: host.code.clone(),
    };
    let speaker = app.connect(&screen.token).await;
    hs.ok("room:set_speaker", json!({"member_id": screen.member_id})).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let playing = hs.snapshot().await;
    assert_eq!(playing["room"]["speaker"], json!(screen.member_id));
    assert_eq!(playing["now_playing"]["paused"], false);

    drop(speaker);
    wait_online(&app, &host.room_id, &screen.member_id, false).await;
    app.state.player.pause_where_the_speaker_is_gone().await;
    app.clock.advance(crowdjuke::player::SPEAKER_GRACE_MS - 1_000);
    app.state.player.pause_where_the_speaker_is_gone().await;
    let still = hs.snapshot().await;
    assert_eq!(still["now_playing"]["paused"], false, "a reload's worth of absence changes nothing");
    assert_eq!(still["now_playing"].get("waiting_for_speaker"), None, "sent only when true");
    app.clock.advance(1_000);
    app.state.player.pause_where_the_speaker_is_gone().await;
    let paused = hs.snapshot().await;
    assert_eq!(paused["now_playing"]["paused"], true, "nobody hears it: the clock stops");
    assert_eq!(paused["now_playing"]["waiting_for_speaker"], true, "apps say why");
    let held_at = paused["now_playing"]["position_ms"].as_u64().expect("position");

    app.clock.advance(60_000);
    let _back = app.connect(&screen.token).await;
    let paused_version = paused["version"].as_u64().expect("version");
    let resumed = hs
        .wait_for("room:changed", |c| {
            c["version"].as_u64() > Some(paused_version)
                && c["changes"].as_array().is_some_and(|ch| {
                    ch.iter().any(|x| x["type"] == "now_playing" && x["now_playing"]["paused"] == false)
                })
        })
        .await;
    let np =
        resumed["changes"].as_array().and_then(|c| c.iter().find(|x| x["type"] == "now_playing")).expect("now playing");
    assert_eq!(np["now_playing"]["position_ms"].as_u64(), Some(held_at), "it carries on where it stopped");
    assert_eq!(np["now_playing"].get("waiting_for_speaker"), None);
}

#[tokio::test]
async fn staff_pausing_is_not_undone_by_a_returning_speaker() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("room:set_speaker", json!({"member_id": host.member_id})).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    hs.ok("player:pause", json!({})).await;
    let guest = app.join(&host.code, "Gus").await;
    let _gs = app.connect(&guest.token).await;
    let again = app.connect(&host.token).await;
    assert_eq!(again.snapshot().await["now_playing"]["paused"], true);
    app.state.player.speaker_back(&host.room_id, &host.member_id).await;
    let held = again.snapshot().await;
    assert_eq!(held["now_playing"]["paused"], true, "the host paused it, not the speaker's absence");
    assert_eq!(held["now_playing"].get("waiting_for_speaker"), None, "a staff pause is not waiting for anyone");
}

/// The track that `room:changed` events start playing with a reason, once
/// one does.
async fn autopicked(client: &crate::helpers::SioClient) -> serde_json::Value {
    let changed = client
        .wait_for("room:changed", |v| {
            v["changes"].as_array().is_some_and(|cs| cs.iter().any(|c| c["now_playing"]["reason"].is_string()))
        })
        .await;
    changed["changes"].as_array().expect("changes").iter().find_map(|c| c["now_playing"].as_object().cloned()).into()
}

#[tokio::test]
async fn a_dry_party_room_plays_more_like_what_it_voted_up_unless_autofill_is_off() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let first = hs.snapshot().await["now_playing"]["track"].clone();
    app.clock.advance(first["duration_ms"].as_u64().expect("duration"));
    app.state.player.advance_ended_tracks().await;

    let picked = autopicked(&hs).await;
    let track = &picked["track"];
    assert_ne!(track["id"], first["id"]);
    assert_ne!(track["artists"], first["artists"], "not the artist that just played");
    let library = |id: &serde_json::Value| {
        let store = app.state.store.clone();
        let id = id.as_str().expect("id").to_string();
        async move { store.track(&id).await.expect("read").expect("track") }
    };
    let (liked, pick) = (library(&first["id"]).await, library(&track["id"]).await);
    assert_eq!(pick.genres, liked.genres, "the genre the room voted up: {track}");
    let genre = liked.genres[0].to_lowercase();
    assert_eq!(picked["reason"], format!("more like {genre}, voted up here"));
    assert_eq!(picked["added_by"], serde_json::Value::Null);
    let snapshot = hs.snapshot().await;
    assert_eq!(snapshot["now_playing"]["track"]["id"], track["id"], "the pick is committed");
    assert_eq!(snapshot["queue"], json!([]));

    // A room that turns autofill off falls silent when the pick ends.
    hs.ok("room:update_rules", json!({"rules": {"autofill": false}})).await;
    app.clock.advance(track["duration_ms"].as_u64().expect("duration"));
    app.state.player.advance_ended_tracks().await;
    assert!(app.state.autopilot.fill(&host.room_id).await.expect("fill").is_none(), "autofill off: no pick");
    let silent = hs.snapshot().await;
    assert_eq!(silent["now_playing"], serde_json::Value::Null, "autofill off: silence");
    assert_eq!(silent["room"]["rules"]["autofill"], false);
}

#[tokio::test]
async fn a_dry_party_room_plays_what_other_rooms_voted_up_with_what_it_liked() {
    let app = spawn_app().await;
    let store = app.state.store.clone();
    let liked = store.track(&TestApp::track_id(1)).await.expect("read").expect("track");
    // A track like nothing about the liked one: no genre, no artist shared.
    let mut with = None;
    for n in 2..400 {
        let t = store.track(&TestApp::track_id(n)).await.expect("read").expect("track");
        let shares = |a: &[String], b: &[String]| a.iter().any(|x| b.contains(x));
        if !t.explicit && !shares(&t.genres, &liked.genres) && !shares(&t.artists, &liked.artists) {
            with = Some(t);
            break;
        }
    }
    let with = with.expect("an unlike track in the demo library");

    // Room A votes both up (the adder's vote) and plays them to the end.
    let a = app.create_room(json!({})).await;
    let a_host = app.connect(&a.token).await;
    a_host.ok("queue:add", json!({"track_id": liked.id})).await;
    a_host.ok("queue:add", json!({"track_id": with.id})).await;
    for _ in 0..2 {
        let playing = a_host.snapshot().await["now_playing"]["track"]["duration_ms"].as_u64().expect("playing");
        app.clock.advance(playing);
        app.state.player.advance_ended_tracks().await;
    }
    let months = crowdjuke::domain::recommend::first_month_kept(crowdjuke::clock::Clock::now(app.clock.as_ref()));
    let mut counted = Vec::new();
    for _ in 0..200 {
        counted = store.co_likes().co_liked(std::slice::from_ref(&liked.id), &months, 10).await.expect("co-likes");
        if !counted.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(counted.iter().map(|c| (c.with.as_str(), c.count)).collect::<Vec<_>>(), vec![(with.id.as_str(), 1)]);

    // Room B liked only the first: it goes on with what room A liked with it.
    let b = app.create_room(json!({})).await;
    let b_host = app.connect(&b.token).await;
    b_host.ok("queue:add", json!({"track_id": liked.id})).await;
    app.clock.advance(liked.duration_ms);
    app.state.player.advance_ended_tracks().await;
    let picked = autopicked(&b_host).await;
    assert_eq!(picked["track"]["id"], with.id.as_str(), "{picked}");
    assert_eq!(picked["reason"], format!("often voted up with {}", liked.title));
}

#[tokio::test]
async fn a_party_room_that_voted_nothing_up_stays_silent() {
    let app = spawn_app().await;
    let host = app.create_room(json!({})).await;
    let hs = app.connect(&host.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    // Skipped: the room did not like it.
    hs.ok("player:skip", json!({})).await;
    assert!(app.state.autopilot.fill(&host.room_id).await.expect("fill").is_none(), "nothing voted up: no pick");
    let snapshot = hs.snapshot().await;
    assert_eq!(snapshot["now_playing"], serde_json::Value::Null);
    assert_eq!(snapshot["recent_plays"][0]["end"], "skipped");
}
