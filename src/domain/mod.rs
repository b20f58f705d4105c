//! Pure party rules: rooms, members, the voted queue, fairness, skip
//! thresholds, the player clock and join codes. Nothing here does I/O or
//! reads the time: callers pass `now` (milliseconds since the Unix epoch) and
//! any generated ids, so every rule is a plain function that unit tests can
//! drive directly.
//!
//! Owns: the party's rules and the views clients see. May use: codes.
//! Must not import: anything that does I/O (store, services, transport).

pub mod analytics;
pub mod code;
pub mod command;
pub mod error;
pub mod listing;
pub mod photo;
pub mod provider;
pub mod queue;
pub mod recommend;
pub mod requests;
pub mod room;
pub mod rules;
pub mod schedule;
pub mod track;
pub mod user;
pub mod venue;
pub mod view;

pub use command::{Actor, Change, Command, Outcome, apply};
pub use error::DomainError;
pub use listing::{Listing, Location};
pub use photo::{Photo, PhotoMark, PhotoStatus};
pub use provider::{
    FallbackTarget, JobError, JobKind, JobPlan, JobStatus, JobWork, LinkStatus, PendingAuthorization, ProviderJob,
    ProviderLink,
};
pub use room::{
    MAX_SCREENS, Member, Members, NowPlaying, Play, PlayEnd, Playback, Role, Room, RoomKind, SCREEN_ID_PREFIX, Screen,
    Shared, is_screen_id,
};
pub use rules::Rules;
pub use track::{Analysis, MusicFile, Skipped, Track};
pub use user::{AccountSession, Activity, ActivityKind, TasteMark, TasteSettings, TasteSource, User};
pub use venue::{
    BlockedTrack, Invitation, OpeningHours, StaffMember, Venue, VenueAction, VenueDetails, VenueRole, Zone,
};

/// Milliseconds since the Unix epoch, as handed out by the injectable clock.
pub type Millis = u64;

#[cfg(test)]
mod tests;
