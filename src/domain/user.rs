//! Accounts (optional for guests): who a person is across parties, whom
//! they follow, and what they did that their followers see in a timeline.

use serde::{Deserialize, Serialize};

use super::{Millis, Track};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 256;
pub const MAX_USERNAME_CHARS: usize = 30;
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Unique, lower-case: `a-z`, `0-9`, `_`, `.`; 3 to 30 characters.
    pub username: String,
    pub display_name: String,
    /// An argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub created_at: Millis,
    /// Bumped on each new avatar, so its URL changes and can be cached forever.
    #[serde(default)]
    pub avatar_version: Option<u32>,
    /// Whether the autopilot may use what this account did, and since when.
    #[serde(default)]
    pub taste: TasteSettings,
}

/// The owner's say over their taste profile: turned off, the autopilot
/// ignores the account's history; deleted, it ignores everything before
/// `since` (the history itself stays, it is the account's timeline).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TasteSettings {
    #[serde(default)]
    pub off: bool,
    #[serde(default)]
    pub since: Millis,
}

/// One thing an account did that says what music it likes, beside the
/// tracks it added (its timeline): a track it voted up in a room, or a
/// track its linked music service account imported. One per account,
/// source and track; the newest `at` wins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TasteMark {
    pub user_id: String,
    pub source: TasteSource,
    pub track_id: String,
    pub artists: Vec<String>,
    pub genres: Vec<String>,
    pub at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TasteSource {
    /// Voted up in a room.
    Vote,
    /// From a music service import (liked songs, a playlist).
    Import,
}

impl TasteSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vote => "vote",
            Self::Import => "import",
        }
    }
}

impl TasteMark {
    pub fn new(user_id: &str, source: TasteSource, track: &super::Track, at: Millis) -> Self {
        Self {
            user_id: user_id.to_string(),
            source,
            track_id: track.id.clone(),
            artists: track.artists.clone(),
            genres: track.genres.clone(),
            at,
        }
    }
}

/// Never prints the password hash.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("id", &self.id).field("username", &self.username).finish_non_exhaustive()
    }
}

/// A login: the account token names one of these, so logging out (or
/// deleting the account) revokes the token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSession {
    pub id: String,
    pub user_id: String,
    pub created_at: Millis,
}

/// Something a person did that their followers' timelines show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    pub user_id: String,
    pub created_at: Millis,
    pub room_id: String,
    /// The room's name then (rooms expire; the timeline stays readable).
    pub room_name: String,
    #[serde(flatten)]
    pub kind: ActivityKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityKind {
    PhotoShared { photo_id: String },
    TrackAdded { track: Box<Track> },
    RoomJoined,
}

/// Why a username or password is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountRule {
    #[error("username must be 3 to {MAX_USERNAME_CHARS} characters: a-z, 0-9, '_' or '.'")]
    Username,
    #[error("display_name must be 1 to {MAX_DISPLAY_NAME_CHARS} printable characters")]
    DisplayName,
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("password must be at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("this password is too easy to guess")]
    PasswordTooWeak,
}

/// The canonical (lower-case) username, if it is a valid one.
pub fn username(raw: &str) -> Result<String, AccountRule> {
    let name = raw.trim().to_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.';
    let length_ok = (3..=MAX_USERNAME_CHARS).contains(&name.chars().count());
    if !length_ok || !name.chars().all(allowed) || name.starts_with('.') || name.ends_with('.') {
        return Err(AccountRule::Username);
    }
    Ok(name)
}

pub fn display_name(raw: &str) -> Result<String, AccountRule> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AccountRule::DisplayName);
    }
    Ok(name.to_string())
}

/// Passwords people pick first; refused whatever their length.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "123456",
    "1234567890",
    "qwerty",
    "qwertyuiop",
    "letmein",
    "iloveyou",
    "welcome",
    "admin",
    "abc123",
    "football",
    "monkey",
    "dragon",
    "crowdjuke",
    "partytime",
    "sunshine",
    "princess",
];

/// Long enough, not huge (hashing cost), and not trivially guessable: not
/// one repeated character, not a run like `1234567890`, not the username, not
/// a common password with digits or symbols around it.
pub fn check_password(password: &str, username: &str) -> Result<(), AccountRule> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountRule::PasswordTooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountRule::PasswordTooShort);
    }
    let lower = password.to_lowercase();
    let core: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let distinct = lower.chars().collect::<std::collections::BTreeSet<_>>().len();
    let bytes = lower.as_bytes();
    let sequential = bytes.windows(2).all(|w| w[1] == w[0].wrapping_add(1))
        || bytes.windows(2).all(|w| w[0] == w[1].wrapping_add(1));
    let common = COMMON.iter().any(|c| lower == *c || core == *c || lower.starts_with(c) && lower.len() < c.len() + 4);
    if distinct < 4 || sequential || common || lower.contains(username) && !username.is_empty() {
        return Err(AccountRule::PasswordTooWeak);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_cased_and_checked() {
        assert_eq!(username("  Ana_Banana.22 "), Ok("ana_banana.22".into()));
        for bad in ["ab", "has space", "émile", ".dot", "dot.", "a/b", &"x".repeat(31), ""] {
            assert_eq!(username(bad), Err(AccountRule::Username), "{bad:?}");
        }
    }

    #[test]
    fn weak_short_and_huge_passwords_are_refused() {
        assert_eq!(check_password("correct horse battery", "ana"), Ok(()));
        assert_eq!(check_password("short1!", "ana"), Err(AccountRule::PasswordTooShort));
        assert_eq!(check_password(&"a".repeat(257), "ana"), Err(AccountRule::PasswordTooLong));
        for weak in ["aaaaaaaaaaaa", "1234567890", "abcdefghijk", "Password123", "password!!!!", "ana.banana.99x"] {
            assert_eq!(check_password(weak, "ana.banana"), Err(AccountRule::PasswordTooWeak), "{weak}");
        }
    }
}
