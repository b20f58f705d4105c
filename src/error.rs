//! One error type for the whole server. Every variant names its code in
//! the one table (`crate::codes`), which gives its HTTP status; Socket.IO
//! acks carry the same codes.
//!
//! Owns: `AppError`, `Result`. May use: codes, domain, store (their errors).
//! Must not import: services or transport (they convert their own errors
//! into `AppError` beside their definitions).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::codes::Code;
use crate::domain::DomainError;
use crate::store::StoreError;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the payload does not have the documented shape.
    #[error("{0}")]
    InvalidPayload(String),
    /// 413: the payload is larger than the documented limit.
    #[error("payload larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 404: no such Socket.IO event.
    #[error("unknown event '{0}'")]
    UnknownEvent(String),
    /// 401: missing, forged or foreign token (today only a Socket.IO
    /// `connect_error` message; tokens do not expire).
    #[error("a valid token is required")]
    Unauthorized,
    /// 403: the device was banned from this room.
    #[error("you were banned from this room")]
    Banned,
    /// 404: no room with that code or id.
    #[error("no room with this code")]
    RoomNotFound,
    /// 404: no track with that id in the library.
    #[error("no track with this id")]
    TrackNotFound,
    /// 404: this server has no audio for the track (not from a music
    /// folder, or its file is gone).
    #[error("this server has no audio for this track")]
    NoAudio,
    /// 404: no such route.
    #[error("no such route")]
    NotFound,
    /// 405: the route exists but not with this HTTP method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 429: too many attempts from this address; retry later.
    #[error("too many requests, retry in {0} s")]
    RateLimited(u64),
    /// A rule of the room refused the command (status per rule, see `status`).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// 400: an import file has errors (all listed, by line); nothing was
    /// imported.
    #[error("nothing was imported: {0}")]
    InvalidImport(String),
    /// 404: no search index of that name.
    #[error("no search index named '{0}'")]
    IndexNotFound(String),
    /// 400: the password is too short, too long or too easy to guess.
    #[error("{0}")]
    WeakPassword(String),
    /// 409: another account has this username.
    #[error("this username is taken")]
    UsernameTaken,
    /// 401: wrong username or password (which one is not said).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// 404: no account with that username.
    #[error("no account with this username")]
    UserNotFound,
    /// 400: following oneself.
    #[error("you cannot follow yourself")]
    CannotFollowSelf,
    /// 409: following the most accounts allowed.
    #[error("you follow {0} accounts, the most allowed")]
    FollowLimit(usize),
    /// 404: no visible photo with that id in this room.
    #[error("no photo with this id")]
    PhotoNotFound,
    /// 404: this server has no credentials for that music service.
    #[error("this server is not set up for this music service")]
    ProviderNotConfigured,
    /// 404: the account has not linked that music service.
    #[error("link your music service account first")]
    ProviderNotLinked,
    /// 409: the music service refused the link's grant; link again.
    #[error("{0}")]
    ProviderLinkBroken(String),
    /// 400: the OAuth `state` is unknown, used, expired, or the code was
    /// refused: start linking again.
    #[error("this link attempt is unknown, used or expired: start again")]
    InvalidState,
    /// 404: no job with that id for this account.
    #[error("no job with this id")]
    JobNotFound,
    /// An error of a subsystem (search, the photo pipeline, a music
    /// service) as its code and message, converted beside the error type
    /// that owns it (`From<SearchError>`, `From<PhotoError>`,
    /// `From<ProviderError>`). `retry_after` (seconds) becomes a
    /// `Retry-After` header.
    #[error("{message}")]
    Coded { code: Code, message: String, retry_after: Option<u64> },
    /// 503: a backing service is down or the room is too contended.
    #[error("service unavailable, retry shortly")]
    Unavailable,
    /// 500: a bug or corrupt data; the detail is logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// This error again, for the other commands of a group commit that
    /// failed as a whole (see `AppState::execute`).
    pub fn shared(&self) -> AppError {
        match self {
            Self::Unavailable => Self::Unavailable,
            Self::RoomNotFound => Self::RoomNotFound,
            other => Self::Internal(anyhow::anyhow!("{other}")),
        }
    }

    /// Its code in the one table (`crate::codes`), which also gives the
    /// HTTP status. Each subsystem's error names its own codes.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidPayload(_) => Code::InvalidPayload,
            Self::PayloadTooLarge(_) => Code::PayloadTooLarge,
            Self::UnknownEvent(_) => Code::UnknownEvent,
            Self::Unauthorized => Code::Unauthorized,
            Self::Banned => Code::Banned,
            Self::RoomNotFound => Code::RoomNotFound,
            Self::TrackNotFound => Code::TrackNotFound,
            Self::NoAudio => Code::NoAudio,
            Self::NotFound => Code::NotFound,
            Self::MethodNotAllowed => Code::MethodNotAllowed,
            Self::RateLimited(_) => Code::RateLimited,
            Self::Domain(e) => e.code(),
            Self::IndexNotFound(_) => Code::IndexNotFound,
            Self::InvalidImport(_) => Code::InvalidImport,
            Self::WeakPassword(_) => Code::WeakPassword,
            Self::UsernameTaken => Code::UsernameTaken,
            Self::InvalidCredentials => Code::InvalidCredentials,
            Self::UserNotFound => Code::UserNotFound,
            Self::CannotFollowSelf => Code::CannotFollowSelf,
            Self::FollowLimit(_) => Code::FollowLimit,
            Self::PhotoNotFound => Code::PhotoNotFound,
            Self::ProviderNotConfigured => Code::ProviderNotConfigured,
            Self::ProviderNotLinked => Code::ProviderNotLinked,
            Self::ProviderLinkBroken(_) => Code::ProviderLinkBroken,
            Self::InvalidState => Code::InvalidState,
            Self::JobNotFound => Code::JobNotFound,
            Self::Coded { code, .. } => *code,
            Self::Unavailable => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `{code, message}` body shared by HTTP responses and acks.
    pub fn body(&self) -> ErrorBody {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        ErrorBody { code: self.code().as_str(), message: self.to_string() }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                Self::Unavailable
            }
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(serde_json::json!({ "error": self.body() }))).into_response();
        if let Self::RateLimited(secs) | Self::Coded { retry_after: Some(secs), .. } = self
            && let Ok(value) = secs.to_string().parse()
        {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}
