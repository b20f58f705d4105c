//! The `/feed` namespace: a logged-in account's sockets, outside any party.
//! Connect with `auth: {token: <account token>}`; the socket joins the
//! account's `user:{id}` room and receives `feed:new` when someone it
//! follows shares a photo, adds a track or joins a room. No client events.

use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};

use super::connect::Refused;
use crate::error::AppError;
use crate::state::AppState;

pub async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    State(app): State<AppState>,
    TryData(auth): TryData<Value>,
) -> Result<(), Refused> {
    let token = auth.ok().and_then(|a| a.get("token").and_then(Value::as_str).map(str::to_string));
    let token = token.ok_or(Refused("unauthorized"))?;
    match app.accounts.account(&token).await {
        Ok(account) => {
            // Before the CONNECT packet leaves (see `connect::accept`).
            s.on_fallback(unknown_event::<A>);
            s.join([account_room(&account.user.id), session_room(&account.session_id)]);
            Ok(())
        }
        Err(AppError::Unauthorized) => Err(Refused("unauthorized")),
        Err(_) => Err(Refused("unavailable")),
    }
}

/// The `/feed` Socket.IO room of one login session's sockets.
pub(super) fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The `/feed` Socket.IO room of an account's sockets.
pub(super) fn account_room(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// Everything is set up by `authenticate`, before the client is told it is
/// connected.
pub async fn on_connect<A: Adapter>(_s: SocketRef<A>) {}

async fn unknown_event<A: Adapter>(ack: AckSender<A>, Event(name): Event) {
    let error = AppError::UnknownEvent(name.chars().take(64).collect()).body();
    ack.send(&serde_json::json!({ "ok": false, "error": error })).ok();
}
