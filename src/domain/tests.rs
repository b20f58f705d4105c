//! Unit tests of the party rules, driving `apply` on plain rooms.

use super::command::{Outcome, RemovalReason, skip_votes_needed};
use super::*;

const T0: Millis = 1_700_000_000_000;

fn track(id: &str, secs: u64) -> Track {
    Track {
        id: id.into(),
        title: format!("Title {id}"),
        artists: vec![format!("Artist {id}")],
        album: "Album".into(),
        genres: vec!["pop".into()],
        year: 2000,
        duration_ms: secs * 1000,
        explicit: false,
        popularity: 50,
        ..Track::default()
    }
}

fn member(id: &str, role: Role) -> Member {
    Member::new(id.into(), id.to_uppercase(), role, T0)
}

/// A room with host `h`, guests `a`, `b`, `c`, and something playing.
fn room_with(rules: Rules) -> Room {
    let mut room = Room::new("r1".into(), "ABCDEF".into(), "Party".into(), member("h", Role::Host), rules, T0);
    for g in ["a", "b", "c"] {
        room.members.make_mut().insert(g.into(), member(g, Role::Guest));
    }
    room.fallback = super::Shared::new(vec![track("fb", 200)]);
    do_ok(&mut room, "h", Command::SetFallback { tracks: vec![track("fb", 200)] });
    room
}

fn room() -> Room {
    room_with(Rules::default())
}

fn run(room: &mut Room, who: &str, cmd: Command) -> Result<Outcome, DomainError> {
    apply(room, &Actor::Member(who.into()), cmd, T0 + 1_000)
}

fn do_ok(room: &mut Room, who: &str, cmd: Command) -> Outcome {
    run(room, who, cmd).expect("command accepted")
}

fn add(room: &mut Room, who: &str, id: &str) -> Result<Outcome, DomainError> {
    run(room, who, Command::Add { entry_id: format!("e-{id}"), track: track(id, 180) })
}

fn vote(room: &mut Room, who: &str, id: &str, value: i8) -> Result<Outcome, DomainError> {
    run(room, who, Command::Vote { entry_id: format!("e-{id}"), value })
}

fn order(room: &Room) -> Vec<String> {
    queue::order_ids(room)
}

fn score(room: &Room, id: &str) -> i64 {
    room.entry(&format!("e-{id}")).map(|e| e.score()).unwrap_or(i64::MIN)
}

/// Asserts a refusal and that the room did not change at all.
fn refused(room: &mut Room, who: &str, cmd: Command, expected: &str) {
    let before = room.clone();
    let err = run(room, who, cmd).expect_err("command refused");
    assert_eq!(err.code().as_str(), expected);
    assert_eq!(*room, before, "a refused command changed the room");
}

#[test]
fn the_fallback_starts_playing_when_the_queue_is_empty() {
    let room = room();
    assert_eq!(room.now_playing.as_ref().map(|np| np.track.id.as_str()), Some("fb"));
}

#[test]
fn adding_counts_as_the_adders_up_vote_and_bumps_the_version_once() {
    let mut room = room();
    let v = room.version;
    add(&mut room, "a", "t1").expect("added");
    assert_eq!(score(&room, "t1"), 1);
    assert_eq!(room.version, v + 1);
}

#[test]
fn adding_a_queued_track_again_is_an_up_vote_not_a_duplicate() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    let out = add(&mut room, "b", "t1").expect("up-voted");
    assert_eq!(room.queue.len(), 1);
    assert_eq!(score(&room, "t1"), 2);
    assert!(matches!(out.changes[0], Change::EntryUpdated { .. }));
    let v = room.version;
    add(&mut room, "b", "t1").expect("no-op");
    assert_eq!((score(&room, "t1"), room.version), (2, v), "a repeated up-vote changes nothing");
}

#[test]
fn one_vote_per_member_changeable_and_clearable() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    vote(&mut room, "b", "t1", 1).expect("vote");
    vote(&mut room, "b", "t1", 1).expect("same vote again");
    assert_eq!(score(&room, "t1"), 2);
    vote(&mut room, "b", "t1", -1).expect("changed");
    assert_eq!(score(&room, "t1"), 0);
    vote(&mut room, "b", "t1", 0).expect("cleared");
    assert_eq!(score(&room, "t1"), 1);
}

#[test]
fn votes_outside_minus_one_to_one_are_refused() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    refused(&mut room, "b", Command::Vote { entry_id: "e-t1".into(), value: 2 }, "invalid_vote");
    refused(&mut room, "b", Command::Vote { entry_id: "nope".into(), value: 1 }, "entry_not_found");
}

#[test]
fn order_is_score_descending_then_time_added() {
    let mut room = room();
    for id in ["t1", "t2", "t3"] {
        add(&mut room, "h", id).expect("added");
    }
    vote(&mut room, "a", "t3", 1).expect("vote");
    vote(&mut room, "a", "t1", -1).expect("vote");
    assert_eq!(order(&room), ["e-t3", "e-t2", "e-t1"]);
}

#[test]
fn pinned_entries_play_next_regardless_of_score() {
    let mut room = room();
    add(&mut room, "h", "t1").expect("added");
    add(&mut room, "h", "t2").expect("added");
    vote(&mut room, "a", "t1", 1).expect("vote");
    do_ok(&mut room, "h", Command::Pin { entry_id: "e-t2".into() });
    assert_eq!(order(&room), ["e-t2", "e-t1"]);
    refused(&mut room, "a", Command::Pin { entry_id: "e-t1".into() }, "forbidden");
    refused(&mut room, "a", Command::Unpin { entry_id: "e-t2".into() }, "forbidden");
    do_ok(&mut room, "h", Command::Unpin { entry_id: "e-t2".into() });
    assert_eq!(order(&room), ["e-t1", "e-t2"], "unpinned, it goes back to its place by score");
    let again = do_ok(&mut room, "h", Command::Unpin { entry_id: "e-t2".into() });
    assert!(again.changes.is_empty(), "unpinning an entry that is not pinned changes nothing");
}

#[test]
fn the_playing_track_cannot_be_queued_again() {
    let mut room = room();
    assert_eq!(room.now_playing.as_ref().map(|np| np.track.id.as_str()), Some("fb"));
    refused(&mut room, "a", Command::Add { entry_id: "e-fb".into(), track: track("fb", 200) }, "already_playing");
    refused(&mut room, "h", Command::Add { entry_id: "e-fb".into(), track: track("fb", 200) }, "already_playing");
}

#[test]
fn fair_mode_round_robins_between_contributors() {
    let mut room = room_with(Rules { fair_mode: true, ..Rules::default() });
    for id in ["a1", "a2", "a3"] {
        add(&mut room, "a", id).expect("added");
    }
    add(&mut room, "b", "b1").expect("added");
    add(&mut room, "c", "c1").expect("added");
    add(&mut room, "b", "b2").expect("added");
    vote(&mut room, "c", "a3", 1).expect("vote");
    // a's best (a3, score 2) then b's best then c's, then a's and b's second, then a's third.
    assert_eq!(order(&room), ["e-a3", "e-b1", "e-c1", "e-a1", "e-b2", "e-a2"]);
}

#[test]
fn up_only_rooms_refuse_down_votes() {
    let mut room = room_with(Rules { allow_downvotes: false, ..Rules::default() });
    add(&mut room, "a", "t1").expect("added");
    refused(&mut room, "b", Command::Vote { entry_id: "e-t1".into(), value: -1 }, "downvotes_disabled");
}

#[test]
fn guests_are_held_to_the_per_guest_queue_limit_but_the_host_is_not() {
    let mut room = room_with(Rules { max_queued_per_guest: Some(2), ..Rules::default() });
    add(&mut room, "a", "t1").expect("added");
    add(&mut room, "a", "t2").expect("added");
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("t3", 100) }, "queue_limit_reached");
    add(&mut room, "a", "t1").expect("up-voting an existing entry is not an addition");
    for id in ["h1", "h2", "h3"] {
        add(&mut room, "h", id).expect("host adds freely");
    }
}

#[test]
fn the_add_cooldown_holds_guests_back() {
    let mut room = room_with(Rules { add_cooldown_secs: Some(60), ..Rules::default() });
    add(&mut room, "a", "t1").expect("added");
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("t2", 100) }, "cooldown_active");
    let later = apply(
        &mut room,
        &Actor::Member("a".into()),
        Command::Add { entry_id: "e-t2".into(), track: track("t2", 100) },
        T0 + 62_000,
    );
    assert!(later.is_ok());
}

#[test]
fn track_filters_apply_to_everyone() {
    let rules = Rules {
        max_track_secs: Some(300),
        allow_explicit: false,
        banned_tracks: vec!["bad".into()],
        banned_artists: vec!["artist NOPE".into()],
        ..Rules::default()
    };
    let mut room = room_with(rules);
    refused(&mut room, "h", Command::Add { entry_id: "x".into(), track: track("long", 301) }, "track_too_long");
    let explicit = Track { explicit: true, ..track("x", 100) };
    refused(&mut room, "h", Command::Add { entry_id: "x".into(), track: explicit }, "explicit_not_allowed");
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("bad", 100) }, "track_banned");
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("nope", 100) }, "artist_banned");
}

#[test]
fn guests_may_vote_but_not_add_when_the_host_says_so() {
    let mut room = room_with(Rules { guests_can_add: false, ..Rules::default() });
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("t1", 100) }, "guest_adds_disabled");
    add(&mut room, "h", "t1").expect("host adds");
    vote(&mut room, "a", "t1", 1).expect("guest votes");
}

#[test]
fn a_recently_played_track_cannot_be_queued_again() {
    let mut room = room_with(Rules { no_replay_hours: Some(2), ..Rules::default() });
    do_ok(&mut room, "h", Command::Skip); // fallback playing → nothing left but fallback again
    add(&mut room, "a", "t1").expect("added");
    do_ok(&mut room, "h", Command::Skip); // t1 starts
    refused(&mut room, "b", Command::Add { entry_id: "x".into(), track: track("t1", 180) }, "already_playing");
    do_ok(&mut room, "h", Command::Skip); // t1 ends
    refused(&mut room, "b", Command::Add { entry_id: "x".into(), track: track("t1", 180) }, "recently_played");
    let three_hours_later = T0 + 3 * 3_600_000;
    let result = apply(
        &mut room,
        &Actor::Member("b".into()),
        Command::Add { entry_id: "y".into(), track: track("t1", 180) },
        three_hours_later,
    );
    assert!(result.is_ok());
}

#[test]
fn enough_down_votes_remove_an_entry() {
    let mut room = room_with(Rules { downvote_removal: Some(2), ..Rules::default() });
    add(&mut room, "a", "t1").expect("added"); // score 1
    vote(&mut room, "b", "t1", -1).expect("vote"); // 0
    vote(&mut room, "c", "t1", -1).expect("vote"); // -1
    assert!(room.entry("e-t1").is_some());
    let out = vote(&mut room, "h", "t1", -1).expect("vote"); // -2 → removed
    assert!(room.entry("e-t1").is_none());
    assert!(out.changes.contains(&Change::EntryRemoved { entry_id: "e-t1".into(), reason: RemovalReason::Downvoted }));
}

#[test]
fn vote_to_skip_needs_the_threshold_share_of_present_members() {
    assert_eq!(skip_votes_needed(0.5, 4), 2);
    assert_eq!(skip_votes_needed(0.5, 5), 3);
    assert_eq!(skip_votes_needed(0.3, 0), 1);
    assert_eq!(skip_votes_needed(0.55, 100), 55);
    let mut room = room_with(Rules { skip_threshold: Some(0.5), ..Rules::default() });
    add(&mut room, "a", "t1").expect("added");
    let playing = room.now_playing.clone().map(|np| np.entry_id);
    do_ok(&mut room, "a", Command::VoteSkip { present: 4 });
    do_ok(&mut room, "a", Command::VoteSkip { present: 4 });
    assert_eq!(room.now_playing.as_ref().map(|np| np.skip_votes.len()), Some(1), "one vote per member");
    do_ok(&mut room, "b", Command::VoteSkip { present: 4 });
    assert_ne!(room.now_playing.map(|np| np.entry_id), playing, "skipped after 2 of 4");
}

#[test]
fn vote_to_skip_is_refused_when_disabled() {
    let mut room = room();
    refused(&mut room, "a", Command::VoteSkip { present: 3 }, "skip_voting_disabled");
}

#[test]
fn guests_attempting_host_actions_are_forbidden_and_nothing_changes() {
    let mut room = room();
    add(&mut room, "b", "t1").expect("added");
    let host_actions = [
        Command::Skip,
        Command::Pause,
        Command::Resume,
        Command::Pin { entry_id: "e-t1".into() },
        Command::Kick { member_id: "b".into() },
        Command::Ban { member_id: "b".into() },
        Command::SetRole { member_id: "b".into(), role: Role::Cohost },
        Command::UpdateRules { rules: Rules::default() },
        Command::SetFallback { tracks: vec![] },
        Command::Remove { entry_id: "e-t1".into() },
        Command::TrackEnded { entry_id: "x".into() },
    ];
    for cmd in host_actions {
        refused(&mut room, "a", cmd, "forbidden");
    }
}

#[test]
fn a_contributor_may_remove_their_own_entry() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    do_ok(&mut room, "a", Command::Remove { entry_id: "e-t1".into() });
    assert!(room.queue.is_empty());
}

#[test]
fn cohosts_get_host_powers_but_cannot_touch_the_host_or_promote() {
    let mut room = room();
    do_ok(&mut room, "h", Command::SetRole { member_id: "a".into(), role: Role::Cohost });
    do_ok(&mut room, "a", Command::Pause);
    do_ok(&mut room, "a", Command::Kick { member_id: "c".into() });
    refused(&mut room, "a", Command::Kick { member_id: "h".into() }, "target_is_host");
    refused(&mut room, "a", Command::SetRole { member_id: "b".into(), role: Role::Cohost }, "forbidden");
}

#[test]
fn a_banned_member_loses_their_entries_votes_and_voice() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    add(&mut room, "b", "t2").expect("added");
    vote(&mut room, "a", "t2", 1).expect("vote");
    do_ok(&mut room, "h", Command::Ban { member_id: "a".into() });
    assert!(room.entry("e-t1").is_none());
    assert_eq!(score(&room, "t2"), 1);
    assert!(room.member("a").is_some_and(|m| m.banned));
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("t9", 100) }, "not_a_member");
    refused(&mut room, "h", Command::Kick { member_id: "a".into() }, "member_not_found");
}

#[test]
fn a_kicked_member_is_gone_but_their_entries_stay() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    do_ok(&mut room, "h", Command::Kick { member_id: "a".into() });
    assert!(room.member("a").is_none());
    assert!(room.entry("e-t1").is_some());
    refused(&mut room, "a", Command::Vote { entry_id: "e-t1".into(), value: 1 }, "not_a_member");
}

#[test]
fn pause_freezes_the_position_and_resume_continues_from_it() {
    let mut room = room();
    let start = room.now_playing.as_ref().map(|np| np.started_at).unwrap_or_default();
    apply(&mut room, &Actor::Member("h".into()), Command::Pause, start + 30_000).expect("paused");
    let np = room.now_playing.clone().expect("playing");
    assert_eq!((np.position_at(start + 99_000), np.ends_at()), (30_000, None));
    apply(&mut room, &Actor::Member("h".into()), Command::Resume, start + 100_000).expect("resumed");
    let np = room.now_playing.clone().expect("playing");
    assert_eq!(np.position_at(start + 110_000), 40_000);
    refused(&mut room, "h", Command::Resume, "not_paused");
}

#[test]
fn a_track_ends_exactly_once() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    add(&mut room, "a", "t2").expect("added");
    let np = room.now_playing.clone().expect("fallback playing");
    let end = np.ends_at().expect("playing");
    let ended = Command::TrackEnded { entry_id: np.entry_id.clone() };
    let early = apply(&mut room, &Actor::System, ended.clone(), end - 1).expect("no-op");
    assert!(early.changes.is_empty(), "not before the end");
    let first = apply(&mut room, &Actor::System, ended.clone(), end).expect("advanced");
    assert_eq!(first.plays.len(), 1);
    let v = room.version;
    let second = apply(&mut room, &Actor::System, ended, end + 5).expect("no-op");
    assert!(second.changes.is_empty() && room.version == v, "a second advance for the same entry does nothing");
    assert_eq!(room.now_playing.map(|np| np.track.id), Some("t1".into()));
}

#[test]
fn a_crossfade_moves_the_room_on_that_much_before_the_end_and_never_past_half_a_track() {
    let mut room = room_with(Rules { crossfade_secs: 6, ..Rules::default() });
    add(&mut room, "a", "t1").expect("added");
    add(&mut room, "a", "t2").expect("added");
    let np = room.now_playing.clone().expect("playing");
    let end = np.ends_at().expect("playing");
    assert_eq!(room.track_ends_at(), Some(end - 6_000));
    let ended = Command::TrackEnded { entry_id: np.entry_id.clone() };
    let early = apply(&mut room, &Actor::System, ended.clone(), end - 6_001).expect("no-op");
    assert!(early.changes.is_empty(), "not before the crossfade starts");
    let moved = apply(&mut room, &Actor::System, ended, end - 6_000).expect("advanced");
    assert_eq!(moved.plays.len(), 1);
    room.now_playing.as_mut().expect("next").track.duration_ms = 8_000;
    let np = room.now_playing.clone().expect("next");
    assert_eq!(room.track_ends_at(), Some(np.started_at + 4_000), "an 8 s track fades over 4 s at most");
    do_ok(&mut room, "h", Command::Pause);
    assert_eq!(room.track_ends_at(), None, "paused: no end");
}

#[test]
fn the_queue_is_capped() {
    let mut room = room();
    for i in 0..command::MAX_QUEUE {
        add(&mut room, "h", &format!("t{i}")).expect("added");
    }
    refused(&mut room, "h", Command::Add { entry_id: "x".into(), track: track("over", 100) }, "queue_full");
}

#[test]
fn a_vote_keeps_the_members_a_join_copies_them() {
    let mut room = room();
    add(&mut room, "a", "t1").expect("added");
    let before = room.members.clone();
    vote(&mut room, "b", "t1", 1).expect("voted");
    assert!(room.members.is_same(&before), "a vote leaves the member list alone");
    do_ok(&mut room, "d", Command::Join { member: member("d", Role::Guest) });
    assert!(!room.members.is_same(&before), "a join changes it");
    assert!(room.member("d").is_some() && before.get("d").is_none());
}

#[test]
fn every_field_of_a_room_is_serialized_even_when_unset() {
    // A store may write a room field by field, leaving out only the member
    // list: a field missing from the serialized form would keep its old value.
    let bare = Room::new("r".into(), "ABCDEF".into(), "P".into(), member("h", Role::Host), Rules::default(), T0);
    let mut full = room();
    add(&mut full, "a", "t1").expect("added");
    full.playback = Some(Playback {
        provider: "spotify".into(),
        user_id: "u".into(),
        device_id: "d".into(),
        device_name: "Bar".into(),
    });
    let keys = |room: &Room| match serde_json::to_value(room).expect("serializes") {
        serde_json::Value::Object(map) => map.keys().cloned().collect::<Vec<_>>(),
        other => panic!("a room serializes as an object, not {other}"),
    };
    assert_eq!(keys(&bare), keys(&full));
    assert!(keys(&bare).contains(&"playback".to_string()));
}

#[test]
fn staff_choose_one_speaker_and_a_removed_speaker_is_no_longer_one() {
    let mut room = room();
    refused(&mut room, "a", Command::SetSpeaker { member_id: Some("a".into()) }, "forbidden");
    refused(&mut room, "h", Command::SetSpeaker { member_id: Some("nobody".into()) }, "member_not_found");
    let playback = Playback {
        provider: "spotify".into(),
        user_id: "u".into(),
        device_id: "d".into(),
        device_name: "Kitchen".into(),
    };
    do_ok(&mut room, "h", Command::SetPlayback { playback: Some(playback.clone()) });
    let out = do_ok(&mut room, "h", Command::SetSpeaker { member_id: Some("b".into()) });
    assert_eq!(room.speaker.as_deref(), Some("b"));
    assert_eq!(room.playback, None, "one speaker per room: the browser replaces the device");
    assert_eq!(out.changes, vec![Change::PlaybackUpdated, Change::SpeakerUpdated]);
    let again = do_ok(&mut room, "h", Command::SetSpeaker { member_id: Some("b".into()) });
    assert!(again.changes.is_empty(), "the same speaker again changes nothing");
    do_ok(&mut room, "h", Command::Kick { member_id: "b".into() });
    assert_eq!(room.speaker, None, "a kicked speaker plays no more");
    do_ok(&mut room, "h", Command::SetSpeaker { member_id: Some("h".into()) });
    let out = do_ok(&mut room, "h", Command::SetPlayback { playback: Some(playback) });
    assert_eq!((room.speaker.as_deref(), out.changes.contains(&Change::SpeakerUpdated)), (None, true));
}

#[test]
fn only_playable_refuses_what_the_speaker_cannot_play() {
    let mut room = room_with(Rules { only_playable: true, ..Rules::default() });
    let with_audio = Track { audio: Some("audio/flac".into()), ..track("f", 180) };
    let on_spotify = Track { provider_uri: Some("spotify:track:abc".into()), ..track("s", 180) };
    let add_track =
        |room: &mut Room, t: &Track| run(room, "a", Command::Add { entry_id: format!("e-{}", t.id), track: t.clone() });
    assert!(add_track(&mut room, &track("d", 180)).is_ok(), "with nobody's device playing, anything goes");
    do_ok(&mut room, "h", Command::SetSpeaker { member_id: Some("h".into()) });
    assert_eq!(add_track(&mut room, &on_spotify).map(|_| ()), Err(DomainError::NotPlayable));
    assert!(add_track(&mut room, &with_audio).is_ok(), "a browser speaker plays files");
    let device =
        Playback { provider: "spotify".into(), user_id: "u".into(), device_id: "d".into(), device_name: "K".into() };
    do_ok(&mut room, "h", Command::SetPlayback { playback: Some(device) });
    let another = Track { id: "f2".into(), ..with_audio };
    assert_eq!(add_track(&mut room, &another).map(|_| ()), Err(DomainError::NotPlayable));
    assert!(add_track(&mut room, &on_spotify).is_ok(), "a Spotify device plays Spotify tracks");
}

/// A zone whose defaults hold guests' requests for the staff, two an hour,
/// with a day part Tuesdays 23:00–23:30 UTC (T0 is a Tuesday, 22:13 UTC).
fn zone() -> Room {
    let mut room = room();
    let schedule = schedule::Schedule {
        time_zone: "UTC".into(),
        defaults: schedule::Limits { approval: Some(true), requests_per_hour: Some(2), ..Default::default() },
        day_parts: vec![schedule::DayPart {
            name: "Late".into(),
            days: vec![2],
            starts: "23:00".into(),
            ends: "23:30".into(),
            limits: schedule::Limits::default(),
        }],
    };
    apply(&mut room, &Actor::System, Command::SetSchedule { schedule: Some(schedule) }, T0 + 1_000).expect("set");
    room
}

#[test]
fn requests_wait_for_the_staff_who_approve_or_decline_them() {
    let mut room = zone();
    let out = add(&mut room, "a", "t1").expect("held");
    assert!(matches!(&out.changes[..], [command::Change::RequestAdded { request_id }] if request_id == "e-t1"));
    assert_eq!(room.queue.len(), 0, "not queued yet");
    refused(&mut room, "b", Command::Add { entry_id: "x".into(), track: track("t1", 180) }, "already_requested");
    add(&mut room, "a", "t2").expect("second request");
    refused(&mut room, "a", Command::Add { entry_id: "x".into(), track: track("t3", 180) }, "request_limit_reached");
    // An hour later the guest may ask again.
    let later = apply(
        &mut room.clone(),
        &Actor::Member("a".into()),
        Command::Add { entry_id: "e-t3".into(), track: track("t3", 180) },
        T0 + 3_601_000,
    );
    assert!(later.is_ok(), "{later:?}");

    refused(&mut room, "b", Command::ApproveRequest { request_id: "e-t1".into() }, "forbidden");
    let out = do_ok(&mut room, "h", Command::ApproveRequest { request_id: "e-t1".into() });
    assert!(out.changes.contains(&command::Change::EntryAdded { entry_id: "e-t1".into() }));
    let entry = room.entry("e-t1").expect("queued");
    assert_eq!((entry.added_by.as_str(), entry.score()), ("a", 1), "the guest's own entry");
    refused(&mut room, "h", Command::ApproveRequest { request_id: "e-t1".into() }, "request_not_found");

    let out = do_ok(&mut room, "h", Command::DeclineRequest { request_id: "e-t2".into() });
    assert!(matches!(&out.changes[..], [command::Change::RequestDeclined { request }] if request.requested_by == "a"));
    assert!(room.requests.is_empty() && room.entry("e-t2").is_none());

    // Staff are not held to approval.
    add(&mut room, "h", "t5").expect("queued");
    assert!(room.entry("e-t5").is_some());

    add(&mut room, "b", "t4").expect("held");
    refused(&mut room, "a", Command::WithdrawRequest { request_id: "e-t4".into() }, "forbidden");
    do_ok(&mut room, "b", Command::WithdrawRequest { request_id: "e-t4".into() });
    add(&mut room, "b", "t6").expect("held");
    do_ok(&mut room, "h", Command::Ban { member_id: "b".into() });
    assert!(room.requests.is_empty(), "a banned guest's requests go");
}

#[test]
fn a_day_part_is_announced_once_at_its_start_and_its_end() {
    let mut room = zone();
    let on = room.day_part_on.clone().expect("followed when set");
    assert_eq!(on.name, None, "22:13: the defaults");
    let start = T0 - (T0 % 86_400_000) + 23 * 3_600_000;
    assert_eq!(on.next_change, Some(start));
    let system = |room: &mut Room, at: Millis| apply(room, &Actor::System, Command::FollowSchedule, at).expect("ok");
    assert!(system(&mut room, start - 1).changes.is_empty(), "not yet");
    let version = room.version;
    assert_eq!(system(&mut room, start).changes, vec![command::Change::DayPartChanged]);
    assert_eq!(room.version, version + 1);
    assert!(system(&mut room, start + 5).changes.is_empty(), "a second node finds it done");
    let on = room.day_part_on.clone().expect("on");
    assert_eq!((on.name.as_deref(), on.since, on.next_change), (Some("Late"), start, Some(start + 1_800_000)));
    // During "Late" guests' requests go straight into the queue.
    let out = apply(
        &mut room,
        &Actor::Member("a".into()),
        Command::Add { entry_id: "e-t1".into(), track: track("t1", 180) },
        start + 10,
    )
    .expect("queued");
    assert!(out.changes.contains(&command::Change::EntryAdded { entry_id: "e-t1".into() }));
    assert_eq!(system(&mut room, start + 1_800_000).changes, vec![command::Change::DayPartChanged]);
    assert_eq!(room.day_part_on.as_ref().and_then(|o| o.name.clone()), None, "the defaults again");
}

#[test]
fn a_guest_picks_a_few_genres_in_a_zone_only() {
    let mut party = room();
    let picks = |genres: &[&str]| Command::SetPicks { genres: genres.iter().map(|g| g.to_string()).collect() };
    assert_eq!(run(&mut party, "a", picks(&["disco"])).map(|_| ()), Err(DomainError::NotAZone));

    let mut zone = room();
    zone.venue_id = Some("v1".into());
    let before = zone.version;
    let out = do_ok(&mut zone, "a", picks(&[" Disco ", "jazz", "DISCO"]));
    assert_eq!(zone.member("a").map(|m| m.picks.clone()), Some(vec!["disco".to_string(), "jazz".to_string()]));
    assert!(matches!(out.changes.as_slice(), [Change::PicksUpdated { member_id }] if member_id == "a"));
    assert_eq!(zone.version, before + 1);
    assert!(do_ok(&mut zone, "a", picks(&["disco", "jazz"])).changes.is_empty(), "the same picks change nothing");

    for bad in [vec!["a", "b", "c", "d"], vec![""], vec!["x".repeat(41).leak() as &str], vec!["dis\u{7}co"]] {
        let version = zone.version;
        assert!(matches!(run(&mut zone, "a", picks(&bad)), Err(DomainError::InvalidPicks(_))), "{bad:?}");
        assert_eq!(zone.version, version, "refused: nothing changed");
    }
    do_ok(&mut zone, "a", picks(&[]));
    assert_eq!(zone.member("a").map(|m| m.picks.len()), Some(0), "cleared");
}
