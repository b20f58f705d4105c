//! Join codes: six characters a guest can read off a screen and type on a
//! phone without confusing look-alikes (no I/1/L, no O/0).

/// Letters and digits that cannot be mistaken for one another.
pub const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const LENGTH: usize = 6;

/// Builds a code from random indexes (the caller supplies the randomness).
pub fn from_random(mut next_index: impl FnMut(usize) -> usize) -> String {
    (0..LENGTH).map(|_| ALPHABET[next_index(ALPHABET.len())] as char).collect()
}

/// Normalises what a guest typed (case, spaces, dashes) and checks its shape.
pub fn normalize(input: &str) -> Option<String> {
    let code: String =
        input.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_six_unambiguous_characters() {
        let mut i = 0;
        let code = from_random(|n| {
            i += 7;
            i % n
        });
        assert_eq!(code.len(), 6);
        assert!(!code.contains(['I', 'L', 'O', '0', '1']));
    }

    #[test]
    fn normalize_accepts_lowercase_and_separators() {
        assert_eq!(normalize("abc-dek").as_deref(), Some("ABCDEK"));
        assert_eq!(normalize(" k7m 2pq ").as_deref(), Some("K7M2PQ"));
    }

    #[test]
    fn normalize_rejects_look_alikes_and_wrong_lengths() {
        assert_eq!(normalize("ABCDE0"), None);
        assert_eq!(normalize("ABCDEI"), None);
        assert_eq!(normalize("ABCDE"), None);
        assert_eq!(normalize("ABCDEFG"), None);
    }
}
