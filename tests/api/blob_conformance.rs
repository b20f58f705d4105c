//! One conformance suite for `BlobStore`: files under a directory and
//! GridFS on the MongoDB-wire-compatible server (a fresh database per test).

use std::sync::Arc;

use crowdjuke::media::{Blob, BlobError, BlobStore, FileBlobStore, GridFsBlobStore};
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
);
