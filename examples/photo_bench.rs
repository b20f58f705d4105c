//! Photo benchmark: a real server (embedded store, files under a temporary
//! data directory) on 127.0.0.1, one Socket.IO client in the room, and
//! photos shared over HTTP like a phone does.
//!
//! Measures, for phone-camera JPEGs (12 MP by default):
//! - upload → `photo:new` latency, one photo at a time (p50, p99);
//! - a burst of uploads at once: photos rendered per second (each photo is
//!   three renderings: full, preview, thumbnail) and how long a
//!   `GET /api/health` takes meanwhile (the event loop must stay free while
//!   images are decoded and resized on the blocking pool);
//! - the pipeline alone (`render` in a loop on one thread).
//!
//! Run: `cargo run --release --example photo_bench -- [PHOTOS] [BURST] [MEGAPIXELS]`
//! (defaults 20, 20, 12).

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crowdjuke::clock::SystemClock;
use crowdjuke::config::Settings;
use crowdjuke::media::pipeline;
use futures_util::{SinkExt, StreamExt};
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A photo-like JPEG: smooth gradients plus noise, so it compresses like a
/// camera picture (a flat image would be unrealistically cheap to decode).
fn camera_jpeg(megapixels: f64, seed: u32) -> Vec<u8> {
    let width = (megapixels * 1_000_000.0 * 4.0 / 3.0).sqrt() as u32;
    let height = width * 3 / 4;
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let picture = RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        let r = ((x * 255 / width) as u8).saturating_add(noise);
        let g = ((y * 255 / height) as u8).saturating_add(noise);
        let b = (((x + y) % 256) as u8).saturating_add(noise);
        image::Rgb([r, g, b])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(picture).write_to(&mut out, ImageFormat::Jpeg).expect("encodes");
    out.into_inner()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
}

/// A minimal Socket.IO client: forwards the id of every `photo:new`.
async fn listen(addr: std::net::SocketAddr, token: String) -> mpsc::UnboundedReceiver<String> {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");
    let (mut write, mut read) = ws.split();
    let (tx, rx) = mpsc::unbounded_channel();
    let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut connected = Some(connected_tx);
        while let Some(Ok(Message::Text(text))) = read.next().await {
            let text = text.as_str();
            if text.starts_with('0') {
                let auth = json!({ "token": token });
                write.send(Message::text(format!("40{auth}"))).await.expect("auth");
            } else if text == "2" {
                write.send(Message::text("3")).await.ok();
            } else if text.starts_with("40") {
                if let Some(c) = connected.take() {
                    c.send(()).ok();
                }
            } else if let Some(body) = text.strip_prefix("42") {
                let event: Value = serde_json::from_str(body).unwrap_or_default();
                if event[0] == "photo:new" {
                    tx.send(event[1]["photo"]["id"].as_str().unwrap_or_default().to_string()).ok();
                }
            }
        }
    });
    connected_rx.await.expect("socket connects");
    rx
}

async fn upload(http: &reqwest::Client, url: &str, token: &str, bytes: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("IMG.jpg");
    let form = reqwest::multipart::Form::new().part("photo", part);
    let response = http.post(url).bearer_auth(token).multipart(form).send().await.expect("upload");
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.expect("json");
    body["photo"]["id"].as_str().expect("id").to_string()
}

async fn wait_for(rx: &mut mpsc::UnboundedReceiver<String>, id: &str) {
    while let Some(announced) = tokio::time::timeout(Duration::from_secs(120), rx.recv()).await.expect("photo:new") {
        if announced == id {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<f64>().expect("a number"));
    let photos = args.next().unwrap_or(20.0) as usize;
    let burst = args.next().unwrap_or(20.0) as usize;
    let megapixels = args.next().unwrap_or(12.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores; photos: {megapixels} MP JPEG");

    let samples: Vec<Vec<u8>> = (0..4).map(|seed| camera_jpeg(megapixels, seed + 1)).collect();
    println!("upload size: {:.1} MB", samples[0].len() as f64 / 1e6);

    let started = Instant::now();
    let rounds = 3;
    for n in 0..rounds {
        pipeline::render(&samples[n % samples.len()]).expect("renders");
    }
    let per_photo = started.elapsed() / rounds as u32;
    println!(
        "pipeline alone, one thread: {:.0} ms per photo = {:.1} photos/s ({:.1} renderings/s)",
        per_photo.as_secs_f64() * 1000.0,
        1.0 / per_photo.as_secs_f64(),
        3.0 / per_photo.as_secs_f64()
    );

    let dir = tempfile::TempDir::new()?;
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        default_room: false,
        events_per_minute: 100_000,
        photos_per_minute: 100_000,
        ..Settings::default()
    };
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    let server = crowdjuke::Server::build(settings, Arc::new(SystemClock), format!("http://{addr}")).await?;
    tokio::spawn(server.serve(listener, std::future::pending()));

    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("http://{addr}/api/rooms"))
        .json(&json!({ "name": "Bench party", "host_name": "Host" }))
        .send()
        .await?
        .json()
        .await?;
    let token = created["token"].as_str().expect("token").to_string();
    let code = created["room"]["code"].as_str().expect("code").to_string();
    let url = format!("http://{addr}/api/rooms/{code}/photos");
    let mut announced = listen(addr, token.clone()).await;

    let mut latencies = Vec::new();
    for n in 0..photos {
        let bytes = samples[n % samples.len()].clone();
        let sent = Instant::now();
        let id = upload(&http, &url, &token, bytes).await;
        wait_for(&mut announced, &id).await;
        latencies.push(sent.elapsed());
    }
    summary("upload → photo:new, one at a time", latencies);

    let health = format!("http://{addr}/api/health");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (http, health, stop) = (http.clone(), health.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = Instant::now();
                if http.get(&health).send().await.is_err() {
                    break;
                }
                samples.push(sent.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    };
    let started = Instant::now();
    let mut ids = Vec::new();
    let uploads: Vec<_> = (0..burst)
        .map(|n| {
            let (http, url, token, bytes) =
                (http.clone(), url.clone(), token.clone(), samples[n % samples.len()].clone());
            tokio::spawn(async move { upload(&http, &url, &token, bytes).await })
        })
        .collect();
    for upload in uploads {
        ids.push(upload.await?);
    }
    let accepted = started.elapsed();
    let mut waiting: std::collections::HashSet<String> = ids.into_iter().collect();
    while !waiting.is_empty() {
        let id = tokio::time::timeout(Duration::from_secs(300), announced.recv()).await?.expect("open");
        waiting.remove(&id);
    }
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    summary("GET /api/health while the burst renders", probe.await?);
    println!(
        "burst of {burst}: all accepted in {:.0} ms, all rendered in {:.1} s = {:.2} photos/s ({:.1} renderings/s)",
        accepted.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64(),
        burst as f64 / elapsed.as_secs_f64(),
        3.0 * burst as f64 / elapsed.as_secs_f64()
    );
    let mut during = Vec::new();
    for _ in 0..50 {
        let sent = Instant::now();
        http.get(&health).send().await?;
        during.push(sent.elapsed());
    }
    summary("GET /api/health after the burst (baseline)", during);
    Ok(())
}
