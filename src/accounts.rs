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
//!
//! Owns: `Accounts` (registration, sessions, profiles, follows, timelines,
//! avatars, account deletion).
//! May use: rooms, activities, photos, store, media, token, limits, search
//! (index names), clock, broadcast, domain.
//! Must not import: providers, player, state, realtime, http.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use tokio::sync::Notify;

use crate::activities::{Activities, ActivityView, UserSummary, avatar_url};
use crate::broadcast::{Audience, Broadcaster};
use crate::clock::SharedClock;
use crate::domain::recommend;
use crate::domain::user::{self, AccountRule};
use crate::domain::view::PhotoView;
use crate::domain::{AccountSession, ActivityKind, Actor, Command, Millis, Room, TasteSource, User};
use crate::error::{AppError, Result};
use crate::limits::RateLimiter;
use crate::media::pipeline;
use crate::media::{Blob, BlobStore};
use crate::photos::Photos;
use crate::rooms::Rooms;
use crate::search::IndexName;
use crate::store::{FollowSide, Store, StoreError};
use crate::token::{AccountClaims, TokenKey};

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

/// What the accounts service works with.
#[derive(Clone)]
pub struct Accounts {
    pub store: Arc<dyn Store>,
    /// Avatars (and, through `photos`, the photos of a deleted account).
    pub blobs: Arc<dyn BlobStore>,
    pub rooms: Rooms,
    pub activities: Activities,
    pub photos: Photos,
    pub clock: SharedClock,
    pub tokens: TokenKey,
    /// Login attempts per client address.
    pub login_limiter: Arc<dyn RateLimiter>,
    /// Accounts one account may follow (`max_following`, at most `MAX_FOLLOWING`).
    pub max_following: usize,
    pub broadcaster: Arc<dyn Broadcaster>,
    /// Wakes the search indexer when a profile changed.
    pub index_changed: Arc<Notify>,
}

impl Accounts {
    fn accounts(&self) -> &dyn crate::store::AccountStore {
        self.store.accounts()
    }

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
            taste: Default::default(),
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
    /// password alike. Every attempt counts against the client's address.
    /// Not against the username: a username limit lets anyone lock its owner
    /// out by failing on purpose. Guessing one password from many addresses
    /// is bounded by each address's limit, the password rules (10 characters
    /// or more, common ones refused) and argon2's cost per attempt; failed
    /// logins are logged with the username and counted for operators.
    pub async fn log_in(&self, client: &str, username: &str, password: &str) -> Result<(User, String)> {
        self.login_limiter.check(client).await?;
        let username = user::username(username).map_err(|_| AppError::InvalidCredentials)?;
        let failed = || {
            metrics::counter!(crate::telemetry::LOGIN_FAILURES).increment(1);
            tracing::info!(%username, "failed login");
            AppError::InvalidCredentials
        };
        if password.len() > user::MAX_PASSWORD_BYTES {
            return Err(failed());
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
            _ => Err(failed()),
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
        self.broadcaster.disconnect(Audience::Session(account.session_id.clone())).await;
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

    /// The account's taste profile as the autopilot sees it.
    pub async fn taste(&self, user: &User) -> Result<TasteView> {
        let history =
            self.accounts().activities(std::slice::from_ref(&user.id), None, recommend::ACCOUNT_HISTORY).await?;
        let mut marks = self.accounts().taste_marks(&user.id, TasteSource::Vote, recommend::ACCOUNT_HISTORY).await?;
        marks.extend(self.accounts().taste_marks(&user.id, TasteSource::Import, recommend::ACCOUNT_HISTORY).await?);
        // Shown even while turned off: the owner sees what would count.
        let shown = user::TasteSettings { off: false, ..user.taste };
        let (taste, counts) = recommend::account_taste(&history, &marks, shown);
        Ok(TasteView {
            enabled: !user.taste.off,
            since: (user.taste.since > 0).then_some(user.taste.since),
            tracks: counts.added,
            votes: counts.voted,
            imported: counts.imported,
            artists: ranked(taste.artists),
            genres: ranked(taste.genres),
        })
    }

    /// A vote by a member with an account: up marks the track in the
    /// account's taste profile, anything else takes the mark back. Nothing
    /// is kept while the owner has the profile turned off.
    pub async fn note_vote(&self, user_id: &str, track: &crate::domain::Track, up: bool) -> Result<()> {
        if !up {
            return Ok(self.accounts().unmark_taste(user_id, TasteSource::Vote, &track.id).await?);
        }
        match self.accounts().user(user_id).await? {
            Some(user) if !user.taste.off => {
                let mark = user::TasteMark::new(user_id, TasteSource::Vote, track, self.clock.now());
                Ok(self.accounts().mark_taste(&[mark]).await?)
            }
            _ => Ok(()),
        }
    }

    /// Turns the profile on or off; `forget` empties it (only what the
    /// account does from now on counts).
    pub async fn set_taste(&self, account: &Account, enabled: Option<bool>, forget: bool) -> Result<User> {
        let mut settings = account.user.taste;
        if let Some(enabled) = enabled {
            settings.off = !enabled;
        }
        if forget {
            // The timeline stays (it is the account's); votes and imports
            // exist only for the taste, so they go.
            settings.since = self.clock.now();
            self.accounts().forget_taste(&account.user.id).await?;
        }
        let user = self.accounts().set_taste(&account.user.id, settings).await?;
        user.ok_or(AppError::Unauthorized)
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
        let limit = self.max_following;
        if on {
            let (_, following) = self.accounts().follow_counts(&account.user.id).await?;
            if following as usize >= limit {
                return Err(AppError::FollowLimit(limit));
            }
        }
        let changed = self.accounts().set_follow(&account.user.id, &followee.id, on).await?;
        if on && changed {
            // Follows at once can all pass the check above: one that finds
            // the account over the limit once it is written takes itself
            // back (at worst several do, never too few).
            let (_, following) = self.accounts().follow_counts(&account.user.id).await?;
            if following as usize > limit {
                self.accounts().set_follow(&account.user.id, &followee.id, false).await?;
                return Err(AppError::FollowLimit(limit));
            }
        }
        if changed {
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
            items.extend(self.activities.view(activity, Some(&account.user.id)).await?);
        }
        Ok((items, next))
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
            let Ok(room) = self.rooms.room(&photo.room_id).await else { continue };
            if photo.visible_in(&room) && room.listing.public {
                photos.push(PhotoView::new(photo, &room, None));
            }
        }
        Ok((photos, next))
    }

    /// A guest turns into an account: the member is linked to it for good,
    /// their photos count as the account's, and followers see them here.
    pub async fn link_member(&self, account: &Account, room_id: &str, member_id: &str) -> Result<Room> {
        let command =
            Command::LinkAccount { user_id: account.user.id.clone(), username: account.user.username.clone() };
        let (room, outcome) = self.rooms.execute(room_id, Actor::Member(member_id.to_string()), command).await?;
        self.accounts().claim_photos(room_id, member_id, &account.user.id).await?;
        if !outcome.changes.is_empty() {
            self.activities.record(&account.user.id, &room, ActivityKind::RoomJoined).await;
        }
        Ok(room)
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
            match self.rooms.execute(&room_id, Actor::System, unlink).await {
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
        self.broadcaster.disconnect(Audience::Accounts(vec![user.id.clone()])).await;
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
                self.photos.delete_photo_everywhere(photo).await?;
                self.photos.announce_removed(photo).await;
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        let parsed = argon2::PasswordHash::new(super::dummy_hash()).expect("parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!super::password_matches("anything", super::dummy_hash()));
    }
}

/// A taste profile as its owner sees it (`GET /api/me/taste`).
#[derive(Debug, Serialize)]
pub struct TasteView {
    /// False while the owner turned it off: the autopilot ignores it.
    pub enabled: bool,
    /// When the owner last deleted it: nothing before counts.
    pub since: Option<Millis>,
    /// How many added tracks it is made of.
    pub tracks: usize,
    /// How many tracks voted up, and imported from a music service.
    pub votes: usize,
    pub imported: usize,
    /// The 20 artists and genres that weigh most, heaviest first.
    pub artists: Vec<TasteWeight>,
    pub genres: Vec<TasteWeight>,
}

#[derive(Debug, Serialize)]
pub struct TasteWeight {
    pub name: String,
    pub weight: f32,
}

fn ranked(weights: std::collections::HashMap<String, f32>) -> Vec<TasteWeight> {
    let mut rows: Vec<TasteWeight> = weights.into_iter().map(|(name, weight)| TasteWeight { name, weight }).collect();
    rows.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.name.cmp(&b.name)));
    rows.truncate(20);
    rows
}
