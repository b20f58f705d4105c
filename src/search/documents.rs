//! What each index holds of a stored thing: the fields named in
//! `search-config/<index>.json`, plus what a result shows. Pure functions of
//! domain types, so the indexer, `reindex` and the write paths that decide
//! whether a document changed all agree.

use serde_json::{Value, json};

use crate::domain::{Room, Track, User};

/// The `tracks` index document of a track.
pub fn track(track: &Track) -> Value {
    json!({
        "id": track.id,
        "title": track.title,
        "artist": track.artists,
        "album": track.album,
        "genre": track.genres,
        "year": track.year,
        "decade": track.year / 10 * 10,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "popularity": track.popularity,
        "artwork_url": track.artwork_url,
        "bpm": track.analysis.and_then(|a| a.bpm),
        "energy": track.analysis.map(|a| a.energy),
        "playable": track.audio.is_some(),
    })
}

/// The `rooms` index document of a listed (public) room; `None` for a
/// private one, which the index must not hold.
pub fn room(room: &Room) -> Option<Value> {
    if !room.listing.public {
        return None;
    }
    let mut doc = json!({
        "id": room.id,
        "code": room.code,
        "name": room.name,
        "city": room.listing.city,
        "kind": room.kind,
        "members": room.members.values().filter(|m| !m.banned).count(),
    });
    if let Some(l) = room.listing.location {
        doc["_geo"] = json!({ "lat": l.lat, "lng": l.lng });
    }
    Some(doc)
}

/// The `users` index document of an account.
pub fn user(user: &User, followers: u64) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "followers": followers,
    })
}
