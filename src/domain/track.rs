//! A track of the music library, as queued and played.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: String,
    pub title: String,
    pub artists: Vec<String>,
    pub album: String,
    pub genres: Vec<String>,
    pub year: u16,
    pub duration_ms: u64,
    pub explicit: bool,
    pub popularity: u8,
    /// International Standard Recording Code, when known (import key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<String>,
    /// The track on a music service, e.g. `spotify:track:…` (import key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artwork_url: Option<String>,
}

impl Track {
    /// True when any of the track's artists is in `banned` (case-insensitive).
    pub fn has_artist_in(&self, banned: &[String]) -> bool {
        self.artists.iter().any(|a| banned.iter().any(|b| b.eq_ignore_ascii_case(a)))
    }
}
