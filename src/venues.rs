//! Venues and their staff: create a venue (its creator is the owner),
//! invite staff by a single-use link, change roles, open zones (always-on
//! rooms of kind `venue`). Every action asks the venue's table of powers
//! (`domain::VenueRole::may`) with the caller's current role, read fresh
//! from the store: a removed staff member loses every power at once.
//! Venue writes are compare-and-swap on the venue's revision.
//!
//! Owns: `Venues`. May use: domain, store, rooms, clock, ids.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::domain::schedule::{DayPart, Limits, Schedule};
use crate::domain::venue::{INVITATION_HOURS, MAX_STAFF, MAX_ZONES};
use crate::domain::{Actor, Command};
use crate::domain::{
    DomainError, Invitation, Member, Role, Room, RoomKind, Rules, StaffMember, Track, User, Venue, VenueAction,
    VenueDetails, VenueRole, Zone, code,
};
use crate::error::{AppError, Result};
use crate::ids::random_id;
use crate::rooms::Rooms;
use crate::store::{Store, StoreError};

/// Attempts of one venue write racing other writers.
const WRITE_ATTEMPTS: usize = 8;
const MAX_ZONE_NAME_CHARS: usize = 80;

#[derive(Clone)]
pub struct Venues {
    pub store: Arc<dyn Store>,
    pub rooms: Rooms,
    pub clock: SharedClock,
}

impl Venues {
    pub async fn create(&self, owner: &User, details: VenueDetails) -> Result<Venue> {
        details.validate()?;
        let now = self.clock.now();
        let venue = Venue {
            id: random_id(&mut rand::rng()),
            details: trimmed(details),
            staff: [(owner.id.clone(), StaffMember { role: VenueRole::Owner, since: now })].into(),
            zones: Vec::new(),
            created_at: now,
            revision: 0,
            declines: Default::default(),
            blocked: Default::default(),
        };
        self.store.venues().insert_venue(&venue).await?;
        tracing::info!(venue_id = %venue.id, "venue created");
        Ok(venue)
    }

    /// The venue and the caller's role, if the role allows `action`.
    pub async fn get(&self, user: &User, id: &str, action: VenueAction) -> Result<(Venue, VenueRole)> {
        let venue = self.load(id).await?;
        let role = venue.check(&user.id, action)?;
        Ok((venue, role))
    }

    pub async fn mine(&self, user: &User) -> Result<Vec<Venue>> {
        Ok(self.store.venues().venues_of(&user.id).await?)
    }

    pub async fn update(&self, user: &User, id: &str, details: VenueDetails) -> Result<Venue> {
        details.validate()?;
        let details = trimmed(details);
        self.change(id, |venue| {
            venue.check(&user.id, VenueAction::EditVenue)?;
            venue.details = details.clone();
            Ok(())
        })
        .await
    }

    /// Removes the venue record; the caller deletes its zone rooms.
    pub async fn delete(&self, user: &User, id: &str) -> Result<Venue> {
        let venue = self.load(id).await?;
        venue.check(&user.id, VenueAction::DeleteVenue)?;
        self.store.venues().delete_venue(id).await?;
        tracing::info!(venue_id = %id, "venue deleted");
        Ok(venue)
    }

    /// A single-use link for a new manager or staff member (an owner is
    /// the one who created the venue).
    pub async fn invite(&self, user: &User, id: &str, role: VenueRole) -> Result<Invitation> {
        let venue = self.load(id).await?;
        venue.check(&user.id, VenueAction::ManageStaff)?;
        if role == VenueRole::Owner {
            return Err(AppError::InvalidPayload("role must be manager or staff".into()));
        }
        let invitation = Invitation {
            id: random_id(&mut rand::rng()),
            venue_id: venue.id,
            role,
            invited_by: user.id.clone(),
            expires_at: self.clock.now() + INVITATION_HOURS * 3_600_000,
        };
        self.store.venues().insert_invitation(&invitation).await?;
        Ok(invitation)
    }

    /// The invited account becomes staff; the link is used up either way.
    pub async fn accept(&self, user: &User, invitation_id: &str) -> Result<Venue> {
        let invitation = self.store.venues().take_invitation(invitation_id).await?;
        let invitation =
            invitation.filter(|i| i.expires_at > self.clock.now()).ok_or(DomainError::InvitationNotFound)?;
        let now = self.clock.now();
        self.change(&invitation.venue_id, |venue| {
            if venue.staff.contains_key(&user.id) {
                return Err(DomainError::AlreadyStaff.into());
            }
            if venue.staff.len() >= MAX_STAFF {
                return Err(AppError::InvalidPayload(format!("a venue has at most {MAX_STAFF} staff")));
            }
            venue.staff.insert(user.id.clone(), StaffMember { role: invitation.role, since: now });
            Ok(())
        })
        .await
    }

    pub async fn set_role(&self, user: &User, id: &str, target: &str, role: VenueRole) -> Result<Venue> {
        if role == VenueRole::Owner {
            return Err(AppError::InvalidPayload("role must be manager or staff".into()));
        }
        self.change(id, |venue| {
            venue.check(&user.id, VenueAction::ManageStaff)?;
            let member = venue.staff.get_mut(target).ok_or(DomainError::NotVenueStaff)?;
            if member.role == VenueRole::Owner {
                return Err(DomainError::TargetIsOwner.into());
            }
            member.role = role;
            Ok(())
        })
        .await
    }

    /// Removes a staff member: the owner removes anyone but themselves;
    /// anyone else may leave.
    /// Their host or co-host role in the venue's zones goes with it, at
    /// once, even while they are connected.
    pub async fn remove_staff(&self, user: &User, id: &str, target: &str) -> Result<Venue> {
        let venue = self
            .change(id, |venue| {
                if target != user.id {
                    venue.check(&user.id, VenueAction::ManageStaff)?;
                }
                let member = venue.staff.get(target).ok_or(DomainError::NotVenueStaff)?;
                if member.role == VenueRole::Owner {
                    return Err(DomainError::TargetIsOwner.into());
                }
                venue.staff.remove(target);
                Ok(())
            })
            .await?;
        for zone in &venue.zones {
            let left = Command::StaffLeft { user_id: target.to_string() };
            if let Err(e) = self.rooms.execute(&zone.room_id, Actor::System, left).await {
                tracing::warn!(room_id = %zone.room_id, error = %e, "removed staff keep their zone role for now");
            }
        }
        Ok(venue)
    }

    /// Opens a zone: an always-on room whose host is the caller.
    pub async fn create_zone(&self, user: &User, id: &str, name: &str) -> Result<(Venue, Room, Member)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_ZONE_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AppError::InvalidPayload(format!(
                "name must be 1 to {MAX_ZONE_NAME_CHARS} printable characters"
            )));
        }
        let venue = self.load(id).await?;
        venue.check(&user.id, VenueAction::ManageZones)?;
        if venue.zones.len() >= MAX_ZONES {
            return Err(DomainError::TooManyZones(MAX_ZONES).into());
        }
        let now = self.clock.now();
        let host = Member {
            user_id: Some(user.id.clone()),
            username: Some(user.username.clone()),
            ..Member::new(random_id(&mut rand::rng()), user.display_name.clone(), Role::Host, now)
        };
        let room = self.insert_zone_room(&venue, name, host.clone(), now).await?;
        let zone = Zone { room_id: room.id.clone(), code: room.code.clone(), name: name.to_string() };
        let added = self
            .change(id, |venue| {
                venue.check(&user.id, VenueAction::ManageZones)?;
                if venue.zones.len() >= MAX_ZONES {
                    return Err(DomainError::TooManyZones(MAX_ZONES).into());
                }
                venue.zones.push(zone.clone());
                Ok(())
            })
            .await;
        match added {
            Ok(venue) => Ok((venue, room, host)),
            Err(e) => {
                // The venue did not take it: the room goes too.
                if let Err(gone) = self.rooms.delete(&room.id).await {
                    tracing::warn!(room_id = %room.id, error = %gone, "a zone room left without its venue");
                }
                Err(e)
            }
        }
    }

    async fn insert_zone_room(&self, venue: &Venue, name: &str, host: Member, now: u64) -> Result<Room> {
        for _ in 0..16 {
            let room_code = code::from_random(|n| rand::random_range(0..n));
            let mut room = Room::new(
                random_id(&mut rand::rng()),
                room_code,
                name.to_string(),
                host.clone(),
                Rules::default(),
                now,
            );
            room.kind = RoomKind::Venue;
            room.venue_id = Some(venue.id.clone());
            match self.rooms.create_room(&room).await {
                Ok(()) => return Ok(room),
                Err(StoreError::Duplicate) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Unavailable)
    }

    /// Takes a zone off the venue; the caller deletes its room.
    pub async fn remove_zone(&self, user: &User, id: &str, room_id: &str) -> Result<Venue> {
        self.change(id, |venue| {
            venue.check(&user.id, VenueAction::ManageZones)?;
            let before = venue.zones.len();
            venue.zones.retain(|z| z.room_id != room_id);
            if venue.zones.len() == before {
                return Err(DomainError::ZoneNotFound.into());
            }
            Ok(())
        })
        .await
    }

    /// Adds library tracks to the catalogue; unknown ids are refused whole.
    pub async fn add_to_catalogue(&self, user: &User, id: &str, track_ids: &[String]) -> Result<()> {
        let venue = self.load(id).await?;
        venue.check(&user.id, VenueAction::EditCatalogue)?;
        let found = self.store.tracks_by_ids(track_ids).await?;
        if let Some(missing) = track_ids.iter().find(|t| !found.iter().any(|f| &f.id == *t)) {
            return Err(AppError::InvalidPayload(format!("no track {missing:?} in the library")));
        }
        Ok(self.store.venues().add_to_catalogue(id, track_ids).await?)
    }

    pub async fn remove_from_catalogue(&self, user: &User, id: &str, track_ids: &[String]) -> Result<()> {
        let venue = self.load(id).await?;
        venue.check(&user.id, VenueAction::EditCatalogue)?;
        Ok(self.store.venues().remove_from_catalogue(id, track_ids).await?)
    }

    /// A zone plays its venue's catalogue only: `not_in_catalogue` for
    /// any other track; a room that is no zone plays anything.
    /// A track declined too often at the venue is refused with
    /// `track_banned` until staff unblock it.
    pub async fn check_playable_in(&self, room: &Room, track_id: &str) -> Result<()> {
        let Some(venue_id) = room.venue_id.as_deref() else { return Ok(()) };
        if !self.store.venues().in_catalogue(venue_id, track_id).await? {
            return Err(DomainError::NotInCatalogue.into());
        }
        if self.load(venue_id).await?.blocked.contains_key(track_id) {
            return Err(DomainError::TrackBanned.into());
        }
        Ok(())
    }

    /// Staff declined a request in a zone: the venue counts it and may
    /// block the track. Whether the track is blocked now.
    pub async fn note_decline(&self, room: &Room, track: &Track) -> Result<bool> {
        let Some(venue_id) = room.venue_id.as_deref() else { return Ok(false) };
        let now = self.clock.now();
        let mut blocked = false;
        self.change(venue_id, |venue| {
            blocked = venue.note_decline(track, now);
            Ok(())
        })
        .await?;
        if blocked {
            tracing::info!(venue_id, track_id = %track.id, "track blocked after declines");
        }
        Ok(blocked)
    }

    /// Staff lift an automatic block.
    pub async fn unblock(&self, user: &User, id: &str, track_id: &str) -> Result<Venue> {
        self.change(id, |venue| {
            venue.check(&user.id, VenueAction::Moderate)?;
            venue.blocked.remove(track_id);
            Ok(())
        })
        .await
    }

    /// Sets a zone's schedule (`None`: none), in the venue's time zone.
    pub async fn set_schedule(&self, user: &User, id: &str, room_id: &str, plan: Option<SchedulePlan>) -> Result<Room> {
        let venue = self.load(id).await?;
        venue.check(&user.id, VenueAction::EditSchedules)?;
        if !venue.zones.iter().any(|z| z.room_id == room_id) {
            return Err(DomainError::ZoneNotFound.into());
        }
        let schedule = plan.map(|p| Schedule {
            time_zone: venue.details.time_zone.clone(),
            defaults: p.defaults,
            day_parts: p.day_parts,
        });
        let (room, _) = self.rooms.execute(room_id, Actor::System, Command::SetSchedule { schedule }).await?;
        Ok(room)
    }

    /// The role the account has in the venue a zone room belongs to.
    pub async fn role_in_zone(&self, room: &Room, user_id: &str) -> Option<VenueRole> {
        let venue_id = room.venue_id.as_deref()?;
        match self.store.venues().venue(venue_id).await {
            Ok(venue) => venue?.role_of(user_id),
            Err(e) => {
                tracing::warn!(error = %e, "venue unreadable: no staff role in its zone for now");
                None
            }
        }
    }

    async fn load(&self, id: &str) -> Result<Venue> {
        Ok(self.store.venues().venue(id).await?.ok_or(DomainError::VenueNotFound)?)
    }

    /// Reads, changes and saves the venue, again if another write won.
    async fn change(&self, id: &str, mut edit: impl FnMut(&mut Venue) -> Result<()>) -> Result<Venue> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut venue = self.load(id).await?;
            let expected = venue.revision;
            edit(&mut venue)?;
            venue.revision += 1;
            match self.store.venues().save_venue(&venue, expected).await {
                Ok(()) => return Ok(venue),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Unavailable)
    }
}

/// A zone's schedule as managers send it (the time zone is the venue's).
#[derive(Clone, Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePlan {
    #[serde(default)]
    pub defaults: Limits,
    #[serde(default)]
    pub day_parts: Vec<DayPart>,
}

fn trimmed(mut details: VenueDetails) -> VenueDetails {
    details.name = details.name.trim().to_string();
    details.address = details.address.map(|a| a.trim().to_string());
    details.city = details.city.map(|c| c.trim().to_string());
    details
}
