//! A full disk under the embedded store: while it is full, writes are
//! refused `unavailable` and the node keeps answering; once space is freed
//! it takes writes again without a restart; and nothing acknowledged is
//! lost, after a restart too.
//!
//! The disk fills up through a file size limit on the node's process
//! (RLIMIT_FSIZE, SIGXFSZ ignored): the store's file cannot grow, so the
//! write that needs more room fails (EFBIG), as it would on a full disk
//! (ENOSPC); redb sees a failed write either way. Mounting a small
//! filesystem would need root.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ServerProcess, SioClient, TestApp, guest_from, queue_ids};

const ROOMS: usize = 4;
const TRACKS: usize = 300;

async fn add(client: &SioClient, n: usize) -> Value {
    let args = json!(["queue:add", {"track_id": TestApp::track_id(n)}]).to_string();
    tokio::time::timeout(Duration::from_secs(10), client.ack_raw_unbounded(&args)).await.expect("an answer in time")
}

/// The entry an acknowledged add made (the first one starts playing).
fn entry_of(reply: &Value) -> Option<String> {
    let data = &reply["data"];
    data["entry"]["id"].as_str().or(data["now_playing_entry_id"].as_str()).map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_unavailable_and_the_node_takes_them_again_once_space_is_freed() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let node = ServerProcess::start_for_full_disk(dir.path(), "full-disk");
    let http = reqwest::Client::new();
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        let body = json!({"name": format!("Disk {r}"), "host_name": "H", "rules": {"max_queued_per_guest": 1000}});
        let response = http.post(format!("http://{}/api/rooms", node.addr)).json(&body).send().await.expect("create");
        let host = guest_from(&response.json().await.expect("json"));
        let client = SioClient::connect(node.addr, json!({"token": host.token})).await.expect("connects");
        rooms.push((host, client, Vec::new()));
    }
    for (_, client, acked) in &mut rooms {
        let reply = add(client, 1).await;
        acked.push(entry_of(&reply).unwrap_or_else(|| panic!("first add refused: {reply}")));
    }

    // The disk is full: the store's file may not grow past its size now.
    let file = dir.path().join("crowdjuke.redb");
    let size = std::fs::metadata(&file).expect("the store's file").len();
    node.set_file_size_limit(Some(size));
    let mut refused = 0;
    'fill: for n in 2..=TRACKS {
        for (_, client, acked) in &mut rooms {
            let reply = add(client, n).await;
            match entry_of(&reply) {
                Some(entry) => acked.push(entry),
                None => {
                    assert_eq!(reply["error"]["code"], "unavailable", "add {n} on a full disk: {reply}");
                    refused += 1;
                    if refused >= 20 {
                        break 'fill;
                    }
                }
            }
        }
    }
    assert!(refused >= 20, "the file never needed to grow ({size} bytes, {refused} refusals)");
    let health = http.get(format!("http://{}/api/health", node.addr)).send().await.expect("health");
    assert_eq!(health.status(), 200, "the node answers while its disk is full");

    // Space is freed: writes are taken again, by the same process.
    node.set_file_size_limit(None);
    let mut taken_again = false;
    for _ in 0..50 {
        let (_, client, acked) = &mut rooms[0];
        let reply = add(client, TRACKS + 1).await;
        if let Some(entry) = entry_of(&reply) {
            acked.push(entry);
            taken_again = true;
            break;
        }
        assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(taken_again, "the node still refuses writes after space was freed");
    for (_, client, acked) in rooms.iter_mut().skip(1) {
        let reply = add(client, TRACKS + 1).await;
        acked.push(entry_of(&reply).unwrap_or_else(|| panic!("add after space was freed refused: {reply}")));
    }

    // Nothing acknowledged was lost, in the running node and after a restart.
    drop(node);
    let restarted = ServerProcess::start(dir.path(), &[], "full-disk-restarted");
    let mut checked = 0;
    for (host, _, acked) in &rooms {
        let client = SioClient::connect(restarted.addr, json!({"token": host.token})).await.expect("reconnects");
        let snapshot = client.snapshot().await;
        let mut kept = queue_ids(&snapshot);
        kept.extend(snapshot["now_playing"]["entry_id"].as_str().map(String::from));
        let lost: Vec<&String> = acked.iter().filter(|id| !kept.contains(id)).collect();
        assert!(lost.is_empty(), "room {}: acknowledged adds lost {lost:?}", host.code);
        checked += acked.len();
    }
    assert!(checked > ROOMS * 2, "{checked} acknowledged adds checked");
}
