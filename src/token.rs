//! Member tokens: `base64url(claims).base64url(hmac-sha256)`, signed with the
//! server secret. A token names one member of one room; anything that does
//! not verify is refused before it reaches a handler.
//!
//! Owns: `TokenKey`, member and account claims. A leaf: imports nothing of
//! ours.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest token accepted; anything longer is refused unparsed.
const MAX_TOKEN_LEN: usize = 512;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Room id.
    pub r: String,
    /// Member id.
    pub m: String,
}

/// A screen token: one screen watching one room (`domain::Screen`). Its
/// fields differ from a member token's, so neither verifies as the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenClaims {
    /// Room id.
    pub r: String,
    /// Screen id.
    pub s: String,
}

/// An account token: one login session of one account. Its fields differ
/// from a member token's and both refuse unknown fields, so neither kind
/// verifies as the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountClaims {
    /// Session id (deleted on logout: the token stops working).
    pub s: String,
    /// User id.
    pub u: String,
}

/// An audio ticket: lets whoever holds it fetch one track's audio until it
/// expires (an `<audio>` element cannot send a header). Issued to members
/// of a room where the track plays or waits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioClaims {
    /// Track id.
    pub t: String,
    /// Room id it was issued for.
    pub r: String,
    /// Expiry, milliseconds since the epoch.
    pub e: u64,
}

/// The signing key. `Debug` never prints it.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    pub fn new(secret: Vec<u8>) -> Self {
        Self(secret)
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }

    pub fn sign(&self, claims: &Claims) -> String {
        self.sign_any(claims)
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        self.verify_any(token)
    }

    pub fn sign_screen(&self, claims: &ScreenClaims) -> String {
        self.sign_any(claims)
    }

    /// A member token, or a screen token read as one (`m` is then the
    /// screen's id, which `domain::is_screen_id` recognises): where a
    /// screen may go, the room decides from the id.
    pub fn verify_watcher(&self, token: &str) -> Option<Claims> {
        self.verify(token).or_else(|| self.verify_any::<ScreenClaims>(token).map(|c| Claims { r: c.r, m: c.s }))
    }

    pub fn sign_account(&self, claims: &AccountClaims) -> String {
        self.sign_any(claims)
    }

    pub fn verify_account(&self, token: &str) -> Option<AccountClaims> {
        self.verify_any(token)
    }

    pub fn sign_audio(&self, claims: &AudioClaims) -> String {
        self.sign_any(claims)
    }

    pub fn verify_audio(&self, ticket: &str) -> Option<AudioClaims> {
        self.verify_any(ticket)
    }

    fn sign_any(&self, claims: &impl Serialize) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        format!("{payload}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    fn verify_any<T: serde::de::DeserializeOwned>(&self, token: &str) -> Option<T> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (payload, signature) = token.split_once('.')?;
        let signature = B64.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims { r: "room1".into(), m: "member1".into() }
    }

    #[test]
    fn a_signed_token_verifies() {
        let key = TokenKey::new(b"secret".to_vec());
        assert_eq!(key.verify(&key.sign(&claims())), Some(claims()));
    }

    #[test]
    fn tokens_from_another_key_or_tampered_are_refused() {
        let key = TokenKey::new(b"secret".to_vec());
        let other = TokenKey::new(b"other".to_vec());
        assert_eq!(key.verify(&other.sign(&claims())), None);
        let token = key.sign(&claims());
        let forged = format!(
            "{}.{}",
            B64.encode(br#"{"r":"room1","m":"host"}"#),
            token.split_once('.').map(|t| t.1).unwrap_or("")
        );
        assert_eq!(key.verify(&forged), None);
        assert_eq!(key.verify("garbage"), None);
        let account = key.sign_account(&AccountClaims { s: "session".into(), u: "user".into() });
        assert_eq!(key.verify(&account), None, "an account token is not a member token");
        assert_eq!(key.verify_account(&key.sign(&claims())), None, "nor the other way round");
        assert_eq!(key.verify(""), None);
        let ticket = key.sign_audio(&AudioClaims { t: "track".into(), r: "room1".into(), e: 1 });
        assert_eq!(key.verify(&ticket), None, "an audio ticket is not a member token");
        assert_eq!(key.verify_audio(&key.sign(&claims())), None, "nor the other way round");
        let screen = key.sign_screen(&ScreenClaims { r: "room1".into(), s: "screen-1".into() });
        assert_eq!(key.verify(&screen), None, "a screen token is not a member token");
        assert_eq!(key.verify_watcher(&screen), Some(Claims { r: "room1".into(), m: "screen-1".into() }));
        assert_eq!(key.verify_watcher(&key.sign(&claims())), Some(claims()), "a member watches too");
        assert_eq!(key.verify_watcher(&account), None);
        assert_eq!(key.verify_watcher(&other.sign_screen(&ScreenClaims { r: "r".into(), s: "s".into() })), None);
    }
}
