//! Playback on the host's device. The room stays the authority: after every
//! commit that changes what plays (or where), a task re-reads the latest
//! room and makes the chosen device match it: play the decided track at
//! its position, or pause. Spotify cannot remove items from its queue, so
//! nothing is queued there ahead: a track reaches Spotify only once it is
//! playing in the room. Hand-offs of one room run one at a time and skip
//! what was handed over already; a failure is told to the room's staff
//! (`playback:failed`) and never holds up the party.

use serde_json::json;

use super::Providers;
use crate::broadcast::{Audience, Payload};
use crate::domain::{Change, Outcome, Room};
use crate::rooms::CommitListener;

/// What the device should be doing.
#[derive(Debug, PartialEq)]
enum Wanted {
    Play { entry_id: String, uri: String, position_ms: u64 },
    Pause,
}

impl CommitListener for Providers {
    /// Starts a hand-off when the commit changed what plays, or where.
    fn committed(&self, room: &Room, outcome: &Outcome) {
        let changes = &outcome.changes;
        let relevant = changes.iter().any(|c| matches!(c, Change::NowPlaying | Change::PlaybackUpdated));
        if !relevant || (room.playback.is_none() && !changes.contains(&Change::PlaybackUpdated)) {
            return;
        }
        let (providers, room_id) = (self.clone(), room.id.clone());
        tokio::spawn(async move { providers.sync_playback(&room_id).await });
    }
}

impl Providers {
    async fn sync_playback(&self, room_id: &str) {
        let slot = self.0.handoffs.slot(room_id);
        let mut handed = slot.lock().await;
        let Ok(room) = self.rooms.room(room_id).await else { return };
        let Some(playback) = room.playback.clone() else {
            *handed = None;
            return;
        };
        let Ok(provider) = self.get(&playback.provider) else { return };
        let prefix = format!("{}:track:", provider.name());
        let wanted = match &room.now_playing {
            Some(np) if np.paused_position.is_none() => match &np.track.provider_uri {
                Some(uri) if uri.starts_with(&prefix) => Wanted::Play {
                    entry_id: np.entry_id.clone(),
                    uri: uri.clone(),
                    position_ms: np.position_at(self.clock.now()),
                },
                // Not on this service: silence rather than the last track.
                _ => Wanted::Pause,
            },
            _ => Wanted::Pause,
        };
        let key = match &wanted {
            Wanted::Play { entry_id, .. } => format!("{}|play|{entry_id}", playback.device_id),
            Wanted::Pause => format!("{}|pause", playback.device_id),
        };
        if handed.as_deref() == Some(key.as_str()) {
            return;
        }
        let device = playback.device_id.as_str();
        let wanted = &wanted;
        let result = self
            .with_grant(provider.as_ref(), &playback.user_id, |grant| {
                let provider = provider.clone();
                async move {
                    match wanted {
                        Wanted::Play { uri, position_ms, .. } => provider.play(&grant, device, uri, *position_ms).await,
                        Wanted::Pause => provider.pause(&grant, device).await,
                    }
                }
            })
            .await;
        match result {
            Ok(()) => *handed = Some(key),
            // Pausing a device that is not playing is refused by Spotify;
            // silence was what we wanted.
            Err(_) if *wanted == Wanted::Pause && handed.is_none() => *handed = Some(key),
            Err(e) => {
                let body = e.body();
                tracing::warn!(room_id, code = body.code, "playback hand-off failed");
                let payload = Payload::new(
                    &json!({ "provider": playback.provider, "device_name": playback.device_name, "error": body }),
                );
                for staff in room.members.values().filter(|m| m.is_staff()) {
                    self.broadcaster.emit(Audience::Member(staff.id.clone()), "playback:failed", payload.clone()).await;
                }
            }
        }
    }
}
