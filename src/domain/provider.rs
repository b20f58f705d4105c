//! Music service records: a pending authorization (the OAuth `state` of a
//! link in progress), a linked account with its encrypted grant, a
//! background job (import or export) with its progress, and how a job is
//! run: the lease of the node running it and what a node that takes it over
//! redoes (`JobWork`).

use serde::{Deserialize, Serialize};

use super::Millis;

/// A link in progress: created by `login`, taken (once) by the callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The OAuth `state`: random, single use.
    pub state: String,
    pub provider: String,
    pub user_id: String,
    /// The PKCE code verifier, sent with the code on the callback.
    pub verifier: String,
    pub created_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// The grant works (as far as we know).
    Ok,
    /// The service refused the grant (revoked or expired): the user must link
    /// again. Nothing is handed to the service meanwhile.
    Broken,
}

/// An account on a music service linked to one of our accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderLink {
    pub user_id: String,
    pub provider: String,
    /// The account on the service.
    pub external_id: String,
    pub external_name: Option<String>,
    /// The grant (tokens), sealed with the configured key (see `providers::seal`).
    pub sealed_grant: String,
    /// When the access token expires.
    pub expires_at: Millis,
    pub status: LinkStatus,
    /// Why the link is broken, for the user.
    pub message: Option<String>,
    pub linked_at: Millis,
    /// Increases with every save: saves are compare-and-swap on it, so two
    /// nodes refreshing the same grant cannot both win.
    pub revision: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Import,
    Export,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
    Failed,
}

/// A background job of one user on a music service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderJob {
    pub id: String,
    pub user_id: String,
    pub provider: String,
    pub kind: JobKind,
    /// What the job works on, e.g. `liked`, `playlist:…`, `history`.
    pub source: String,
    pub status: JobStatus,
    /// Items handled so far, and the total once known.
    pub done: u64,
    pub total: Option<u64>,
    /// What a finished job produced (counts, a playlist URL).
    #[serde(default)]
    pub result: serde_json::Value,
    /// Error code and message of a failed job.
    pub error: Option<JobError>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Who runs the job and what to redo: stored, never sent to clients
    /// (`view`).
    #[serde(default)]
    pub work: JobWork,
}

impl ProviderJob {
    /// What clients see of the job (everything but `work`).
    pub fn view(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("work");
        }
        value
    }
}

/// How a running job is run. The node running it holds a lease, renewed as
/// the job works; a job whose lease ran out (its node died) is claimed by
/// one other node, which runs it again from `plan`. Saves are conditional on
/// `owner`, so a node that lost its job stops at its next step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobWork {
    /// Random per run: the node (and run) holding the lease.
    pub owner: String,
    pub lease_until: Millis,
    /// Runs started, the first included.
    pub attempts: u32,
    /// What to redo; `None` for jobs stored before jobs were resumable.
    pub plan: Option<JobPlan>,
}

/// What a job does, kept so another node can do it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobPlan {
    /// Import `ProviderJob::source`; all pages are read before anything is
    /// written and every write is idempotent, so a resumed import starts over.
    Import { fallback: Option<FallbackTarget> },
    /// Fill a new playlist with `uris`, in order. The playlist's id is saved
    /// once it is created and before anything is added; a resumed export
    /// counts what the playlist holds and adds the rest.
    Export {
        name: String,
        uris: Vec<String>,
        /// Tracks left out (not on this service).
        skipped: u64,
        playlist_id: Option<String>,
        playlist_url: Option<String>,
    },
}

/// Where an import also becomes the fallback playlist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FallbackTarget {
    pub room_id: String,
    pub member_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}
