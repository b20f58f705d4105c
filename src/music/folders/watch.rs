//! Keeps the library in step with music folders while the server runs: the
//! folders are watched (inotify on Linux, through notify's debouncer) and
//! any change is followed by a scan, which reads only the files that
//! changed. A new, changed or removed file shows up in search a few
//! seconds later (`DEBOUNCE`, then the scan, then the indexer).
//!
//! Folders on network mounts (NFS, SMB) send no change events; a scan at
//! start still picks up what changed while the server was down.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ScanReport, scan};
use crate::media::BlobStore;
use crate::store::Store;

/// How long a burst of changes (a folder being copied in) settles first.
pub const DEBOUNCE: Duration = Duration::from_secs(1);

/// Scans `folders` now, then again after every change, until `stop`;
/// `scanned` gets each report. `copies`: as for `scan`.
pub async fn scan_and_watch(
    store: Arc<dyn Store>,
    copies: Option<Arc<dyn BlobStore>>,
    folders: Vec<PathBuf>,
    scanned: impl Fn(&ScanReport) + Send + Sync,
    stop: CancellationToken,
) {
    let (changed, mut changes) = mpsc::unbounded_channel::<()>();
    let watcher = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| match result {
        Ok(events) if events.is_empty() => {}
        Ok(_) => {
            changed.send(()).ok();
        }
        Err(errors) => {
            for e in errors {
                tracing::warn!(error = %e, "watching the music folders");
            }
        }
    });
    let _watcher = match watcher {
        Ok(mut watcher) => {
            for folder in &folders {
                if let Err(e) = watcher.watch(folder, RecursiveMode::Recursive) {
                    tracing::warn!(folder = %folder.display(), error = %e, "cannot watch a music folder: changes show up at the next start");
                }
            }
            Some(watcher)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the music folders: changes show up at the next start");
            None
        }
    };
    loop {
        // A scan cut short at shutdown leaves each file read or not: the
        // next scan reads the rest.
        tokio::select! {
            _ = stop.cancelled() => return,
            result = scan(&store, copies.as_deref(), &folders, &|_, _| {}) => match result {
                Ok(report) => scanned(&report),
                Err(e) => tracing::warn!(error = %e, "could not scan the music folders"),
            },
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            change = changes.recv() => if change.is_none() { return },
        }
        // Everything that arrived meanwhile is covered by the next scan.
        while changes.try_recv().is_ok() {}
    }
}
