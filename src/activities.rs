//! What account holders did, and telling their followers: an activity is
//! recorded when a member with an account adds a track, joins a room or
//! shares a photo, and pushed as `feed:new` to their followers' feed
//! connections. Timelines read activities back (`view`).
//!
//! Owns: `Activities`, the timeline item views.
//! May use: rooms, store, clock, broadcast, domain.
//! Must not import: photos, accounts, providers, player, state, realtime,
//! http.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use tokio_util::task::TaskTracker;

use crate::broadcast::{Audience, Broadcaster, Payload};
use crate::clock::SharedClock;
use crate::domain::view::PhotoView;
use crate::domain::{Activity, ActivityKind, Member, Millis, Outcome, Room, Track, User};
use crate::error::Result;
use crate::rooms::{CommitListener, Rooms};
use crate::store::{FollowSide, Store};

#[derive(Clone)]
pub struct Activities {
    pub store: Arc<dyn Store>,
    pub rooms: Rooms,
    pub clock: SharedClock,
    pub broadcaster: Arc<dyn Broadcaster>,
    /// Recording after a commit holds a token, so shutdown waits for it.
    pub writes: TaskTracker,
}

/// A line of a list of accounts (followers, following).
#[derive(Debug, Serialize)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
}

impl UserSummary {
    pub fn new(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            avatar_url: avatar_url(user),
        }
    }
}

/// A timeline item.
#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub id: String,
    /// `photo_shared`, `track_added` or `room_joined`.
    pub kind: &'static str,
    pub created_at: Millis,
    pub user: UserSummary,
    pub room: RoomRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<PhotoView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<Track>,
}

#[derive(Debug, Serialize)]
pub struct RoomRef {
    pub id: String,
    pub name: String,
}

/// By user id, not username: a username freed by a deleted account and
/// taken again must not show the old (cached for good) picture.
pub fn avatar_url(user: &User) -> Option<String> {
    user.avatar_version.map(|v| format!("/api/avatars/{}/{v}.jpg", user.id))
}

impl Activities {
    /// Records what an account did and tells its connected followers.
    /// Best effort: the action itself already succeeded.
    pub async fn record(&self, user_id: &str, room: &Room, kind: ActivityKind) {
        // A member whose account was deleted meanwhile does nothing for it.
        if !matches!(self.store.accounts().user(user_id).await, Ok(Some(_))) {
            return;
        }
        let activity = Activity {
            id: crate::ids::random_id(&mut rand::rng()),
            user_id: user_id.to_string(),
            created_at: self.clock.now(),
            room_id: room.id.clone(),
            room_name: room.name.clone(),
            kind,
        };
        if let Err(e) = self.store.accounts().insert_activity(&activity).await {
            return tracing::warn!(user_id, error = %e, "could not record an activity");
        }
        let followers = match self.store.accounts().follows(user_id, FollowSide::Followers, None, usize::MAX).await {
            Ok(followers) => followers,
            Err(e) => return tracing::warn!(user_id, error = %e, "could not list followers for feed:new"),
        };
        // What happens in a private party is told only to followers who are
        // in that party too.
        let followers: Vec<String> = followers.into_iter().filter(|f| shown_to(room, f)).collect();
        if followers.is_empty() {
            return;
        }
        let view = match self.view(&activity, None).await {
            Ok(Some(view)) => view,
            _ => return,
        };
        // In chunks: one message per thousand followers, not one huge one.
        let payload = Payload::new(&json!({ "item": view }));
        for chunk in followers.chunks(1_000) {
            self.broadcaster.emit(Audience::Accounts(chunk.to_vec()), "feed:new", payload.clone()).await;
        }
    }

    /// What an activity shows now; `None` when it shows nothing any more
    /// (its photo was removed, its author is gone).
    /// `viewer` is the reader, or `None` for a push already addressed to
    /// readers allowed to see it.
    pub async fn view(&self, activity: &Activity, viewer: Option<&str>) -> Result<Option<ActivityView>> {
        let Some(author) = self.store.accounts().user(&activity.user_id).await? else { return Ok(None) };
        let Ok(party) = self.rooms.room(&activity.room_id).await else { return Ok(None) };
        if viewer.is_some_and(|v| !shown_to(&party, v)) {
            return Ok(None);
        }
        let room = RoomRef { id: activity.room_id.clone(), name: activity.room_name.clone() };
        let (kind, photo, track) = match &activity.kind {
            ActivityKind::PhotoShared { photo_id } => {
                let Some(photo) = self.store.photo(photo_id).await? else { return Ok(None) };
                if !photo.visible_in(&party) {
                    return Ok(None);
                }
                ("photo_shared", Some(PhotoView::new(&photo, &party, viewer)), None)
            }
            ActivityKind::TrackAdded { track } => ("track_added", None, Some(track.as_ref().clone())),
            ActivityKind::RoomJoined => ("room_joined", None, None),
        };
        let user = UserSummary::new(&author);
        Ok(Some(ActivityView {
            id: activity.id.clone(),
            kind,
            created_at: activity.created_at,
            user,
            room,
            photo,
            track,
        }))
    }

    /// Records the activities of a committed room change for members with
    /// accounts (tracks they added, rooms they joined).
    async fn record_room_changes(&self, room: &Room, changes: &[crate::domain::Change]) {
        use crate::domain::Change;
        for change in changes {
            match change {
                Change::EntryAdded { entry_id } => {
                    let Some((added_by, track)) = added_track(room, entry_id) else { continue };
                    if let Some(user_id) = room.member(added_by).and_then(|m: &Member| m.user_id.clone()) {
                        let kind = ActivityKind::TrackAdded { track: Box::new(track.clone()) };
                        self.record(&user_id, room, kind).await;
                    }
                }
                Change::MemberJoined { member_id } => {
                    if let Some(user_id) = room.member(member_id).and_then(|m| m.user_id.clone()) {
                        self.record(&user_id, room, ActivityKind::RoomJoined).await;
                    }
                }
                _ => {}
            }
        }
    }
}

impl CommitListener for Activities {
    /// Off the write path: followers' timelines are not worth a slower room.
    fn committed(&self, room: &Room, outcome: &Outcome) {
        let changes = &outcome.changes;
        if !has_account_activity(room, changes) {
            return;
        }
        let (activities, room, changes) = (self.clone(), room.clone(), changes.to_vec());
        let write = self.writes.token();
        tokio::spawn(async move {
            activities.record_room_changes(&room, &changes).await;
            drop(write);
        });
    }
}

/// Whether a committed change was made by a member with an account (so it
/// goes into their followers' timelines).
pub fn has_account_activity(room: &Room, changes: &[crate::domain::Change]) -> bool {
    use crate::domain::Change;
    let linked = |member_id: &str| room.member(member_id).is_some_and(|m| m.user_id.is_some());
    changes.iter().any(|change| match change {
        Change::EntryAdded { entry_id } => added_track(room, entry_id).is_some_and(|(by, _)| linked(by)),
        Change::MemberJoined { member_id } => linked(member_id),
        _ => false,
    })
}

/// Who added an entry and its track, whether it waits or already plays
/// (an add to an idle room starts playing at once).
fn added_track<'r>(room: &'r Room, entry_id: &str) -> Option<(&'r str, &'r Track)> {
    if let Some(entry) = room.entry(entry_id) {
        return Some((&entry.added_by, &entry.track));
    }
    let playing = room.now_playing.as_ref().filter(|np| np.entry_id == entry_id)?;
    Some((playing.added_by.as_deref()?, &playing.track))
}

/// Whether `viewer` may see what happened in `room`: anyone for a public
/// room, else only accounts that are members of it.
pub fn shown_to(room: &Room, viewer: &str) -> bool {
    room.listing.public || room.members.values().any(|m| !m.banned && m.user_id.as_deref() == Some(viewer))
}
