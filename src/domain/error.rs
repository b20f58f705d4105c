//! Why a command was refused. Each variant has a stable snake_case code that
//! clients match on; the message is for people.

use crate::codes::Code;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("only the host or a co-host may do this")]
    Forbidden,
    #[error("no queue entry with this id")]
    EntryNotFound,
    #[error("no member with this id in the room")]
    MemberNotFound,
    #[error("a vote is 1, -1 or 0")]
    InvalidVote,
    #[error("this room allows up-votes only")]
    DownvotesDisabled,
    #[error("guests may vote but not add tracks in this room")]
    GuestAddsDisabled,
    #[error("{}", queue_limit(*.0))]
    QueueLimitReached(u32),
    #[error("wait {} more {} before adding another track", .0, plural(*.0, "second"))]
    CooldownActive(u64),
    #[error("this track is longer than the room allows ({0} s)")]
    TrackTooLong(u32),
    #[error("explicit tracks are not allowed in this room")]
    ExplicitNotAllowed,
    #[error("this track cannot play on this room's speaker")]
    NotPlayable,
    #[error("this track was played less than {} {} ago", .0, plural(u64::from(*.0), "hour"))]
    RecentlyPlayed(u32),
    #[error("this track is playing now")]
    AlreadyPlaying,
    #[error("this track is banned in this room")]
    TrackBanned,
    #[error("an artist of this track is banned in this room")]
    ArtistBanned,
    #[error("nothing is playing")]
    NothingPlaying,
    #[error("already paused")]
    AlreadyPaused,
    #[error("not paused")]
    NotPaused,
    #[error("the host cannot be the target of this action")]
    TargetIsHost,
    #[error("invalid rules: {0}")]
    InvalidRules(String),
    #[error("invalid listing: {0}")]
    InvalidListing(String),
    #[error("the queue is full ({0} entries)")]
    QueueFull(usize),
    #[error("vote-to-skip is not enabled in this room")]
    SkipVotingDisabled,
    #[error("you are not a member of this room any more")]
    NotAMember,
    #[error("the fallback playlist holds at most {0} tracks")]
    FallbackTooLong(usize),
    #[error("this member is already linked to another account")]
    AlreadyLinked,
    #[error("no screen with this id in the room")]
    ScreenNotFound,
    #[error("this room has {0} screens already: remove one first")]
    TooManyScreens(usize),
    #[error("a screen watches the room: it cannot do this")]
    ScreenCannotAct,
    #[error("invalid venue: {0}")]
    InvalidVenue(String),
    #[error("you are not staff of this venue")]
    NotVenueStaff,
    #[error("the owner's role cannot be changed or removed")]
    TargetIsOwner,
    #[error("a venue has at most {0} zones")]
    TooManyZones(usize),
    #[error("no zone with this id in the venue")]
    ZoneNotFound,
    #[error("you are staff of this venue already")]
    AlreadyStaff,
    #[error("no venue with this id")]
    VenueNotFound,
    #[error("this invitation was used already, or it expired")]
    InvitationNotFound,
    #[error("this venue plays its own catalogue, and this track is not in it")]
    NotInCatalogue,
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    #[error("invalid date range: {0}")]
    InvalidRange(String),
    #[error("{0}")]
    OutsideDayPart(String),
    #[error("invalid picks: {0}")]
    InvalidPicks(String),
    #[error("only a venue's zones have this")]
    NotAZone,
    #[error("no waiting request with this id")]
    RequestNotFound,
    #[error("this track is already waiting for the staff's approval")]
    AlreadyRequested,
    #[error("{}", request_limit(*.0, *.1))]
    RequestLimitReached(u16, u64),
    #[error("{0} requests are waiting for the staff already: try again in a moment")]
    TooManyPending(usize),
}

impl DomainError {
    /// Its code in the one table (`crate::codes`), which gives its status.
    pub fn code(&self) -> Code {
        match self {
            Self::Forbidden => Code::Forbidden,
            Self::EntryNotFound => Code::EntryNotFound,
            Self::MemberNotFound => Code::MemberNotFound,
            Self::InvalidVote => Code::InvalidVote,
            Self::DownvotesDisabled => Code::DownvotesDisabled,
            Self::GuestAddsDisabled => Code::GuestAddsDisabled,
            Self::QueueLimitReached(_) => Code::QueueLimitReached,
            Self::CooldownActive(_) => Code::CooldownActive,
            Self::TrackTooLong(_) => Code::TrackTooLong,
            Self::ExplicitNotAllowed => Code::ExplicitNotAllowed,
            Self::NotPlayable => Code::NotPlayable,
            Self::RecentlyPlayed(_) => Code::RecentlyPlayed,
            Self::AlreadyPlaying => Code::AlreadyPlaying,
            Self::TrackBanned => Code::TrackBanned,
            Self::ArtistBanned => Code::ArtistBanned,
            Self::NothingPlaying => Code::NothingPlaying,
            Self::AlreadyPaused => Code::AlreadyPaused,
            Self::NotPaused => Code::NotPaused,
            Self::TargetIsHost => Code::TargetIsHost,
            Self::InvalidRules(_) => Code::InvalidRules,
            Self::InvalidListing(_) => Code::InvalidListing,
            Self::QueueFull(_) => Code::QueueFull,
            Self::SkipVotingDisabled => Code::SkipVotingDisabled,
            Self::NotAMember => Code::NotAMember,
            Self::FallbackTooLong(_) => Code::FallbackTooLong,
            Self::AlreadyLinked => Code::AlreadyLinked,
            Self::ScreenNotFound => Code::ScreenNotFound,
            Self::TooManyScreens(_) => Code::TooManyScreens,
            Self::ScreenCannotAct => Code::Forbidden,
            Self::InvalidVenue(_) => Code::InvalidVenue,
            Self::NotVenueStaff => Code::NotVenueStaff,
            Self::TargetIsOwner => Code::TargetIsOwner,
            Self::TooManyZones(_) => Code::TooManyZones,
            Self::ZoneNotFound => Code::ZoneNotFound,
            Self::AlreadyStaff => Code::AlreadyStaff,
            Self::VenueNotFound => Code::VenueNotFound,
            Self::InvitationNotFound => Code::InvitationNotFound,
            Self::NotInCatalogue => Code::NotInCatalogue,
            Self::InvalidSchedule(_) => Code::InvalidSchedule,
            Self::InvalidRange(_) => Code::InvalidRange,
            Self::OutsideDayPart(_) => Code::OutsideDayPart,
            Self::InvalidPicks(_) => Code::InvalidPicks,
            Self::NotAZone => Code::NotAZone,
            Self::RequestNotFound => Code::RequestNotFound,
            Self::AlreadyRequested => Code::AlreadyRequested,
            Self::RequestLimitReached(..) => Code::RequestLimitReached,
            Self::TooManyPending(_) => Code::TooManyPending,
        }
    }
}

/// "1 second", "2 seconds": messages are read by people.
fn plural(n: u64, word: &str) -> String {
    if n == 1 { word.to_string() } else { format!("{word}s") }
}

fn queue_limit(max: u32) -> String {
    format!(
        "this room allows {max} waiting {} per guest: wait until one of yours has played",
        plural(u64::from(max), "track")
    )
}

fn request_limit(max: u16, minutes: u64) -> String {
    format!(
        "you may ask for {max} {} an hour here: the next in {minutes} {}",
        plural(u64::from(max), "track"),
        plural(minutes, "minute")
    )
}
