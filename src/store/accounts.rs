//! What accounts need from the database: users and their login sessions,
//! follows, activities for timelines, and photos by account. A trait of its
//! own beside `Store` (same databases, same conformance approach), so the
//! party store does not grow every social feature.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::{AccountSession, Activity, Millis, Photo, TasteMark, TasteSettings, TasteSource, User};

/// Which side of a follow to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowSide {
    /// Accounts that follow the user.
    Followers,
    /// Accounts the user follows.
    Following,
}

/// A `(created_at, id)` cursor: strictly older items come next.
pub type Before<'a> = Option<(Millis, &'a str)>;

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account; `Duplicate` if its id or username is taken.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Changes the display name; the account after, `None` if it is gone
    /// (never brings a deleted account back).
    async fn set_display_name(&self, id: &str, display_name: &str) -> StoreResult<Option<User>>;
    /// Sets the account's taste settings; the user after, `None` if gone.
    async fn set_taste(&self, id: &str, taste: TasteSettings) -> StoreResult<Option<User>>;
    /// Sets the avatar version if it is still `expected` (compare-and-swap,
    /// so two avatar uploads cannot both win); whether it was set.
    async fn set_avatar_version(&self, id: &str, expected: Option<u32>, version: u32) -> StoreResult<bool>;
    /// Removes an account with its sessions, its follows both ways, its
    /// activities and taste marks (its photos are removed by the caller,
    /// files first).
    async fn delete_user(&self, id: &str) -> StoreResult<()>;

    async fn insert_session(&self, session: &AccountSession) -> StoreResult<()>;
    async fn session(&self, id: &str) -> StoreResult<Option<AccountSession>>;
    async fn delete_session(&self, id: &str) -> StoreResult<()>;

    /// Follows (`on`) or unfollows; whether anything changed.
    async fn set_follow(&self, follower: &str, followee: &str, on: bool) -> StoreResult<bool>;
    /// Account ids on one `side` of `user`'s follows, in id order after `after`.
    async fn follows(
        &self,
        user: &str,
        side: FollowSide,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>>;
    /// (followers, following)
    async fn follow_counts(&self, user: &str) -> StoreResult<(u64, u64)>;
    async fn is_following(&self, follower: &str, followee: &str) -> StoreResult<bool>;

    async fn insert_activity(&self, activity: &Activity) -> StoreResult<()>;
    /// Activities of any of `users`, newest first (ties by id, descending).
    async fn activities(&self, users: &[String], before: Before<'_>, limit: usize) -> StoreResult<Vec<Activity>>;

    /// Stores taste marks, one per (account, source, track): a mark that
    /// exists is replaced (its `at` moves on).
    async fn mark_taste(&self, marks: &[TasteMark]) -> StoreResult<()>;
    /// Removes one mark (a vote taken back); absent is fine.
    async fn unmark_taste(&self, user_id: &str, source: TasteSource, track_id: &str) -> StoreResult<()>;
    /// An account's marks from one source, newest first (ties by track id).
    async fn taste_marks(&self, user_id: &str, source: TasteSource, limit: usize) -> StoreResult<Vec<TasteMark>>;
    /// Removes every mark of an account (its owner deleted the profile).
    async fn forget_taste(&self, user_id: &str) -> StoreResult<()>;

    /// Photos shared by an account, newest first, any status.
    async fn user_photos(&self, user_id: &str, before: Before<'_>, limit: usize) -> StoreResult<Vec<Photo>>;
    async fn count_user_photos(&self, user_id: &str) -> StoreResult<u64>;
    /// Photos shared in public rooms, newest first, any status.
    async fn public_photos(&self, before: Before<'_>, limit: usize) -> StoreResult<Vec<Photo>>;
    /// Attributes a member's photos (in their room) to the account they
    /// turned into.
    async fn claim_photos(&self, room_id: &str, member_id: &str, user_id: &str) -> StoreResult<()>;
    /// Up to `limit` accounts in id order after the id `after` (reindexing).
    async fn users_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>>;
}
