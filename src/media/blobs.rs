//! Blob storage: immutable byte strings with a content type, addressed by
//! a key like `photos/{room}/{photo}/thumb.webp`. Keys are checked (letters,
//! digits, `-`, `_`, `.`, `/` separators, no `..`), so a key can never
//! leave the store's directory or collide with its bookkeeping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{Bson, Document, doc};
use mongodb::gridfs::GridFsBucket;
use mongodb::options::GridFsBucketOptions;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt};

const MAX_KEY_CHARS: usize = 200;
const MAX_CONTENT_TYPE_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key: {0}")]
    InvalidKey(String),
    #[error("blob storage unavailable: {0}")]
    Unavailable(String),
}

pub type BlobResult<T> = Result<T, BlobError>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// What is known of a blob without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub len: u64,
    pub content_type: String,
}

/// A blob's bytes in chunks, read as they are sent.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// How much of a large blob is read or written at a time.
const CHUNK_BYTES: usize = 256 * 1024;

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `blob` under `key`, replacing what was there.
    async fn put(&self, key: &str, blob: Blob) -> BlobResult<()>;
    async fn get(&self, key: &str) -> BlobResult<Option<Blob>>;
    /// Removes the blob; a missing one is fine.
    async fn delete(&self, key: &str) -> BlobResult<()>;
    /// Keys starting with `prefix`, sorted (to find orphans and clean up).
    async fn keys(&self, prefix: &str) -> BlobResult<Vec<String>>;
    /// Stores the file at `path` under `key`, copied a chunk at a time (a
    /// 200 MB recording is never held whole).
    async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> BlobResult<()>;
    /// Its length and content type, or `None` when there is no such blob.
    async fn stat(&self, key: &str) -> BlobResult<Option<BlobInfo>>;
    /// The bytes `range` (end excluded, within the blob) as a stream of
    /// chunks, in constant memory; `None` when there is no such blob.
    async fn read_range(&self, key: &str, range: Range<u64>) -> BlobResult<Option<ByteStream>>;
    /// Removes what a crash mid-write left behind, untouched for `age` (a
    /// write still under way is younger): temporary files last written
    /// `age` ago on this machine's clock, or GridFS chunks whose file was
    /// never recorded, seen unchanged by this node's sweeps for `age`. How
    /// many were removed.
    async fn sweep_leftovers(&self, age: std::time::Duration) -> BlobResult<usize>;
}

fn check_key(key: &str) -> BlobResult<()> {
    let segment_ok = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if key.len() > MAX_KEY_CHARS || !key.split('/').all(segment_ok) || key.ends_with(".type") {
        return Err(BlobError::InvalidKey(key.chars().take(64).collect()));
    }
    Ok(())
}

fn check_content_type(content_type: &str) -> BlobResult<()> {
    let ok = !content_type.is_empty()
        && content_type.len() <= MAX_CONTENT_TYPE_CHARS
        && content_type.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if ok { Ok(()) } else { Err(BlobError::InvalidKey(format!("content type {content_type:?}"))) }
}

fn unavailable(e: impl std::fmt::Display) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

/// Files under a directory: the blob at `{dir}/{key}`, its content type in
/// `{dir}/{key}.type`. Written to a temporary name and renamed, so a reader
/// never sees half a file.
pub struct FileBlobStore {
    dir: PathBuf,
}

impl FileBlobStore {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    fn path(&self, key: &str) -> BlobResult<PathBuf> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }
}

fn type_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".type");
    PathBuf::from(name)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(format!(".tmp-{:08x}", rand::random::<u32>()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[async_trait]
impl BlobStore for FileBlobStore {
    async fn put(&self, key: &str, blob: Blob) -> BlobResult<()> {
        check_content_type(&blob.content_type)?;
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_atomically(&type_path(&path), blob.content_type.as_bytes())?;
            write_atomically(&path, &blob.bytes)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Blob>> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || -> std::io::Result<Option<Blob>> {
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let content_type =
                std::fs::read_to_string(type_path(&path)).unwrap_or_else(|_| "application/octet-stream".to_string());
            Ok(Some(Blob { bytes, content_type }))
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> BlobResult<()> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for file in [path.clone(), type_path(&path)] {
                match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }

    async fn keys(&self, prefix: &str) -> BlobResult<Vec<String>> {
        let dir = self.dir.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            collect_keys(&dir, &dir, &mut keys)?;
            keys.retain(|k| k.starts_with(&prefix));
            keys.sort();
            Ok(keys)
        })
        .await
        .map_err(unavailable)?
        .map_err(|e: std::io::Error| unavailable(e))
    }

    async fn put_file(&self, key: &str, source: &Path, content_type: &str) -> BlobResult<()> {
        check_content_type(content_type)?;
        let (path, source, content_type) = (self.path(key)?, source.to_path_buf(), content_type.to_string());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut tmp = path.as_os_str().to_os_string();
            tmp.push(format!(".tmp-{:08x}", rand::random::<u32>()));
            std::fs::copy(&source, &tmp)?;
            write_atomically(&type_path(&path), content_type.as_bytes())?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)
    }

    async fn stat(&self, key: &str) -> BlobResult<Option<BlobInfo>> {
        let path = self.path(key)?;
        let len = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let content_type =
            tokio::fs::read_to_string(type_path(&path)).await.unwrap_or_else(|_| "application/octet-stream".into());
        Ok(Some(BlobInfo { len, content_type }))
    }

    async fn read_range(&self, key: &str, range: Range<u64>) -> BlobResult<Option<ByteStream>> {
        let path = self.path(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        file.seek(std::io::SeekFrom::Start(range.start)).await.map_err(unavailable)?;
        let part = file.take(range.end.saturating_sub(range.start));
        Ok(Some(tokio_util::io::ReaderStream::with_capacity(part, CHUNK_BYTES).boxed()))
    }

    async fn sweep_leftovers(&self, age: std::time::Duration) -> BlobResult<usize> {
        let (dir, before) = (self.dir.clone(), std::time::SystemTime::now() - age);
        tokio::task::spawn_blocking(move || remove_stale_temporaries(&dir, before))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }
}

/// Removes the temporary files (`.tmp-…`) under `dir` last written before
/// `before`; how many.
fn remove_stale_temporaries(dir: &Path, before: std::time::SystemTime) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            removed += remove_stale_temporaries(&path, before)?;
            continue;
        }
        let temporary = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".tmp-"));
        let written = std::fs::metadata(&path).and_then(|m| m.modified());
        if temporary && written.is_ok_and(|at| at < before) {
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

/// Blob keys under `dir` (skipping `.type` and temporary files).
fn collect_keys(root: &Path, dir: &Path, keys: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_keys(root, &path, keys)?;
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else { continue };
        let key = relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
        if check_key(&key).is_ok() && !key.contains(".tmp-") {
            keys.push(key);
        }
    }
    Ok(())
}

/// GridFS in the shared MongoDB: a key is a file's name, the content type
/// its metadata. A write uploads a new revision of the key (with an id of
/// its own, so writers of one key never share chunks) and then deletes
/// every revision but the newest; reads take the newest. Writers racing on
/// a key (a render job that outlived its lease and the node that took it
/// over) all succeed, and one whole copy stays. Files written before
/// revisions have the key as their id too; they are read and deleted alike.
pub struct GridFsBlobStore {
    bucket: GridFsBucket,
    /// The bucket's chunks, read directly for ranges (the driver's
    /// download stream can only start at the beginning).
    chunks: mongodb::Collection<Document>,
    closed: Arc<AtomicBool>,
    /// Chunk sets without a file seen by this node's sweeps, by their
    /// file id: how many chunks they had and since when (see
    /// `sweep_leftovers`).
    orphans_seen: std::sync::Mutex<HashMap<String, SeenOrphan>>,
}

/// A chunk set without a file, as a sweep last saw it.
struct SeenOrphan {
    chunks: i64,
    since: std::time::Instant,
}

impl GridFsBlobStore {
    pub fn new(db: &mongodb::Database) -> Self {
        let options = GridFsBucketOptions::builder().bucket_name("media".to_string()).build();
        Self {
            bucket: db.gridfs_bucket(options),
            chunks: db.collection("media.chunks"),
            closed: Arc::default(),
            orphans_seen: Default::default(),
        }
    }

    /// The key's revisions, newest first.
    async fn revisions(&self, key: &str) -> BlobResult<Vec<mongodb::gridfs::FilesCollectionDocument>> {
        check_key(key)?;
        self.bucket()?
            .find(doc! { "filename": key })
            .sort(doc! { "uploadDate": -1, "_id": -1 })
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)
    }

    /// The newest revision of the key.
    async fn file(&self, key: &str) -> BlobResult<Option<mongodb::gridfs::FilesCollectionDocument>> {
        Ok(self.revisions(key).await?.into_iter().next())
    }

    /// Deletes every revision of the key but the newest (run after each
    /// write: racing writers agree on which is newest).
    async fn keep_newest(&self, key: &str) -> BlobResult<()> {
        for old in self.revisions(key).await?.into_iter().skip(1) {
            self.delete_revision(old.id).await?;
        }
        Ok(())
    }

    async fn delete_revision(&self, id: Bson) -> BlobResult<()> {
        match self.bucket()?.delete(id).await {
            Ok(()) => Ok(()),
            Err(e) if is_missing_file(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Later calls answer `Unavailable` (the client is shut down elsewhere).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn bucket(&self) -> BlobResult<&GridFsBucket> {
        if self.closed.load(Ordering::Acquire) {
            return Err(unavailable("the blob store is closed"));
        }
        Ok(&self.bucket)
    }
}

fn content_type_of(file: &mongodb::gridfs::FilesCollectionDocument) -> String {
    let declared = file.metadata.as_ref().and_then(|m| m.get_str("contentType").ok());
    declared.unwrap_or("application/octet-stream").to_string()
}

fn is_missing_file(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), mongodb::error::ErrorKind::GridFs(mongodb::error::GridFsErrorKind::FileNotFound { .. }))
}

#[async_trait]
impl BlobStore for GridFsBlobStore {
    async fn put(&self, key: &str, blob: Blob) -> BlobResult<()> {
        check_key(key)?;
        check_content_type(&blob.content_type)?;
        let metadata: Document = doc! { "contentType": &blob.content_type };
        let mut upload = self.bucket()?.open_upload_stream(key).metadata(metadata).await.map_err(unavailable)?;
        if let Err(e) = upload.write_all(&blob.bytes).await {
            upload.abort().await.ok();
            return Err(unavailable(e));
        }
        upload.close().await.map_err(unavailable)?;
        self.keep_newest(key).await
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Blob>> {
        // A revision found may be replaced and deleted before it is read:
        // then the newer one is read.
        for _ in 0..3 {
            let Some(file) = self.file(key).await? else { return Ok(None) };
            let content_type = content_type_of(&file);
            let mut download = match self.bucket()?.open_download_stream(file.id).await {
                Ok(d) => d,
                Err(e) if is_missing_file(&e) => continue,
                Err(e) => return Err(unavailable(e)),
            };
            let mut bytes = Vec::with_capacity(file.length as usize);
            download.read_to_end(&mut bytes).await.map_err(unavailable)?;
            return Ok(Some(Blob { bytes, content_type }));
        }
        Err(unavailable("the blob kept being replaced while read"))
    }

    async fn delete(&self, key: &str) -> BlobResult<()> {
        for revision in self.revisions(key).await? {
            self.delete_revision(revision.id).await?;
        }
        Ok(())
    }

    async fn keys(&self, prefix: &str) -> BlobResult<Vec<String>> {
        let bucket = self.bucket()?;
        // Keys are ASCII, so every key with the prefix sorts below prefix + U+FFFF.
        let range = doc! { "filename": { "$gte": prefix, "$lt": format!("{prefix}\u{ffff}") } };
        let files: Vec<_> = bucket.find(range).await.map_err(unavailable)?.try_collect().await.map_err(unavailable)?;
        // A key being written has two revisions for a moment: listed once.
        let keys: std::collections::BTreeSet<String> =
            files.into_iter().filter_map(|f| f.filename).filter(|name| name.starts_with(prefix)).collect();
        Ok(keys.into_iter().collect())
    }

    async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> BlobResult<()> {
        check_key(key)?;
        check_content_type(content_type)?;
        let mut source = tokio::fs::File::open(path).await.map_err(unavailable)?;
        let metadata: Document = doc! { "contentType": content_type };
        let mut upload = self.bucket()?.open_upload_stream(key).metadata(metadata).await.map_err(unavailable)?;
        let mut buffer = vec![0; CHUNK_BYTES];
        loop {
            let copied = match source.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => upload.write_all(&buffer[..n]).await,
                Err(e) => Err(e),
            };
            if let Err(e) = copied {
                upload.abort().await.ok();
                return Err(unavailable(e));
            }
        }
        upload.close().await.map_err(unavailable)?;
        self.keep_newest(key).await
    }

    async fn stat(&self, key: &str) -> BlobResult<Option<BlobInfo>> {
        Ok(self.file(key).await?.map(|file| BlobInfo { len: file.length, content_type: content_type_of(&file) }))
    }

    /// Reads only the chunks that hold the range, a few at a time.
    async fn read_range(&self, key: &str, range: Range<u64>) -> BlobResult<Option<ByteStream>> {
        let Some(file) = self.file(key).await? else { return Ok(None) };
        let size = u64::from(file.chunk_size_bytes.max(1));
        let end = range.end.min(file.length);
        if range.start >= end {
            return Ok(Some(futures_util::stream::empty().boxed()));
        }
        let (first, last) = (range.start / size, (end - 1) / size);
        let filter = doc! { "files_id": file.id, "n": { "$gte": first as i64, "$lte": last as i64 } };
        let chunks = self.chunks.find(filter).sort(doc! { "n": 1 }).batch_size(4).await.map_err(unavailable)?;
        // The next chunk due; checked again at the end, so a revision
        // deleted while it is read ends in an error, never a short file.
        let next = Arc::new(std::sync::atomic::AtomicU64::new(first));
        let due = next.clone();
        let stream = chunks.map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            let n = chunk.get_i32("n").map(i64::from).or_else(|_| chunk.get_i64("n")).map_err(std::io::Error::other)?;
            let data = chunk.get_binary_generic("data").map_err(std::io::Error::other)?;
            let expected = due.load(Ordering::Acquire);
            if n as u64 != expected {
                return Err(std::io::Error::other(format!("chunk {expected} of the blob is missing")));
            }
            due.store(expected + 1, Ordering::Release);
            let offset = n as u64 * size;
            let from = range.start.saturating_sub(offset).min(data.len() as u64) as usize;
            let to = (end - offset).min(data.len() as u64) as usize;
            Ok(Bytes::copy_from_slice(&data[from..to.max(from)]))
        });
        let end = futures_util::stream::once(async move {
            let missing = next.load(Ordering::Acquire);
            (missing <= last).then(|| Err(std::io::Error::other(format!("chunk {missing} of the blob is missing"))))
        })
        .filter_map(|end| async move { end });
        Ok(Some(stream.chain(end).boxed()))
    }

    /// An upload writes its chunks, then its file document, so chunks
    /// without a file are an upload under way or one that died. Dead ones
    /// are those this node's sweeps saw without a file and with the same
    /// number of chunks for at least `age` by its monotonic clock. Chunk
    /// ids are ObjectIds stamped by the writer's system clock, which the
    /// sweeper cannot trust: a writer whose clock was an hour behind made
    /// an upload under way look an hour old.
    async fn sweep_leftovers(&self, age: std::time::Duration) -> BlobResult<usize> {
        self.bucket()?;
        let pipeline = vec![
            doc! { "$group": { "_id": "$files_id", "chunks": { "$sum": 1 } } },
            doc! { "$lookup": { "from": "media.files", "localField": "_id", "foreignField": "_id", "as": "file" } },
            doc! { "$match": { "file": { "$size": 0 } } },
            doc! { "$project": { "_id": 1, "chunks": 1 } },
        ];
        let orphans: Vec<Document> =
            self.chunks.aggregate(pipeline).await.map_err(unavailable)?.try_collect().await.map_err(unavailable)?;
        let dead = self.still_orphaned(orphans, age);
        if dead.is_empty() {
            return Ok(0);
        }
        self.chunks.delete_many(doc! { "files_id": { "$in": dead.clone() } }).await.map_err(unavailable)?;
        Ok(dead.len())
    }
}

impl GridFsBlobStore {
    /// Remembers the chunk sets a sweep found without a file; the ids of
    /// those unchanged for at least `age`.
    fn still_orphaned(&self, orphans: Vec<Document>, age: std::time::Duration) -> Vec<Bson> {
        let now = std::time::Instant::now();
        let mut seen = self.orphans_seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut before = std::mem::take(&mut *seen);
        let mut dead = Vec::new();
        for mut orphan in orphans {
            let chunks = orphan.get_i32("chunks").map(i64::from).or_else(|_| orphan.get_i64("chunks")).unwrap_or(0);
            let Some(id) = orphan.remove("_id") else { continue };
            let since = match before.remove(&id.to_string()) {
                Some(last) if last.chunks == chunks => last.since,
                _ => now,
            };
            if now.duration_since(since) >= age {
                dead.push(id);
            } else {
                seen.insert(id.to_string(), SeenOrphan { chunks, since });
            }
        }
        dead
    }
}
