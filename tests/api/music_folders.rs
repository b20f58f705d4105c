//! Music folders: files generated here with ffmpeg (tones, clicks and noise
//! in every format, with tags), scanned into the library by the server and
//! by the scanner itself, then searched. No recording is in the repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crowdjuke::domain::Track;
use crowdjuke::music::folders::{self, Skipped};
use crowdjuke::store::Store;
use serde_json::Value;
use tempfile::TempDir;

use crate::helpers::*;

/// Makes `path` with ffmpeg from a lavfi source, with tags; panics with
/// ffmpeg's output when it fails (ffmpeg is installed by scripts/test).
pub fn generate(path: &Path, source: &str, seconds: f32, extra: &[&str], tags: &[(&str, &str)]) {
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, "-t", &seconds.to_string()]);
    for (key, value) in tags {
        command.args(["-metadata", &format!("{key}={value}")]);
    }
    command.args(extra).arg(path);
    let out = command.output().expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(out.status.success(), "ffmpeg failed for {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
}

/// ffmpeg's own EBU R128 integrated loudness of a file, the reference.
fn ffmpeg_loudness(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.rsplit("Summary:").next().expect("a summary");
    let line = summary.lines().find(|l| l.trim_start().starts_with("I:")).expect("integrated loudness line");
    line.split_whitespace().nth(1).expect("value").parse().expect("a number")
}

pub const TONE: &str = "sine=frequency=440:sample_rate=44100";

/// One file per format, tagged, plus broken ones.
fn library(dir: &Path) -> Vec<(&'static str, &'static str)> {
    let formats: [(&str, &[&str]); 6] = [
        ("one.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"]),
        ("two.flac", &["-c:a", "flac"]),
        ("three.ogg", &["-c:a", "libvorbis"]),
        ("four.m4a", &["-c:a", "aac"]),
        ("five.wav", &["-c:a", "pcm_s16le"]),
        ("six.opus", &["-c:a", "libopus"]),
    ];
    let mut expected = Vec::new();
    for (n, (name, codec)) in formats.iter().enumerate() {
        let title = ["Uno", "Dos", "Tres", "Cuatro", "Cinco", "Seis"][n];
        let source = format!("sine=frequency={}:sample_rate=48000", 300 + 100 * n);
        let tags =
            [("title", title), ("artist", "Ana Tijoux"), ("album", "Vengo"), ("genre", "Hip-Hop"), ("date", "2014")];
        generate(&dir.join(name), &source, 3.0, codec, &tags);
        expected.push((*name, title));
    }
    expected
}

async fn scan(store: &Arc<dyn Store>, dir: &Path) -> folders::ScanReport {
    folders::scan(store, None, &[dir.to_path_buf()], &|_, _| {}).await.expect("scan")
}

async fn track(store: &Arc<dyn Store>, id: &str) -> Track {
    store.tracks_by_ids(&[id.to_string()]).await.expect("store").pop().expect("the track")
}

async fn track_of_file(store: &Arc<dyn Store>, path: &Path) -> Track {
    let files = store.music_files().music_files().await.expect("files");
    let path = std::path::absolute(path).expect("absolute");
    let file = files.iter().find(|f| Path::new(&f.path) == path).expect("the file was scanned");
    track(store, &file.track_id).await
}

#[tokio::test]
async fn every_format_is_read_with_its_tags_and_broken_files_are_skipped_with_the_reason() {
    let music = TempDir::new().expect("dir");
    let expected = library(music.path());
    std::fs::write(music.path().join("empty.mp3"), b"").expect("write");
    std::fs::write(music.path().join("noise.flac"), vec![0x5a; 4096]).expect("write");
    // A WAV file named .mp3: read as what it is.
    std::fs::copy(music.path().join("five.wav"), music.path().join("liar.mp3")).expect("copy");
    let mp3 = std::fs::read(music.path().join("one.mp3")).expect("read");
    std::fs::write(music.path().join("cut.mp3"), &mp3[..mp3.len() / 2]).expect("truncated copy");
    std::fs::write(music.path().join("notes.txt"), b"not music").expect("write");
    let app = spawn_app().await;
    let store = &app.state.store;

    let report = scan(store, music.path()).await;

    let skipped: Vec<(String, &Skipped)> = report
        .skipped
        .iter()
        .map(|(p, why)| (p.file_name().expect("a file").to_string_lossy().into_owned(), why))
        .collect();
    assert!(skipped.iter().any(|(n, why)| n == "empty.mp3" && matches!(why, Skipped::Corrupt(_))), "{skipped:?}");
    assert!(
        skipped.iter().any(|(n, why)| n == "noise.flac" && matches!(why, Skipped::Unsupported | Skipped::Corrupt(_))),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|(n, why)| n == "liar.mp3" && matches!(why, Skipped::Duplicate(_))),
        "the same audio as five.wav: {skipped:?}"
    );
    assert_eq!(skipped.len(), 3, "the truncated file still plays its first half: {skipped:?}");
    assert_eq!(report.imported, expected.len() + 1, "six formats and the truncated copy");
    for &(name, title) in &expected {
        let track = track_of_file(store, &music.path().join(name)).await;
        assert_eq!(track.title, title, "{name}");
        assert_eq!(track.artists, ["Ana Tijoux"], "{name}");
        assert_eq!(track.album, "Vengo", "{name}");
        assert_eq!(track.genres, ["hip-hop"], "{name}");
        assert_eq!(track.year, 2014, "{name}");
        assert!((2_900..=3_100).contains(&track.duration_ms), "{name}: {} ms", track.duration_ms);
        assert!(track.audio.as_deref().is_some_and(|m| m.starts_with("audio/")), "{name}: {:?}", track.audio);
        match name.ends_with(".opus") {
            true => assert_eq!(track.analysis, None, "no Opus decoder: not measured"),
            false => assert!(track.analysis.is_some(), "{name} is measured"),
        }
    }
    let cut = track_of_file(store, &music.path().join("cut.mp3")).await;
    assert!((1_000..=2_000).contains(&cut.duration_ms), "half of it: {} ms", cut.duration_ms);

    // A re-scan reads nothing: the files left out are remembered with
    // their size and modification time, and left out again for the same
    // reasons.
    let again = scan(store, music.path()).await;
    assert_eq!(again.read, 0, "{again:?}");
    assert_eq!(again.unchanged, expected.len() + 1, "{again:?}");
    let mut reasons: Vec<_> = again.skipped.iter().map(|(p, why)| (p.clone(), why.clone())).collect();
    let mut before: Vec<_> = report.skipped.iter().map(|(p, why)| (p.clone(), why.clone())).collect();
    reasons.sort_by(|a, b| a.0.cmp(&b.0));
    before.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(reasons, before);

    // The duplicate's original goes: the duplicate is read and holds the
    // track now (same id, so its votes and history stay).
    let five = track_of_file(store, &music.path().join("five.wav")).await;
    std::fs::remove_file(music.path().join("five.wav")).expect("remove");
    let after = scan(store, music.path()).await;
    assert_eq!(after.read, 1, "only the duplicate is read: {after:?}");
    assert_eq!((after.updated, after.removed), (1, 1), "{after:?}");
    assert_eq!(after.skipped.len(), 2, "{:?}", after.skipped);
    let liar = track_of_file(store, &music.path().join("liar.mp3")).await;
    assert_eq!(liar.id, five.id);
    assert!(liar.audio.is_some(), "still playable");
}

#[tokio::test]
async fn ids_survive_a_rename_and_a_retag_and_a_removed_file_leaves_its_track_unplayable() {
    let music = TempDir::new().expect("dir");
    let first = music.path().join("a.flac");
    generate(&first, TONE, 2.0, &["-c:a", "flac"], &[("title", "Before")]);
    let app = spawn_app().await;
    let store = &app.state.store;
    scan(store, music.path()).await;
    let before = track_of_file(store, &first).await;
    assert!(before.id.starts_with("file-"), "{}", before.id);

    let again = scan(store, music.path()).await;
    assert_eq!((again.unchanged, again.imported, again.updated), (1, 0, 0), "nothing changed, nothing read");

    std::fs::create_dir(music.path().join("moved")).expect("dir");
    let moved = music.path().join("moved").join("renamed.flac");
    std::fs::rename(&first, &moved).expect("rename");
    let report = scan(store, music.path()).await;
    assert_eq!((report.updated, report.removed), (1, 1), "{report:?}");
    assert_eq!(track_of_file(store, &moved).await.id, before.id, "a moved file keeps its id");

    // Re-tagged (new title): same audio, same id, new title.
    generate(&moved, TONE, 2.0, &["-c:a", "flac"], &[("title", "After")]);
    scan(store, music.path()).await;
    let retagged = track_of_file(store, &moved).await;
    assert_eq!((retagged.id.as_str(), retagged.title.as_str()), (before.id.as_str(), "After"));

    std::fs::remove_file(&moved).expect("remove");
    let report = scan(store, music.path()).await;
    assert_eq!(report.removed, 1);
    let gone = track(store, &before.id).await;
    assert_eq!(gone.audio, None, "the track stays, unplayable");
    assert!(store.music_files().music_files_of(&before.id).await.expect("files").is_empty(), "no dangling path");
}

#[tokio::test]
async fn an_isrc_tag_is_the_id_and_loudness_is_measured_within_half_a_unit_of_ffmpeg() {
    let music = TempDir::new().expect("dir");
    let quiet = music.path().join("quiet.flac");
    let loud = music.path().join("loud.flac");
    generate(
        &quiet,
        "anoisesrc=color=pink:amplitude=0.05:seed=1",
        6.0,
        &["-c:a", "flac"],
        &[("ISRC", "us-rc1-76-07839")],
    );
    generate(&loud, "anoisesrc=color=pink:amplitude=0.5:seed=2", 6.0, &["-c:a", "flac"], &[]);
    let app = spawn_app().await;
    let store = &app.state.store;
    scan(store, music.path()).await;
    let quiet_track = track_of_file(store, &quiet).await;
    assert_eq!(quiet_track.id, "isrc-USRC17607839");
    assert_eq!(quiet_track.isrc.as_deref(), Some("USRC17607839"));
    for (path, track) in [(&quiet, quiet_track.clone()), (&loud, track_of_file(store, &loud).await)] {
        let measured = track.analysis.expect("measured");
        let reference = ffmpeg_loudness(path);
        assert!(
            (measured.loudness_lufs - reference).abs() <= 0.5,
            "{}: {} vs ffmpeg {reference}",
            path.display(),
            measured.loudness_lufs
        );
        assert!(measured.true_peak_dbtp < 0.5 && measured.true_peak_dbtp > -40.0, "{measured:?}");
    }
    let loud_energy = track_of_file(store, &loud).await.analysis.expect("measured").energy;
    assert!(loud_energy > quiet_track.analysis.expect("measured").energy, "louder is more energetic");
}

#[tokio::test]
async fn a_server_with_a_music_folder_serves_its_tracks_in_search_with_tempo_filters() {
    let music = TempDir::new().expect("dir");
    // A click every half second: 120 BPM.
    let clicks = "aevalsrc='if(lt(mod(t\\,0.5)\\,0.03)\\,sin(2*PI*1500*t)\\,0)':s=44100";
    generate(&music.path().join("Metro - Click Track.wav"), clicks, 12.0, &["-c:a", "pcm_s16le"], &[]);
    generate(&music.path().join("drone.flac"), TONE, 12.0, &["-c:a", "flac"], &[("title", "Drone")]);
    let folder: PathBuf = music.path().to_path_buf();
    let app = spawn_with(TempDir::new().expect("dir"), move |s| s.music_dirs = vec![folder]).await;

    let mut hits = Value::Null;
    for _ in 0..100 {
        let (_, found) = app.get("/api/search/tracks?q=&filter=bpm%3A%5B115%20TO%20125%5D").await;
        if found["hits"].as_array().is_some_and(|h| !h.is_empty()) {
            hits = found["hits"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hits = hits.as_array().expect("the click track is found by its tempo");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["title"], "Click Track", "the title comes from the file name");
    assert_eq!(hits[0]["artist"][0], "Metro");
    // The indexer may take the two files in separate batches: wait for it.
    let mut drone = Value::Null;
    for _ in 0..100 {
        drone = app.get("/api/search/tracks?q=drone").await.1;
        if drone["hits"].as_array().is_some_and(|h| !h.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(drone["hits"][0]["title"], "Drone", "{drone}");
    assert_eq!(drone["hits"][0]["bpm"], Value::Null, "a drone has no tempo");
    assert_eq!(drone["hits"][0]["playable"], true);
}

#[tokio::test]
async fn the_import_command_prints_a_summary_naming_every_skipped_file() {
    let music = TempDir::new().expect("dir");
    generate(&music.path().join("tone.mp3"), TONE, 2.0, &["-c:a", "libmp3lame"], &[("title", "Tone")]);
    std::fs::write(music.path().join("broken.ogg"), b"OggS but not really").expect("write");
    let data = TempDir::new().expect("dir");
    let run = || {
        let out = Command::new(server_bin())
            .args(["import", "music"])
            .arg(music.path())
            .arg("--data-dir")
            .arg(data.path())
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    assert!(first.starts_with("1 imported, 0 updated, 0 unchanged, 0 removed, 1 skipped"), "{first}");
    assert!(first.contains("skipped ") && first.contains("broken.ogg: "), "{first}");
    let second = run();
    assert!(second.starts_with("0 imported, 0 updated, 1 unchanged"), "a second scan reads nothing again: {second}");
}

/// A server playing a folder with one FLAC file, a room whose host queued
/// it (so it plays), and the host's ticket URL for it.
struct Playing {
    app: TestApp,
    host: Guest,
    track_id: String,
    url: String,
    _music: TempDir,
}

async fn playing() -> Playing {
    let music = TempDir::new().expect("dir");
    let file = music.path().join("song.flac");
    generate(&file, TONE, 4.0, &["-c:a", "flac"], &[("title", "Song")]);
    let folder = music.path().to_path_buf();
    let app = spawn_with(TempDir::new().expect("dir"), move |s| s.music_dirs = vec![folder]).await;
    let mut track_id = None;
    for _ in 0..100 {
        if let Some(f) = app.state.store.music_files().music_files().await.expect("files").first() {
            track_id = Some(f.track_id.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let track_id = track_id.expect("the folder was scanned");
    let host = app.create_room(serde_json::json!({})).await;
    let socket = app.connect(&host.token).await;
    socket.ok("queue:add", serde_json::json!({ "track_id": track_id })).await;
    let (status, ticket) = ticket(&app, &host, &track_id).await;
    assert_eq!(status, 200, "{ticket}");
    let url = ticket["url"].as_str().expect("url").to_string();
    Playing { app, host, track_id, url, _music: music }
}

pub async fn ticket(app: &TestApp, member: &Guest, track_id: &str) -> (u16, Value) {
    let response = app
        .http
        .get(app.url(&format!("/api/rooms/{}/audio/{track_id}", member.code)))
        .bearer_auth(&member.token)
        .send()
        .await
        .expect("ticket");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn fetch(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.http.get(app.url(url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("audio request")
}

#[tokio::test]
async fn a_ticket_plays_the_file_with_ranges_and_validators() {
    let p = playing().await;
    let file_len = std::fs::metadata(&p.app.state.store.music_files().music_files().await.expect("files")[0].path)
        .expect("file")
        .len();

    let whole = fetch(&p.app, &p.url, &[]).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "audio/flac");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let etag = whole.headers()["etag"].to_str().expect("etag").to_string();
    assert_eq!(whole.bytes().await.expect("body").len() as u64, file_len);

    let part = fetch(&p.app, &p.url, &[("range", "bytes=100-199")]).await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 100-199/{file_len}").as_str());
    assert_eq!(part.bytes().await.expect("body").len(), 100);

    let tail = fetch(&p.app, &p.url, &[("range", "bytes=-10")]).await;
    assert_eq!((tail.status().as_u16(), tail.bytes().await.expect("body").len()), (206, 10));

    let same = fetch(&p.app, &p.url, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!(same.status(), 206, "an unchanged file: the range");
    let changed = fetch(&p.app, &p.url, &[("range", "bytes=0-9"), ("if-range", "\"stale\"")]).await;
    assert_eq!(changed.status(), 200, "a changed file: all of it");

    for bad in
        [format!("bytes={file_len}-"), "bytes=0-1,5-6".to_string(), "bytes=9-2".to_string(), "pages=1-2".to_string()]
    {
        let refused = fetch(&p.app, &p.url, &[("range", &bad)]).await;
        assert_eq!(refused.status(), 416, "{bad}");
        assert_eq!(refused.headers()["content-range"], format!("bytes */{file_len}").as_str(), "{bad}");
    }
}

#[tokio::test]
async fn audio_needs_a_current_ticket_for_that_track_and_a_member_of_a_room_playing_it() {
    let p = playing().await;
    let base = format!("/api/tracks/{}/audio", p.track_id);
    for url in [
        base.clone(),
        format!("{base}?ticket="),
        format!("{base}?ticket=forged.sig"),
        format!("{base}?ticket=x&path=/etc/passwd"),
    ] {
        let refused = fetch(&p.app, &url, &[]).await;
        assert!(matches!(refused.status().as_u16(), 400 | 401), "{url}: {}", refused.status());
    }
    // A ticket for this track does not open another one.
    let other = p.url.replacen(&p.track_id, "demo-0001", 1);
    assert_eq!(fetch(&p.app, &other, &[]).await.status(), 401);
    // Expired. (Paused first: the 4 s track must still be the room's
    // after the clock jumps, whenever the player ticks.)
    p.app.connect(&p.host.token).await.ok("player:pause", serde_json::json!({})).await;
    p.app.clock.advance(31 * 60_000);
    let expired = fetch(&p.app, &p.url, &[]).await;
    assert_eq!(expired.status(), 401);
    assert_eq!(expired.json::<Value>().await.expect("json")["error"]["code"], "unauthorized");

    // Tickets: members of this room only, tracks of this room only, and
    // only tracks the server has audio for.
    let stranger = p.app.create_room(serde_json::json!({})).await;
    let (status, body) = ticket(&p.app, &Guest { code: p.host.code.clone(), ..stranger.clone() }, &p.track_id).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_a_member")));
    let (status, body) = ticket(&p.app, &stranger, &p.track_id).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("track_not_found")), "not in that room");
    let guest = p.app.join(&p.host.code, "Bea").await;
    assert_eq!(ticket(&p.app, &guest, &p.track_id).await.0, 200, "any member of the room");
    let socket = p.app.connect(&p.host.token).await;
    socket.ok("queue:add", serde_json::json!({ "track_id": "demo-0001" })).await;
    let (status, body) = ticket(&p.app, &p.host, "demo-0001").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_audio")), "a demo track has no file");
}

/// `covered.mp3` in `dir`: two seconds of tone with a red PNG cover.
pub fn covered_mp3(dir: &Path) -> PathBuf {
    let cover = dir.join("cover.png");
    generate(&cover, "color=c=red:s=64x64", 0.04, &["-frames:v", "1"], &[]);
    let song = dir.join("covered.mp3");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", TONE, "-i"])
        .arg(&cover)
        .args([
            "-t",
            "2",
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-c:a",
            "libmp3lame",
            "-c:v",
            "png",
            "-disposition:v",
            "attached_pic",
            "-id3v2_version",
            "3",
        ])
        .arg(&song)
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(&cover).expect("remove the cover file");
    song
}

#[tokio::test]
async fn a_file_removed_after_its_ticket_answers_no_audio_and_the_cover_is_served() {
    let music = TempDir::new().expect("dir");
    let song = covered_mp3(music.path());
    let app = spawn_app().await;
    let store = &app.state.store;
    scan(store, music.path()).await;
    let track = track_of_file(store, &song).await;
    let artwork = track.artwork_url.clone().expect("an artwork URL");
    let image = fetch(&app, &artwork, &[]).await;
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.bytes().await.expect("png").starts_with(b"\x89PNG"));

    let host = app.create_room(serde_json::json!({})).await;
    app.connect(&host.token).await.ok("queue:add", serde_json::json!({ "track_id": track.id })).await;
    let (_, body) = ticket(&app, &host, &track.id).await;
    let url = body["url"].as_str().expect("url").to_string();
    std::fs::remove_file(&song).expect("remove");
    let gone = fetch(&app, &url, &[]).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.json::<Value>().await.expect("json")["error"]["code"], "no_audio");
    assert_eq!(fetch(&app, &artwork, &[]).await.status(), 404);
}

#[tokio::test]
async fn files_added_and_removed_while_serving_show_up_in_search() {
    let music = TempDir::new().expect("dir");
    generate(&music.path().join("first.flac"), TONE, 2.0, &["-c:a", "flac"], &[("title", "Primera")]);
    let folder = music.path().to_path_buf();
    let app = spawn_with(TempDir::new().expect("dir"), move |s| s.music_dirs = vec![folder]).await;
    let found = |q: &'static str| {
        let app = &app;
        async move {
            let (_, body) = app.get(&format!("/api/search/tracks?q={q}")).await;
            body["hits"].as_array().and_then(|h| h.first().cloned())
        }
    };
    let until = |what: &'static str, q: &'static str, want: fn(&Option<Value>) -> bool| {
        let found = &found;
        async move {
            for _ in 0..200 {
                if want(&found(q).await) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("{what} never showed up in search");
        }
    };
    until("the first scan", "primera", |hit| hit.is_some()).await;

    // Written elsewhere, then moved in, as a copy tool would.
    let staging = TempDir::new().expect("dir");
    let new_file = staging.path().join("second.flac");
    generate(&new_file, "sine=frequency=660:sample_rate=44100", 2.0, &["-c:a", "flac"], &[("title", "Segunda")]);
    std::fs::rename(&new_file, music.path().join("second.flac")).expect("move in");
    until("a file added while serving", "segunda", |hit| hit.is_some()).await;

    std::fs::remove_file(music.path().join("first.flac")).expect("remove");
    until("a removed file's track as unplayable", "primera", |hit| {
        hit.as_ref().is_some_and(|h| h["playable"] == Value::Bool(false))
    })
    .await;
}

/// An ID3v2.4 tag: a title that is not valid UTF-8 and an artist of 100 KB.
fn hostile_id3_tag() -> Vec<u8> {
    fn frame(id: &[u8; 4], text: &[u8]) -> Vec<u8> {
        let mut body = vec![3u8]; // UTF-8, says the frame
        body.extend_from_slice(text);
        let mut out = id.to_vec();
        out.extend(synchsafe(body.len()));
        out.extend([0, 0]);
        out.extend(body);
        out
    }
    fn synchsafe(n: usize) -> [u8; 4] {
        [(n >> 21 & 0x7f) as u8, (n >> 14 & 0x7f) as u8, (n >> 7 & 0x7f) as u8, (n & 0x7f) as u8]
    }
    let mut frames = frame(b"TIT2", &[0x66, 0xff, 0xfe, 0xc3, 0x28]);
    frames.extend(frame(b"TPE1", "Ü".repeat(50_000).as_bytes()));
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend(synchsafe(frames.len()));
    tag.extend(frames);
    tag
}

#[tokio::test]
async fn hostile_files_are_read_safely_or_skipped_and_links_are_not_followed() {
    let music = TempDir::new().expect("dir");
    let outside = TempDir::new().expect("dir");
    // Invalid UTF-8 and a huge tag in front of real MP3 audio.
    let plain = music.path().join("plain.tmp");
    generate(&plain, TONE, 2.0, &["-c:a", "libmp3lame", "-write_id3v2", "0", "-f", "mp3"], &[]);
    let mut hostile = hostile_id3_tag();
    hostile.extend(std::fs::read(&plain).expect("mp3"));
    std::fs::write(music.path().join("Broken Tags.mp3"), hostile).expect("write");
    std::fs::remove_file(&plain).expect("remove");
    // A WAV header declaring about 4 GB (hours of audio) over 2 s of samples.
    let wav = music.path().join("liar-length.wav");
    generate(&wav, "sine=frequency=880:sample_rate=8000", 2.0, &["-c:a", "pcm_s16le"], &[]);
    let mut bytes = std::fs::read(&wav).expect("wav");
    let data = bytes.windows(4).position(|w| w == b"data").expect("a data chunk");
    bytes[data + 4..data + 8].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    bytes[4..8].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    std::fs::write(&wav, bytes).expect("write");
    // A unicode name.
    let unicode = music.path().join("Ñandú – Canción 🎵.flac");
    generate(&unicode, TONE, 2.0, &["-c:a", "flac"], &[("title", "Canción")]);
    // A link loop, and a link to music outside the folder: neither followed.
    std::os::unix::fs::symlink(music.path(), music.path().join("loop")).expect("symlink");
    let other_tone = "sine=frequency=550:sample_rate=44100";
    generate(&outside.path().join("elsewhere.flac"), other_tone, 2.0, &["-c:a", "flac"], &[("title", "Elsewhere")]);
    std::os::unix::fs::symlink(outside.path().join("elsewhere.flac"), music.path().join("link.flac")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), music.path().join("outside")).expect("symlink");
    let app = spawn_app().await;
    let store = &app.state.store;

    let report = scan(store, music.path()).await;

    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.imported, 3, "{report:?}");
    let tagged = track_of_file(store, &music.path().join("Broken Tags.mp3")).await;
    assert!(!tagged.title.contains('\u{fffd}') || tagged.title.len() < 40, "{:?}", tagged.title);
    assert!(tagged.artists.iter().all(|a| a.chars().count() <= 300), "a huge tag is capped");
    let long = track_of_file(store, &wav).await;
    assert!((1_900..=2_100).contains(&long.duration_ms), "the decoded length counts: {} ms", long.duration_ms);
    assert_eq!(track_of_file(store, &unicode).await.title, "Canción");
    let files = store.music_files().music_files().await.expect("files");
    assert!(
        files.iter().all(|f| !f.path.contains("elsewhere") && !f.path.contains("/loop/")),
        "links are not followed"
    );

    // An unmounted folder, and another folder scanned alone, take nothing
    // away from what was scanned before.
    let missing = folders::scan(store, None, &[music.path().join("no-such-folder")], &|_, _| {}).await.expect("scan");
    assert!(matches!(missing.skipped.as_slice(), [(_, Skipped::Unreadable(_))]), "{:?}", missing.skipped);
    let other = folders::scan(store, None, &[outside.path().to_path_buf()], &|_, _| {}).await.expect("scan");
    assert_eq!((other.imported, other.removed), (1, 0), "{other:?}");
    assert_eq!(store.music_files().music_files().await.expect("files").len(), 4, "both folders' files are kept");
}
