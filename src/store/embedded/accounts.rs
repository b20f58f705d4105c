//! `AccountStore` on redb: one table per record kind plus key-ordered
//! index tables (`{user}/{follow}`, `{user}/{created_at:020}/{id}`), so every
//! list is a range scan.

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{
    EmbeddedStore, PHOTOS, PUBLIC_PHOTOS, ROOM_PHOTOS, USER_PHOTOS, decode, encode, list_photo, photos_in, unavailable,
    wall_key,
};
use crate::domain::{AccountSession, Activity, Photo, TasteMark, TasteSettings, TasteSource, User};
use crate::store::{AccountStore, Before, FollowSide, StoreError, StoreResult};

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const USERNAMES: TableDefinition<&str, &str> = TableDefinition::new("usernames");
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("account_sessions");
/// Key `{follower}/{followee}`.
const FOLLOWING: TableDefinition<&str, ()> = TableDefinition::new("following");
/// Key `{followee}/{follower}`.
const FOLLOWERS: TableDefinition<&str, ()> = TableDefinition::new("followers");
/// Key `{user_id}/{created_at:020}/{activity_id}`.
const ACTIVITIES: TableDefinition<&str, &[u8]> = TableDefinition::new("activities");
/// Key `{user_id}/{source}/{track_id}`.
const TASTE_MARKS: TableDefinition<&str, &[u8]> = TableDefinition::new("taste_marks");

fn mark_key(user_id: &str, source: TasteSource, track_id: &str) -> String {
    format!("{user_id}/{}/{track_id}", source.as_str())
}

/// Removes every row of `table` whose key starts with `{user_id}/`.
fn remove_under(txn: &WriteTransaction, table: TableDefinition<&str, &[u8]>, user_id: &str) -> StoreResult<()> {
    let mut table = txn.open_table(table).map_err(unavailable)?;
    let (from, to) = (format!("{user_id}/"), format!("{user_id}0"));
    let keys: Vec<String> = table
        .range(from.as_str()..to.as_str())
        .map_err(unavailable)?
        .map(|r| r.map(|(k, _)| k.value().to_string()).map_err(unavailable))
        .collect::<StoreResult<_>>()?;
    for key in keys {
        table.remove(key.as_str()).map_err(unavailable)?;
    }
    Ok(())
}

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(USERS)?;
    txn.open_table(USERNAMES)?;
    txn.open_table(SESSIONS)?;
    txn.open_table(FOLLOWING)?;
    txn.open_table(FOLLOWERS)?;
    txn.open_table(ACTIVITIES)?;
    txn.open_table(TASTE_MARKS)?;
    Ok(())
}

/// The keys of `table` starting with `{prefix}/`.
fn keys_under(txn: &WriteTransaction, table: TableDefinition<&str, ()>, prefix: &str) -> StoreResult<Vec<String>> {
    let (from, to) = (format!("{prefix}/"), format!("{prefix}0"));
    let table = txn.open_table(table).map_err(unavailable)?;
    let rows = table.range(from.as_str()..to.as_str()).map_err(unavailable)?;
    rows.map(|r| r.map(|(k, _)| k.value().to_string()).map_err(unavailable)).collect()
}

fn write(db: &Database, work: impl FnOnce(&WriteTransaction) -> StoreResult<()>) -> StoreResult<()> {
    let txn = db.begin_write().map_err(unavailable)?;
    work(&txn)?;
    txn.commit().map_err(unavailable)
}

fn get<T: serde::de::DeserializeOwned>(
    db: &Database,
    table: TableDefinition<&str, &[u8]>,
    id: &str,
) -> StoreResult<Option<T>> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(table).map_err(unavailable)?;
    let found = table.get(id).map_err(unavailable)?;
    found.map(|v| decode(v.value())).transpose()
}

/// Reads, changes (if `change` says so) and writes back one account in a
/// write transaction; `None` if there is no such account.
fn change_user(db: &Database, id: &str, change: impl FnOnce(&mut User) -> bool) -> StoreResult<Option<User>> {
    let txn = db.begin_write().map_err(unavailable)?;
    let user = {
        let mut users = txn.open_table(USERS).map_err(unavailable)?;
        let mut user: User = match users.get(id).map_err(unavailable)? {
            Some(v) => decode(v.value())?,
            None => return Ok(None),
        };
        if change(&mut user) {
            users.insert(id, encode(&user)?.as_slice()).map_err(unavailable)?;
        }
        user
    };
    txn.commit().map_err(unavailable)?;
    Ok(Some(user))
}

fn user_range(user_id: &str, before: Before<'_>) -> (String, String) {
    let to = match before {
        Some((at, id)) => wall_key(user_id, at, id),
        None => format!("{user_id}0"),
    };
    (format!("{user_id}/"), to)
}

#[async_trait]
impl AccountStore for EmbeddedStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let (user, bytes) = (user.clone(), encode(user)?);
        self.blocking(move |db| {
            write(db, |txn| {
                let mut names = txn.open_table(USERNAMES).map_err(unavailable)?;
                let mut users = txn.open_table(USERS).map_err(unavailable)?;
                if names.get(user.username.as_str()).map_err(unavailable)?.is_some()
                    || users.get(user.id.as_str()).map_err(unavailable)?.is_some()
                {
                    return Err(StoreError::Duplicate);
                }
                names.insert(user.username.as_str(), user.id.as_str()).map_err(unavailable)?;
                users.insert(user.id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(())
            })
        })
        .await
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        let id = id.to_string();
        self.blocking(move |db| get(db, USERS, &id)).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_string();
        self.blocking(move |db| {
            let id: Option<String> = {
                let txn = db.begin_read().map_err(unavailable)?;
                let names = txn.open_table(USERNAMES).map_err(unavailable)?;
                let found = names.get(username.as_str()).map_err(unavailable)?;
                found.map(|v| v.value().to_string())
            };
            match id {
                Some(id) => get(db, USERS, &id),
                None => Ok(None),
            }
        })
        .await
    }

    async fn set_display_name(&self, id: &str, display_name: &str) -> StoreResult<Option<User>> {
        let (id, display_name) = (id.to_string(), display_name.to_string());
        self.blocking(move |db| {
            change_user(db, &id, |user| {
                user.display_name = display_name;
                true
            })
        })
        .await
    }

    async fn set_taste(&self, id: &str, taste: TasteSettings) -> StoreResult<Option<User>> {
        let id = id.to_string();
        self.blocking(move |db| {
            change_user(db, &id, |user| {
                user.taste = taste;
                true
            })
        })
        .await
    }

    async fn set_avatar_version(&self, id: &str, expected: Option<u32>, version: u32) -> StoreResult<bool> {
        let id = id.to_string();
        self.blocking(move |db| {
            let mut set = false;
            change_user(db, &id, |user| {
                set = user.avatar_version == expected;
                if set {
                    user.avatar_version = Some(version);
                }
                set
            })?;
            Ok(set)
        })
        .await
    }

    async fn delete_user(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.blocking(move |db| {
            write(db, |txn| {
                let removed: Option<User> = {
                    let mut users = txn.open_table(USERS).map_err(unavailable)?;
                    let removed = users.remove(id.as_str()).map_err(unavailable)?;
                    removed.map(|v| decode(v.value())).transpose()?
                };
                if let Some(user) = removed {
                    txn.open_table(USERNAMES)
                        .map_err(unavailable)?
                        .remove(user.username.as_str())
                        .map_err(unavailable)?;
                }
                {
                    let mut sessions = txn.open_table(SESSIONS).map_err(unavailable)?;
                    let mine: Vec<String> = sessions
                        .iter()
                        .map_err(unavailable)?
                        .filter_map(Result::ok)
                        .filter_map(|(k, v)| {
                            let s: AccountSession = decode(v.value()).ok()?;
                            (s.user_id == id).then(|| k.value().to_string())
                        })
                        .collect();
                    for key in mine {
                        sessions.remove(key.as_str()).map_err(unavailable)?;
                    }
                }
                for (table, mirror) in [(FOLLOWING, FOLLOWERS), (FOLLOWERS, FOLLOWING)] {
                    for key in keys_under(txn, table, &id)? {
                        let other = key.rsplit('/').next().unwrap_or_default();
                        txn.open_table(table).map_err(unavailable)?.remove(key.as_str()).map_err(unavailable)?;
                        let mirrored = format!("{other}/{id}");
                        txn.open_table(mirror).map_err(unavailable)?.remove(mirrored.as_str()).map_err(unavailable)?;
                    }
                }
                remove_under(txn, ACTIVITIES, &id)?;
                remove_under(txn, TASTE_MARKS, &id)
            })
        })
        .await
    }

    async fn insert_session(&self, session: &AccountSession) -> StoreResult<()> {
        let (id, bytes) = (session.id.clone(), encode(session)?);
        self.blocking(move |db| {
            write(db, |txn| {
                let mut sessions = txn.open_table(SESSIONS).map_err(unavailable)?;
                sessions.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(())
            })
        })
        .await
    }

    async fn session(&self, id: &str) -> StoreResult<Option<AccountSession>> {
        let id = id.to_string();
        self.blocking(move |db| get(db, SESSIONS, &id)).await
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.blocking(move |db| {
            write(db, |txn| {
                txn.open_table(SESSIONS).map_err(unavailable)?.remove(id.as_str()).map_err(unavailable)?;
                Ok(())
            })
        })
        .await
    }

    async fn set_follow(&self, follower: &str, followee: &str, on: bool) -> StoreResult<bool> {
        let (forward, backward) = (format!("{follower}/{followee}"), format!("{followee}/{follower}"));
        self.blocking(move |db| {
            let mut changed = false;
            write(db, |txn| {
                let mut following = txn.open_table(FOLLOWING).map_err(unavailable)?;
                let mut followers = txn.open_table(FOLLOWERS).map_err(unavailable)?;
                let exists = following.get(forward.as_str()).map_err(unavailable)?.is_some();
                changed = exists != on;
                if on {
                    following.insert(forward.as_str(), ()).map_err(unavailable)?;
                    followers.insert(backward.as_str(), ()).map_err(unavailable)?;
                } else {
                    following.remove(forward.as_str()).map_err(unavailable)?;
                    followers.remove(backward.as_str()).map_err(unavailable)?;
                }
                Ok(())
            })?;
            Ok(changed)
        })
        .await
    }

    async fn follows(
        &self,
        user: &str,
        side: FollowSide,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let table = match side {
            FollowSide::Following => FOLLOWING,
            FollowSide::Followers => FOLLOWERS,
        };
        let from = match after {
            Some(after) => format!("{user}/{after}\u{1}"),
            None => format!("{user}/"),
        };
        let to = format!("{user}0");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(table).map_err(unavailable)?;
            let rows = table.range(from.as_str()..to.as_str()).map_err(unavailable)?.take(limit);
            rows.map(|r| {
                r.map(|(k, _)| k.value().rsplit('/').next().unwrap_or_default().to_string()).map_err(unavailable)
            })
            .collect()
        })
        .await
    }

    async fn follow_counts(&self, user: &str) -> StoreResult<(u64, u64)> {
        let (from, to) = (format!("{user}/"), format!("{user}0"));
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let mut counts = [0u64; 2];
            for (n, table) in [FOLLOWERS, FOLLOWING].into_iter().enumerate() {
                let table = txn.open_table(table).map_err(unavailable)?;
                counts[n] = table.range(from.as_str()..to.as_str()).map_err(unavailable)?.count() as u64;
            }
            Ok((counts[0], counts[1]))
        })
        .await
    }

    async fn is_following(&self, follower: &str, followee: &str) -> StoreResult<bool> {
        let key = format!("{follower}/{followee}");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(FOLLOWING).map_err(unavailable)?;
            Ok(table.get(key.as_str()).map_err(unavailable)?.is_some())
        })
        .await
    }

    async fn insert_activity(&self, activity: &Activity) -> StoreResult<()> {
        let key = wall_key(&activity.user_id, activity.created_at, &activity.id);
        let bytes = encode(activity)?;
        self.blocking(move |db| {
            write(db, |txn| {
                let mut activities = txn.open_table(ACTIVITIES).map_err(unavailable)?;
                activities.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(())
            })
        })
        .await
    }

    async fn activities(&self, users: &[String], before: Before<'_>, limit: usize) -> StoreResult<Vec<Activity>> {
        let ranges: Vec<(String, String)> = users.iter().map(|u| user_range(u, before)).collect();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ACTIVITIES).map_err(unavailable)?;
            let mut found: Vec<Activity> = Vec::new();
            for (from, to) in ranges {
                for row in table.range(from.as_str()..to.as_str()).map_err(unavailable)?.rev().take(limit) {
                    found.push(decode(row.map_err(unavailable)?.1.value())?);
                }
            }
            found.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            found.truncate(limit);
            Ok(found)
        })
        .await
    }

    async fn mark_taste(&self, marks: &[TasteMark]) -> StoreResult<()> {
        let rows: Vec<(String, Vec<u8>)> = marks
            .iter()
            .map(|m| Ok((mark_key(&m.user_id, m.source, &m.track_id), encode(m)?)))
            .collect::<StoreResult<_>>()?;
        self.blocking(move |db| {
            write(db, |txn| {
                let mut table = txn.open_table(TASTE_MARKS).map_err(unavailable)?;
                for (key, bytes) in &rows {
                    table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn unmark_taste(&self, user_id: &str, source: TasteSource, track_id: &str) -> StoreResult<()> {
        let key = mark_key(user_id, source, track_id);
        self.blocking(move |db| {
            write(db, |txn| {
                txn.open_table(TASTE_MARKS).map_err(unavailable)?.remove(key.as_str()).map_err(unavailable)?;
                Ok(())
            })
        })
        .await
    }

    async fn taste_marks(&self, user_id: &str, source: TasteSource, limit: usize) -> StoreResult<Vec<TasteMark>> {
        let (from, to) = (format!("{user_id}/{}/", source.as_str()), format!("{user_id}/{}0", source.as_str()));
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TASTE_MARKS).map_err(unavailable)?;
            let mut marks: Vec<TasteMark> = Vec::new();
            for row in table.range(from.as_str()..to.as_str()).map_err(unavailable)? {
                marks.push(decode(row.map_err(unavailable)?.1.value())?);
            }
            marks.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.track_id.cmp(&b.track_id)));
            marks.truncate(limit);
            Ok(marks)
        })
        .await
    }

    async fn forget_taste(&self, user_id: &str) -> StoreResult<()> {
        let user_id = user_id.to_string();
        self.blocking(move |db| write(db, |txn| remove_under(txn, TASTE_MARKS, &user_id))).await
    }

    async fn user_photos(&self, user_id: &str, before: Before<'_>, limit: usize) -> StoreResult<Vec<Photo>> {
        let (from, to) = user_range(user_id, before);
        self.blocking(move |db| photos_in(db, USER_PHOTOS, &from, &to, limit)).await
    }

    async fn count_user_photos(&self, user_id: &str) -> StoreResult<u64> {
        let (from, to) = user_range(user_id, None);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(USER_PHOTOS).map_err(unavailable)?;
            Ok(table.range(from.as_str()..to.as_str()).map_err(unavailable)?.count() as u64)
        })
        .await
    }

    async fn public_photos(&self, before: Before<'_>, limit: usize) -> StoreResult<Vec<Photo>> {
        let to = match before {
            Some((at, id)) => format!("{at:020}/{id}"),
            None => "~".to_string(),
        };
        self.blocking(move |db| photos_in(db, PUBLIC_PHOTOS, "", &to, limit)).await
    }

    async fn users_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>> {
        let from = after.map_or_else(String::new, |a| format!("{a}\u{1}"));
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let users = txn.open_table(USERS).map_err(unavailable)?;
            let rows = users.range(from.as_str()..).map_err(unavailable)?.take(limit);
            rows.map(|r| decode(r.map_err(unavailable)?.1.value())).collect()
        })
        .await
    }

    async fn claim_photos(&self, room_id: &str, member_id: &str, user_id: &str) -> StoreResult<()> {
        let (room_id, member_id, user_id) = (room_id.to_string(), member_id.to_string(), user_id.to_string());
        self.blocking(move |db| {
            write(db, |txn| {
                let (from, to) = (format!("{room_id}/"), format!("{room_id}0"));
                let mine: Vec<Photo> = {
                    let wall = txn.open_table(ROOM_PHOTOS).map_err(unavailable)?;
                    let photos = txn.open_table(PHOTOS).map_err(unavailable)?;
                    let mut mine = Vec::new();
                    for row in wall.range(from.as_str()..to.as_str()).map_err(unavailable)? {
                        let (key, _) = row.map_err(unavailable)?;
                        let id = key.value().rsplit('/').next().unwrap_or_default().to_string();
                        let Some(v) = photos.get(id.as_str()).map_err(unavailable)? else { continue };
                        let photo: Photo = decode(v.value())?;
                        if photo.member_id == member_id && photo.user_id.as_deref() != Some(user_id.as_str()) {
                            mine.push(photo);
                        }
                    }
                    mine
                };
                for mut photo in mine {
                    list_photo(txn, &photo, false)?;
                    photo.user_id = Some(user_id.clone());
                    list_photo(txn, &photo, true)?;
                    let bytes = encode(&photo)?;
                    let mut photos = txn.open_table(PHOTOS).map_err(unavailable)?;
                    photos.insert(photo.id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                }
                Ok(())
            })
        })
        .await
    }
}
