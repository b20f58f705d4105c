//! A photo on a room's wall: who shared it, whether its variants are
//! ready, and who liked it. Kept outside the room aggregate (a busy wall
//! would bloat every room write); the bytes live in the `BlobStore`.
//! The wall's rules live here too (who sees, acts on, removes a photo, who
//! hears of a report), pure like the room's; the `photos` service does the I/O.

use serde::{Deserialize, Serialize};

use super::{DomainError, Member, Millis, Room};

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

impl Photo {
    /// Shown on `room`'s wall: of that room, rendered, and its sharer not
    /// banned (a banned guest's photos leave every wall).
    pub fn visible_in(&self, room: &Room) -> bool {
        self.room_id == room.id
            && self.status == PhotoStatus::Ready
            && !room.member(&self.member_id).is_some_and(|m| m.banned)
    }
}

/// The member behind an action on a wall (share, like, report, remove):
/// present in the room and not banned.
pub fn acting_member<'r>(room: &'r Room, member_id: &str) -> Result<&'r Member, DomainError> {
    room.member(member_id).filter(|m| !m.banned).ok_or(DomainError::NotAMember)
}

/// Whether `member_id` may remove `photo`: the host and co-hosts any
/// photo, a member their own.
pub fn may_remove(room: &Room, member_id: &str, photo: &Photo) -> Result<(), DomainError> {
    let member = acting_member(room, member_id)?;
    if member.is_staff() || photo.member_id == member_id { Ok(()) } else { Err(DomainError::Forbidden) }
}

/// Who is told of a report: the room's host and co-hosts, unless banned.
pub fn report_recipients(room: &Room) -> impl Iterator<Item = &Member> {
    room.members.values().filter(|m| m.is_staff() && !m.banned)
}

/// The stored files of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The upload as received (with its metadata): never served, deleted
    /// once rendered.
    Original,
    Full,
    Preview,
    Thumb,
}

impl Variant {
    pub const SERVED: [Variant; 3] = [Variant::Full, Variant::Preview, Variant::Thumb];
    pub const ALL: [Variant; 4] = [Variant::Original, Variant::Full, Variant::Preview, Variant::Thumb];

    /// The file name in URLs and blob keys.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Full => "full.jpg",
            Self::Preview => "preview.jpg",
            Self::Thumb => "thumb.jpg",
        }
    }

    /// A served variant by its file name.
    pub fn served(file_name: &str) -> Option<Self> {
        Self::SERVED.into_iter().find(|v| v.file_name() == file_name)
    }
}

/// A wall cursor: the `created_at` and id of the last photo of a page.
pub fn cursor(photo: &Photo) -> String {
    format!("{}-{}", photo.created_at, photo.id)
}

pub fn parse_cursor(raw: &str) -> Option<(Millis, String)> {
    let (at, id) = raw.split_once('-')?;
    let valid_id = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
    Some((at.parse().ok()?, id.to_string())).filter(|_| valid_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, Rules};

    fn member(id: &str, role: Role) -> Member {
        Member::new(id.into(), id.into(), role, 0)
    }

    /// Host `h`, co-host `c`, guests `a` and `b` (banned).
    fn room() -> Room {
        let mut room =
            Room::new("r1".into(), "ABCDEF".into(), "Party".into(), member("h", Role::Host), Rules::default(), 0);
        let members = room.members.make_mut();
        members.insert("c".into(), member("c", Role::Cohost));
        members.insert("a".into(), member("a", Role::Guest));
        members.insert("b".into(), Member { banned: true, ..member("b", Role::Guest) });
        room
    }

    fn photo(by: &str, status: PhotoStatus) -> Photo {
        Photo {
            id: "p1".into(),
            room_id: "r1".into(),
            member_id: by.into(),
            member_name: by.into(),
            comment: None,
            created_at: 0,
            status,
            width: 10,
            height: 10,
            likes: Vec::new(),
            reports: Vec::new(),
            user_id: None,
            public: false,
            render_lease_until: 0,
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let parsed = parse_cursor("1700000000000-AbC123");
        assert_eq!(parsed, Some((1_700_000_000_000, "AbC123".to_string())));
        for junk in ["", "-", "12-", "x-AbC", "12-../etc", "12-a b"] {
            assert_eq!(parse_cursor(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_wall_shows_ready_photos_of_its_room_whose_sharer_is_not_banned() {
        let room = room();
        assert!(photo("a", PhotoStatus::Ready).visible_in(&room));
        assert!(photo("gone", PhotoStatus::Ready).visible_in(&room), "a sharer who left still shows");
        assert!(!photo("a", PhotoStatus::Processing).visible_in(&room));
        assert!(!photo("a", PhotoStatus::Failed).visible_in(&room));
        assert!(!photo("b", PhotoStatus::Ready).visible_in(&room), "banned sharer");
        let elsewhere = Photo { room_id: "r2".into(), ..photo("a", PhotoStatus::Ready) };
        assert!(!elsewhere.visible_in(&room));
    }

    #[test]
    fn only_present_unbanned_members_act_on_a_wall() {
        let room = room();
        assert_eq!(acting_member(&room, "a").map(|m| m.id.as_str()), Ok("a"));
        assert_eq!(acting_member(&room, "b").err(), Some(DomainError::NotAMember));
        assert_eq!(acting_member(&room, "nobody").err(), Some(DomainError::NotAMember));
    }

    #[test]
    fn staff_remove_any_photo_and_guests_only_their_own() {
        let room = room();
        let guests = photo("a", PhotoStatus::Ready);
        assert_eq!(may_remove(&room, "a", &guests), Ok(()));
        assert_eq!(may_remove(&room, "h", &guests), Ok(()));
        assert_eq!(may_remove(&room, "c", &guests), Ok(()));
        let hosts = photo("h", PhotoStatus::Ready);
        assert_eq!(may_remove(&room, "a", &hosts), Err(DomainError::Forbidden));
        assert_eq!(may_remove(&room, "b", &guests), Err(DomainError::NotAMember), "banned, even their own");
    }

    #[test]
    fn reports_go_to_the_host_and_cohosts() {
        let mut room = room();
        let mut told: Vec<&str> = report_recipients(&room).map(|m| m.id.as_str()).collect();
        told.sort();
        assert_eq!(told, ["c", "h"]);
        if let Some(c) = room.members.make_mut().get_mut("c") {
            c.banned = true;
        }
        let told: Vec<&str> = report_recipients(&room).map(|m| m.id.as_str()).collect();
        assert_eq!(told, ["h"]);
    }
}
