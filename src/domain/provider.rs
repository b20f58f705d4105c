//! Music service records: a pending authorization (the OAuth `state` of a
//! link in progress), a linked account with its encrypted grant, a
//! background job (import or export) with its progress.

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
    /// Written with each step: a running job not touched for long was lost
    /// with its node.
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}
