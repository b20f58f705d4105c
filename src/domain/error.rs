//! Why a command was refused. Each variant has a stable snake_case code that
//! clients match on; the message is for people.

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
    #[error("you already have {0} tracks waiting, the most this room allows")]
    QueueLimitReached(u32),
    #[error("wait {0} more seconds before adding another track")]
    CooldownActive(u64),
    #[error("this track is longer than the room allows ({0} s)")]
    TrackTooLong(u32),
    #[error("explicit tracks are not allowed in this room")]
    ExplicitNotAllowed,
    #[error("this track was played less than {0} hours ago")]
    RecentlyPlayed(u32),
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
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::EntryNotFound => "entry_not_found",
            Self::MemberNotFound => "member_not_found",
            Self::InvalidVote => "invalid_vote",
            Self::DownvotesDisabled => "downvotes_disabled",
            Self::GuestAddsDisabled => "guest_adds_disabled",
            Self::QueueLimitReached(_) => "queue_limit_reached",
            Self::CooldownActive(_) => "cooldown_active",
            Self::TrackTooLong(_) => "track_too_long",
            Self::ExplicitNotAllowed => "explicit_not_allowed",
            Self::RecentlyPlayed(_) => "recently_played",
            Self::TrackBanned => "track_banned",
            Self::ArtistBanned => "artist_banned",
            Self::NothingPlaying => "nothing_playing",
            Self::AlreadyPaused => "already_paused",
            Self::NotPaused => "not_paused",
            Self::TargetIsHost => "target_is_host",
            Self::InvalidRules(_) => "invalid_rules",
            Self::InvalidListing(_) => "invalid_listing",
            Self::QueueFull(_) => "queue_full",
            Self::SkipVotingDisabled => "skip_voting_disabled",
            Self::NotAMember => "not_a_member",
            Self::FallbackTooLong(_) => "fallback_too_long",
            Self::AlreadyLinked => "already_linked",
        }
    }
}
