//! Restarting on the same data directory brings every room back as it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{ServerProcess, SioClient, TestApp, guest_from, queue_ids, spawn_app, spawn_with};

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

/// Room writes share commits across rooms (the embedded store's group
/// commit): a SIGKILL in the middle of a burst of adds to many rooms loses
/// none that was acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_mid_burst_across_many_rooms_loses_nothing_acknowledged() {
    const ROOMS: usize = 24;
    const ADDS: usize = 300;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let env = [("CROWDJUKE_JOIN_ATTEMPTS_PER_MINUTE", "100000"), ("CROWDJUKE_EVENTS_PER_MINUTE", "1000000")];
    let mut doomed = ServerProcess::start(dir.path(), &env, "doomed");
    let http = reqwest::Client::new();
    let mut hosts = Vec::new();
    for r in 0..ROOMS {
        let body = json!({"name": format!("R{r}"), "host_name": "H", "rules": {"max_queued_per_guest": 1000}});
        let response = http.post(format!("http://{}/api/rooms", doomed.addr)).json(&body).send().await;
        hosts.push(guest_from(&response.expect("create").json().await.expect("json")));
    }
    let acked_total = Arc::new(AtomicUsize::new(0));
    let mut adders = Vec::new();
    for host in &hosts {
        let client = SioClient::connect(doomed.addr, json!({"token": host.token})).await.expect("connects");
        let acked_total = acked_total.clone();
        adders.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 1..=ADDS {
                let args = json!(["queue:add", {"track_id": TestApp::track_id(n)}]).to_string();
                let reply = tokio::time::timeout(Duration::from_secs(3), client.ack_raw_unbounded(&args)).await;
                let Ok(reply) = reply else { break };
                // The first add starts playing at once.
                match reply["data"]["entry"]["id"].as_str().or(reply["data"]["now_playing_entry_id"].as_str()) {
                    Some(id) => acked.push(id.to_string()),
                    None if reply.is_null() => break,
                    None => panic!("add {n} refused: {reply}"),
                }
                acked_total.fetch_add(1, Ordering::SeqCst);
            }
            acked
        }));
    }
    // Mid-burst: every room is still adding.
    while acked_total.load(Ordering::SeqCst) < ROOMS * 20 && !adders.iter().any(|a| a.is_finished()) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.kill();
    let mut acked = Vec::new();
    for adder in adders {
        acked.push(adder.await.expect("adder"));
    }
    assert!(acked.iter().all(|a| a.len() < ADDS), "killed before any room was done");

    let restarted = ServerProcess::start(dir.path(), &env, "restarted");
    let mut checked = 0;
    for (host, acked) in hosts.iter().zip(&acked) {
        let client = SioClient::connect(restarted.addr, json!({"token": host.token})).await.expect("reconnects");
        let snapshot = client.snapshot().await;
        let mut kept: Vec<String> = queue_ids(&snapshot);
        kept.extend(snapshot["now_playing"]["entry_id"].as_str().map(String::from));
        let lost: Vec<&String> = acked.iter().filter(|id| !kept.contains(id)).collect();
        assert!(lost.is_empty(), "room {}: acknowledged adds lost {lost:?}", host.code);
        checked += acked.len();
    }
    assert!(checked >= ROOMS * 20, "{checked} acknowledged adds checked");
}

/// A node still connecting to its database refuses connections (so a load
/// balancer moves on at once) rather than accepting them into a backlog
/// nobody serves; here the database never comes and the node gives up.
#[tokio::test]
async fn a_node_refuses_connections_until_it_is_ready() {
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (port, nothing_there) = (free_port(), free_port());
    let dir = tempfile::TempDir::new().expect("temp dir");
    let mut command = std::process::Command::new(crate::helpers::server_bin());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("CROWDJUKE_")) {
        command.env_remove(key);
    }
    let uri = format!("mongodb://127.0.0.1:{nothing_there}/?directConnection=true&serverSelectionTimeoutMS=2000");
    let mut node = command
        .args(["serve", "--no-default-room", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env("CROWDJUKE_MONGODB_URI", uri)
        .stdout(std::process::Stdio::null())
        .stderr(crate::helpers::child_log("never-ready"))
        .spawn()
        .expect("crowdjuke starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut refused = 0;
    let status = loop {
        if let Some(status) = node.try_wait().expect("status") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the node neither started nor gave up");
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused += 1,
            other => panic!("a node that is not ready took a connection: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "no database: the node exits with an error");
    assert!(refused >= 5, "checked while it was starting ({refused} attempts)");
}

/// `crowdjuke ready` (the container healthcheck) asks the server at the
/// `listen` address.
#[tokio::test]
async fn the_ready_command_asks_the_local_server() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let server = ServerProcess::start(dir.path(), &[], "ready-check");
    let ready = |listen: String| {
        let mut command = std::process::Command::new(crate::helpers::server_bin());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("CROWDJUKE_")) {
            command.env_remove(key);
        }
        // Through the environment, as in a container.
        command.arg("ready").env("CROWDJUKE_LISTEN", listen).output().expect("runs")
    };
    let up = ready(format!("0.0.0.0:{}", server.addr.port()));
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    drop(server);
    let down = ready(format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
    ));
    assert!(!down.status.success());
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("cannot reach"),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}

/// A node raises its soft open-file limit to the hard one (the default
/// soft limit of 1,024 is a few parties' worth) and warns when even that
/// holds fewer phones than it should.
#[tokio::test]
async fn a_node_raises_its_open_file_limit_and_warns_when_it_is_low() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let mut command = tokio::process::Command::new("sh");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("CROWDJUKE_")) {
        command.env_remove(key);
    }
    // Soft 512, hard 4,096: what a container without `ulimits` may get.
    let script = r#"ulimit -S -n 512 && ulimit -H -n 4096 && exec "$0" serve --listen 127.0.0.1:0 --no-default-room --data-dir "$1""#;
    let mut node = command
        .args(["-c", script])
        .arg(crate::helpers::server_bin())
        .arg(dir.path())
        .env("RUST_LOG", "crowdjuke=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let mut lines = tokio::io::BufReader::new(node.stderr.take().expect("stderr")).lines();
    let warned = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if line.contains("open-file limit") {
                return line;
            }
        }
        panic!("the node said nothing of its open-file limit");
    })
    .await
    .expect("in time");
    assert!(warned.contains("WARN") && warned.contains("3840 connected phones"), "{warned}");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", node.id().expect("pid"))).expect("limits");
    let open_files = limits.lines().find(|l| l.starts_with("Max open files")).expect("open files line");
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, vec!["4096", "4096"], "soft raised to hard: {open_files}");
}
