//! Music folder scan benchmark: a generated tree of FILES audio files (MP3,
//! FLAC, Ogg Vorbis and WAV, 30 s each, in nested folders) scanned into an
//! embedded store.
//!
//! Measures:
//! - the first scan: tags, one full decode and the analysis of every file
//!   (files per second, and seconds of audio decoded per second);
//! - tags alone (`tags::read` over every file), what a scan without the
//!   analysis would cost;
//! - a re-scan with nothing changed (a `stat` per file).
//!
//! The tree is DISTINCT different recordings (made with ffmpeg) linked
//! under other names until there are FILES files; each name is read and
//! decoded like any file and then kept out as a duplicate, so the rate is
//! the read rate. The files stay in the page cache (hard links, a warm
//! disk): this measures decoding and analysis, not the disk.
//!
//! Run: `cargo run --release --example scan_bench -- [FILES] [DISTINCT]`
//! (defaults 10000, 200). Needs ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use crowdjuke::music::folders::{self, tags};
use crowdjuke::store::{EmbeddedStore, Store};

const SECONDS: u32 = 30;
const FORMATS: [(&str, &[&str]); 4] = [
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
    ("flac", &["-c:a", "flac"]),
    ("ogg", &["-c:a", "libvorbis"]),
    ("wav", &["-c:a", "pcm_s16le"]),
];

fn generate(path: &Path, n: usize, codec: &[&str]) {
    let source = format!("sine=frequency={}:sample_rate=44100,volume=0.{}", 200 + n * 7, 2 + n % 7);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", &source, "-ac", "2"])
        .args(["-t", &SECONDS.to_string(), "-metadata", &format!("title=Recording {n}"), "-metadata", "artist=Bench"])
        .args(codec)
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let files = args.first().copied().unwrap_or(10_000);
    let distinct = args.get(1).copied().unwrap_or(200).min(files);
    let dir = tempfile::TempDir::new()?;
    let music = dir.path().join("music");
    let started = Instant::now();
    let mut originals: Vec<PathBuf> = Vec::new();
    for n in 0..distinct {
        let (extension, codec) = FORMATS[n % FORMATS.len()];
        let folder = music.join(format!("artist-{:03}", n % 50)).join(format!("album-{}", n % 4));
        std::fs::create_dir_all(&folder)?;
        let path = folder.join(format!("{n:05} Recording.{extension}"));
        generate(&path, n, codec);
        originals.push(path);
    }
    for n in distinct..files {
        let original = &originals[n % distinct];
        let copy = original
            .with_file_name(format!("{n:05} Copy.{}", original.extension().unwrap_or_default().to_string_lossy()));
        // A hard link: 10,000 files without 10,000 copies on disk.
        std::fs::hard_link(original, copy)?;
    }
    let bytes: u64 = walk_size(&music);
    eprintln!("generated {files} files ({} MB) in {:.1} s", bytes >> 20, started.elapsed().as_secs_f64());

    let data = dir.path().join("data");
    std::fs::create_dir_all(&data)?;
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&data)?);
    let folders = [music.clone()];

    let started = Instant::now();
    let first = folders::scan(&store, None, &folders, &|_, _| {}).await?;
    let full = started.elapsed().as_secs_f64();

    let paths = list(&music);
    let started = Instant::now();
    let read = tokio::task::spawn_blocking(move || paths.iter().filter(|p| tags::read(p).is_ok()).count()).await?;
    let tags_only = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let again = folders::scan(&store, None, &folders, &|_, _| {}).await?;
    let rescan = started.elapsed().as_secs_f64();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let result = serde_json::json!({
        "files": files,
        "distinct_recordings": distinct,
        "seconds_per_file": SECONDS,
        "megabytes": bytes >> 20,
        "cores": cores,
        "first_scan_seconds": round(full),
        "first_scan_files_per_second": round(files as f64 / full),
        "audio_seconds_decoded_per_second": round(files as f64 * f64::from(SECONDS) / full),
        "imported": first.imported,
        "duplicates": first.skipped.len(),
        "tags_only_seconds": round(tags_only),
        "tags_only_files_per_second": round(read as f64 / tags_only),
        "rescan_unchanged_seconds": round(rescan),
        "rescan_files_per_second": round(files as f64 / rescan),
        "rescan_unchanged": again.unchanged,
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    store.close().await;
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let entries = walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok);
    entries.filter(|e| e.file_type().is_file()).map(|e| e.into_path()).collect()
}

fn walk_size(dir: &Path) -> u64 {
    list(dir).iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}
