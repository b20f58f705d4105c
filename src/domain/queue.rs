//! The play order of the queue: pinned entries first, then either score order
//! or, in fair mode, round-robin between contributors.

use std::collections::BTreeMap;

use super::Room;
use super::room::Entry;

/// The waiting entries in the order they will play.
pub fn play_order(room: &Room) -> Vec<&Entry> {
    let (mut pinned, rest): (Vec<&Entry>, Vec<&Entry>) = room.queue.iter().partition(|e| e.pinned_at.is_some());
    pinned.sort_by_key(|e| (e.pinned_at, e.seq));
    let ordered = if room.rules.fair_mode { round_robin(rest) } else { by_score(rest) };
    pinned.extend(ordered);
    pinned
}

/// Score descending, ties by time added (the room's sequence number).
fn by_score(mut entries: Vec<&Entry>) -> Vec<&Entry> {
    entries.sort_by_key(|e| (std::cmp::Reverse(e.score()), e.seq));
    entries
}

/// Each contributor's tracks are ordered by score; then round one takes every
/// contributor's best track, round two their second best, and so on.
/// Within a round, whoever has been waiting longest (oldest entry) goes first.
fn round_robin(entries: Vec<&Entry>) -> Vec<&Entry> {
    let mut by_member: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        by_member.entry(entry.added_by.as_str()).or_default().push(entry);
    }
    let mut lanes: Vec<(u64, Vec<&Entry>)> = by_member
        .into_values()
        .map(|lane| {
            let oldest = lane.iter().map(|e| e.seq).min().unwrap_or(u64::MAX);
            (oldest, by_score(lane))
        })
        .collect();
    lanes.sort_by_key(|(oldest, _)| *oldest);
    let rounds = lanes.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    (0..rounds).flat_map(|round| lanes.iter().filter_map(move |(_, lane)| lane.get(round).copied())).collect()
}

/// Entry ids in play order.
pub fn order_ids(room: &Room) -> Vec<String> {
    play_order(room).into_iter().map(|e| e.id.clone()).collect()
}
