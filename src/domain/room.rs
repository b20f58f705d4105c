//! The room aggregate: everything about one party that changes together and
//! is written back as one document under one `version`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Listing, Millis, Rules, Track};

/// Most plays kept inside the aggregate (for "recently played" and the
/// no-replay rule); the full history lives in the store's history table.
pub const RECENT_PLAYS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// A party: expires after being idle for the configured time.
    Party,
    /// A venue zone: always on, never expires.
    Venue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Host,
    Cohost,
    Guest,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub joined_at: Millis,
    pub banned: bool,
    /// When this member last added a new entry (for the cooldown rule).
    pub last_add_at: Option<Millis>,
    /// The account this member belongs to, if they have one (set together
    /// with `username`, which never changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When this guest asked for tracks within the last hour (a zone's
    /// `requests_per_hour` limit), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_at: Vec<Millis>,
    /// In a zone: the genres a guest picked on joining (lower case, at
    /// most `MAX_PICKS`), part of their taste for the autopilot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub picks: Vec<String>,
}

impl Member {
    /// A member as they join: not banned, nothing added, no account.
    pub fn new(id: String, name: String, role: Role, joined_at: Millis) -> Self {
        Self {
            id,
            name,
            role,
            joined_at,
            banned: false,
            last_add_at: None,
            user_id: None,
            username: None,
            requested_at: Vec::new(),
            picks: Vec::new(),
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Host | Role::Cohost)
    }
}

/// A screen that watches the room (a TV showing the big screen, a tablet
/// playing the music): not a person, so not a member. It cannot vote, add or
/// like, it is not among "the people here" nor counted for vote-to-skip,
/// and staff remove it. Its id starts with [`SCREEN_ID_PREFIX`], so presence
/// (which counts every connection) can tell screens from people without the
/// room at hand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    pub id: String,
    pub name: String,
    pub created_at: Millis,
}

pub const SCREEN_ID_PREFIX: &str = "screen-";

/// Most screens per room: a venue zone has a few; more is someone playing.
pub const MAX_SCREENS: usize = 10;

/// Whether this connected id is a screen rather than a person.
pub fn is_screen_id(id: &str) -> bool {
    id.starts_with(SCREEN_ID_PREFIX)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub track: Track,
    pub added_by: String,
    /// The contributor's name when added, shown even after they left.
    pub added_by_name: String,
    pub added_at: Millis,
    /// Room-wide sequence number: breaks score ties by time added.
    pub seq: u64,
    /// Member id → +1 or -1. A cleared vote is removed.
    pub votes: BTreeMap<String, i8>,
    /// Set when the host pinned the entry to play next.
    pub pinned_at: Option<Millis>,
}

impl Entry {
    pub fn score(&self) -> i64 {
        self.votes.values().map(|v| i64::from(*v)).sum()
    }

    /// How many voted up and how many down.
    pub fn votes_up_down(&self) -> (u32, u32) {
        let up = self.votes.values().filter(|v| **v > 0).count() as u32;
        let down = self.votes.values().filter(|v| **v < 0).count() as u32;
        (up, down)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NowPlaying {
    pub entry_id: String,
    pub track: Track,
    pub added_by: Option<String>,
    /// Server time at which position 0 was (or would have been) playing;
    /// shifted forward on resume so `now - started_at` is the position.
    pub started_at: Millis,
    /// Position at which playback was paused, if paused.
    pub paused_position: Option<Millis>,
    /// Members who voted to skip this track.
    pub skip_votes: BTreeSet<String>,
    /// Why the autopilot chose it ("4 guests here like disco"); `None`
    /// for a track someone queued or the fallback list.
    #[serde(default)]
    pub reason: Option<String>,
    /// The votes its queue entry had when it started (for analytics).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes_up: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes_down: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl NowPlaying {
    pub fn position_at(&self, now: Millis) -> Millis {
        match self.paused_position {
            Some(p) => p,
            None => now.saturating_sub(self.started_at).min(self.track.duration_ms),
        }
    }

    /// When the track ends if nobody pauses it; `None` while paused.
    pub fn ends_at(&self) -> Option<Millis> {
        match self.paused_position {
            Some(_) => None,
            None => Some(self.started_at + self.track.duration_ms),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayEnd {
    Finished,
    Skipped,
    VotedOff,
}

/// One played track, as written to the room's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Play {
    pub entry_id: String,
    pub track_id: String,
    pub title: String,
    pub artists: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    pub added_by: Option<String>,
    pub started_at: Millis,
    pub ended_at: Millis,
    pub end: PlayEnd,
    /// The votes up and down its queue entry had when it started.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes_up: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes_down: u32,
}

impl Play {
    /// What the play keeps of its track: id, title, artists and genres.
    pub fn as_track(&self) -> Track {
        Track {
            id: self.track_id.clone(),
            title: self.title.clone(),
            artists: self.artists.clone(),
            genres: self.genres.clone(),
            ..Track::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: RoomKind,
    pub created_at: Millis,
    /// Last committed change: idle party rooms expire from here.
    pub active_at: Millis,
    /// Increases by one with every committed change.
    pub version: u64,
    pub rules: Rules,
    pub members: Members,
    /// Waiting entries in insertion order; `queue::play_order` sorts them.
    pub queue: Vec<Entry>,
    pub now_playing: Option<NowPlaying>,
    /// The latest plays, newest last, at most `RECENT_PLAYS`.
    pub recent_plays: Vec<Play>,
    /// Played when the queue runs dry, in a loop.
    pub fallback: Shared<Vec<Track>>,
    pub fallback_cursor: usize,
    pub next_seq: u64,
    #[serde(default)]
    pub listing: Listing,
    /// Where the room's tracks also play: a device of a staff member's
    /// linked music service account. Written even when unset: a store
    /// may update a room field by field (see `store::MemberList`), so every
    /// field of the room must be in its serialized form.
    #[serde(default)]
    pub playback: Option<Playback>,
    /// The member whose browser plays the room's music (the host's phone,
    /// the big screen); `None` with `playback` unset: a DJ plays, the
    /// server keeps time. At most one of the two is set.
    #[serde(default)]
    pub speaker: Option<String>,
    /// Paused by the server because the speaker went away (not by staff):
    /// it resumes when the speaker is back.
    #[serde(default)]
    pub speaker_away: bool,
    /// Screens watching the room, by id.
    #[serde(default)]
    pub screens: BTreeMap<String, Screen>,
    /// The venue this room is a zone of (kind `venue`).
    #[serde(default)]
    pub venue_id: Option<String>,
    /// A zone's day parts and what guests may ask for in each.
    #[serde(default)]
    pub schedule: Option<super::schedule::Schedule>,
    /// The day part last announced to the room (see
    /// `schedule::follow`): it changes, once, at each boundary.
    #[serde(default)]
    pub day_part_on: Option<super::schedule::DayPartOn>,
    /// Guests' requests waiting for staff approval, oldest first.
    #[serde(default)]
    pub requests: Vec<super::requests::Request>,
}

/// A part of the room that most commands leave alone (its members, its
/// fallback list), shared between copies of the room: every command clones
/// the room it applies to, and a vote in a room of a thousand guests should
/// not copy a thousand members. `make_mut` copies the part on its first
/// change. Serialized as the value itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shared<T>(Arc<T>);

pub type Members = Shared<BTreeMap<String, Member>>;

impl<T: Clone> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }

    pub fn make_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> Shared<T> {
    /// True if both are the same copy: neither was changed since one was
    /// cloned from the other (while a clone lives, `make_mut` copies).
    pub fn is_same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(|v| Self(Arc::new(v)))
    }
}

/// A music service device the room hands each decided track to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Playback {
    pub provider: String,
    /// The account whose link is used.
    pub user_id: String,
    pub device_id: String,
    pub device_name: String,
}

impl Room {
    /// When the room moves on from its current track if nobody pauses it:
    /// its end, less the `crossfade_secs` rule (at most half the track),
    /// so that a speaker fades the next one in over the last seconds of
    /// this one. `None` while paused or with nothing playing.
    pub fn track_ends_at(&self) -> Option<Millis> {
        let np = self.now_playing.as_ref()?;
        let overlap = (u64::from(self.rules.crossfade_secs) * 1000).min(np.track.duration_ms / 2);
        np.ends_at().map(|end| end - overlap)
    }

    /// Whether the room's speaker can play the track: a browser plays tracks
    /// with audio on this server, a music service device its own tracks, and
    /// with neither (a DJ plays) anything goes.
    pub fn can_play(&self, track: &Track) -> bool {
        match (&self.speaker, &self.playback) {
            (Some(_), _) => track.audio.is_some(),
            (None, Some(device)) => {
                track.provider_uri.as_deref().is_some_and(|uri| uri.starts_with(&format!("{}:track:", device.provider)))
            }
            (None, None) => true,
        }
    }

    /// Whether the room's rules let `track` play now (what everybody's
    /// additions are checked against) and its speaker can play it: what
    /// the autopilot may pick.
    pub fn may_autoplay(&self, track: &Track, now: Millis) -> bool {
        self.can_play(track) && super::command::check_track_allowed(self, track, now).is_ok()
    }

    pub fn new(id: String, code: String, name: String, host: Member, rules: Rules, now: Millis) -> Self {
        let mut members = Members::default();
        members.make_mut().insert(host.id.clone(), host);
        Self {
            id,
            code,
            name,
            kind: RoomKind::Party,
            created_at: now,
            active_at: now,
            version: 1,
            rules,
            members,
            queue: Vec::new(),
            now_playing: None,
            recent_plays: Vec::new(),
            fallback: Shared::default(),
            fallback_cursor: 0,
            next_seq: 1,
            listing: Listing::default(),
            playback: None,
            speaker: None,
            speaker_away: false,
            screens: BTreeMap::new(),
            venue_id: None,
            schedule: None,
            day_part_on: None,
            requests: Vec::new(),
        }
    }

    /// A copy of the room with an empty member list, for the stores and
    /// caches that keep the members apart (the rest is copied, the members
    /// are not).
    pub fn without_members(&self) -> Room {
        Room { members: Members::default(), ..self.clone() }
    }

    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.get(id)
    }

    /// Whether `id` may be the room's speaker: a member who is not banned,
    /// or one of its screens.
    pub fn may_play(&self, id: &str) -> bool {
        self.member(id).is_some_and(|m| !m.banned) || self.screens.contains_key(id)
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.queue.iter().find(|e| e.id == id)
    }

    pub fn entry_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.queue.iter_mut().find(|e| e.id == id)
    }

    pub fn host(&self) -> Option<&Member> {
        self.members.values().find(|m| m.role == Role::Host)
    }

    /// When the player must advance next, if something is playing.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.now_playing.as_ref().and_then(NowPlaying::ends_at)
    }

    /// True once a party room has been idle for longer than `ttl`.
    pub fn is_expired(&self, now: Millis, ttl: Millis) -> bool {
        self.kind == RoomKind::Party && now.saturating_sub(self.active_at) > ttl
    }
}
