//! A track of the music library, as queued and played.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// The audio's MIME type when this server has the audio itself (a file
    /// from a music folder): it can play the track, not only keep its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// What was measured in the audio (music folders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
}

/// Measured once from the decoded audio when a music folder is scanned
/// (`music::folders`); docs/protocol.md says how each is defined.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Integrated loudness, EBU R128 (LUFS).
    pub loudness_lufs: f64,
    /// True peak (dBTP).
    pub true_peak_dbtp: f64,
    /// Tempo in beats per minute, when the audio has a clear beat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpm: Option<u16>,
    /// 0 (calm) to 100 (intense): half loudness, half onset density.
    pub energy: u8,
}

impl Track {
    /// True when any of the track's artists is in `banned` (case-insensitive).
    pub fn has_artist_in(&self, banned: &[String]) -> bool {
        self.artists.iter().any(|a| banned.iter().any(|b| b.eq_ignore_ascii_case(a)))
    }
}

/// A file of a music folder as last scanned: where a track's audio is.
/// Kept apart from the track (a room's queue copies tracks; a path on the
/// host's disk is nobody else's business).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MusicFile {
    /// The absolute path: the key.
    pub path: String,
    pub track_id: String,
    pub size: u64,
    /// Modification time, milliseconds since the epoch.
    pub modified_ms: u64,
    /// The audio's MIME type.
    pub mime: String,
    /// The MIME type of its embedded cover, served as the track's artwork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
    /// Set when the file was left out (its `track_id` is then empty), so
    /// that a re-scan does not read it again while it has not changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
}

/// Why a file of a music folder was left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "why", rename_all = "snake_case")]
pub enum Skipped {
    /// Not audio crowdjuke reads, whatever its extension says.
    Unsupported,
    /// Damaged or truncated beyond reading, with what was wrong.
    Corrupt(String),
    /// Cannot be opened or listed (permissions, vanished, a name that is not UTF-8).
    Unreadable(String),
    /// The same recording as another file of this scan (that one is kept).
    Duplicate(String),
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported => f.write_str("unsupported: not audio crowdjuke reads"),
            Self::Corrupt(why) => write!(f, "corrupt: {why}"),
            Self::Unreadable(why) => write!(f, "unreadable: {why}"),
            Self::Duplicate(of) => write!(f, "duplicate of {of}"),
        }
    }
}
