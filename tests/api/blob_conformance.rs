//! One conformance suite for `BlobStore`: files under a directory and
//! GridFS on the MongoDB-wire-compatible server (a fresh database per test).

use std::sync::Arc;

use crowdjuke::media::{Blob, BlobError, BlobInfo, BlobStore, FileBlobStore, GridFsBlobStore};
use futures_util::TryStreamExt;
use tempfile::TempDir;

use crate::services;

struct Subject {
    store: Arc<dyn BlobStore>,
    _dir: Option<TempDir>,
}

async fn files() -> Subject {
    let dir = TempDir::new().expect("temp dir");
    let store = FileBlobStore::open(&dir.path().join("media")).expect("opens");
    Subject { store: Arc::new(store), _dir: Some(dir) }
}

async fn gridfs() -> Subject {
    let client = mongodb::Client::with_uri_str(services::mongodb_uri()).await.expect("client");
    let store = GridFsBlobStore::new(&client.database(&services::fresh_db_name()));
    Subject { store: Arc::new(store), _dir: None }
}

fn blob(bytes: Vec<u8>, content_type: &str) -> Blob {
    Blob { bytes, content_type: content_type.into() }
}

async fn blobs_round_trip_with_their_content_type(store: Arc<dyn BlobStore>) {
    assert_eq!(store.get("photos/r1/p1/full.jpg").await.expect("get"), None);
    // Binary, larger than one GridFS chunk (255 KiB), not a multiple of it.
    let bytes: Vec<u8> = (0..700_001u32).map(|i| (i * 7 % 251) as u8).collect();
    store.put("photos/r1/p1/full.jpg", blob(bytes.clone(), "image/jpeg")).await.expect("put");
    let got = store.get("photos/r1/p1/full.jpg").await.expect("get").expect("stored");
    assert_eq!((got.bytes.len(), got.content_type.as_str()), (bytes.len(), "image/jpeg"));
    assert!(got.bytes == bytes, "bytes come back unchanged");
    store.put("photos/r1/p1/full.jpg", blob(b"smaller".to_vec(), "image/webp")).await.expect("replace");
    assert_eq!(store.get("photos/r1/p1/full.jpg").await.expect("get"), Some(blob(b"smaller".to_vec(), "image/webp")));
    store.put("empty", blob(Vec::new(), "application/octet-stream")).await.expect("an empty blob");
    assert_eq!(store.get("empty").await.expect("get").map(|b| b.bytes.len()), Some(0));
}

async fn delete_is_idempotent_and_keys_list_by_prefix(store: Arc<dyn BlobStore>) {
    for key in ["photos/r1/a/thumb.webp", "photos/r1/b/thumb.webp", "photos/r2/c/thumb.webp", "avatars/u1.webp"] {
        store.put(key, blob(key.as_bytes().to_vec(), "image/webp")).await.expect("put");
    }
    assert_eq!(
        store.keys("photos/r1/").await.expect("keys"),
        vec!["photos/r1/a/thumb.webp".to_string(), "photos/r1/b/thumb.webp".to_string()]
    );
    assert_eq!(store.keys("").await.expect("keys").len(), 4);
    store.delete("photos/r1/a/thumb.webp").await.expect("delete");
    store.delete("photos/r1/a/thumb.webp").await.expect("deleting twice is fine");
    store.delete("never/was").await.expect("deleting a missing blob is fine");
    assert_eq!(store.get("photos/r1/a/thumb.webp").await.expect("get"), None);
    assert_eq!(store.keys("photos/r1/").await.expect("keys"), vec!["photos/r1/b/thumb.webp".to_string()]);
}

async fn keys_that_could_escape_or_collide_are_refused(store: Arc<dyn BlobStore>) {
    let long = "a".repeat(201);
    for key in ["../etc/passwd", "photos/../x", "/abs", "a//b", "", "a/", "sp ace", "ünï", "x.type", long.as_str()] {
        let put = store.put(key, blob(b"x".to_vec(), "image/png")).await;
        assert!(matches!(put, Err(BlobError::InvalidKey(_))), "{key:?}: {put:?}");
        assert!(matches!(store.get(key).await, Err(BlobError::InvalidKey(_))), "{key:?}");
    }
    let bad_type = store.put("ok", blob(b"x".to_vec(), "text/html\r\nX-Evil: 1")).await;
    assert!(matches!(bad_type, Err(BlobError::InvalidKey(_))));
    assert!(store.keys("").await.expect("keys").is_empty(), "nothing was stored");
}

async fn read_range(store: &dyn BlobStore, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let stream = store.read_range(key, range).await.expect("read").expect("stored");
    let chunks: Vec<_> = stream.try_collect().await.expect("chunks");
    chunks.concat()
}

async fn files_are_stored_in_chunks_and_read_back_by_range(store: Arc<dyn BlobStore>) {
    let dir = TempDir::new().expect("dir");
    let source = dir.path().join("song.flac");
    // Three and a bit GridFS chunks.
    let bytes: Vec<u8> = (0..800_003u32).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(&source, &bytes).expect("write");
    assert_eq!(store.stat("audio/t1").await.expect("stat"), None);
    assert!(store.read_range("audio/t1", 0..10).await.expect("read").is_none());

    store.put_file("audio/t1", &source, "audio/flac").await.expect("put_file");

    let info = store.stat("audio/t1").await.expect("stat").expect("stored");
    assert_eq!(info, BlobInfo { len: bytes.len() as u64, content_type: "audio/flac".into() });
    let len = bytes.len() as u64;
    for range in [0..len, 0..1, 5..10, 261_100..261_150, 250_000..700_000, len - 1..len, 522_240..522_241] {
        let got = read_range(store.as_ref(), "audio/t1", range.clone()).await;
        assert!(got == bytes[range.start as usize..range.end as usize], "{range:?}: {} bytes", got.len());
    }
    assert!(read_range(store.as_ref(), "audio/t1", 10..10).await.is_empty());
    // Replacing with a smaller file leaves nothing of the larger one.
    std::fs::write(&source, b"short").expect("write");
    store.put_file("audio/t1", &source, "audio/mpeg").await.expect("replace");
    assert_eq!(
        store.stat("audio/t1").await.expect("stat").map(|i| (i.len, i.content_type)),
        Some((5, "audio/mpeg".into()))
    );
    assert_eq!(read_range(store.as_ref(), "audio/t1", 0..5).await, b"short");
    let missing = store.put_file("audio/t2", &dir.path().join("gone.flac"), "audio/flac").await;
    assert!(matches!(missing, Err(BlobError::Unavailable(_))), "{missing:?}");
    assert_eq!(store.stat("audio/t2").await.expect("stat"), None, "nothing half-written");
    let bad = store.put_file("../audio", &source, "audio/flac").await;
    assert!(matches!(bad, Err(BlobError::InvalidKey(_))), "{bad:?}");
}

/// Writers of one key at once (a render job that outlived its lease and
/// the node that took it over) all succeed and leave one whole blob: one
/// writer's bytes, never a mix or a half, listed once, readable by range.
async fn writers_of_one_key_at_once_leave_one_whole_blob(store: Arc<dyn BlobStore>) {
    let key = "photos/p1.full.jpg";
    let dir = TempDir::new().expect("temp dir");
    for round in 0..3u8 {
        // Two chunks each in GridFS (255 KiB chunks), so uploads interleave.
        let contents: Vec<Vec<u8>> = (0..6u8).map(|i| vec![round * 10 + i; 300_000 + usize::from(i) * 1_000]).collect();
        let paths: Vec<std::path::PathBuf> = contents
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                let path = dir.path().join(format!("{round}-{i}"));
                std::fs::write(&path, bytes).expect("source file");
                path
            })
            .collect();
        let puts = contents[..3].iter().map(|bytes| store.put(key, blob(bytes.clone(), "image/jpeg")));
        let files = paths[3..].iter().map(|path| store.put_file(key, path, "image/jpeg"));
        let (put, put_file) =
            futures_util::future::join(futures_util::future::join_all(puts), futures_util::future::join_all(files))
                .await;
        for result in put.into_iter().chain(put_file) {
            result.expect("every writer succeeds");
        }
        let stored = store.get(key).await.expect("get").expect("a blob");
        assert!(contents.contains(&stored.bytes), "one writer's bytes, whole (round {round})");
        let info = store.stat(key).await.expect("stat").expect("a blob");
        assert_eq!(info.len, stored.bytes.len() as u64);
        assert_eq!(read_range(store.as_ref(), key, 0..info.len).await, stored.bytes);
        assert_eq!(store.keys("photos/").await.expect("keys"), vec![key.to_string()], "listed once");
    }
    store.delete(key).await.expect("delete");
    assert_eq!(store.get(key).await.expect("get"), None, "every copy is gone");
    assert!(store.keys("photos/").await.expect("keys").is_empty());
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod file_blobs {
            $(#[tokio::test]
            async fn $case() {
                let subject = super::files().await;
                super::$case(subject.store.clone()).await;
            })*
        }
        mod gridfs_blobs {
            $(#[tokio::test]
            async fn $case() {
                let subject = super::gridfs().await;
                super::$case(subject.store.clone()).await;
            })*
        }
    };
}

conformance!(
    blobs_round_trip_with_their_content_type,
    delete_is_idempotent_and_keys_list_by_prefix,
    keys_that_could_escape_or_collide_are_refused,
    files_are_stored_in_chunks_and_read_back_by_range,
    writers_of_one_key_at_once_leave_one_whole_blob,
);

/// A temporary file a crash left beside a blob is removed once it is
/// older than the age given; a fresh one (a write under way) and the blobs
/// stay.
#[tokio::test]
async fn crash_leftovers_among_files_are_swept_once_stale() {
    let dir = TempDir::new().expect("temp dir");
    let media = dir.path().join("media");
    let store = FileBlobStore::open(&media).expect("opens");
    store.put("photos/r1/p1/full.jpg", blob(b"whole".to_vec(), "image/jpeg")).await.expect("put");
    let stale = media.join("photos/r1/p1/thumb.webp.tmp-0badf00d");
    let fresh = media.join("photos/r1/p1/card.webp.tmp-12345678");
    for path in [&stale, &fresh] {
        std::fs::write(path, b"half").expect("write");
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let file = std::fs::File::options().write(true).open(&stale).expect("open");
    file.set_modified(two_hours_ago).expect("set mtime");
    let swept = store.sweep_leftovers(std::time::Duration::from_secs(3600)).await.expect("sweep");
    assert_eq!(swept, 1);
    assert!(!stale.exists() && fresh.exists());
    assert_eq!(store.get("photos/r1/p1/full.jpg").await.expect("get").map(|b| b.bytes), Some(b"whole".to_vec()));
    assert_eq!(store.sweep_leftovers(std::time::Duration::from_secs(3600)).await.expect("again"), 0);
}

/// An ObjectId made `seconds_ago`, told apart by `n`.
fn object_id(seconds_ago: u64, n: u8) -> mongodb::bson::oid::ObjectId {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&((now - seconds_ago) as u32).to_be_bytes());
    bytes[11] = n;
    mongodb::bson::oid::ObjectId::from_bytes(bytes)
}

/// GridFS chunks whose upload died before its file was recorded are
/// removed once a node's sweeps have seen them unchanged for the age
/// given; chunks of a recorded file (however old) and of an upload under
/// way stay, even when the writer's clock stamped its chunks hours ago.
#[tokio::test]
async fn crash_leftovers_in_gridfs_are_swept_once_stale() {
    use mongodb::bson::{Binary, Document, doc, spec::BinarySubtype};
    let client = mongodb::Client::with_uri_str(services::mongodb_uri()).await.expect("client");
    let db = client.database(&services::fresh_db_name());
    let store = GridFsBlobStore::new(&db);
    store.put("photos/r1/p1/full.jpg", blob(vec![7; 700_001], "image/jpeg")).await.expect("put");
    let data = |bytes: &[u8]| Binary { subtype: BinarySubtype::Generic, bytes: bytes.to_vec() };
    let chunks = db.collection::<Document>("media.chunks");
    chunks
        .insert_many([
            doc! { "_id": object_id(7200, 1), "files_id": "photos/r1/dead/full.jpg", "n": 0, "data": data(b"ab") },
            doc! { "_id": object_id(7100, 2), "files_id": "photos/r1/dead/full.jpg", "n": 1, "data": data(b"cd") },
            // Written now by a node whose clock is two hours behind.
            doc! { "_id": object_id(7200, 3), "files_id": "photos/r1/uploading/full.jpg", "n": 0, "data": data(b"ef") },
            doc! { "_id": object_id(9000, 4), "files_id": "photos/r1/old/full.jpg", "n": 0, "data": data(b"gh") },
        ])
        .await
        .expect("chunks");
    let file = doc! {
        "_id": "photos/r1/old/full.jpg", "length": 2_i64, "chunkSize": 261_120, "filename": "photos/r1/old/full.jpg",
        "uploadDate": mongodb::bson::DateTime::now(), "metadata": { "contentType": "image/jpeg" },
    };
    db.collection::<Document>("media.files").insert_one(file).await.expect("file");
    let age = std::time::Duration::from_millis(300);

    assert_eq!(store.sweep_leftovers(age).await.expect("sweep"), 0, "nothing seen unchanged for the age yet");
    let more =
        doc! { "_id": object_id(7199, 5), "files_id": "photos/r1/uploading/full.jpg", "n": 1, "data": data(b"ij") };
    chunks.insert_one(more).await.expect("the upload goes on");
    tokio::time::sleep(age + std::time::Duration::from_millis(100)).await;
    assert_eq!(store.sweep_leftovers(age).await.expect("sweep"), 1, "one dead upload");

    let count = |key: &'static str| {
        let chunks = chunks.clone();
        async move { chunks.count_documents(doc! { "files_id": key }).await.expect("count") }
    };
    assert_eq!(count("photos/r1/dead/full.jpg").await, 0);
    assert_eq!(count("photos/r1/uploading/full.jpg").await, 2, "an upload under way");
    assert_eq!(store.get("photos/r1/old/full.jpg").await.expect("get").map(|b| b.bytes), Some(b"gh".to_vec()));
    assert_eq!(store.get("photos/r1/p1/full.jpg").await.expect("get").map(|b| b.bytes.len()), Some(700_001));
    assert_eq!(store.sweep_leftovers(age).await.expect("again"), 0, "the upload changed since the last sweep");
}

/// A blob GridFS holds from before revisions (its key as its id) is read,
/// replaced and deleted like any other.
#[tokio::test]
async fn a_gridfs_blob_written_before_revisions_is_read_replaced_and_deleted() {
    use futures_util::AsyncWriteExt;
    use mongodb::bson::{Bson, doc};
    use mongodb::options::GridFsBucketOptions;
    let client = mongodb::Client::with_uri_str(services::mongodb_uri()).await.expect("client");
    let db = client.database(&services::fresh_db_name());
    let key = "photos/old.full.jpg";
    let bucket = db.gridfs_bucket(GridFsBucketOptions::builder().bucket_name("media".to_string()).build());
    let mut upload = bucket
        .open_upload_stream(key)
        .id(Bson::String(key.into()))
        .metadata(doc! { "contentType": "image/jpeg" })
        .await
        .expect("upload");
    upload.write_all(&[3; 1_000]).await.expect("write");
    upload.close().await.expect("close");
    let store = GridFsBlobStore::new(&db);
    assert_eq!(store.get(key).await.expect("get"), Some(blob(vec![3; 1_000], "image/jpeg")));
    assert_eq!(read_range(&store, key, 10..20).await, vec![3; 10]);
    store.put(key, blob(vec![4; 2_000], "image/jpeg")).await.expect("replace");
    assert_eq!(store.get(key).await.expect("get").map(|b| b.bytes), Some(vec![4; 2_000]));
    assert_eq!(store.keys("photos/").await.expect("keys"), vec![key.to_string()]);
    store.delete(key).await.expect("delete");
    assert_eq!(store.get(key).await.expect("get"), None);
    let left = db.collection::<mongodb::bson::Document>("media.chunks").count_documents(doc! {}).await.expect("count");
    assert_eq!(left, 0, "no chunk is left behind");
}
