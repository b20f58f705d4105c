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
