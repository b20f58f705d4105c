//! Commands on a room and the rules that decide them. `apply` either refuses
//! a command with a `DomainError` and leaves the room untouched, or changes
//! the room, bumps its version once and lists what changed.

use std::collections::BTreeSet;

use super::requests::{self, Request};
use super::room::{Entry, RECENT_PLAYS};
use super::schedule::Limits;
use super::{
    DomainError, Listing, MAX_SCREENS, Member, Millis, NowPlaying, Play, PlayEnd, Playback, Role, Room, Rules, Screen,
    Track, is_screen_id, queue,
};

/// Most entries one queue holds.
pub const MAX_QUEUE: usize = 500;
/// Most tracks in a fallback playlist.
pub const MAX_FALLBACK: usize = 500;

/// Who issues a command: a member of the room, or the server itself (the
/// player advancing when a track ends).
#[derive(Clone, Debug, PartialEq)]
pub enum Actor {
    Member(String),
    System,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Join {
        member: Member,
    },
    Add {
        entry_id: String,
        track: Track,
    },
    Vote {
        entry_id: String,
        value: i8,
    },
    Remove {
        entry_id: String,
    },
    Pin {
        entry_id: String,
    },
    /// Back to its place by score (an entry that is not pinned stays as it is).
    Unpin {
        entry_id: String,
    },
    Skip,
    VoteSkip {
        present: usize,
    },
    Pause,
    Resume,
    Kick {
        member_id: String,
    },
    Ban {
        member_id: String,
    },
    SetRole {
        member_id: String,
        role: Role,
    },
    UpdateRules {
        rules: Rules,
    },
    SetFallback {
        tracks: Vec<Track>,
    },
    SetListing {
        listing: Listing,
    },
    /// Hand the room's tracks to this device from now on (`None`: stop).
    SetPlayback {
        playback: Option<Playback>,
    },
    /// This member's browser plays the room's music from now on (`None`:
    /// nobody's; a DJ plays and the server keeps time).
    SetSpeaker {
        member_id: Option<String>,
    },
    /// The acting member turns out to be (or becomes) this account.
    LinkAccount {
        user_id: String,
        username: String,
    },
    /// The account was deleted: its members stay as plain guests (system).
    UnlinkAccount {
        user_id: String,
    },
    /// Advance if `entry_id` is still playing and has ended by now.
    TrackEnded {
        entry_id: String,
    },
    /// The speaker has been gone longer than the grace period (system):
    /// pause, and remember why.
    SpeakerAway {
        member_id: String,
    },
    /// The speaker is back (system): resume what its absence paused.
    SpeakerBack {
        member_id: String,
    },
    /// An account is no longer staff of the zone's venue (system): its
    /// members lose their host or co-host role in the zone.
    StaffLeft {
        user_id: String,
    },
    /// A screen starts watching the room (system: anyone with the code may
    /// open the big screen, as anyone may join).
    AddScreen {
        screen: Screen,
    },
    RemoveScreen {
        screen_id: String,
    },
    /// A zone's schedule, from its venue's managers (system).
    SetSchedule {
        schedule: Option<super::schedule::Schedule>,
    },
    /// Announce the day part in force now if it changed (system: the
    /// player, at each boundary; any other command does it too).
    FollowSchedule,
    /// Staff let a guest's waiting request into the queue.
    ApproveRequest {
        request_id: String,
    },
    /// Staff turn a guest's waiting request down.
    DeclineRequest {
        request_id: String,
    },
    /// A guest takes back their waiting request.
    WithdrawRequest {
        request_id: String,
    },
    /// A guest in a zone says which genres they feel like (quick picks),
    /// or clears them with none.
    SetPicks {
        genres: Vec<String>,
    },
    /// The autopilot plays this track if the room is silent with nothing
    /// queued and no fallback list, and its rules and speaker allow the
    /// track (system; a no-op otherwise, so racing nodes play one).
    Autoplay {
        entry_id: String,
        track: Track,
        reason: String,
    },
}

impl Command {
    /// Commands that only the host or a co-host may issue.
    fn needs_staff(&self) -> bool {
        matches!(
            self,
            Self::Pin { .. }
                | Self::Unpin { .. }
                | Self::Skip
                | Self::Pause
                | Self::Resume
                | Self::Kick { .. }
                | Self::Ban { .. }
                | Self::SetRole { .. }
                | Self::UpdateRules { .. }
                | Self::SetFallback { .. }
                | Self::SetListing { .. }
                | Self::SetPlayback { .. }
                | Self::SetSpeaker { .. }
                | Self::RemoveScreen { .. }
                | Self::ApproveRequest { .. }
                | Self::DeclineRequest { .. }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    Removed,
    Downvoted,
    Played,
    Banned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Departure {
    Kicked,
    Banned,
}

/// What a committed command changed; rendered for clients by `view`.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    MemberJoined {
        member_id: String,
    },
    /// A guest's quick picks: private to them (no view for the room).
    PicksUpdated {
        member_id: String,
    },
    MemberUpdated {
        member_id: String,
    },
    MemberRemoved {
        member_id: String,
        reason: Departure,
    },
    EntryAdded {
        entry_id: String,
    },
    EntryUpdated {
        entry_id: String,
    },
    EntryRemoved {
        entry_id: String,
        reason: RemovalReason,
    },
    NowPlaying,
    SkipVotes {
        count: usize,
        needed: usize,
    },
    RulesUpdated,
    FallbackUpdated,
    ListingUpdated,
    PlaybackUpdated,
    SpeakerUpdated,
    ScreenAdded {
        screen_id: String,
    },
    ScreenRemoved {
        screen_id: String,
    },
    ScheduleUpdated,
    /// Another day part (or the defaults) is in force from now.
    DayPartChanged,
    RequestAdded {
        request_id: String,
    },
    /// Approved: an `EntryAdded` (or `EntryUpdated`) follows.
    RequestApproved {
        request: Request,
    },
    RequestDeclined {
        request: Request,
    },
    RequestWithdrawn {
        request_id: String,
    },
}

/// The result of an accepted command.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub changes: Vec<Change>,
    /// Plays that ended, for the store's history table.
    pub plays: Vec<Play>,
}

/// Applies `command` to `room`. On error the room is unchanged.
pub fn apply(room: &mut Room, actor: &Actor, command: Command, now: Millis) -> Result<Outcome, DomainError> {
    let mut draft = room.clone();
    let mut out = Outcome::default();
    decide(&mut draft, actor, command, now, &mut out)?;
    if super::schedule::follow(&mut draft, now) {
        out.changes.push(Change::DayPartChanged);
    }
    if !out.changes.is_empty() {
        let speaker_gone = draft.speaker.as_deref().is_some_and(|s| !draft.may_play(s));
        if speaker_gone {
            draft.speaker = None;
            out.changes.push(Change::SpeakerUpdated);
        }
        start_if_idle(&mut draft, now, &mut out);
        draft.version += 1;
        draft.active_at = now;
        *room = draft;
    }
    Ok(out)
}

fn decide(room: &mut Room, actor: &Actor, command: Command, now: Millis, out: &mut Outcome) -> Result<(), DomainError> {
    if let Command::Join { member } = command {
        return join(room, member, out);
    }
    let me = match actor {
        Actor::System => return system_command(room, command, now, out),
        Actor::Member(id) => room.member(id).filter(|m| !m.banned).cloned().ok_or(DomainError::NotAMember)?,
    };
    if command.needs_staff() && !me.is_staff() {
        return Err(DomainError::Forbidden);
    }
    match command {
        Command::Join { .. }
        | Command::TrackEnded { .. }
        | Command::UnlinkAccount { .. }
        | Command::SpeakerAway { .. }
        | Command::SpeakerBack { .. }
        | Command::AddScreen { .. }
        | Command::StaffLeft { .. }
        | Command::SetSchedule { .. }
        | Command::FollowSchedule
        | Command::Autoplay { .. } => Err(DomainError::Forbidden),
        Command::ApproveRequest { request_id } => requests::approve(room, &request_id, now, out),
        Command::DeclineRequest { request_id } => requests::decline(room, &request_id, out),
        Command::WithdrawRequest { request_id } => requests::withdraw(room, &me, &request_id, out),
        Command::SetPicks { genres } => set_picks(room, &me.id, genres, out),
        Command::Add { entry_id, track } => add(room, &me, entry_id, track, now, out),
        Command::Vote { entry_id, value } => vote(room, &me.id, &entry_id, value, out),
        Command::Remove { entry_id } => remove(room, &me, &entry_id, out),
        Command::Pin { entry_id } => pin(room, &entry_id, Some(now), out),
        Command::Unpin { entry_id } => pin(room, &entry_id, None, out),
        Command::Skip => skip(room, now, PlayEnd::Skipped, out),
        Command::VoteSkip { present } => vote_skip(room, &me.id, present, now, out),
        Command::Pause => pause(room, now, out),
        Command::Resume => {
            room.speaker_away = false;
            resume(room, now, out)
        }
        Command::Kick { member_id } => kick(room, &me, &member_id, out),
        Command::Ban { member_id } => ban(room, &me, &member_id, out),
        Command::SetRole { member_id, role } => set_role(room, &me, &member_id, role, out),
        Command::UpdateRules { rules } => update_rules(room, rules, out),
        Command::SetFallback { tracks } => set_fallback(room, tracks, out),
        Command::SetListing { listing } => set_listing(room, listing, out),
        Command::SetPlayback { playback } => {
            if room.playback != playback {
                if playback.is_some() && room.speaker.take().is_some() {
                    out.changes.push(Change::SpeakerUpdated);
                }
                room.playback = playback;
                out.changes.push(Change::PlaybackUpdated);
            }
            Ok(())
        }
        Command::SetSpeaker { member_id } => set_speaker(room, member_id, out),
        Command::RemoveScreen { screen_id } => {
            room.screens.remove(&screen_id).ok_or(DomainError::ScreenNotFound)?;
            out.changes.push(Change::ScreenRemoved { screen_id });
            Ok(())
        }
        Command::LinkAccount { user_id, username } => link_account(room, &me.id, user_id, username, out),
    }
}

fn system_command(room: &mut Room, command: Command, now: Millis, out: &mut Outcome) -> Result<(), DomainError> {
    let entry_id = match command {
        Command::SetSchedule { schedule } => {
            if let Some(schedule) = &schedule {
                schedule.validate()?;
            }
            if room.schedule != schedule {
                room.schedule = schedule;
                out.changes.push(Change::ScheduleUpdated);
            }
            return Ok(());
        }
        // `apply` follows the schedule after every command.
        Command::FollowSchedule => return Ok(()),
        Command::Autoplay { entry_id, track, reason } => {
            let silent = room.now_playing.is_none() && room.queue.is_empty() && room.fallback.is_empty();
            if silent && room.may_autoplay(&track, now) {
                room.now_playing = Some(NowPlaying {
                    entry_id,
                    track,
                    added_by: None,
                    started_at: now,
                    paused_position: None,
                    skip_votes: BTreeSet::new(),
                    reason: Some(reason),
                    votes_up: 0,
                    votes_down: 0,
                });
                out.changes.push(Change::NowPlaying);
            }
            return Ok(());
        }
        Command::StaffLeft { user_id } => {
            let former: Vec<String> = room
                .members
                .values()
                .filter(|m| m.is_staff() && m.user_id.as_deref() == Some(user_id.as_str()))
                .map(|m| m.id.clone())
                .collect();
            for member_id in former {
                if let Some(member) = room.members.make_mut().get_mut(&member_id) {
                    member.role = Role::Guest;
                }
                out.changes.push(Change::MemberUpdated { member_id });
            }
            return Ok(());
        }
        Command::AddScreen { screen } => {
            if room.screens.len() >= MAX_SCREENS {
                return Err(DomainError::TooManyScreens(MAX_SCREENS));
            }
            out.changes.push(Change::ScreenAdded { screen_id: screen.id.clone() });
            room.screens.insert(screen.id.clone(), screen);
            return Ok(());
        }
        Command::TrackEnded { entry_id } => entry_id,
        Command::SpeakerAway { member_id } => {
            let playing = room.now_playing.as_ref().is_some_and(|np| np.paused_position.is_none());
            if room.speaker.as_deref() == Some(member_id.as_str()) && playing {
                room.speaker_away = true;
                return pause(room, now, out);
            }
            return Ok(());
        }
        Command::SpeakerBack { member_id } => {
            if room.speaker.as_deref() == Some(member_id.as_str()) && room.speaker_away {
                room.speaker_away = false;
                if room.now_playing.as_ref().is_some_and(|np| np.paused_position.is_some()) {
                    return resume(room, now, out);
                }
                // Staff moved on meanwhile: nothing to resume, but the
                // flag must be stored cleared.
                out.changes.push(Change::NowPlaying);
            }
            return Ok(());
        }
        Command::UnlinkAccount { user_id } => {
            for member in
                room.members.make_mut().values_mut().filter(|m| m.user_id.as_deref() == Some(user_id.as_str()))
            {
                (member.user_id, member.username) = (None, None);
                out.changes.push(Change::MemberUpdated { member_id: member.id.clone() });
            }
            return Ok(());
        }
        _ => return Err(DomainError::Forbidden),
    };
    let ended = room.now_playing.as_ref().is_some_and(|np| np.entry_id == entry_id)
        && room.track_ends_at().is_some_and(|end| end <= now);
    if ended {
        advance(room, now, PlayEnd::Finished, out);
    }
    Ok(())
}

fn join(room: &mut Room, member: Member, out: &mut Outcome) -> Result<(), DomainError> {
    out.changes.push(Change::MemberJoined { member_id: member.id.clone() });
    room.members.make_mut().insert(member.id.clone(), member);
    Ok(())
}

fn add(
    room: &mut Room,
    me: &Member,
    entry_id: String,
    track: Track,
    now: Millis,
    out: &mut Outcome,
) -> Result<(), DomainError> {
    if !me.is_staff() && !room.rules.guests_can_add {
        return Err(DomainError::GuestAddsDisabled);
    }
    if let Some(existing) = room.queue.iter().find(|e| e.track.id == track.id) {
        let id = existing.id.clone();
        return vote(room, &me.id, &id, 1, out);
    }
    // Queued again it would play twice in a row.
    if room.now_playing.as_ref().is_some_and(|np| np.track.id == track.id) {
        return Err(DomainError::AlreadyPlaying);
    }
    check_track_allowed(room, &track, now)?;
    if !me.is_staff() {
        check_guest_limits(room, me, now)?;
        if let Some(limits) = check_day_part(room, &track, now)? {
            let mut counted = me.clone();
            requests::count_request(&mut counted, &limits, now)?;
            let approval = limits.approval == Some(true);
            if let Some(m) = room.members.make_mut().get_mut(&me.id) {
                m.requested_at = counted.requested_at;
            }
            if approval {
                return requests::hold(room, me, entry_id, track, now, out);
            }
        }
    }
    if room.queue.len() >= MAX_QUEUE {
        return Err(DomainError::QueueFull(MAX_QUEUE));
    }
    let seq = room.next_seq;
    room.next_seq += 1;
    room.queue.push(Entry {
        id: entry_id.clone(),
        track,
        added_by: me.id.clone(),
        added_by_name: me.name.clone(),
        added_at: now,
        seq,
        votes: [(me.id.clone(), 1)].into(),
        pinned_at: None,
    });
    if let Some(m) = room.members.make_mut().get_mut(&me.id) {
        m.last_add_at = Some(now);
    }
    out.changes.push(Change::EntryAdded { entry_id });
    Ok(())
}

/// Most genres one guest picks.
pub const MAX_PICKS: usize = 3;
/// Longest genre name picked, in characters.
const MAX_PICK_CHARS: usize = 40;

/// Whether a genre name can be picked: 1 to `MAX_PICK_CHARS` printable
/// characters once trimmed.
pub fn valid_pick(genre: &str) -> bool {
    let genre = genre.trim();
    let length = genre.chars().count();
    length > 0 && length <= MAX_PICK_CHARS && !genre.chars().any(char::is_control)
}

/// A guest's quick picks in a zone: lower-cased, without repeats.
fn set_picks(room: &mut Room, member_id: &str, genres: Vec<String>, out: &mut Outcome) -> Result<(), DomainError> {
    if room.venue_id.is_none() {
        return Err(DomainError::NotAZone);
    }
    let invalid = |msg: String| Err(DomainError::InvalidPicks(msg));
    if genres.len() > MAX_PICKS {
        return invalid(format!("pick at most {MAX_PICKS} genres"));
    }
    let mut picks: Vec<String> = Vec::with_capacity(genres.len());
    for genre in genres {
        let genre = genre.trim().to_lowercase();
        if !valid_pick(&genre) {
            return invalid(format!("a genre is 1 to {MAX_PICK_CHARS} printable characters"));
        }
        if !picks.contains(&genre) {
            picks.push(genre);
        }
    }
    let member = room.members.make_mut().get_mut(member_id).ok_or(DomainError::NotAMember)?;
    if member.picks != picks {
        member.picks = picks;
        out.changes.push(Change::PicksUpdated { member_id: member_id.to_string() });
    }
    Ok(())
}

/// Rules that hold for everybody, the host included.
pub(super) fn check_track_allowed(room: &Room, track: &Track, now: Millis) -> Result<(), DomainError> {
    let rules = &room.rules;
    if rules.banned_tracks.iter().any(|t| t == &track.id) {
        return Err(DomainError::TrackBanned);
    }
    if track.has_artist_in(&rules.banned_artists) {
        return Err(DomainError::ArtistBanned);
    }
    if !rules.allow_explicit && track.explicit {
        return Err(DomainError::ExplicitNotAllowed);
    }
    if rules.only_playable && !room.can_play(track) {
        return Err(DomainError::NotPlayable);
    }
    if let Some(max) = rules.max_track_secs
        && track.duration_ms > u64::from(max) * 1000
    {
        return Err(DomainError::TrackTooLong(max));
    }
    if let Some(hours) = rules.no_replay_hours {
        let since = now.saturating_sub(u64::from(hours) * 3_600_000);
        let playing = room.now_playing.as_ref().is_some_and(|np| np.track.id == track.id);
        let played = room.recent_plays.iter().any(|p| p.track_id == track.id && p.started_at >= since);
        if playing || played {
            return Err(DomainError::RecentlyPlayed(hours));
        }
    }
    Ok(())
}

/// What a zone's schedule lets guests ask for right now (staff curate):
/// the limits in force if the track may be asked for.
fn check_day_part(room: &Room, track: &Track, now: Millis) -> Result<Option<Limits>, DomainError> {
    let Some(schedule) = &room.schedule else { return Ok(None) };
    let in_force = schedule.at(now);
    match in_force.limits.refusal(track) {
        None => Ok(Some(in_force.limits.clone())),
        Some(why) => {
            let when =
                in_force.day_part.map_or_else(|| "outside the day parts".to_string(), |p| format!("during {}", p.name));
            Err(DomainError::OutsideDayPart(format!("{when}, {why}")))
        }
    }
}

/// Limits that keep one guest from monopolising the queue.
fn check_guest_limits(room: &Room, me: &Member, now: Millis) -> Result<(), DomainError> {
    if let Some(max) = room.rules.max_queued_per_guest {
        let queued = room.queue.iter().filter(|e| e.added_by == me.id).count();
        let mine = queued + room.requests.iter().filter(|r| r.requested_by == me.id).count();
        if mine >= max as usize {
            return Err(DomainError::QueueLimitReached(max));
        }
    }
    if let (Some(cooldown), Some(last)) = (room.rules.add_cooldown_secs, me.last_add_at) {
        let ready_at = last + u64::from(cooldown) * 1000;
        if now < ready_at {
            return Err(DomainError::CooldownActive((ready_at - now).div_ceil(1000)));
        }
    }
    Ok(())
}

fn vote(room: &mut Room, member_id: &str, entry_id: &str, value: i8, out: &mut Outcome) -> Result<(), DomainError> {
    if !(-1..=1).contains(&value) {
        return Err(DomainError::InvalidVote);
    }
    if value == -1 && !room.rules.allow_downvotes {
        return Err(DomainError::DownvotesDisabled);
    }
    let removal = room.rules.downvote_removal;
    let entry = room.entry_mut(entry_id).ok_or(DomainError::EntryNotFound)?;
    let before = entry.votes.get(member_id).copied().unwrap_or(0);
    if before == value {
        return Ok(());
    }
    if value == 0 {
        entry.votes.remove(member_id);
    } else {
        entry.votes.insert(member_id.to_string(), value);
    }
    if removal.is_some_and(|n| -entry.score() >= i64::from(n)) {
        room.queue.retain(|e| e.id != entry_id);
        out.changes.push(Change::EntryRemoved { entry_id: entry_id.to_string(), reason: RemovalReason::Downvoted });
    } else {
        out.changes.push(Change::EntryUpdated { entry_id: entry_id.to_string() });
    }
    Ok(())
}

fn remove(room: &mut Room, me: &Member, entry_id: &str, out: &mut Outcome) -> Result<(), DomainError> {
    let entry = room.entry(entry_id).ok_or(DomainError::EntryNotFound)?;
    if !me.is_staff() && entry.added_by != me.id {
        return Err(DomainError::Forbidden);
    }
    room.queue.retain(|e| e.id != entry_id);
    out.changes.push(Change::EntryRemoved { entry_id: entry_id.to_string(), reason: RemovalReason::Removed });
    Ok(())
}

/// Pins (`Some(now)`) or unpins (`None`) an entry; pinning a pinned one
/// keeps its first pin time, so pinned entries play in the order pinned.
fn pin(room: &mut Room, entry_id: &str, at: Option<Millis>, out: &mut Outcome) -> Result<(), DomainError> {
    let entry = room.entry_mut(entry_id).ok_or(DomainError::EntryNotFound)?;
    if entry.pinned_at.is_some() != at.is_some() {
        entry.pinned_at = at;
        out.changes.push(Change::EntryUpdated { entry_id: entry_id.to_string() });
    }
    Ok(())
}

fn skip(room: &mut Room, now: Millis, end: PlayEnd, out: &mut Outcome) -> Result<(), DomainError> {
    if room.now_playing.is_none() {
        return Err(DomainError::NothingPlaying);
    }
    advance(room, now, end, out);
    Ok(())
}

fn vote_skip(
    room: &mut Room,
    member_id: &str,
    present: usize,
    now: Millis,
    out: &mut Outcome,
) -> Result<(), DomainError> {
    let threshold = room.rules.skip_threshold.ok_or(DomainError::SkipVotingDisabled)?;
    let np = room.now_playing.as_mut().ok_or(DomainError::NothingPlaying)?;
    let fresh = np.skip_votes.insert(member_id.to_string());
    let count = np.skip_votes.len();
    let needed = skip_votes_needed(threshold, present);
    if count >= needed {
        return skip(room, now, PlayEnd::VotedOff, out);
    }
    if fresh {
        out.changes.push(Change::SkipVotes { count, needed });
    }
    Ok(())
}

/// Votes needed to skip: the threshold's share of the members present,
/// rounded up, and never fewer than one.
pub fn skip_votes_needed(threshold: f64, present: usize) -> usize {
    // The epsilon keeps 0.55 × 100 at 55 despite binary floating point.
    let needed = (threshold * present as f64 - 1e-9).ceil();
    (needed as usize).max(1)
}

fn pause(room: &mut Room, now: Millis, out: &mut Outcome) -> Result<(), DomainError> {
    let np = room.now_playing.as_mut().ok_or(DomainError::NothingPlaying)?;
    if np.paused_position.is_some() {
        return Err(DomainError::AlreadyPaused);
    }
    np.paused_position = Some(np.position_at(now));
    out.changes.push(Change::NowPlaying);
    Ok(())
}

fn resume(room: &mut Room, now: Millis, out: &mut Outcome) -> Result<(), DomainError> {
    let np = room.now_playing.as_mut().ok_or(DomainError::NothingPlaying)?;
    let position = np.paused_position.take().ok_or(DomainError::NotPaused)?;
    np.started_at = now.saturating_sub(position);
    out.changes.push(Change::NowPlaying);
    Ok(())
}

/// The member `me` may act on: present, not the host, and a co-host only for the host.
fn target<'a>(room: &'a Room, me: &Member, member_id: &str) -> Result<&'a Member, DomainError> {
    let target = room.member(member_id).ok_or(DomainError::MemberNotFound)?;
    if target.role == Role::Host {
        return Err(DomainError::TargetIsHost);
    }
    if target.role == Role::Cohost && me.role != Role::Host {
        return Err(DomainError::Forbidden);
    }
    Ok(target)
}

/// One speaker per room: a browser speaker replaces a music service device.
fn set_speaker(room: &mut Room, member_id: Option<String>, out: &mut Outcome) -> Result<(), DomainError> {
    if let Some(id) = &member_id
        && !room.may_play(id)
    {
        return Err(if is_screen_id(id) { DomainError::ScreenNotFound } else { DomainError::MemberNotFound });
    }
    if room.speaker == member_id {
        return Ok(());
    }
    room.speaker_away = false;
    if member_id.is_some() && room.playback.take().is_some() {
        out.changes.push(Change::PlaybackUpdated);
    }
    room.speaker = member_id;
    out.changes.push(Change::SpeakerUpdated);
    Ok(())
}

fn kick(room: &mut Room, me: &Member, member_id: &str, out: &mut Outcome) -> Result<(), DomainError> {
    if target(room, me, member_id)?.banned {
        // Kicking would delete the record that keeps the ban in force.
        return Err(DomainError::MemberNotFound);
    }
    room.members.make_mut().remove(member_id);
    out.changes.push(Change::MemberRemoved { member_id: member_id.to_string(), reason: Departure::Kicked });
    Ok(())
}

/// A ban keeps the member record (so the device cannot rejoin) and takes back
/// everything the member put into the queue: entries, votes, skip votes.
fn ban(room: &mut Room, me: &Member, member_id: &str, out: &mut Outcome) -> Result<(), DomainError> {
    if target(room, me, member_id)?.banned {
        return Ok(());
    }
    for entry in room.queue.iter().filter(|e| e.added_by == member_id) {
        out.changes.push(Change::EntryRemoved { entry_id: entry.id.clone(), reason: RemovalReason::Banned });
    }
    room.queue.retain(|e| e.added_by != member_id);
    requests::drop_requests_of(room, member_id, out);
    for entry in room.queue.iter_mut() {
        if entry.votes.remove(member_id).is_some() {
            out.changes.push(Change::EntryUpdated { entry_id: entry.id.clone() });
        }
    }
    if let Some(np) = room.now_playing.as_mut()
        && np.skip_votes.remove(member_id)
    {
        out.changes.push(Change::NowPlaying);
    }
    if let Some(m) = room.members.make_mut().get_mut(member_id) {
        m.banned = true;
        m.role = Role::Guest;
    }
    out.changes.push(Change::MemberRemoved { member_id: member_id.to_string(), reason: Departure::Banned });
    Ok(())
}

fn set_role(room: &mut Room, me: &Member, member_id: &str, role: Role, out: &mut Outcome) -> Result<(), DomainError> {
    if me.role != Role::Host || role == Role::Host {
        return Err(DomainError::Forbidden);
    }
    if target(room, me, member_id)?.banned {
        return Err(DomainError::MemberNotFound);
    }
    if let Some(m) = room.members.make_mut().get_mut(member_id)
        && m.role != role
    {
        m.role = role;
        out.changes.push(Change::MemberUpdated { member_id: member_id.to_string() });
    }
    Ok(())
}

fn update_rules(room: &mut Room, rules: Rules, out: &mut Outcome) -> Result<(), DomainError> {
    rules.validate()?;
    if room.rules != rules {
        room.rules = rules;
        out.changes.push(Change::RulesUpdated);
    }
    Ok(())
}

/// A member is linked to one account for good: linking it again to the
/// same account changes nothing, to another one is refused.
fn link_account(
    room: &mut Room,
    member_id: &str,
    user_id: String,
    username: String,
    out: &mut Outcome,
) -> Result<(), DomainError> {
    let member = room.members.make_mut().get_mut(member_id).ok_or(DomainError::NotAMember)?;
    match &member.user_id {
        Some(linked) if *linked == user_id => Ok(()),
        Some(_) => Err(DomainError::AlreadyLinked),
        None => {
            (member.user_id, member.username) = (Some(user_id), Some(username));
            out.changes.push(Change::MemberUpdated { member_id: member_id.to_string() });
            Ok(())
        }
    }
}

fn set_listing(room: &mut Room, listing: Listing, out: &mut Outcome) -> Result<(), DomainError> {
    listing.validate()?;
    if room.listing != listing {
        room.listing = listing;
        out.changes.push(Change::ListingUpdated);
    }
    Ok(())
}

fn set_fallback(room: &mut Room, tracks: Vec<Track>, out: &mut Outcome) -> Result<(), DomainError> {
    if tracks.len() > MAX_FALLBACK {
        return Err(DomainError::FallbackTooLong(MAX_FALLBACK));
    }
    room.fallback = super::Shared::new(tracks);
    room.fallback_cursor = 0;
    out.changes.push(Change::FallbackUpdated);
    Ok(())
}

/// Ends the current track (if any) and starts the next one.
fn advance(room: &mut Room, now: Millis, end: PlayEnd, out: &mut Outcome) {
    if let Some(np) = room.now_playing.take() {
        let play = Play {
            entry_id: np.entry_id,
            track_id: np.track.id,
            title: np.track.title,
            artists: np.track.artists,
            genres: np.track.genres,
            added_by: np.added_by,
            started_at: np.started_at,
            ended_at: now,
            end,
            votes_up: np.votes_up,
            votes_down: np.votes_down,
        };
        room.recent_plays.push(play.clone());
        let excess = room.recent_plays.len().saturating_sub(RECENT_PLAYS);
        room.recent_plays.drain(..excess);
        out.plays.push(play);
    }
    out.changes.push(Change::NowPlaying);
    start_next(room, now, out);
}

/// Starts a track when nothing is playing: the head of the queue, or else the
/// next fallback track.
fn start_if_idle(room: &mut Room, now: Millis, out: &mut Outcome) {
    if room.now_playing.is_none() && start_next(room, now, out) {
        out.changes.push(Change::NowPlaying);
    }
}

fn start_next(room: &mut Room, now: Millis, out: &mut Outcome) -> bool {
    let next = queue::play_order(room).first().map(|e| e.id.clone());
    let (entry_id, track, added_by, (votes_up, votes_down)) = if let Some(id) = next {
        let pos = room.queue.iter().position(|e| e.id == id).unwrap_or_default();
        let entry = room.queue.remove(pos);
        out.changes.push(Change::EntryRemoved { entry_id: id.clone(), reason: RemovalReason::Played });
        let votes = entry.votes_up_down();
        (id, entry.track, Some(entry.added_by), votes)
    } else if !room.fallback.is_empty() {
        let track = room.fallback[room.fallback_cursor % room.fallback.len()].clone();
        room.fallback_cursor = (room.fallback_cursor + 1) % room.fallback.len();
        let seq = room.next_seq;
        room.next_seq += 1;
        (format!("fallback-{seq}"), track, None, (0, 0))
    } else {
        return false;
    };
    room.now_playing = Some(NowPlaying {
        entry_id,
        track,
        added_by,
        started_at: now,
        paused_position: None,
        skip_votes: BTreeSet::new(),
        reason: None,
        votes_up,
        votes_down,
    });
    true
}
