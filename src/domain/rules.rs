//! The rules a host sets for a room, and their validation.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Longest list of banned tracks or artists a room may carry.
pub const MAX_BAN_LIST: usize = 500;
/// Longest crossfade a room may ask of its speaker.
pub const MAX_CROSSFADE_SECS: u32 = 12;

/// Host-set rules. Every field has a party-friendly default, so a client may
/// send only the fields it changes; unknown fields are refused so a typo in a
/// rule name is an error instead of a silently ignored setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// `false` makes voting up-only: a down-vote is refused.
    pub allow_downvotes: bool,
    /// Round-robin between contributors instead of a plain score order.
    pub fair_mode: bool,
    /// `false` lets guests vote but not add tracks.
    pub guests_can_add: bool,
    /// Most tracks one guest may have waiting in the queue.
    pub max_queued_per_guest: Option<u32>,
    /// Seconds a guest must wait between two additions.
    pub add_cooldown_secs: Option<u32>,
    /// Longest track accepted, in seconds.
    pub max_track_secs: Option<u32>,
    /// `false` refuses tracks marked explicit.
    pub allow_explicit: bool,
    /// A track played within this many hours cannot be queued again (checked
    /// against the room's last 200 plays).
    pub no_replay_hours: Option<u32>,
    /// Track ids nobody may queue.
    pub banned_tracks: Vec<String>,
    /// Artist names nobody may queue (case-insensitive).
    pub banned_artists: Vec<String>,
    /// Fraction of the members connected right now (host included) whose
    /// votes skip the current track.
    pub skip_threshold: Option<f64>,
    /// An entry whose down-votes outnumber its up-votes by this much is removed.
    pub downvote_removal: Option<u32>,
    /// `true` refuses tracks the room's speaker cannot play: without audio
    /// on this server when a browser plays, not on the service when a
    /// Spotify device plays. Everything is accepted while a DJ plays.
    pub only_playable: bool,
    /// Seconds (0–12) over which a speaker fades one track into the next:
    /// the room moves on this much before a track's end (at most half of
    /// it). 0: one track after the other.
    pub crossfade_secs: u32,
    /// When the queue runs dry and no fallback playlist is set, play more
    /// like what this room voted up (`autopilot`); `false`: fall silent.
    pub autofill: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            allow_downvotes: true,
            fair_mode: false,
            guests_can_add: true,
            max_queued_per_guest: None,
            add_cooldown_secs: None,
            max_track_secs: None,
            allow_explicit: true,
            no_replay_hours: None,
            banned_tracks: Vec::new(),
            banned_artists: Vec::new(),
            skip_threshold: None,
            downvote_removal: None,
            only_playable: false,
            crossfade_secs: 0,
            autofill: true,
        }
    }
}

impl Rules {
    pub fn validate(&self) -> Result<(), DomainError> {
        let invalid = |msg: &str| Err(DomainError::InvalidRules(msg.to_string()));
        if let Some(t) = self.skip_threshold
            && !(t > 0.0 && t <= 1.0)
        {
            return invalid("skip_threshold must be in (0, 1]");
        }
        if self.max_queued_per_guest == Some(0) {
            return invalid("max_queued_per_guest must be at least 1 (use guests_can_add: false)");
        }
        if self.max_queued_per_guest.is_some_and(|n| n > 1000) {
            return invalid("max_queued_per_guest must be at most 1000");
        }
        if self.add_cooldown_secs.is_some_and(|s| s > 86_400) {
            return invalid("add_cooldown_secs must be at most 86400");
        }
        if self.max_track_secs.is_some_and(|s| !(30..=7200).contains(&s)) {
            return invalid("max_track_secs must be between 30 and 7200");
        }
        if self.no_replay_hours.is_some_and(|h| !(1..=48).contains(&h)) {
            return invalid("no_replay_hours must be between 1 and 48");
        }
        if self.downvote_removal == Some(0) || self.downvote_removal.is_some_and(|n| n > 10_000) {
            return invalid("downvote_removal must be between 1 and 10000");
        }
        if self.crossfade_secs > MAX_CROSSFADE_SECS {
            return invalid("crossfade_secs must be between 0 and 12");
        }
        let lists = [&self.banned_tracks, &self.banned_artists];
        if lists.iter().any(|l| l.len() > MAX_BAN_LIST) {
            return invalid("banned lists hold at most 500 items");
        }
        if lists.iter().flat_map(|l| l.iter()).any(|s| s.is_empty() || s.len() > 200) {
            return invalid("banned items must be 1 to 200 bytes");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Rules::default().validate().is_ok());
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let cases = [
            Rules { skip_threshold: Some(0.0), ..Rules::default() },
            Rules { skip_threshold: Some(1.5), ..Rules::default() },
            Rules { max_queued_per_guest: Some(0), ..Rules::default() },
            Rules { max_track_secs: Some(5), ..Rules::default() },
            Rules { no_replay_hours: Some(100), ..Rules::default() },
            Rules { downvote_removal: Some(0), ..Rules::default() },
            Rules { crossfade_secs: 13, ..Rules::default() },
            Rules { banned_artists: vec![String::new()], ..Rules::default() },
        ];
        for rules in cases {
            assert!(rules.validate().is_err(), "{rules:?}");
        }
    }

    #[test]
    fn unknown_rule_names_are_refused() {
        let parsed: Result<Rules, _> = serde_json::from_str(r#"{"fair_mod": true}"#);
        assert!(parsed.is_err());
    }
}
