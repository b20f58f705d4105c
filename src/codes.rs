//! Every error code a client can receive, with its HTTP status: the one
//! table (after Meilisearch's `Code`). Each subsystem's error type says
//! which code it is, beside its own definition (`DomainError::code`,
//! `SearchError::code`, …), with a `match` that has no catch-all, so a new
//! error cannot silently take another's status. docs/protocol.md §2.2 is
//! checked against this table, both ways (unit test below).
//!
//! A leaf: imports nothing, so the domain can name its codes.

macro_rules! codes {
    ($($variant:ident = $code:literal, $status:literal;)*) => {
        /// A stable, machine-readable error code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the table's order.
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            /// The snake_case name clients match on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The HTTP status of a REST answer with this code (acks carry
            /// only the code).
            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }
        }
    };
}

codes! {
    // Input and transport
    InvalidPayload = "invalid_payload", 400;
    PayloadTooLarge = "payload_too_large", 413;
    UnknownEvent = "unknown_event", 404;
    Unauthorized = "unauthorized", 401;
    Banned = "banned", 403;
    RoomNotFound = "room_not_found", 404;
    TrackNotFound = "track_not_found", 404;
    NoAudio = "no_audio", 404;
    NotFound = "not_found", 404;
    MethodNotAllowed = "method_not_allowed", 405;
    RateLimited = "rate_limited", 429;
    Unavailable = "unavailable", 503;
    Internal = "internal", 500;
    // Room rules (`DomainError`)
    Forbidden = "forbidden", 403;
    TargetIsHost = "target_is_host", 403;
    NotAMember = "not_a_member", 403;
    EntryNotFound = "entry_not_found", 404;
    MemberNotFound = "member_not_found", 404;
    InvalidVote = "invalid_vote", 400;
    InvalidRules = "invalid_rules", 400;
    FallbackTooLong = "fallback_too_long", 400;
    CooldownActive = "cooldown_active", 429;
    DownvotesDisabled = "downvotes_disabled", 409;
    GuestAddsDisabled = "guest_adds_disabled", 409;
    QueueLimitReached = "queue_limit_reached", 409;
    TrackTooLong = "track_too_long", 409;
    ExplicitNotAllowed = "explicit_not_allowed", 409;
    NotPlayable = "not_playable", 409;
    RecentlyPlayed = "recently_played", 409;
    AlreadyPlaying = "already_playing", 409;
    ScreenNotFound = "screen_not_found", 404;
    TooManyScreens = "too_many_screens", 409;
    // Venues
    InvalidVenue = "invalid_venue", 400;
    NotVenueStaff = "not_venue_staff", 403;
    TargetIsOwner = "target_is_owner", 403;
    TooManyZones = "too_many_zones", 409;
    ZoneNotFound = "zone_not_found", 404;
    AlreadyStaff = "already_staff", 409;
    VenueNotFound = "venue_not_found", 404;
    InvitationNotFound = "invitation_not_found", 404;
    NotInCatalogue = "not_in_catalogue", 409;
    InvalidSchedule = "invalid_schedule", 400;
    InvalidRange = "invalid_range", 400;
    OutsideDayPart = "outside_day_part", 409;
    InvalidPicks = "invalid_picks", 400;
    NotAZone = "not_a_zone", 409;
    RequestNotFound = "request_not_found", 404;
    AlreadyRequested = "already_requested", 409;
    RequestLimitReached = "request_limit_reached", 429;
    TooManyPending = "too_many_pending", 409;
    TrackBanned = "track_banned", 409;
    ArtistBanned = "artist_banned", 409;
    NothingPlaying = "nothing_playing", 409;
    AlreadyPaused = "already_paused", 409;
    NotPaused = "not_paused", 409;
    QueueFull = "queue_full", 409;
    SkipVotingDisabled = "skip_voting_disabled", 409;
    InvalidListing = "invalid_listing", 400;
    AlreadyLinked = "already_linked", 409;
    // Search and the library
    InvalidQuery = "invalid_query", 400;
    UnknownField = "unknown_field", 400;
    UnsupportedQuery = "unsupported_query", 400;
    IndexNotFound = "index_not_found", 404;
    InvalidImport = "invalid_import", 400;
    // Photos
    PhotoNotFound = "photo_not_found", 404;
    NotAnImage = "not_an_image", 415;
    ImageTooLarge = "image_too_large", 400;
    ImageDamaged = "image_damaged", 400;
    // Accounts
    WeakPassword = "weak_password", 400;
    UsernameTaken = "username_taken", 409;
    InvalidCredentials = "invalid_credentials", 401;
    UserNotFound = "user_not_found", 404;
    CannotFollowSelf = "cannot_follow_self", 400;
    FollowLimit = "follow_limit", 409;
    // Music services
    ProviderNotConfigured = "provider_not_configured", 404;
    ProviderNotLinked = "provider_not_linked", 404;
    ProviderLinkBroken = "provider_link_broken", 409;
    InvalidState = "invalid_state", 400;
    JobNotFound = "job_not_found", 404;
    ProviderRateLimited = "provider_rate_limited", 429;
    ProviderUnavailable = "provider_unavailable", 503;
    ProviderBadResponse = "provider_bad_response", 502;
    PremiumRequired = "premium_required", 403;
    ProviderNotFound = "provider_not_found", 404;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::Code;

    /// `code → HTTP status` as docs/protocol.md §2.2 lists them.
    fn documented() -> BTreeMap<String, u16> {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md")).expect("protocol");
        let start = doc.find("### 2.2 All codes").expect("§2.2");
        let end = start + doc[start..].find("\n## ").expect("the section after §2.2");
        let mut codes = BTreeMap::new();
        for line in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells[1].trim_matches('`').to_string();
            let status = cells[2].parse().unwrap_or_else(|_| panic!("a status for {code}: {line}"));
            assert!(codes.insert(code.clone(), status).is_none(), "{code} documented twice");
        }
        codes
    }

    #[test]
    fn every_code_is_documented_with_its_status_and_every_documented_code_exists() {
        let table: BTreeMap<String, u16> = Code::ALL.iter().map(|c| (c.as_str().to_string(), c.status())).collect();
        assert_eq!(table.len(), Code::ALL.len(), "a code string used twice in the table");
        let documented = documented();
        let undocumented: Vec<_> = table.keys().filter(|c| !documented.contains_key(*c)).collect();
        let unknown: Vec<_> = documented.keys().filter(|c| !table.contains_key(*c)).collect();
        assert!(undocumented.is_empty(), "codes missing from docs/protocol.md §2.2: {undocumented:?}");
        assert!(unknown.is_empty(), "codes in docs/protocol.md §2.2 the server never sends: {unknown:?}");
        for (code, status) in &table {
            assert_eq!(documented[code], *status, "{code}: the documented HTTP status differs");
        }
    }
}
