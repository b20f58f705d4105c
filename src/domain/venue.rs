//! Venues: a bar or a shop with always-on zones (rooms of kind `venue`)
//! run by its staff. Who may do what is one table, `VenueRole::may`, that
//! every venue route and event asks; the role matrix test walks all of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DomainError, Location, Millis};

pub const MAX_VENUE_NAME_CHARS: usize = 80;
pub const MAX_ADDRESS_CHARS: usize = 200;
pub const MAX_ZONES: usize = 20;
pub const MAX_STAFF: usize = 200;
/// How long an invitation link stays good.
pub const INVITATION_HOURS: u64 = 7 * 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueRole {
    /// Everything, staff management and deleting the venue included.
    Owner,
    /// Zones, catalogue, schedules and rules.
    Manager,
    /// The queue, requests and photos of the zones.
    Staff,
}

/// Everything a venue's people can do, for the one table of powers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueAction {
    /// See the venue, its zones and its staff.
    View,
    /// Change the venue's name, address, time zone or opening hours.
    EditVenue,
    /// Create, rename and delete zones.
    ManageZones,
    /// Print a zone's table cards.
    PrintCards,
    /// Add tracks to the catalogue, or take them out.
    EditCatalogue,
    /// Set a zone's day parts and their limits.
    EditSchedules,
    /// Invite people, change their role, remove them.
    ManageStaff,
    DeleteVenue,
    /// Moderate a zone: its queue, requests and photos (staff in the zone room).
    Moderate,
}

impl VenueRole {
    /// The table of powers (protocol.md §3.18).
    pub fn may(self, action: VenueAction) -> bool {
        use VenueAction::*;
        match self {
            Self::Owner => true,
            Self::Manager => {
                matches!(action, View | EditVenue | ManageZones | PrintCards | EditCatalogue | EditSchedules | Moderate)
            }
            Self::Staff => matches!(action, View | PrintCards | Moderate),
        }
    }
}

/// When the venue is open on one weekday: `opens` to `closes` in local
/// time (`HH:MM`); a `closes` at or before `opens` is after midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// 1 (Monday) to 7 (Sunday), ISO 8601.
    pub day: u8,
    pub opens: String,
    pub closes: String,
}

/// What an owner or a manager edits about a venue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueDetails {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    /// An IANA time zone, e.g. `Europe/Paris`: day parts and opening
    /// hours are in its local time.
    pub time_zone: String,
    #[serde(default)]
    pub opening_hours: Vec<OpeningHours>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffMember {
    pub role: VenueRole,
    pub since: Millis,
}

/// A zone: one of the venue's rooms (always on, kind `venue`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub room_id: String,
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Venue {
    pub id: String,
    pub details: VenueDetails,
    /// Account id → role. Exactly one owner.
    pub staff: BTreeMap<String, StaffMember>,
    pub zones: Vec<Zone>,
    pub created_at: Millis,
    /// Bumped by every write; writes are compare-and-swap on it.
    pub revision: u64,
}

impl Venue {
    pub fn role_of(&self, user_id: &str) -> Option<VenueRole> {
        self.staff.get(user_id).map(|s| s.role)
    }

    /// The caller's role if it allows `action`: `not_venue_staff` for
    /// someone who is not staff here, `forbidden` for a role that may not.
    pub fn check(&self, user_id: &str, action: VenueAction) -> Result<VenueRole, DomainError> {
        let role = self.role_of(user_id).ok_or(DomainError::NotVenueStaff)?;
        if role.may(action) { Ok(role) } else { Err(DomainError::Forbidden) }
    }

    pub fn owner(&self) -> Option<&str> {
        self.staff.iter().find(|(_, s)| s.role == VenueRole::Owner).map(|(id, _)| id.as_str())
    }
}

/// A single-use link that makes its holder staff of a venue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    /// Random, the secret part of the link.
    pub id: String,
    pub venue_id: String,
    pub role: VenueRole,
    pub invited_by: String,
    pub expires_at: Millis,
}

impl VenueDetails {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |why: String| Err(DomainError::InvalidVenue(why));
        let text = |s: &str, max: usize| {
            let t = s.trim();
            !t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
        };
        if !text(&self.name, MAX_VENUE_NAME_CHARS) {
            return bad(format!("name must be 1 to {MAX_VENUE_NAME_CHARS} printable characters"));
        }
        if self.address.as_deref().is_some_and(|a| !text(a, MAX_ADDRESS_CHARS)) {
            return bad(format!("address must be 1 to {MAX_ADDRESS_CHARS} printable characters"));
        }
        if self.city.as_deref().is_some_and(|c| !text(c, MAX_VENUE_NAME_CHARS)) {
            return bad(format!("city must be 1 to {MAX_VENUE_NAME_CHARS} printable characters"));
        }
        if self.location.as_ref().is_some_and(|l| !l.on_earth()) {
            return bad("location must be a latitude in [-90, 90] and a longitude in [-180, 180]".into());
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return bad(format!("unknown time zone {:?}: use an IANA name such as Europe/Paris", self.time_zone));
        }
        let mut days = [false; 8];
        for hours in &self.opening_hours {
            if !(1..=7).contains(&hours.day) {
                return bad("opening_hours day must be 1 (Monday) to 7 (Sunday)".into());
            }
            if std::mem::replace(&mut days[usize::from(hours.day)], true) {
                return bad(format!("opening_hours has day {} twice", hours.day));
            }
            for time in [&hours.opens, &hours.closes] {
                if clock_minutes(time).is_none() {
                    return bad(format!("{time:?} is not a time of day HH:MM"));
                }
            }
        }
        Ok(())
    }
}

/// `HH:MM` (00:00 to 23:59) as minutes after midnight.
pub fn clock_minutes(time: &str) -> Option<u16> {
    let (h, m) = time.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> VenueDetails {
        VenueDetails {
            name: "The Harbour Club".into(),
            address: Some("1 Quay Street".into()),
            city: Some("Brest".into()),
            location: Some(Location { lat: 48.38, lng: -4.49 }),
            time_zone: "Europe/Paris".into(),
            opening_hours: vec![OpeningHours { day: 5, opens: "17:00".into(), closes: "02:00".into() }],
        }
    }

    #[test]
    fn the_table_of_powers() {
        use VenueAction::*;
        let all = [
            View,
            EditVenue,
            ManageZones,
            PrintCards,
            EditCatalogue,
            EditSchedules,
            ManageStaff,
            DeleteVenue,
            Moderate,
        ];
        let allowed = |role: VenueRole| all.iter().filter(|a| role.may(**a)).count();
        assert_eq!(allowed(VenueRole::Owner), all.len());
        assert!(!VenueRole::Manager.may(ManageStaff) && !VenueRole::Manager.may(DeleteVenue));
        assert!(VenueRole::Manager.may(ManageZones) && VenueRole::Manager.may(EditVenue));
        assert!(VenueRole::Manager.may(EditCatalogue) && !VenueRole::Staff.may(EditCatalogue));
        assert_eq!(allowed(VenueRole::Staff), 3, "view, print cards, moderate");
    }

    #[test]
    fn details_are_checked() {
        assert_eq!(details().validate(), Ok(()));
        let cases = [
            VenueDetails { name: " ".into(), ..details() },
            VenueDetails { time_zone: "Mars/Olympus".into(), ..details() },
            VenueDetails { time_zone: "".into(), ..details() },
            VenueDetails { location: Some(Location { lat: 91.0, lng: 0.0 }), ..details() },
            VenueDetails { address: Some("x".repeat(201)), ..details() },
            VenueDetails {
                opening_hours: vec![OpeningHours { day: 8, opens: "17:00".into(), closes: "02:00".into() }],
                ..details()
            },
            VenueDetails {
                opening_hours: vec![OpeningHours { day: 1, opens: "24:00".into(), closes: "02:00".into() }],
                ..details()
            },
            VenueDetails {
                opening_hours: vec![
                    OpeningHours { day: 1, opens: "10:00".into(), closes: "12:00".into() },
                    OpeningHours { day: 1, opens: "14:00".into(), closes: "18:00".into() },
                ],
                ..details()
            },
        ];
        for case in cases {
            assert!(matches!(case.validate(), Err(DomainError::InvalidVenue(_))), "{case:?}");
        }
    }

    #[test]
    fn clock_times() {
        assert_eq!(clock_minutes("00:00"), Some(0));
        assert_eq!(clock_minutes("23:59"), Some(1439));
        for bad in ["24:00", "7:00", "07:60", "0700", "ab:cd", ""] {
            assert_eq!(clock_minutes(bad), None, "{bad}");
        }
    }
}
