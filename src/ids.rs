//! Random identifiers for rooms, members and entries.
//!
//! Owns: id and code generation. A leaf: imports nothing.

use rand::Rng;
use rand::distr::Alphanumeric;

/// 16 random alphanumeric characters (~95 bits): unguessable, URL-safe.
pub fn random_id(rng: &mut impl Rng) -> String {
    rng.sample_iter(&Alphanumeric).take(16).map(char::from).collect()
}
