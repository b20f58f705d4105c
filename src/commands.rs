//! Operator commands that work on the data without serving:
//! `crowdjuke import tracks FILE`, `crowdjuke import music DIR…` and
//! `crowdjuke reindex [INDEX]`, `crowdjuke search-key` (the nodes'
//! Meilisearch key); and `crowdjuke ready`, the container
//! healthcheck, which asks the server on this machine. The others open
//! the configured store and search engine (the embedded ones are locked by
//! a running server: stop it first, or use the upload route).
//!
//! Owns: the offline operator commands. May use: app (to open the store and
//! engine), media (blobs), music, search, store, config. Must not import: transport.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Settings;
use crate::media::{BlobStore, GridFsBlobStore};
use crate::music::import::{self, Format, MAX_IMPORT_BYTES};
use crate::search::{IndexName, indexer};
use crate::store::{EmbeddedStore, MongoStore, Store};

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &settings.mongodb_uri {
        Some(uri) => Arc::new(MongoStore::connect(uri, &settings.mongodb_db).await.context("cannot reach MongoDB")?),
        None => {
            std::fs::create_dir_all(&settings.data_dir)?;
            Arc::new(EmbeddedStore::open(&settings.data_dir).context(
                "cannot open the store (a running crowdjuke server holds it: stop it, or upload through the API)",
            )?)
        }
    })
}

/// Validates `file` completely, then writes every track and indexes them.
pub async fn import_tracks(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let format = Format::from_path(file).context("the file name must end in .csv or .json")?;
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    anyhow::ensure!(size <= MAX_IMPORT_BYTES as u64, "{} is larger than {} MB", file.display(), MAX_IMPORT_BYTES >> 20);
    let bytes = std::fs::read(file)?;
    let parsed = import::parse(&bytes, format)
        .map_err(|e| anyhow::anyhow!("{} was not imported:\n  {}", file.display(), e.problems.join("\n  ")))?;
    let store = open_store(settings).await?;
    let report = import::save(store.as_ref(), parsed).await?;
    println!("imported {} tracks ({} new, {} updated)", report.imported, report.created, report.updated);
    match index_queued(settings, store.as_ref()).await {
        Ok(()) => println!("search index up to date"),
        Err(e) => println!("the search index could not be updated now ({e}); the server catches up when it can"),
    }
    store.close().await;
    if !report.ignored_columns.is_empty() {
        println!("ignored columns: {}", report.ignored_columns.join(", "));
    }
    Ok(())
}

/// Scans music folders into the library, with a progress bar on a
/// terminal, and prints what it did and every file it left out and why.
pub async fn import_music(settings: &Settings, dirs: &[std::path::PathBuf]) -> anyhow::Result<()> {
    for dir in dirs {
        anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
    }
    // Scaled out, the audio is copied into GridFS so that every node can
    // serve it; embedded, files are played where they are.
    let (store, copies): (Arc<dyn Store>, _) = match &settings.mongodb_uri {
        Some(uri) => {
            let mongo = MongoStore::connect(uri, &settings.mongodb_db).await.context("cannot reach MongoDB")?;
            let copies = GridFsBlobStore::new(mongo.database());
            (Arc::new(mongo), Some(copies))
        }
        None => (open_store(settings).await?, None),
    };
    let bar = progress_bar();
    let started = std::time::Instant::now();
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let scanned =
        crate::music::folders::scan(&store, copies.as_ref().map(|c| c as &dyn BlobStore), dirs, &progress).await;
    bar.finish_and_clear();
    let report = scanned?;
    let seconds = started.elapsed().as_secs_f64();
    let read = report.read;
    println!(
        "{} imported, {} updated, {} unchanged, {} removed, {} skipped ({read} files read in {seconds:.1} s, {:.1} files/s)",
        report.imported,
        report.updated,
        report.unchanged,
        report.removed,
        report.skipped.len(),
        read as f64 / seconds.max(0.001),
    );
    for (path, why) in &report.skipped {
        println!("  skipped {}: {why}", path.display());
    }
    match index_queued(settings, store.as_ref()).await {
        Ok(()) => println!("search index up to date"),
        Err(e) => println!("the search index could not be updated now ({e}); the server catches up when it can"),
    }
    store.close().await;
    Ok(())
}

/// Files per second and the count, on a terminal only.
fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} files, {per_sec}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    bar
}

/// Indexes whatever the store has queued for the search engine.
async fn index_queued(settings: &Settings, store: &dyn Store) -> anyhow::Result<()> {
    let engine = crate::app::open_search(settings).await?;
    let drained = async {
        while indexer::drain_once(store, engine.as_ref()).await? > 0 {}
        Ok::<_, indexer::IndexError>(())
    }
    .await;
    engine.close().await;
    Ok(drained?)
}

/// Prints the key nodes use with Meilisearch (`meilisearch_url`), made
/// with `master_key` if it does not exist yet.
pub async fn search_key(settings: &Settings, master_key: &str) -> anyhow::Result<()> {
    let url = settings.meilisearch_url.as_deref().context("set CROWDJUKE_MEILISEARCH_URL (meilisearch_url)")?;
    println!("{}", crate::search::meili::ensure_node_key(url, master_key).await?);
    Ok(())
}

/// Rebuilds `index` (or every index) from the store.
pub async fn reindex(settings: &Settings, index: Option<&str>) -> anyhow::Result<()> {
    let indexes = match index {
        Some(name) => vec![IndexName::parse(name).with_context(|| format!("no index named {name}"))?],
        None => IndexName::ALL.to_vec(),
    };
    let store = open_store(settings).await?;
    let engine = crate::app::open_search(settings).await?;
    for index in indexes {
        let count = indexer::reindex(store.as_ref(), engine.as_ref(), index).await?;
        println!("{index}: {count} documents indexed");
    }
    engine.close().await;
    store.close().await;
    Ok(())
}

/// Asks the server listening on this machine (the `listen` setting; an
/// unspecified address means loopback) for `GET /api/ready`: `Ok` when it
/// answers 200 within 3 s. The container healthcheck, so it follows a
/// changed `CROWDJUKE_LISTEN` and needs no curl in the image.
pub async fn ready(settings: &Settings) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = settings.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(b"GET /api/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
        let mut answer = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), ask)
        .await
        .with_context(|| format!("no answer from {addr} within 3 s"))?
        .with_context(|| format!("cannot reach {addr}"))?;
    let status = String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string();
    anyhow::ensure!(status.starts_with("HTTP/1.1 200"), "{addr} is not ready: {status}");
    Ok(())
}
