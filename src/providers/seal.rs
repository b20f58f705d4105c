//! Grants (access and refresh tokens) are stored sealed: XChaCha20-Poly1305
//! with a random 24-byte nonce, the owner's user id as associated data (a
//! sealed grant copied onto another account does not open), encoded as
//! base64url(nonce ‖ ciphertext ‖ tag).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NONCE_BYTES: usize = 24;
/// Longest sealed text opened; anything longer is refused unread.
const MAX_SEALED_CHARS: usize = 16 * 1024;

/// The sealing key. `Debug` never prints it.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(key.into()))
    }

    /// A key derived from the server's token secret, for installs that did
    /// not configure one (the grant is then only as safe as that secret).
    pub fn derived_from(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(b"crowdjuke provider grants v1");
        Self::new(&mac.finalize().into_bytes().into())
    }

    pub fn seal(&self, plaintext: &[u8], owner: &str) -> String {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let payload = Payload { msg: plaintext, aad: owner.as_bytes() };
        let sealed = self.0.encrypt(XNonce::from_slice(&nonce), payload).expect("encrypting to memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        B64.encode(out)
    }

    /// The plaintext, or `None` if `sealed` was not sealed with this key for
    /// this owner (or was damaged).
    pub fn open(&self, sealed: &str, owner: &str) -> Option<Vec<u8>> {
        if sealed.len() > MAX_SEALED_CHARS {
            return None;
        }
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: owner.as_bytes() }).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANT: &[u8] = br#"{"access_token":"a","refresh_token":"r"}"#;

    #[test]
    fn a_sealed_grant_opens_only_with_its_key_and_owner() {
        let sealer = Sealer::new(&[7; 32]);
        let sealed = sealer.seal(GRANT, "u1");
        assert!(!sealed.contains("access_token"), "the tokens are not readable at rest");
        assert_eq!(sealer.open(&sealed, "u1").as_deref(), Some(GRANT));
        assert_eq!(sealer.open(&sealed, "u2"), None, "copied onto another account");
        assert_eq!(Sealer::new(&[8; 32]).open(&sealed, "u1"), None, "another key");
        assert_ne!(sealer.seal(GRANT, "u1"), sealed, "a fresh nonce each time");
    }

    #[test]
    fn damaged_or_forged_text_does_not_open() {
        let sealer = Sealer::derived_from(b"server secret");
        let sealed = sealer.seal(GRANT, "u1");
        let mut bytes = B64.decode(&sealed).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        for forged in [B64.encode(&bytes), sealed[..sealed.len() - 4].to_string(), "!!".into(), String::new()] {
            assert_eq!(sealer.open(&forged, "u1"), None, "{forged:?}");
        }
        assert_eq!(sealer.open(&"A".repeat(MAX_SEALED_CHARS + 1), "u1"), None);
        assert_eq!(Sealer::derived_from(b"server secret").open(&sealed, "u1").as_deref(), Some(GRANT));
        assert_eq!(Sealer::derived_from(b"other secret").open(&sealed, "u1"), None);
    }
}
