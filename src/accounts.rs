//! Accounts, optional for guests: register and log in (argon2id hashes,
//! login attempts rate limited), revocable login sessions, profiles with
//! counts and an avatar, follows, the timeline of the people you follow,
//! the public latest-photos feed, `feed:new` pushed to followers, turning a
//! guest into an account, and deleting an account with its data.
//!
//! Timelines are fan-out on read: an activity is stored once under its
//! author, and a timeline reads the activities of everyone the reader
//! follows (at most `MAX_FOLLOWING`), newest first. Nothing is copied per
//! follower, so following, unfollowing and deleting an account are cheap and
//! exact. Connected followers are told at once over the `/feed` Socket.IO
//! namespace (one emit to their `user:{id}` rooms, on every node).

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use serde_json::json;

use crate::domain::user::{self, AccountRule};
use crate::domain::view::PhotoView;
use crate::domain::{AccountSession, Activity, ActivityKind, Actor, Command, Member, Millis, Room, Track, User};
use crate::error::{AppError, Result};
use crate::media::Blob;
use crate::media::pipeline;
use crate::search::IndexName;
use crate::state::AppState;
use crate::store::{FollowSide, StoreError};
use crate::token::AccountClaims;

/// Accounts one person may follow (a timeline reads all of them).
pub const MAX_FOLLOWING: usize = 5_000;
pub const FEED_PAGE: usize = 20;
pub const MAX_FEED_PAGE: usize = 100;

/// A request made with a valid account token.
pub struct Account {
    pub user: User,
    pub session_id: String,
}

/// An account as others see it.
#[derive(Debug, Serialize)]
pub struct ProfileView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub created_at: Millis,
    pub avatar_url: Option<String>,
    pub photos: u64,
    pub followers: u64,
    pub following: u64,
    /// Whether the account asking follows this one (absent without a token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed: Option<bool>,
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
    fn new(user: &User) -> Self {
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
fn avatar_url(user: &User) -> Option<String> {
    user.avatar_version.map(|v| format!("/api/avatars/{}/{v}.jpg", user.id))
}

pub fn avatar_key(user_id: &str, version: u32) -> String {
    format!("avatars/{user_id}.{version}.jpg")
}

fn rule(e: AccountRule) -> AppError {
    match e {
        AccountRule::PasswordTooShort | AccountRule::PasswordTooLong | AccountRule::PasswordTooWeak => {
            AppError::WeakPassword(e.to_string())
        }
        _ => AppError::InvalidPayload(e.to_string()),
    }
}

/// A `(created_at, id)` cursor as text.
pub fn cursor(created_at: Millis, id: &str) -> String {
    format!("{created_at}-{id}")
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| AppError::Internal(e.into()))
}

/// Password hashes computed at once: one per core. Each takes ~19 MiB and
/// tens of ms by design, so a flood of logins must queue, not pile up
/// threads and memory; a request that waits too long answers `unavailable`.
fn hash_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs password hashing off the async runtime, a bounded number at once.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let wait = std::time::Duration::from_secs(5);
    let slot = tokio::time::timeout(wait, hash_slots().acquire()).await;
    let _slot = slot.map_err(|_| AppError::Unavailable)?.map_err(|_| AppError::Unavailable)?;
    blocking(work).await
}

fn hash_password(password: &str) -> Result<String> {
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt);
    Ok(hash.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?.to_string())
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Checked when the username is unknown, so a login takes as long whether
/// or not the account exists (no probing for usernames by timing). A fixed
/// argon2id hash with the default parameters (of a random password).
fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$0lWxfAP4tgAiXrM3XD4I2w$YuWfRM8zUT5WrL5ASSvbhMazu1uV8l+8GcSwhcD5o0U"
}

pub struct Registration {
    pub username: String,
    pub password: String,
    pub display_name: Option<String>,
}

impl AppState {
    /// Creates an account and logs it in; `(user, account token)`.
    pub async fn register(&self, registration: Registration) -> Result<(User, String)> {
        let username = user::username(&registration.username).map_err(rule)?;
        let display_name =
            user::display_name(registration.display_name.as_deref().unwrap_or(&username)).map_err(rule)?;
        user::check_password(&registration.password, &username).map_err(rule)?;
        if self.accounts().user_by_username(&username).await?.is_some() {
            return Err(AppError::UsernameTaken);
        }
        let password = registration.password;
        let password_hash = hashing(move || hash_password(&password)).await??;
        let user = User {
            id: crate::ids::random_id(&mut rand::rng()),
            username,
            display_name,
            password_hash,
            created_at: self.clock.now(),
            avatar_version: None,
        };
        match self.accounts().insert_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Duplicate) => return Err(AppError::UsernameTaken),
            Err(e) => return Err(e.into()),
        }
        self.queue_user_for_index(&user.id).await;
        tracing::info!(user_id = %user.id, "account registered");
        let token = self.open_session(&user).await?;
        Ok((user, token))
    }

    /// Logs in; `invalid_credentials` for an unknown username or a wrong
    /// password alike. Attempts are limited per client address and per
    /// username (so a password cannot be guessed from many addresses).
    pub async fn log_in(&self, client: &str, username: &str, password: &str) -> Result<(User, String)> {
        self.login_limiter.check(client).await?;
        let username = user::username(username).map_err(|_| AppError::InvalidCredentials)?;
        self.login_limiter.check(&format!("user:{username}")).await?;
        if password.len() > user::MAX_PASSWORD_BYTES {
            return Err(AppError::InvalidCredentials);
        }
        let found = self.accounts().user_by_username(&username).await?;
        let hash = found.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_string();
        let matches = hashing(move || match hash {
            Some(hash) => password_matches(&password, &hash),
            None => {
                password_matches(&password, dummy_hash());
                false
            }
        })
        .await?;
        match found {
            Some(user) if matches => {
                let token = self.open_session(&user).await?;
                Ok((user, token))
            }
            _ => Err(AppError::InvalidCredentials),
        }
    }

    async fn open_session(&self, user: &User) -> Result<String> {
        let session = AccountSession {
            id: crate::ids::random_id(&mut rand::rng()),
            user_id: user.id.clone(),
            created_at: self.clock.now(),
        };
        self.accounts().insert_session(&session).await?;
        Ok(self.tokens.sign_account(&AccountClaims { s: session.id, u: user.id.clone() }))
    }

    /// The account of a token whose session is still open.
    pub async fn account(&self, token: &str) -> Result<Account> {
        let claims = self.tokens.verify_account(token).ok_or(AppError::Unauthorized)?;
        let session = self.accounts().session(&claims.s).await?.filter(|s| s.user_id == claims.u);
        let session = session.ok_or(AppError::Unauthorized)?;
        let user = self.accounts().user(&session.user_id).await?.ok_or(AppError::Unauthorized)?;
        Ok(Account { user, session_id: session.id })
    }

    pub async fn log_out(&self, account: &Account) -> Result<()> {
        self.accounts().delete_session(&account.session_id).await?;
        if let Some(io) = self.io() {
            io.disconnect_feed(session_room(&account.session_id)).await;
        }
        Ok(())
    }

    pub async fn user_named(&self, username: &str) -> Result<User> {
        let username = user::username(username).map_err(|_| AppError::UserNotFound)?;
        self.accounts().user_by_username(&username).await?.ok_or(AppError::UserNotFound)
    }

    pub async fn profile(&self, user: &User, viewer: Option<&str>) -> Result<ProfileView> {
        let (followers, following) = self.accounts().follow_counts(&user.id).await?;
        let photos = self.accounts().count_user_photos(&user.id).await?;
        let followed = match viewer {
            Some(viewer) if viewer != user.id => Some(self.accounts().is_following(viewer, &user.id).await?),
            Some(_) => Some(false),
            None => None,
        };
        Ok(ProfileView {
            id: user.id.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            created_at: user.created_at,
            avatar_url: avatar_url(user),
            photos,
            followers,
            following,
            followed,
        })
    }

    pub async fn rename(&self, account: &Account, display_name: &str) -> Result<User> {
        let display_name = user::display_name(display_name).map_err(rule)?;
        let user = self.accounts().set_display_name(&account.user.id, &display_name).await?;
        let user = user.ok_or(AppError::Unauthorized)?;
        self.queue_user_for_index(&user.id).await;
        Ok(user)
    }

    /// Follows (`on`) or unfollows `username`; the followee's profile after.
    pub async fn follow(&self, account: &Account, username: &str, on: bool) -> Result<ProfileView> {
        let followee = self.user_named(username).await?;
        if followee.id == account.user.id {
            return Err(AppError::CannotFollowSelf);
        }
        if on {
            let (_, following) = self.accounts().follow_counts(&account.user.id).await?;
            if following as usize >= MAX_FOLLOWING {
                return Err(AppError::FollowLimit(MAX_FOLLOWING));
            }
        }
        if self.accounts().set_follow(&account.user.id, &followee.id, on).await? {
            // The followee's follower count is in the users index.
            self.queue_user_for_index(&followee.id).await;
        }
        self.profile(&followee, Some(&account.user.id)).await
    }

    /// A page of `username`'s followers or followings, in a stable order,
    /// and the cursor of the next page.
    pub async fn follow_page(
        &self,
        username: &str,
        side: FollowSide,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<UserSummary>, Option<String>)> {
        let user = self.user_named(username).await?;
        let ids = self.accounts().follows(&user.id, side, after, limit).await?;
        let next = (ids.len() == limit).then(|| ids.last().cloned()).flatten();
        let mut people = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(user) = self.accounts().user(id).await? {
                people.push(UserSummary::new(&user));
            }
        }
        Ok((people, next))
    }

    /// The activities of everyone `account` follows, newest first.
    pub async fn timeline(
        &self,
        account: &Account,
        before: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<(Vec<ActivityView>, Option<String>)> {
        let following = self.accounts().follows(&account.user.id, FollowSide::Following, None, MAX_FOLLOWING).await?;
        if following.is_empty() {
            return Ok((Vec::new(), None));
        }
        let before = before.as_ref().map(|(at, id)| (*at, id.as_str()));
        let page = self.accounts().activities(&following, before, limit).await?;
        let next = (page.len() == limit).then(|| page.last().map(|a| cursor(a.created_at, &a.id))).flatten();
        let mut items = Vec::with_capacity(page.len());
        for activity in &page {
            items.extend(self.activity_view(activity, Some(&account.user.id)).await?);
        }
        Ok((items, next))
    }

    /// What an activity shows now; `None` when it shows nothing any more
    /// (its photo was removed, its author is gone).
    /// `viewer` is the reader, or `None` for a push already addressed to
    /// readers allowed to see it.
    async fn activity_view(&self, activity: &Activity, viewer: Option<&str>) -> Result<Option<ActivityView>> {
        let Some(author) = self.accounts().user(&activity.user_id).await? else { return Ok(None) };
        let Ok(party) = self.room(&activity.room_id).await else { return Ok(None) };
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

    /// The latest photos shared in public rooms, newest first.
    pub async fn latest_public_photos(
        &self,
        before: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<(Vec<PhotoView>, Option<String>)> {
        let before = before.as_ref().map(|(at, id)| (*at, id.as_str()));
        let page = self.accounts().public_photos(before, limit).await?;
        let next = (page.len() == limit).then(|| page.last().map(crate::domain::photo::cursor)).flatten();
        let mut photos = Vec::with_capacity(page.len());
        for photo in &page {
            let Ok(room) = self.room(&photo.room_id).await else { continue };
            if photo.visible_in(&room) && room.listing.public {
                photos.push(PhotoView::new(photo, &room, None));
            }
        }
        Ok((photos, next))
    }

    /// Records what an account did and tells its connected followers.
    /// Best effort: the action itself already succeeded.
    pub async fn record_activity(&self, user_id: &str, room: &Room, kind: ActivityKind) {
        // A member whose account was deleted meanwhile does nothing for it.
        if !matches!(self.accounts().user(user_id).await, Ok(Some(_))) {
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
        if let Err(e) = self.accounts().insert_activity(&activity).await {
            return tracing::warn!(user_id, error = %e, "could not record an activity");
        }
        let followers = match self.accounts().follows(user_id, FollowSide::Followers, None, usize::MAX).await {
            Ok(followers) => followers,
            Err(e) => return tracing::warn!(user_id, error = %e, "could not list followers for feed:new"),
        };
        // What happens in a private party is told only to followers who are
        // in that party too.
        let followers: Vec<String> = followers.into_iter().filter(|f| shown_to(room, f)).collect();
        if followers.is_empty() {
            return;
        }
        let view = match self.activity_view(&activity, None).await {
            Ok(Some(view)) => view,
            _ => return,
        };
        if let Some(io) = self.io() {
            // In chunks: one message per thousand followers, not one huge one.
            for chunk in followers.chunks(1_000) {
                let rooms = chunk.iter().map(|f| feed_room(f)).collect();
                io.emit_feed(rooms, "feed:new", &json!({ "item": view })).await;
            }
        }
    }

    /// A guest turns into an account: the member is linked to it for good,
    /// their photos count as the account's, and followers see them here.
    pub async fn link_member(&self, account: &Account, room_id: &str, member_id: &str) -> Result<Room> {
        let command =
            Command::LinkAccount { user_id: account.user.id.clone(), username: account.user.username.clone() };
        let (room, outcome) = self.execute(room_id, Actor::Member(member_id.to_string()), command).await?;
        self.accounts().claim_photos(room_id, member_id, &account.user.id).await?;
        if !outcome.changes.is_empty() {
            self.record_activity(&account.user.id, &room, ActivityKind::RoomJoined).await;
        }
        Ok(room)
    }

    /// Records the activities of a committed room change for members with
    /// accounts (tracks they added, rooms they joined).
    pub async fn record_room_activities(&self, room: &Room, changes: &[crate::domain::Change]) {
        use crate::domain::Change;
        for change in changes {
            match change {
                Change::EntryAdded { entry_id } => {
                    let Some((added_by, track)) = added_track(room, entry_id) else { continue };
                    if let Some(user_id) = room.member(added_by).and_then(|m: &Member| m.user_id.clone()) {
                        let kind = ActivityKind::TrackAdded { track: Box::new(track.clone()) };
                        self.record_activity(&user_id, room, kind).await;
                    }
                }
                Change::MemberJoined { member_id } => {
                    if let Some(user_id) = room.member(member_id).and_then(|m| m.user_id.clone()) {
                        self.record_activity(&user_id, room, ActivityKind::RoomJoined).await;
                    }
                }
                _ => {}
            }
        }
    }

    /// Stores a new avatar (any accepted photo, cut to a 256 px square).
    /// Versions are compare-and-swapped, so of two uploads at once one wins
    /// and the other's file is removed.
    pub async fn set_avatar(&self, account: &Account, bytes: Vec<u8>) -> Result<User> {
        let jpeg = blocking(move || pipeline::avatar(&bytes)).await??;
        let user = self.accounts().user(&account.user.id).await?.ok_or(AppError::Unauthorized)?;
        let version = user.avatar_version.map_or(1, |v| v + 1);
        let key = avatar_key(&user.id, version);
        let blob = Blob { bytes: jpeg, content_type: "image/jpeg".to_string() };
        self.blobs.put(&key, blob).await.map_err(|e| {
            tracing::warn!(error = %e, "could not store an avatar");
            AppError::Unavailable
        })?;
        if !self.accounts().set_avatar_version(&user.id, user.avatar_version, version).await? {
            self.blobs.delete(&key).await.ok();
            return Err(AppError::Unavailable);
        }
        if let Some(previous) = user.avatar_version {
            self.blobs.delete(&avatar_key(&user.id, previous)).await.ok();
        }
        Ok(User { avatar_version: Some(version), ..user })
    }

    /// Deletes the account and everything that is the person's: photos
    /// (with their files), avatar, follows, activities, sessions, the users
    /// index entry. Their sockets on the feed are closed.
    pub async fn delete_account(&self, account: &Account, password: &str) -> Result<()> {
        let user = &account.user;
        // A stolen token must not become a way to guess the password.
        self.login_limiter.check(&format!("delete:{}", user.id)).await?;
        let (password, hash) = (password.to_string(), user.password_hash.clone());
        if password.len() > user::MAX_PASSWORD_BYTES || !hashing(move || password_matches(&password, &hash)).await? {
            return Err(AppError::InvalidCredentials);
        }
        // The rooms the person was in (every linked join and action is an
        // activity): their members there become plain guests.
        let activities = self.accounts().activities(std::slice::from_ref(&user.id), None, 10_000).await?;
        let rooms: std::collections::BTreeSet<String> = activities.into_iter().map(|a| a.room_id).collect();
        self.delete_user_photos(&user.id).await?;
        if let Some(version) = user.avatar_version {
            self.blobs.delete(&avatar_key(&user.id, version)).await.ok();
        }
        let followees = self.accounts().follows(&user.id, FollowSide::Following, None, MAX_FOLLOWING).await?;
        for provider in crate::store::providers::PROVIDERS {
            self.store.providers().delete_link(&user.id, provider).await?;
        }
        self.accounts().delete_user(&user.id).await?;
        for room_id in rooms {
            let unlink = Command::UnlinkAccount { user_id: user.id.clone() };
            match self.execute(&room_id, Actor::System, unlink).await {
                Ok(_) | Err(AppError::RoomNotFound) => {}
                Err(e) => tracing::warn!(room_id, error = %e, "could not unlink a deleted account's member"),
            }
        }
        // A photo shared while the account was being deleted.
        self.delete_user_photos(&user.id).await?;
        self.queue_user_for_index(&user.id).await;
        for followee in followees {
            self.queue_user_for_index(&followee).await;
        }
        if let Some(io) = self.io() {
            io.disconnect_feed(feed_room(&user.id)).await;
        }
        tracing::info!(user_id = %user.id, "account deleted");
        Ok(())
    }

    async fn delete_user_photos(&self, user_id: &str) -> Result<()> {
        loop {
            let photos = self.accounts().user_photos(user_id, None, 100).await?;
            if photos.is_empty() {
                break;
            }
            for photo in &photos {
                self.delete_photo_everywhere(photo).await?;
                if let Some(io) = self.io() {
                    io.emit_to(photo.room_id.clone(), "photo:removed", &json!({ "photo_id": photo.id })).await;
                }
            }
        }
        Ok(())
    }

    async fn queue_user_for_index(&self, user_id: &str) {
        if let Err(e) = self.store.outbox_push(IndexName::Users.as_str(), &[user_id.to_string()]).await {
            tracing::warn!(user_id, error = %e, "could not queue an account for the users index");
        }
        self.index_changed.notify_one();
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

/// The `/feed` Socket.IO room of one login session's sockets.
pub fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The `/feed` Socket.IO room of an account's sockets.
pub fn feed_room(user_id: &str) -> String {
    format!("user:{user_id}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        let parsed = argon2::PasswordHash::new(super::dummy_hash()).expect("parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!super::password_matches("anything", super::dummy_hash()));
    }
}
