//! How services tell clients what happened, without knowing how clients are
//! connected.
//!
//! Owns: the `Broadcaster` trait, who an announcement is for (`Audience`)
//! and its payload, serialized once (`Payload`).
//! May use: serde.
//! Must not import: any service (rooms, photos, accounts, providers, player)
//! or transport (realtime, http). `realtime::Hub` implements the trait over
//! Socket.IO; services hold an `Arc<dyn Broadcaster>`.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::value::RawValue;

/// Who an announcement is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Audience {
    /// Everyone connected to a party room (by room id).
    Room(String),
    /// Every connection of one member of a party (by member id).
    Member(String),
    /// The feed connections of these accounts (by user id).
    Accounts(Vec<String>),
    /// The feed connections of one login session (by session id).
    Session(String),
}

/// An event's payload as JSON text, serialized once however many clients
/// and nodes it goes to.
#[derive(Clone, Debug)]
pub struct Payload(Box<RawValue>);

impl Payload {
    pub fn new(value: &impl Serialize) -> Self {
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => Self(raw),
            Err(e) => {
                // Only a map with non-string keys fails: a bug, never input.
                tracing::error!(error = %e, "an event payload could not be serialized");
                Self(RawValue::NULL.to_owned())
            }
        }
    }

    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Delivers announcements, best effort: a client that misses one catches
/// up from the room's version (docs/protocol.md, "Delivery").
#[async_trait]
pub trait Broadcaster: Send + Sync {
    /// Sends `event` to every connection of `to`, on every node.
    async fn emit(&self, to: Audience, event: &'static str, payload: Payload);
    /// Closes every connection of `to`, on every node.
    async fn disconnect(&self, to: Audience);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Changed {
        version: u64,
        name: &'static str,
    }

    #[test]
    fn a_payload_is_serialized_once_and_embeds_as_json() {
        let payload = Payload::new(&Changed { version: 3, name: "Bea's \"party\"" });
        assert_eq!(payload.json(), r#"{"version":3,"name":"Bea's \"party\""}"#);
        let event = serde_json::to_string(&("room:changed", &payload)).expect("json");
        assert_eq!(event, r#"["room:changed",{"version":3,"name":"Bea's \"party\""}]"#);
    }
}
