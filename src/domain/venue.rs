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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// See the dashboard: plays, requests, votes, guests.
    ViewAnalytics,
}

impl VenueRole {
    /// The table of powers (protocol.md §3.18).
    pub fn may(self, action: VenueAction) -> bool {
        use VenueAction::*;
        match self {
            Self::Owner => true,
            Self::Manager => {
                matches!(
                    action,
                    View | EditVenue
                        | ManageZones
                        | PrintCards
                        | EditCatalogue
                        | EditSchedules
                        | Moderate
                        | ViewAnalytics
                )
            }
            Self::Staff => matches!(action, View | PrintCards | Moderate),
        }
    }
}

/// When the venue is open on one weekday: `opens` to `closes` in local
/// time (`HH:MM`); a `closes` at or before `opens` is after midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// 1 (Monday) to 7 (Sunday), ISO 8601.
    pub day: u8,
    pub opens: String,
    pub closes: String,
}

/// What an owner or a manager edits about a venue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// A track declined this many times within `DECLINE_WINDOW_DAYS` is
    /// blocked in every zone (0: never; at most 20).
    #[serde(default = "default_block_after_declines")]
    pub block_after_declines: u8,
}

fn default_block_after_declines() -> u8 {
    3
}

/// Declines older than this do not count toward blocking a track.
pub const DECLINE_WINDOW_DAYS: u64 = 30;
const DAY_MS: Millis = 86_400_000;
/// Most declined tracks remembered per venue (the oldest are forgotten).
const MAX_DECLINED_TRACKS: usize = 5_000;

/// A track the venue's staff declined often enough that guests may no
/// longer ask for it; staff unblock it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockedTrack {
    pub title: String,
    pub artist: String,
    pub at: Millis,
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
    /// Track id → when staff declined it within the window.
    #[serde(default)]
    pub declines: BTreeMap<String, Vec<Millis>>,
    /// Track id → blocked after too many declines.
    #[serde(default)]
    pub blocked: BTreeMap<String, BlockedTrack>,
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

    /// Counts a decline of `track`; blocks it when the venue's threshold
    /// is reached within the window. Whether it is blocked now.
    pub fn note_decline(&mut self, track: &super::Track, now: Millis) -> bool {
        let since = now.saturating_sub(DECLINE_WINDOW_DAYS * DAY_MS);
        self.declines.retain(|_, times| {
            times.retain(|t| *t >= since);
            !times.is_empty()
        });
        let times = self.declines.entry(track.id.clone()).or_default();
        times.push(now);
        let count = times.len();
        if self.declines.len() > MAX_DECLINED_TRACKS
            && let Some(oldest) = self.declines.iter().min_by_key(|(_, t)| t.last().copied()).map(|(id, _)| id.clone())
        {
            self.declines.remove(&oldest);
        }
        let threshold = usize::from(self.details.block_after_declines);
        if threshold > 0 && count >= threshold && !self.blocked.contains_key(&track.id) {
            let artist = track.artists.join(", ");
            self.blocked.insert(track.id.clone(), BlockedTrack { title: track.title.clone(), artist, at: now });
            self.declines.remove(&track.id);
        }
        self.blocked.contains_key(&track.id)
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
        if self.block_after_declines > 20 {
            return bad("block_after_declines is 0 (never) to 20".into());
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
            block_after_declines: 3,
        }
    }

    #[test]
    fn a_track_declined_three_times_within_thirty_days_is_blocked() {
        let mut venue = Venue {
            id: "v".into(),
            details: details(),
            staff: BTreeMap::new(),
            zones: Vec::new(),
            created_at: 0,
            revision: 0,
            declines: BTreeMap::new(),
            blocked: BTreeMap::new(),
        };
        let track = crate::domain::Track { id: "t".into(), title: "Song".into(), ..Default::default() };
        let day = DAY_MS;
        assert!(!venue.note_decline(&track, 0));
        assert!(!venue.note_decline(&track, 10 * day));
        // The first decline is 31 days old by the third: two count.
        assert!(!venue.note_decline(&track, 31 * day));
        assert!(venue.note_decline(&track, 35 * day), "three within the window");
        assert_eq!(venue.blocked["t"].title, "Song");
        assert!(venue.declines.is_empty(), "the count starts again once blocked");
        venue.blocked.clear();
        venue.details.block_after_declines = 0;
        for at in 0..10 {
            assert!(!venue.note_decline(&track, 40 * day + at), "0: never blocked");
        }
        assert!(matches!(
            VenueDetails { block_after_declines: 21, ..details() }.validate(),
            Err(DomainError::InvalidVenue(_))
        ));
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
