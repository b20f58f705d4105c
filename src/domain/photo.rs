//! A photo on a room's wall: who shared it, whether its variants are
//! ready, and who liked it. Kept outside the room aggregate (a busy wall
//! would bloat every room write); the bytes live in the `BlobStore`.

use serde::{Deserialize, Serialize};

use super::Millis;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    pub id: String,
    pub room_id: String,
    pub member_id: String,
    /// The sharer's name when shared, shown even after they left.
    pub member_name: String,
    pub comment: Option<String>,
    pub created_at: Millis,
    pub status: PhotoStatus,
    /// Of the full-size variant, once ready.
    pub width: u32,
    pub height: u32,
    /// Member ids in the order they liked; each at most once.
    pub likes: Vec<String>,
    /// Member ids who reported the photo to the room's hosts.
    #[serde(default)]
    pub reports: Vec<String>,
    /// The sharer's account, if they have one (for profiles and timelines).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Shared in a public room: shown in the public latest-photos feed.
    #[serde(default)]
    pub public: bool,
    /// While `processing`: until when the worker that claimed the render
    /// job owns it; after that another worker may claim it.
    #[serde(default)]
    pub render_lease_until: Millis,
}

/// A per-member mark on a photo, held as a set of member ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoMark {
    Like,
    Report,
}

impl PhotoMark {
    /// The field of `Photo` holding the set.
    pub fn field(self) -> &'static str {
        match self {
            Self::Like => "likes",
            Self::Report => "reports",
        }
    }

    pub fn members(self, photo: &mut Photo) -> &mut Vec<String> {
        match self {
            Self::Like => &mut photo.likes,
            Self::Report => &mut photo.reports,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    /// Stored, variants being rendered.
    Processing,
    Ready,
    /// Rendering failed; never shown.
    Failed,
}
