//! The open redb database, shared by every call, and how it is opened
//! again after an I/O failure. redb latches its first failed read or write
//! (a full disk, a failing device): every later operation then answers
//! `StorageError::PreviousIo` until the database is closed and opened
//! again. Without a reopen, a node whose disk filled up would refuse every
//! write until it was restarted, even after space was freed. So a call that
//! failed checks whether the database is latched (`recover`); if it is, the
//! next call opens the file again (redb repairs it from its last commit),
//! at most twice a second, once the calls still holding the latched
//! database have let go of it (redb locks the file). Meanwhile calls answer
//! `unavailable`, as for any outage of the store.
//!
//! Owns: the redb `Database` of the embedded store and its reopening. May
//! use: store (its error type). Must not import: services, transport.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, StorageError, TransactionError};

use crate::store::{StoreError, StoreResult};

/// Least time between two attempts to open the database again.
const RETRY: Duration = Duration::from_millis(500);

enum State {
    Open(Arc<Database>),
    /// Latched by an I/O error: to be opened again.
    Failed,
    /// `close` was called: never opened again.
    Closed,
}

pub(in crate::store) struct Handle {
    path: PathBuf,
    state: RwLock<State>,
    last_attempt: Mutex<Option<Instant>>,
}

impl Handle {
    pub fn new(path: PathBuf, db: Database) -> Self {
        Self { path, state: RwLock::new(State::Open(Arc::new(db))), last_attempt: Mutex::new(None) }
    }

    /// The database, opened again first if an I/O error latched it.
    /// Blocking: call it on a blocking thread.
    pub fn get(&self) -> StoreResult<Arc<Database>> {
        match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Open(db) => return Ok(db.clone()),
            State::Closed => return Err(StoreError::Unavailable("the store is closed".into())),
            State::Failed => {}
        }
        self.reopen()
    }

    fn reopen(&self) -> StoreResult<Arc<Database>> {
        let waiting = || StoreError::Unavailable("the store is being opened again after an I/O error".into());
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < RETRY) {
                return Err(waiting());
            }
            *last = Some(Instant::now());
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        match &*state {
            State::Open(db) => Ok(db.clone()),
            State::Closed => Err(StoreError::Unavailable("the store is closed".into())),
            State::Failed => match Database::create(&self.path) {
                Ok(db) => {
                    tracing::warn!("the embedded store is open again after an I/O error");
                    let db = Arc::new(db);
                    *state = State::Open(db.clone());
                    Ok(db)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the embedded store cannot be opened again yet");
                    Err(waiting())
                }
            },
        }
    }

    /// After a failed call on `db`: if redb has latched an I/O error, the
    /// next call opens the database again. Blocking (it may wait for a
    /// write transaction of another call to end).
    pub fn recover(&self, db: &Arc<Database>) {
        let latched = matches!(db.begin_write(), Err(TransactionError::Storage(StorageError::PreviousIo)));
        if !latched {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let State::Open(open) = &*state
            && Arc::ptr_eq(open, db)
        {
            tracing::error!("the embedded store stopped after an I/O error (is the disk full?); opening it again");
            *state = State::Failed;
        }
    }

    /// Releases the database (and its file lock) for good, even if other
    /// handles to the store live on.
    pub fn close(&self) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::Closed;
    }
}
