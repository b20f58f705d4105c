//! Where a room is listed: public rooms and venues can be found by name,
//! city and distance (the `rooms` search index); private parties cannot.

use serde::{Deserialize, Serialize};

use super::DomainError;

const MAX_CITY_CHARS: usize = 80;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Listing {
    /// Findable in room search; a party is private unless the host says so.
    pub public: bool,
    pub city: Option<String>,
    pub location: Option<Location>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
}

impl Location {
    /// A latitude in [-90, 90] and a longitude in [-180, 180].
    pub fn on_earth(&self) -> bool {
        (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lng)
    }
}

impl Listing {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |why: &str| Err(DomainError::InvalidListing(why.to_string()));
        let bad_city =
            |c: &String| c.trim().is_empty() || c.chars().count() > MAX_CITY_CHARS || c.chars().any(char::is_control);
        if self.city.as_ref().is_some_and(bad_city) {
            return bad("city must be 1 to 80 printable characters");
        }
        if self.location.as_ref().is_some_and(|l| !l.on_earth()) {
            return bad("location must be a latitude in [-90, 90] and a longitude in [-180, 180]");
        }
        Ok(())
    }
}
