//! What clients see: the snapshot of a room, the `room:changed` payloads
//! and a photo on the wall.
//! These shapes are the public contract documented in `docs/protocol.md`.

use std::collections::HashSet;

use serde::Serialize;

use super::command::{Change, Departure, RemovalReason};
use super::photo::Variant;
use super::room::Entry;
use super::{
    Listing, Member, Millis, Photo, PhotoStatus, Play, Role, Room, RoomKind, Rules, Screen, Track, is_screen_id, queue,
};

/// How many recent plays a snapshot carries.
const SNAPSHOT_PLAYS: usize = 20;
/// Members in a snapshot; the rest page in with `room:members`. Keeps the
/// join snapshot small at a 1,000-guest party: every connection's write
/// buffer grows to the largest frame it was ever sent.
pub const SNAPSHOT_MEMBERS: usize = 50;

#[derive(Debug, Serialize)]
pub struct TrackView<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub artists: &'a [String],
    pub album: &'a str,
    pub duration_ms: u64,
    pub explicit: bool,
    /// The audio's MIME type when the server has the file (a browser
    /// speaker can play it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<&'a str>,
    /// Its measured loudness, for a speaker's normalisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudness_lufs: Option<f64>,
    /// Its true peak, so that turning a quiet track up never clips.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_peak_dbtp: Option<f64>,
}

impl<'a> From<&'a Track> for TrackView<'a> {
    fn from(t: &'a Track) -> Self {
        Self {
            id: &t.id,
            title: &t.title,
            artists: &t.artists,
            album: &t.album,
            duration_ms: t.duration_ms,
            explicit: t.explicit,
            audio: t.audio.as_deref(),
            loudness_lufs: t.analysis.map(|a| a.loudness_lufs),
            true_peak_dbtp: t.analysis.map(|a| a.true_peak_dbtp),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EntryView<'a> {
    pub id: &'a str,
    pub track: TrackView<'a>,
    pub score: i64,
    pub added_by: &'a str,
    pub added_by_name: &'a str,
    pub added_at: Millis,
    pub pinned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_vote: Option<i8>,
}

impl<'a> EntryView<'a> {
    pub fn new(e: &'a Entry, viewer: Option<&str>) -> Self {
        Self {
            id: &e.id,
            track: (&e.track).into(),
            score: e.score(),
            added_by: &e.added_by,
            added_by_name: &e.added_by_name,
            added_at: e.added_at,
            pinned: e.pinned_at.is_some(),
            my_vote: viewer.map(|v| e.votes.get(v).copied().unwrap_or(0)),
        }
    }
}

/// A guest's request waiting for the staff.
#[derive(Debug, Serialize)]
pub struct RequestView<'a> {
    pub id: &'a str,
    pub track: TrackView<'a>,
    pub requested_by: &'a str,
    pub requested_by_name: &'a str,
    pub requested_at: Millis,
}

impl<'a> From<&'a super::requests::Request> for RequestView<'a> {
    fn from(r: &'a super::requests::Request) -> Self {
        Self {
            id: &r.id,
            track: (&r.track).into(),
            requested_by: &r.requested_by,
            requested_by_name: &r.requested_by_name,
            requested_at: r.requested_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MemberView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub online: bool,
    /// The member's account, to open their profile or follow them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
}

impl<'a> MemberView<'a> {
    pub fn new(m: &'a Member, online: bool) -> Self {
        Self { id: &m.id, name: &m.name, role: m.role, online, username: m.username.as_deref() }
    }
}

/// A screen watching the room; `role` is always `"screen"`, so a screen's
/// own `me` reads like a member's.
#[derive(Debug, Serialize)]
pub struct ScreenView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub role: &'static str,
    pub online: bool,
}

impl<'a> ScreenView<'a> {
    pub fn new(s: &'a Screen, online: bool) -> Self {
        Self { id: &s.id, name: &s.name, role: "screen", online }
    }
}

/// Who a snapshot is for: a member, or a screen.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Viewer<'a> {
    Member(MemberView<'a>),
    Screen(ScreenView<'a>),
}

#[derive(Debug, Serialize)]
pub struct NowPlayingView<'a> {
    pub entry_id: &'a str,
    pub track: TrackView<'a>,
    pub added_by: Option<&'a str>,
    pub started_at: Millis,
    pub position_ms: Millis,
    pub paused: bool,
    pub skip_votes: usize,
    /// Paused because the room's speaker went away; it resumes when the
    /// speaker is back (sent only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waiting_for_speaker: bool,
    /// Why the autopilot picked it (absent for a queued track).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

impl<'a> NowPlayingView<'a> {
    pub fn of(room: &'a Room, now: Millis) -> Option<Self> {
        let np = room.now_playing.as_ref()?;
        let paused = np.paused_position.is_some();
        Some(Self {
            entry_id: &np.entry_id,
            track: (&np.track).into(),
            added_by: np.added_by.as_deref(),
            started_at: np.started_at,
            position_ms: np.position_at(now),
            paused,
            skip_votes: np.skip_votes.len(),
            waiting_for_speaker: paused && room.speaker_away,
            reason: np.reason.as_deref(),
        })
    }
}

/// Public facts about a room, safe to show to anyone holding the code.
#[derive(Debug, Serialize)]
pub struct RoomInfo<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub kind: RoomKind,
    pub rules: &'a Rules,
    pub listing: &'a Listing,
    pub member_count: usize,
    pub created_at: Millis,
    pub fallback_count: usize,
    /// The music service device the room's tracks play on, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playback: Option<PlaybackView<'a>>,
    /// The member whose browser plays the room's music, if any.
    pub speaker: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct PlaybackView<'a> {
    pub provider: &'a str,
    pub device_name: &'a str,
}

impl<'a> PlaybackView<'a> {
    fn of(room: &'a Room) -> Option<Self> {
        room.playback.as_ref().map(|p| Self { provider: &p.provider, device_name: &p.device_name })
    }
}

impl<'a> RoomInfo<'a> {
    pub fn new(room: &'a Room) -> Self {
        Self {
            id: &room.id,
            code: &room.code,
            name: &room.name,
            kind: room.kind,
            rules: &room.rules,
            listing: &room.listing,
            member_count: room.members.values().filter(|m| !m.banned).count(),
            created_at: room.created_at,
            fallback_count: room.fallback.len(),
            playback: PlaybackView::of(room),
            speaker: room.speaker.as_deref(),
        }
    }
}

/// Everything a client needs to draw the room from scratch.
#[derive(Debug, Serialize)]
pub struct Snapshot<'a> {
    pub version: u64,
    pub server_time: Millis,
    pub room: RoomInfo<'a>,
    pub me: Option<Viewer<'a>>,
    pub queue: Vec<EntryView<'a>>,
    pub now_playing: Option<NowPlayingView<'a>>,
    pub members: Vec<MemberView<'a>>,
    /// Members connected right now (kept current by `room:presence`): the
    /// member page is only the first 50, and vote-to-skip needs the count.
    /// Screens are not people: they are not counted.
    pub online_count: usize,
    pub recent_plays: &'a [Play],
    /// The room's screens, oldest first.
    pub screens: Vec<ScreenView<'a>>,
    /// A zone's day part in force now (absent outside zones with a schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_part: Option<DayPartView<'a>>,
    /// Guests' requests waiting for the staff, oldest first (zones whose
    /// day part wants approval).
    pub requests: Vec<RequestView<'a>>,
}

/// The limits in force in a zone now: a day part's (`name`, `until`) or
/// the zone's defaults (`name` null).
#[derive(Debug, Serialize)]
pub struct DayPartView<'a> {
    pub name: Option<&'a str>,
    pub until: Option<Millis>,
    pub limits: &'a super::schedule::Limits,
}

impl<'a> DayPartView<'a> {
    pub fn of(room: &'a Room, now: Millis) -> Option<Self> {
        let in_force = room.schedule.as_ref()?.at(now);
        Some(Self { name: in_force.day_part.map(|p| p.name.as_str()), until: in_force.until, limits: in_force.limits })
    }
}

impl<'a> Snapshot<'a> {
    pub fn new(room: &'a Room, viewer: Option<&str>, online: &HashSet<String>, now: Millis) -> Self {
        let plays_from = room.recent_plays.len().saturating_sub(SNAPSHOT_PLAYS);
        Self {
            version: room.version,
            server_time: now,
            room: RoomInfo::new(room),
            me: viewer.and_then(|v| match room.screens.get(v) {
                Some(screen) => Some(Viewer::Screen(ScreenView::new(screen, true))),
                None => room.member(v).map(|m| Viewer::Member(MemberView::new(m, true))),
            }),
            queue: queue::play_order(room).into_iter().map(|e| EntryView::new(e, viewer)).collect(),
            now_playing: NowPlayingView::of(room, now),
            members: member_page(room, online, 0, SNAPSHOT_MEMBERS),
            online_count: people_online(online),
            recent_plays: &room.recent_plays[plays_from..],
            screens: screens(room, online),
            day_part: DayPartView::of(room, now),
            requests: room.requests.iter().map(RequestView::from).collect(),
        }
    }
}

/// People among the connected ids (screens are not people).
pub fn people_online(online: &HashSet<String>) -> usize {
    online.iter().filter(|id| !is_screen_id(id)).count()
}

fn screens<'a>(room: &'a Room, online: &HashSet<String>) -> Vec<ScreenView<'a>> {
    let mut screens: Vec<&Screen> = room.screens.values().collect();
    screens.sort_by_key(|s| (s.created_at, s.id.as_str()));
    screens.into_iter().map(|s| ScreenView::new(s, online.contains(&s.id))).collect()
}

/// Non-banned members, the host first, then by join time (then id).
pub fn member_page<'a>(room: &'a Room, online: &HashSet<String>, offset: usize, limit: usize) -> Vec<MemberView<'a>> {
    let mut members: Vec<&Member> = room.members.values().filter(|m| !m.banned).collect();
    members.sort_by_key(|m| (m.role != Role::Host, m.joined_at, m.id.as_str()));
    members.into_iter().skip(offset).take(limit).map(|m| MemberView::new(m, online.contains(&m.id))).collect()
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeView<'a> {
    MemberJoined { member: MemberView<'a> },
    MemberUpdated { member: MemberView<'a> },
    MemberRemoved { member_id: &'a str, reason: Departure },
    EntryAdded { entry: EntryView<'a> },
    EntryUpdated { entry: EntryView<'a> },
    EntryRemoved { entry_id: &'a str, reason: RemovalReason },
    NowPlaying { now_playing: Option<NowPlayingView<'a>> },
    SkipVotes { count: usize, needed: usize },
    RulesUpdated { rules: &'a Rules },
    FallbackUpdated { count: usize },
    ListingUpdated { listing: &'a Listing },
    PlaybackUpdated { playback: Option<PlaybackView<'a>> },
    SpeakerUpdated { speaker: Option<&'a str> },
    ScreenAdded { screen: ScreenView<'a> },
    ScreenRemoved { screen_id: &'a str },
    ScheduleUpdated { day_part: Option<DayPartView<'a>> },
    DayPartChanged { day_part: Option<DayPartView<'a>> },
    RequestAdded { request: RequestView<'a> },
    RequestApproved { request_id: &'a str, member_id: &'a str, title: &'a str },
    RequestDeclined { request_id: &'a str, member_id: &'a str, title: &'a str },
    RequestWithdrawn { request_id: &'a str },
}

/// The `room:changed` payload: the new version, what changed, and the queue
/// order whenever the queue may have moved.
#[derive(Debug, Serialize)]
pub struct RoomChanged<'a> {
    pub version: u64,
    pub server_time: Millis,
    pub changes: Vec<ChangeView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
}

impl<'a> RoomChanged<'a> {
    pub fn new(room: &'a Room, changes: &'a [Change], online: &HashSet<String>, now: Millis) -> Self {
        let mut seen_now_playing = false;
        let views = changes
            .iter()
            .filter(|c| !matches!(c, Change::NowPlaying) || !std::mem::replace(&mut seen_now_playing, true))
            .filter_map(|c| change_view(room, c, online, now))
            .collect();
        let touches_queue = changes.iter().any(|c| {
            matches!(
                c,
                Change::EntryAdded { .. }
                    | Change::EntryUpdated { .. }
                    | Change::EntryRemoved { .. }
                    | Change::RulesUpdated
            )
        });
        Self {
            version: room.version,
            server_time: now,
            changes: views,
            order: touches_queue.then(|| queue::order_ids(room)),
        }
    }
}

fn change_view<'a>(
    room: &'a Room,
    change: &'a Change,
    online: &HashSet<String>,
    now: Millis,
) -> Option<ChangeView<'a>> {
    let member = |id: &str| room.member(id).map(|m| MemberView::new(m, online.contains(id)));
    let entry = |id: &str| room.entry(id).map(|e| EntryView::new(e, None));
    Some(match change {
        Change::MemberJoined { member_id } => ChangeView::MemberJoined { member: member(member_id)? },
        Change::MemberUpdated { member_id } => ChangeView::MemberUpdated { member: member(member_id)? },
        // A guest's own business: the version moves, the room sees nothing.
        Change::PicksUpdated { .. } => return None,
        Change::MemberRemoved { member_id, reason } => ChangeView::MemberRemoved { member_id, reason: *reason },
        Change::EntryAdded { entry_id } => ChangeView::EntryAdded { entry: entry(entry_id)? },
        Change::EntryUpdated { entry_id } => ChangeView::EntryUpdated { entry: entry(entry_id)? },
        Change::EntryRemoved { entry_id, reason } => ChangeView::EntryRemoved { entry_id, reason: *reason },
        Change::NowPlaying => ChangeView::NowPlaying { now_playing: NowPlayingView::of(room, now) },
        Change::SkipVotes { count, needed } => ChangeView::SkipVotes { count: *count, needed: *needed },
        Change::RulesUpdated => ChangeView::RulesUpdated { rules: &room.rules },
        Change::FallbackUpdated => ChangeView::FallbackUpdated { count: room.fallback.len() },
        Change::ListingUpdated => ChangeView::ListingUpdated { listing: &room.listing },
        Change::PlaybackUpdated => ChangeView::PlaybackUpdated { playback: PlaybackView::of(room) },
        Change::SpeakerUpdated => ChangeView::SpeakerUpdated { speaker: room.speaker.as_deref() },
        Change::ScreenAdded { screen_id } => {
            let screen = room.screens.get(screen_id)?;
            ChangeView::ScreenAdded { screen: ScreenView::new(screen, online.contains(screen_id)) }
        }
        Change::ScreenRemoved { screen_id } => ChangeView::ScreenRemoved { screen_id },
        Change::ScheduleUpdated => ChangeView::ScheduleUpdated { day_part: DayPartView::of(room, now) },
        Change::DayPartChanged => ChangeView::DayPartChanged { day_part: DayPartView::of(room, now) },
        Change::RequestAdded { request_id } => {
            let request = room.requests.iter().find(|r| &r.id == request_id)?;
            ChangeView::RequestAdded { request: request.into() }
        }
        Change::RequestApproved { request } => ChangeView::RequestApproved {
            request_id: &request.id,
            member_id: &request.requested_by,
            title: &request.track.title,
        },
        Change::RequestDeclined { request } => ChangeView::RequestDeclined {
            request_id: &request.id,
            member_id: &request.requested_by,
            title: &request.track.title,
        },
        Change::RequestWithdrawn { request_id } => ChangeView::RequestWithdrawn { request_id },
    })
}

/// Names of likers sent with a photo (the count is always exact).
const LIKERS_SHOWN: usize = 50;

/// A photo as clients see it.
#[derive(Debug, Serialize)]
pub struct PhotoView {
    pub id: String,
    pub member_id: String,
    pub member_name: String,
    pub comment: Option<String>,
    pub created_at: Millis,
    pub status: PhotoStatus,
    pub width: u32,
    pub height: u32,
    pub likes: usize,
    pub liked_by: Vec<Liker>,
    /// Whether the member asking liked it (absent in broadcasts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liked: Option<bool>,
    /// Relative URLs of the variants, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urls: Option<PhotoUrls>,
}

#[derive(Debug, Serialize)]
pub struct Liker {
    pub member_id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct PhotoUrls {
    pub full: String,
    pub preview: String,
    pub thumb: String,
}

impl PhotoView {
    pub fn new(photo: &Photo, room: &Room, viewer: Option<&str>) -> Self {
        let url = |v: Variant| format!("/api/photos/{}/{}", photo.id, v.file_name());
        let ready = photo.status == PhotoStatus::Ready;
        Self {
            id: photo.id.clone(),
            member_id: photo.member_id.clone(),
            member_name: photo.member_name.clone(),
            comment: photo.comment.clone(),
            created_at: photo.created_at,
            status: photo.status,
            width: photo.width,
            height: photo.height,
            likes: photo.likes.len(),
            liked_by: likers(photo, room),
            liked: viewer.map(|v| photo.likes.iter().any(|m| m == v)),
            urls: ready.then(|| PhotoUrls {
                full: url(Variant::Full),
                preview: url(Variant::Preview),
                thumb: url(Variant::Thumb),
            }),
        }
    }
}

/// The most recent likers, newest first, by their current name (banned
/// members are left out of the names; their like still counts).
fn likers(photo: &Photo, room: &Room) -> Vec<Liker> {
    let name = |id: &str| match room.member(id) {
        Some(m) if m.banned => None,
        Some(m) => Some(m.name.clone()),
        None => Some("someone".to_string()),
    };
    let recent = photo.likes.iter().rev().filter_map(|id| Some(Liker { member_id: id.clone(), name: name(id)? }));
    recent.take(LIKERS_SHOWN).collect()
}
