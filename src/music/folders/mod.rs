//! Music folders: a host's own files or a venue's licensed catalogue,
//! scanned into the library and played from where they are.
//!
//! A scan walks each folder (symbolic links are not followed, so a link
//! loop or a link out of the folder cannot pull anything in), takes the
//! files whose extension is a format below, and reads only those whose size
//! or modification time changed since the last scan. Each is read once for
//! its tags (`tags`) and decoded once to measure it (`analysis`). Its track
//! id is the ISRC when tagged (`isrc-…`, the id a CSV import gives it too),
//! else the fingerprint of its decoded audio (`file-…`), so renaming,
//! moving or re-tagging a file keeps its votes and history. A file that is
//! gone leaves its track in the library but unplayable (`audio` cleared).
//!
//! Formats: MP3, FLAC, Ogg Vorbis, AAC/M4A (AAC-LC) and WAV are read and
//! measured. Ogg Opus is read (tags, duration) but not measured: no Rust
//! decoder for it is mature yet; its id is the hash of the file's bytes.
//!
//! Scaled out, each file read is also copied into the BlobStore (GridFS)
//! with its cover, so that a node without the folder serves it too; a
//! track that loses its last file loses its copies.
//!
//! Owns: scanning. May use: store, media (blobs), domain. Must not import:
//! other services.

pub mod analysis;
pub mod tags;
pub mod watch;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

pub use crate::domain::Skipped;
use crate::domain::{MusicFile, Track};
use crate::media::{Blob, BlobError, BlobStore};
use crate::store::{Store, StoreError, StoreResult};
use analysis::AnalysisError;
use tags::TagError;

/// The extensions a scan takes (lower case).
pub const EXTENSIONS: [&str; 9] = ["mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "wav"];
/// A file declaring more than this is refused as damaged.
const MAX_DURATION_MS: u64 = 24 * 3_600_000;

/// What a scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// New tracks.
    pub imported: usize,
    /// Files read again (new or changed) whose track existed.
    pub updated: usize,
    /// Files whose size and modification time had not changed.
    pub unchanged: usize,
    /// Files gone since the last scan.
    pub removed: usize,
    /// Files opened and decoded (new or changed, or no longer a duplicate).
    pub read: usize,
    pub skipped: Vec<(PathBuf, Skipped)>,
}

/// One file found by the walk.
struct Found {
    path: String,
    size: u64,
    modified_ms: u64,
}

/// Scans `folders` into the library; `progress(done, total)` after each file.
/// With `copies` (scaled out), each file read is also copied there, with
/// its cover, so that every node can serve it (`audio_key`, `cover_key`).
/// Scans of one store must not overlap (the server runs one at a time).
pub async fn scan(
    store: &Arc<dyn Store>,
    copies: Option<&dyn BlobStore>,
    folders: &[PathBuf],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> StoreResult<ScanReport> {
    let mut report = ScanReport::default();
    let walked = tokio::task::spawn_blocking({
        let folders = folders.to_vec();
        move || walk(&folders)
    })
    .await
    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let Walked { found, skipped, listed } = walked;
    report.skipped.extend(skipped);
    let known: HashMap<String, MusicFile> =
        store.music_files().music_files().await?.into_iter().map(|f| (f.path.clone(), f)).collect();
    let present: HashSet<String> = found.iter().map(|f| f.path.clone()).collect();
    let total = found.len();
    let unchanged = |f: &Found| known.get(&f.path).is_some_and(|k| k.size == f.size && k.modified_ms == f.modified_ms);
    let (same, changed): (Vec<Found>, Vec<Found>) = found.into_iter().partition(unchanged);
    // Unchanged files that hold a track, then unchanged files left out
    // before: they are left out again without being read, unless they
    // were the duplicate of a file that no longer holds its track.
    let mut holders: HashMap<String, String> = HashMap::new();
    for file in same.iter().filter(|f| known[&f.path].skipped.is_none()) {
        report.unchanged += 1;
        holders.insert(known[&file.path].track_id.clone(), file.path.clone());
    }
    let held: HashSet<&String> = holders.values().collect();
    let (remembered, read_again): (Vec<Found>, Vec<Found>) =
        same.into_iter().filter(|f| known[&f.path].skipped.is_some()).partition(|f| match &known[&f.path].skipped {
            Some(Skipped::Duplicate(of)) => held.contains(of),
            _ => true,
        });
    for file in &remembered {
        let why = known[&file.path].skipped.clone().expect("partitioned on it");
        report.skipped.push((PathBuf::from(&file.path), why));
    }
    let mut done = report.unchanged + remembered.len();
    progress(done, total);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut read = futures_util::stream::iter(changed.into_iter().chain(read_again))
        .map(|file| async move {
            let path = file.path.clone();
            let read = tokio::task::spawn_blocking(move || read_file(Path::new(&path))).await;
            (file, read.unwrap_or_else(|e| Err(Skipped::Corrupt(format!("reading it crashed: {e}")))))
        })
        .buffered(workers);
    while let Some((file, result)) = read.next().await {
        done += 1;
        report.read += 1;
        let result = result.and_then(|read| match holders.get(&read.track.id) {
            Some(first) if first != &file.path => Err(Skipped::Duplicate(first.clone())),
            _ => Ok(read),
        });
        match result {
            Err(Skipped::Unreadable(why)) => {
                // Maybe readable next time without changing: not remembered,
                // and no longer holding its track.
                if known.contains_key(&file.path) {
                    store.music_files().delete_music_file(&file.path).await?;
                }
                report.skipped.push((PathBuf::from(&file.path), Skipped::Unreadable(why)));
            }
            Err(why) => {
                let record = MusicFile {
                    path: file.path.clone(),
                    track_id: String::new(),
                    size: file.size,
                    modified_ms: file.modified_ms,
                    mime: String::new(),
                    cover: None,
                    skipped: Some(why.clone()),
                };
                store.music_files().put_music_file(&record).await?;
                report.skipped.push((PathBuf::from(&file.path), why));
            }
            Ok(read) => {
                if let Some(copies) = copies {
                    copy(copies, &read, &file.path).await?;
                }
                holders.insert(read.track.id.clone(), file.path.clone());
                let existed = !store.tracks_by_ids(std::slice::from_ref(&read.track.id)).await?.is_empty();
                store.put_tracks(std::slice::from_ref(&read.track)).await?;
                let record = MusicFile {
                    path: file.path.clone(),
                    track_id: read.track.id.clone(),
                    size: file.size,
                    modified_ms: file.modified_ms,
                    mime: read.track.audio.clone().unwrap_or_default(),
                    cover: read.cover.map(|(_, mime)| mime),
                    skipped: None,
                };
                store.music_files().put_music_file(&record).await?;
                match existed {
                    true => report.updated += 1,
                    false => report.imported += 1,
                }
            }
        }
        progress(done, total);
    }
    drop(read);
    // Only what was looked for and could be listed is gone: a folder that
    // was not scanned, or is unmounted or unreadable now, keeps its files.
    let looked_at = |path: &str| listed.iter().any(|dir| Path::new(path).starts_with(dir));
    let unlisted: Vec<&PathBuf> =
        report.skipped.iter().filter(|(_, why)| matches!(why, Skipped::Unreadable(_))).map(|(p, _)| p).collect();
    let gone = known.values().filter(|k| {
        !present.contains(&k.path)
            && looked_at(&k.path)
            && !unlisted.iter().any(|dir| Path::new(&k.path).starts_with(dir))
    });
    for gone in gone {
        store.music_files().delete_music_file(&gone.path).await?;
        if gone.skipped.is_none() {
            report.removed += 1;
        }
    }
    let orphaned: HashSet<&String> = known
        .values()
        .filter(|k| k.skipped.is_none())
        .map(|k| &k.track_id)
        .filter(|id| !holders.contains_key(*id))
        .collect();
    for track_id in orphaned {
        if store.music_files().music_files_of(track_id).await?.is_empty() {
            mark_unplayable(store.as_ref(), track_id).await?;
            if let Some(copies) = copies {
                for key in [audio_key(track_id), cover_key(track_id)] {
                    copies.delete(&key).await.map_err(blob_error)?;
                }
            }
        }
    }
    Ok(report)
}

/// Where a track's audio is copied when scaled out.
pub fn audio_key(track_id: &str) -> String {
    format!("audio/{track_id}")
}

/// Where a track's embedded cover is copied when scaled out.
pub fn cover_key(track_id: &str) -> String {
    format!("covers/{track_id}")
}

fn blob_error(e: BlobError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Copies the file's audio and cover, so that every node can serve them.
async fn copy(copies: &dyn BlobStore, read: &Read, path: &str) -> StoreResult<()> {
    let id = &read.track.id;
    let mime = read.track.audio.as_deref().unwrap_or("application/octet-stream");
    copies.put_file(&audio_key(id), Path::new(path), mime).await.map_err(blob_error)?;
    match &read.cover {
        Some((bytes, mime)) => {
            let cover = Blob { bytes: bytes.clone(), content_type: mime.clone() };
            copies.put(&cover_key(id), cover).await.map_err(blob_error)
        }
        None => copies.delete(&cover_key(id)).await.map_err(blob_error),
    }
}

/// The track stays (votes, history, queues); it just cannot be played.
async fn mark_unplayable(store: &dyn Store, track_id: &str) -> StoreResult<()> {
    for mut track in store.tracks_by_ids(&[track_id.to_string()]).await? {
        if track.audio.take().is_some() {
            track.artwork_url = None;
            store.put_tracks(&[track]).await?;
        }
    }
    Ok(())
}

/// What a walk of the folders found.
struct Walked {
    /// Every file with a taken extension.
    found: Vec<Found>,
    /// What could not be listed or read, and why.
    skipped: Vec<(PathBuf, Skipped)>,
    /// The folders (absolute) that could be listed.
    listed: Vec<PathBuf>,
}

fn walk(folders: &[PathBuf]) -> Walked {
    let (mut found, mut skipped, mut listed) = (Vec::new(), Vec::new(), Vec::new());
    for folder in folders {
        match std::path::absolute(folder) {
            Ok(root) if folder.is_dir() => listed.push(root),
            _ => {}
        }
        for entry in walkdir::WalkDir::new(folder).follow_links(false).sort_by_file_name() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let path = e.path().map_or_else(|| folder.clone(), Path::to_path_buf);
                    let path = std::path::absolute(&path).unwrap_or(path);
                    skipped.push((path, Skipped::Unreadable(e.to_string())));
                    continue;
                }
            };
            let extension = entry.path().extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            if !entry.file_type().is_file() || !extension.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
                continue;
            }
            let Some(path) = absolute(entry.path()) else {
                skipped.push((entry.path().to_path_buf(), Skipped::Unreadable("the file name is not UTF-8".into())));
                continue;
            };
            match entry.metadata() {
                Ok(meta) => {
                    let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
                    let modified_ms = modified.map_or(0, |d| d.as_millis() as u64);
                    found.push(Found { path, size: meta.len(), modified_ms });
                }
                Err(e) => skipped.push((entry.path().to_path_buf(), Skipped::Unreadable(e.to_string()))),
            }
        }
    }
    Walked { found, skipped, listed }
}

fn absolute(path: &Path) -> Option<String> {
    std::path::absolute(path).ok()?.to_str().map(str::to_string)
}

/// A file read into a track.
struct Read {
    track: Track,
    /// The embedded cover and its MIME type.
    cover: Option<(Vec<u8>, String)>,
}

/// Reads a file's tags and measures its audio (blocking).
fn read_file(path: &Path) -> Result<Read, Skipped> {
    if std::fs::metadata(path).map_err(|e| Skipped::Unreadable(e.to_string()))?.len() == 0 {
        return Err(Skipped::Corrupt("the file is empty".into()));
    }
    let tags = tags::read(path).map_err(|e| match e {
        TagError::Unsupported => Skipped::Unsupported,
        TagError::Corrupt(why) => Skipped::Corrupt(why),
        TagError::Unreadable(e) => Skipped::Unreadable(e.to_string()),
    })?;
    let (id, analysis, measured_ms) = match analysis::measure(path) {
        Ok(m) => (format!("file-{}", &m.fingerprint[..24]), Some(m.analysis), Some(m.duration_ms)),
        // Opus: tags and duration only; the file's bytes identify it.
        Err(AnalysisError::Unsupported(_)) if tags.mime.contains("opus") => (file_hash(path)?, None, None),
        Err(AnalysisError::Unsupported(why)) => return Err(Skipped::Corrupt(format!("cannot decode it: {why}"))),
        Err(AnalysisError::Corrupt(why)) => {
            let why = tags.damaged.map_or(why.clone(), |tags| format!("{why}; its tags: {tags}"));
            return Err(Skipped::Corrupt(why));
        }
        Err(AnalysisError::Unreadable(e)) => return Err(Skipped::Unreadable(e.to_string())),
    };
    let duration_ms = measured_ms.filter(|ms| *ms > 0).unwrap_or(tags.duration_ms);
    if duration_ms == 0 {
        return Err(Skipped::Corrupt("it holds no audio".into()));
    }
    if duration_ms > MAX_DURATION_MS {
        return Err(Skipped::Corrupt(format!("it declares {} hours of audio", duration_ms / 3_600_000)));
    }
    if let Some(why) = &tags.damaged {
        tracing::info!(path = %path.display(), why, "unreadable tags: the file is taken by its name");
    }
    let id = tags.isrc.as_ref().map_or(id, |isrc| format!("isrc-{isrc}"));
    let (named_artist, named_title) = tags::from_file_name(path);
    let mut artists = tags.artists;
    if artists.is_empty() {
        artists.extend(tags.album_artist.clone().or(named_artist));
    }
    if artists.is_empty() {
        artists.push("Unknown artist".to_string());
    }
    let cover = tags.cover;
    let track = Track {
        artwork_url: cover.as_ref().map(|_| format!("/api/tracks/{id}/artwork")),
        title: tags.title.unwrap_or(named_title),
        artists,
        album: tags.album.unwrap_or_default(),
        genres: tags.genres,
        year: tags.year.unwrap_or(0),
        duration_ms,
        isrc: tags.isrc,
        audio: Some(tags.mime.to_string()),
        analysis,
        id,
        ..Track::default()
    };
    Ok(Read { track, cover })
}

/// `file-` and the start of the SHA-256 of the file's bytes, read in chunks.
fn file_hash(path: &Path) -> Result<String, Skipped> {
    let mut file = std::fs::File::open(path).map_err(|e| Skipped::Unreadable(e.to_string()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Skipped::Unreadable(e.to_string()))?;
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("file-{}", &digest[..24]))
}
