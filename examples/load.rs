//! Load tool: holds N Socket.IO clients in R rooms spread over one or more
//! nodes; in each room V voters (the host and the first guests) flip their
//! votes at a combined fixed rate, and every member must receive every
//! resulting `room:changed`.
//!
//! Reports vote → delivery latency (p50, p99: from just before the vote is
//! sent to each delivery of the change it caused), vote → ack latency (p50,
//! p99, max) and votes refused by error code (`unavailable` when a write
//! missed its deadline), deliveries/s, missed
//! deliveries, the load tool's own CPU and, given the server PIDs, server CPU
//! per delivery and server memory per connected client.
//!
//! ```sh
//! cargo run --release --example load -- \
//!   --nodes http://127.0.0.1:8080,http://127.0.0.1:8081 --pids 123,456 \
//!   --clients 2000 --rooms 2 --rate 40 --seconds 20 --voters 4
//! ```
//! The servers need `CROWDJUKE_JOIN_ATTEMPTS_PER_MINUTE` and
//! `CROWDJUKE_EVENTS_PER_MINUTE` raised: every client joins from 127.0.0.1.
//!
//! The tool must not be the bottleneck, so a client is one task on a plain
//! TCP stream: it reads whole buffers of WebSocket frames and handles each
//! frame in place (no allocation per frame), and records each delivery as
//! (version, arrival) in its own list; latencies are joined with the voters'
//! send times once the run is over. The WebSocket client is the minimum
//! RFC 6455 needs for this: the upgrade request, unmasked frames from the
//! server, masked text frames to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug)]
struct Args {
    nodes: Vec<String>,
    pids: Vec<u32>,
    clients: usize,
    rooms: usize,
    rate: f64,
    seconds: f64,
    voters: usize,
}

fn parse_args() -> Args {
    let mut args = Args { nodes: vec![], pids: vec![], clients: 500, rooms: 1, rate: 40.0, seconds: 10.0, voters: 4 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--nodes" => args.nodes = value.split(',').map(str::to_string).collect(),
            "--pids" => args.pids = value.split(',').filter_map(|p| p.parse().ok()).collect(),
            "--clients" => args.clients = value.parse().unwrap_or(args.clients),
            "--rooms" => args.rooms = value.parse().unwrap_or(args.rooms),
            "--rate" => args.rate = value.parse().unwrap_or(args.rate),
            "--seconds" => args.seconds = value.parse().unwrap_or(args.seconds),
            "--voters" => args.voters = value.parse().unwrap_or(args.voters),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.nodes.is_empty(), "--nodes URL[,URL…] is required");
    assert!(args.voters >= 1 && args.clients >= args.rooms * (args.voters - 1), "too few clients for the voters");
    args
}

/// CPU seconds (user + system) and anonymous RSS in KiB of a process: its
/// heap and stacks, without the pages of its executable (those are paged in
/// as code first runs, and are not per client).
fn proc_stats(pid: &str) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status.lines().find(|l| l.starts_with("RssAnon:")).and_then(|l| l.split_whitespace().nth(1));
    (ticks / 100.0, rss.and_then(|r| r.parse().ok()).unwrap_or(0))
}

fn servers(pids: &[u32]) -> (f64, u64) {
    pids.iter().map(|p| proc_stats(&p.to_string())).fold((0.0, 0), |(c, r), (c2, r2)| (c + c2, r + r2))
}

/// Deliveries one client saw: (version, microseconds since the tool started).
type Arrivals = Arc<Mutex<Vec<(u64, u64)>>>;

/// One connected socket.
struct Client {
    room: usize,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    acks: mpsc::UnboundedReceiver<Value>,
    snapshot: Option<oneshot::Receiver<()>>,
    arrivals: Arrivals,
}

/// A masked WebSocket text frame (RFC 6455 §5.2; clients must mask).
fn text_frame(text: &str) -> Vec<u8> {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let payload = text.as_bytes();
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x81);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n < 65_536 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

async fn send(writer: &tokio::sync::Mutex<OwnedWriteHalf>, text: &str) {
    writer.lock().await.write_all(&text_frame(text)).await.ok();
}

/// One complete frame at the start of `buf`: (opcode, payload range, length).
fn next_frame(buf: &[u8]) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, start) = match b1 & 0x7f {
        126 => (u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize, 4),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize, 10),
        n => (n as usize, 2),
    };
    (buf.len() >= start + len).then(|| (b0 & 0x0f, start..start + len, start + len))
}

async fn connect(node: &str, token: &str, room: usize, started: Instant) -> Client {
    let host = node.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("tcp connects");
    stream.set_nodelay(true).ok();
    let upgrade = format!(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(upgrade.as_bytes()).await.expect("upgrade sent");
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if stream.read_buf(&mut buf).await.expect("upgrade answered") == 0 {
            panic!("connection closed during the upgrade");
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    assert!(buf.starts_with(b"HTTP/1.1 101"), "upgrade refused: {}", String::from_utf8_lossy(&buf[..head_end]));
    buf.drain(..head_end);

    let (mut reader, writer) = stream.into_split();
    let writer = Arc::new(tokio::sync::Mutex::new(writer));
    let (ack_tx, acks) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = oneshot::channel();
    let (connected_tx, connected) = oneshot::channel::<()>();
    let auth = format!("40{}", json!({ "token": token }));
    let arrivals = Arrivals::default();
    let (out, seen) = (writer.clone(), arrivals.clone());
    tokio::spawn(async move {
        let mut snap_tx = Some(snap_tx);
        let mut connected_tx = Some(connected_tx);
        loop {
            let mut pos = 0;
            while let Some((opcode, payload, used)) = next_frame(&buf[pos..]) {
                let text = &buf[pos + payload.start..pos + payload.end];
                pos += used;
                if opcode == 0x8 {
                    return;
                }
                if opcode != 0x1 {
                    continue;
                }
                if let Some(event) = text.strip_prefix(b"42[\"room:changed\",{\"version\":") {
                    // The version is the first field of the payload.
                    let digits = event.iter().take_while(|b| b.is_ascii_digit());
                    let version = digits.fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
                    let at = started.elapsed().as_micros() as u64;
                    seen.lock().expect("arrivals").push((version, at));
                } else if text == b"2" {
                    send(&out, "3").await;
                } else if text.starts_with(b"40") {
                    if let Some(tx) = connected_tx.take() {
                        tx.send(()).ok();
                    }
                } else if text.starts_with(b"0") {
                    // Engine.IO open: now connect to the `/` namespace.
                    send(&out, &auth).await;
                } else if text.starts_with(b"42[\"room:snapshot\"") {
                    if let Some(tx) = snap_tx.take() {
                        tx.send(()).ok();
                    }
                } else if let Some(ack) = text.strip_prefix(b"43") {
                    let body = &ack[ack.iter().take_while(|b| b.is_ascii_digit()).count()..];
                    if let Ok(Value::Array(mut args)) = serde_json::from_slice(body) {
                        ack_tx.send(args.swap_remove(0)).ok();
                    }
                }
            }
            buf.drain(..pos);
            if buf.capacity() - buf.len() < 2048 {
                buf.reserve(4096);
            }
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    connected.await.expect("namespace connect accepted");
    Client { room, writer, acks, snapshot: Some(snap_rx), arrivals }
}

impl Client {
    async fn call(&mut self, id: u64, event: &str, data: Value) -> Value {
        let reply = self.answer(id, event, data).await;
        assert_eq!(reply["ok"], true, "{event}: {reply}");
        reply["data"].clone()
    }

    /// The whole answer, `{ok: false, …}` included.
    async fn answer(&mut self, id: u64, event: &str, data: Value) -> Value {
        send(&self.writer, &format!("42{id}{}", json!([event, data]))).await;
        let reply = tokio::time::timeout(Duration::from_secs(30), self.acks.recv()).await;
        reply.expect("ack in time").expect("ack")
    }
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let response = http.post(&url).json(&body).send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

/// Send times of the versions the votes produced: (room, version) → µs.
type Sent = HashMap<(usize, u64), u64>;

#[tokio::main]
async fn main() {
    let args = parse_args();
    let started = Instant::now();
    let http = reqwest::Client::new();
    let node = |i: usize| args.nodes[i % args.nodes.len()].clone();

    let mut hosts = Vec::new();
    for r in 0..args.rooms {
        let created = post(&http, format!("{}/api/rooms", node(r)), json!({"name": "Load", "host_name": "Host"})).await;
        let token = created["token"].as_str().expect("token").to_string();
        let code = created["room"]["code"].as_str().expect("code").to_string();
        let mut host = connect(&node(r), &token, r, started).await;
        host.call(0, "queue:add", json!({"track_id": "demo-0001"})).await;
        host.call(1, "queue:add", json!({"track_id": "demo-0002"})).await;
        hosts.push((host, code));
    }
    let (idle_cpu, idle_rss) = servers(&args.pids);
    let join_phase = Instant::now();
    // Joins and connects, eight at a time.
    let codes: Vec<String> = hosts.iter().map(|h| h.1.clone()).collect();
    let mut guests: Vec<Client> = futures_util::stream::iter(0..args.clients)
        .map(|i| {
            let (http, node, code) = (http.clone(), node(i), codes[i % args.rooms].clone());
            async move {
                let joined = post(&http, format!("{node}/api/rooms/{code}/join"), json!({"name": format!("g{i}")}));
                let token = joined.await["token"].as_str().expect("token").to_string();
                let mut guest = connect(&node, &token, i % args.rooms, started).await;
                if let Some(snapshot) = guest.snapshot.take() {
                    snapshot.await.ok();
                }
                guest
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // A fresh entry to vote on, second in the queue so it cannot start
    // playing during the run.
    let mut entries = Vec::new();
    for (r, (host, _)) in hosts.iter_mut().enumerate() {
        host.call(2, "queue:add", json!({"track_id": format!("demo-{:04}", 100 + 2 * r)})).await;
        let data = host.call(3, "queue:add", json!({"track_id": format!("demo-{:04}", 101 + 2 * r)})).await;
        entries.push(data["entry"]["id"].as_str().expect("entry").to_string());
    }
    let joined = join_phase.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (joined_cpu, loaded_rss) = servers(&args.pids);
    let (server_cpu0, _) = servers(&args.pids);
    let (tool_cpu0, _) = proc_stats("self");
    let members: Vec<u64> = (0..args.rooms).map(|r| guests.iter().filter(|g| g.room == r).count() as u64 + 1).collect();

    // Voters: each room's host and its first guests, each voting in turn
    // (the next vote after the last ack) at its share of the rate.
    let mut voters: Vec<(usize, Client)> = Vec::new();
    for (r, (host, _)) in hosts.into_iter().enumerate() {
        voters.push((r, host));
        for _ in 1..args.voters {
            let at = guests.iter().position(|g| g.room == r).expect("a guest to vote");
            voters.push((r, guests.swap_remove(at)));
        }
    }
    let per_voter = args.rate / voters.len() as f64;
    let votes = (per_voter * args.seconds).round() as u64;
    let vote_phase = Instant::now();
    let voting: Vec<_> = voters
        .into_iter()
        .enumerate()
        .map(|(v, (r, mut voter))| {
            let entry = entries[r].clone();
            tokio::spawn(async move {
                let mut sent = Vec::with_capacity(votes as usize);
                let mut acks = Vec::with_capacity(votes as usize);
                let mut refused = Vec::new();
                // Voters start spread over one interval, not all at once.
                let offset = v as f64 / args.rate;
                for n in 0..votes {
                    let due = vote_phase + Duration::from_secs_f64(offset + n as f64 / per_voter);
                    tokio::time::sleep_until(due.into()).await;
                    let value = if n % 2 == 0 { 1 } else { -1 };
                    let at = started.elapsed().as_micros() as u64;
                    let reply = voter.answer(n + 10, "queue:vote", json!({"entry_id": entry, "value": value})).await;
                    acks.push(started.elapsed().as_micros() as u64 - at);
                    match reply["data"]["version"].as_u64() {
                        Some(version) if reply["ok"] == true => sent.push(((r, version), at)),
                        _ => refused.push(reply["error"]["code"].as_str().unwrap_or("?").to_string()),
                    }
                }
                (sent, acks, refused, voter)
            })
        })
        .collect();
    let mut sent = Sent::new();
    let mut acks = Vec::new();
    let mut refused: HashMap<String, u64> = HashMap::new();
    for voter in voting {
        let (versions, voter_acks, voter_refused, voter) = voter.await.expect("voter");
        sent.extend(versions);
        acks.extend(voter_acks);
        for code in voter_refused {
            *refused.entry(code).or_default() += 1;
        }
        guests.push(voter);
    }
    acks.sort_unstable();
    let voted = vote_phase.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (server_cpu1, server_rss) = servers(&args.pids);
    let (tool_cpu1, _) = proc_stats("self");

    // Every member of a room must have seen every version its votes made.
    let expected: u64 = sent.keys().map(|(r, _)| members[*r]).sum();
    let mut latencies = Vec::with_capacity(expected as usize);
    let mut last_arrival = 0;
    for client in &guests {
        for (version, at) in client.arrivals.lock().expect("arrivals").iter() {
            if let Some(sent_at) = sent.get(&(client.room, *version)) {
                latencies.push(at.saturating_sub(*sent_at));
                last_arrival = last_arrival.max(*at);
            }
        }
    }
    let delivered = latencies.len() as u64;
    let first_vote = sent.values().min().copied().unwrap_or(0);
    let elapsed = (last_arrival.saturating_sub(first_vote) as f64 / 1e6).max(voted.min(args.seconds));
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |v: Option<&u64>| v.map(|v| *v as f64 / 1000.0);
    let result = json!({
        "nodes": args.nodes.len(),
        "clients": args.clients,
        "rooms": args.rooms,
        "voters_per_room": args.voters,
        "votes_per_second": args.rate,
        "votes_per_second_achieved": (sent.len() as f64 / voted * 10.0).round() / 10.0,
        "seconds": args.seconds,
        "deliveries_expected": expected,
        "deliveries": delivered,
        "missed": expected.saturating_sub(delivered),
        "deliveries_per_second": (delivered as f64 / elapsed).round(),
        "latency_ms_p50": ms(pct(0.50)),
        "latency_ms_p99": ms(pct(0.99)),
        "ack_ms_p50": ms(acks.get(acks.len() / 2)),
        "ack_ms_p99": ms(acks.get((acks.len() * 99 / 100).min(acks.len().saturating_sub(1)))),
        "ack_ms_max": ms(acks.last()),
        "votes_refused": refused,
        "server_cpu_us_per_delivery": ((server_cpu1 - server_cpu0) * 1e6 / delivered.max(1) as f64 * 100.0).round() / 100.0,
        "join_phase_seconds": (joined * 10.0).round() / 10.0,
        "server_cpu_seconds_joining": ((joined_cpu - idle_cpu) * 100.0).round() / 100.0,
        "server_anon_rss_mb": server_rss as f64 / 1024.0,
        "server_kb_per_client": (loaded_rss.saturating_sub(idle_rss)) as f64 / args.clients as f64,
        "load_tool_cpu_seconds": tool_cpu1 - tool_cpu0,
        "load_tool_cpu_us_per_delivery": ((tool_cpu1 - tool_cpu0) * 1e6 / delivered.max(1) as f64 * 100.0).round() / 100.0,
    });
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
    drop(guests);
}
