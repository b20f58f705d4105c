//! Audio serving benchmark: LISTENERS clients stream one music-folder track
//! from a release server at once, as `<audio>` elements do (`Range:
//! bytes=0-`, read to the end), then each seeks ten times (a 64 KiB range
//! at a random offset).
//!
//! Measures the aggregate throughput, the time each listener took for the
//! whole file, the latency of a seek, and the server's memory (VmRSS
//! sampled every 50 ms, and VmHWM) before and during the streams: serving
//! is in chunks, so memory must not grow with the file or the listeners.
//!
//! The track is SECONDS of stereo noise in FLAC (noise does not compress:
//! about 10 MB a minute), generated with ffmpeg. Everything runs on this
//! machine: the listeners share the cores with the server.
//!
//! Run: `cargo build --release --bin crowdjuke && cargo run --release
//! --example audio_bench -- [LISTENERS] [SECONDS]` (defaults 200, 180).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let listeners = args.first().copied().unwrap_or(200) as usize;
    let seconds = args.get(1).copied().unwrap_or(180);
    let dir = tempfile::TempDir::new()?;
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music)?;
    let file = music.join("noise.flac");
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.3"])
        .args(["-ac", "2", "-ar", "44100", "-t", &seconds.to_string(), "-metadata", "title=Bench Noise"])
        .args(["-c:a", "flac"])
        .arg(&file)
        .status()?;
    anyhow::ensure!(made.success(), "ffmpeg failed");
    let size = std::fs::metadata(&file)?.len();

    let mut server = Command::new("target/release/crowdjuke")
        .args(["serve", "--listen", "127.0.0.1:0", "--no-default-room", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--music")
        .arg(&music)
        .env("RUST_LOG", "warn")
        .env("CROWDJUKE_JOIN_ATTEMPTS_PER_MINUTE", "1000000")
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = server.id();
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().ok_or_else(|| anyhow::anyhow!("the server stopped"))??;
        if let Some(url) = line.split("listening on ").nth(1) {
            break url.trim().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let http = reqwest::Client::builder().pool_max_idle_per_host(listeners).build()?;

    let mut track_id = None;
    for _ in 0..600 {
        let found: Value = http.get(format!("{base}/api/tracks?q=noise")).send().await?.json().await?;
        if let Some(id) = found["tracks"][0]["id"].as_str() {
            track_id = Some(id.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let track_id = track_id.ok_or_else(|| anyhow::anyhow!("the folder was never scanned"))?;
    let room: Value = http
        .post(format!("{base}/api/rooms"))
        .json(&json!({ "name": "Bench", "host_name": "Bench", "fallback_track_ids": [track_id] }))
        .send()
        .await?
        .json()
        .await?;
    let (code, token) = (room["room"]["code"].as_str().expect("code"), room["token"].as_str().expect("token"));
    let ticket: Value =
        http.get(format!("{base}/api/rooms/{code}/audio/{track_id}")).bearer_auth(token).send().await?.json().await?;
    let url = format!("{base}{}", ticket["url"].as_str().expect("url"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_kb = rss_kb(pid, "VmRSS:");

    let peak = Arc::new(AtomicU64::new(idle_kb));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let started = Instant::now();
    let streams = (0..listeners).map(|_| {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let began = Instant::now();
            let response = http.get(&url).header("range", "bytes=0-").send().await?;
            anyhow::ensure!(response.status() == 206, "status {}", response.status());
            let mut body = response.bytes_stream();
            let mut read = 0u64;
            while let Some(chunk) = body.next().await {
                read += chunk?.len() as u64;
            }
            let whole = began.elapsed().as_secs_f64();
            let mut seeks = Vec::new();
            for _ in 0..10 {
                let at = rand::random::<u64>() % (read - 65_536);
                let began = Instant::now();
                let response = http.get(&url).header("range", format!("bytes={at}-{}", at + 65_535)).send().await?;
                anyhow::ensure!(response.bytes().await?.len() == 65_536, "a short range");
                seeks.push(began.elapsed().as_secs_f64() * 1000.0);
            }
            Ok((read, whole, seeks))
        })
    });
    let results = futures_util::future::join_all(streams).await;
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    let hwm_kb = rss_kb(pid, "VmHWM:");
    server.kill().ok();
    server.wait().ok();

    let (mut bytes, mut wholes, mut seeks) = (0u64, Vec::new(), Vec::new());
    for result in results {
        let (read, whole, s) = result??;
        anyhow::ensure!(read == size, "a listener read {read} of {size} bytes");
        bytes += read;
        wholes.push(whole);
        seeks.extend(s);
    }
    wholes.sort_by(f64::total_cmp);
    seeks.sort_by(f64::total_cmp);
    println!("{listeners} listeners, a {seconds} s FLAC of {:.1} MB each", size as f64 / 1e6);
    println!(
        "served {:.0} MB in {elapsed:.1} s: {:.0} MB/s ({:.1} Gbit/s), {:.0}x real time per listener",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / elapsed,
        bytes as f64 * 8.0 / 1e9 / elapsed,
        seconds as f64 / wholes[wholes.len() / 2]
    );
    println!(
        "whole file per listener: p50 {:.2} s, p99 {:.2} s; a 64 KiB seek: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&wholes, 0.5),
        percentile(&wholes, 0.99),
        percentile(&seeks, 0.5),
        percentile(&seeks, 0.99)
    );
    println!(
        "server memory: {:.1} MB idle, {:.1} MB at most while streaming (VmHWM {:.1} MB)",
        idle_kb as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        hwm_kb as f64 / 1024.0
    );
    Ok(())
}
