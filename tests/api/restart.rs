//! Restarting on the same data directory brings every room back as it was.

use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_with};

#[tokio::test]
async fn a_restarted_server_has_the_room_queue_votes_now_playing_and_version_intact() {
    let app = spawn_app().await;
    let host = app.create_room(json!({"fair_mode": true})).await;
    let guest = app.join(&host.code, "Rae").await;
    let gs = app.connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = gs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();
    let hs = app.connect(&host.token).await;
    hs.ok("queue:vote", json!({"entry_id": entry, "value": -1})).await;
    hs.ok("player:pause", json!({})).await;
    let before = gs.snapshot().await;
    drop((gs, hs));
    let dir = app.stop().await;

    let app = spawn_with(dir, |_| {}).await;
    let gs = app.connect(&guest.token).await;
    let after = gs.snapshot().await;
    for field in ["version", "queue", "now_playing", "members", "room"] {
        let (mut a, mut b) = (after[field].clone(), before[field].clone());
        if field == "room" {
            // The join link carries the address, and the restarted server
            // listens on another port.
            for room in [&mut a, &mut b] {
                room["join_url"] = json!(null);
            }
        }
        if field == "members" {
            // Presence is live state: compare who is in the room, not who is online.
            for list in [&mut a, &mut b] {
                for m in list.as_array_mut().into_iter().flatten() {
                    m["online"] = json!(null);
                }
            }
        }
        assert_eq!(a, b, "{field} survived the restart");
    }
    assert_eq!(after["queue"][0]["my_vote"], 1);
    assert_eq!(after["queue"][0]["score"], 0);
    assert_eq!(gs.refused("queue:vote", json!({"entry_id": "nope", "value": 1})).await, "entry_not_found");
}
