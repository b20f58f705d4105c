//! Guests' requests in a zone whose day part wants staff approval: a
//! request waits beside the queue until a co-host approves it (it joins
//! the queue as the guest's own entry) or declines it (the guest is told;
//! the venue counts the decline and may block the track, see
//! `Venue::note_decline`). Also the per-guest hourly request limit.

use serde::{Deserialize, Serialize};

use super::command::{Change, Outcome};
use super::room::{Entry, Member, Room};
use super::schedule::Limits;
use super::{DomainError, Millis, Track};

/// Most requests waiting in one room: staff answer them, a flood of them
/// is a troll.
pub const MAX_PENDING: usize = 100;
const HOUR_MS: Millis = 3_600_000;

/// A guest's request waiting for the staff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: String,
    pub track: Track,
    pub requested_by: String,
    /// The guest's name when they asked, shown even after they left.
    pub requested_by_name: String,
    pub requested_at: Millis,
}

/// Counts this request against the guest's hourly limit, or refuses it.
pub fn count_request(me: &mut Member, limits: &Limits, now: Millis) -> Result<(), DomainError> {
    me.requested_at.retain(|at| at + HOUR_MS > now);
    if let Some(max) = limits.requests_per_hour
        && me.requested_at.len() >= usize::from(max)
    {
        let oldest = me.requested_at[me.requested_at.len() - usize::from(max)];
        let minutes = (oldest + HOUR_MS - now).div_ceil(60_000);
        return Err(DomainError::RequestLimitReached(max, minutes));
    }
    me.requested_at.push(now);
    Ok(())
}

/// Holds a guest's track for the staff instead of queueing it.
pub fn hold(
    room: &mut Room,
    me: &Member,
    id: String,
    track: Track,
    now: Millis,
    out: &mut Outcome,
) -> Result<(), DomainError> {
    if room.requests.iter().any(|r| r.track.id == track.id) {
        return Err(DomainError::AlreadyRequested);
    }
    if room.requests.len() >= MAX_PENDING {
        return Err(DomainError::TooManyPending(MAX_PENDING));
    }
    room.requests.push(Request {
        id: id.clone(),
        track,
        requested_by: me.id.clone(),
        requested_by_name: me.name.clone(),
        requested_at: now,
    });
    out.changes.push(Change::RequestAdded { request_id: id });
    Ok(())
}

/// Staff approve: the request becomes the guest's entry in the queue (an
/// up-vote from them if the track was queued meanwhile). The room's rules
/// are checked again: a track banned since cannot be approved.
pub fn approve(room: &mut Room, request_id: &str, now: Millis, out: &mut Outcome) -> Result<(), DomainError> {
    let request = take(room, request_id)?;
    out.changes.push(Change::RequestApproved { request: request.clone() });
    if let Some(entry) = room.queue.iter_mut().find(|e| e.track.id == request.track.id) {
        entry.votes.insert(request.requested_by.clone(), 1);
        out.changes.push(Change::EntryUpdated { entry_id: entry.id.clone() });
        return Ok(());
    }
    if room.now_playing.as_ref().is_some_and(|np| np.track.id == request.track.id) {
        return Err(DomainError::AlreadyPlaying);
    }
    super::command::check_track_allowed(room, &request.track, now)?;
    if room.queue.len() >= super::command::MAX_QUEUE {
        return Err(DomainError::QueueFull(super::command::MAX_QUEUE));
    }
    let seq = room.next_seq;
    room.next_seq += 1;
    room.queue.push(Entry {
        id: request.id.clone(),
        votes: [(request.requested_by.clone(), 1)].into(),
        track: request.track,
        added_by: request.requested_by,
        added_by_name: request.requested_by_name,
        added_at: now,
        seq,
        pinned_at: None,
    });
    out.changes.push(Change::EntryAdded { entry_id: request.id });
    Ok(())
}

/// Staff decline: the request goes; the change names the guest.
pub fn decline(room: &mut Room, request_id: &str, out: &mut Outcome) -> Result<(), DomainError> {
    let request = take(room, request_id)?;
    out.changes.push(Change::RequestDeclined { request });
    Ok(())
}

/// The guest takes back their own request (staff may too).
pub fn withdraw(room: &mut Room, me: &Member, request_id: &str, out: &mut Outcome) -> Result<(), DomainError> {
    let request = room.requests.iter().find(|r| r.id == request_id).ok_or(DomainError::RequestNotFound)?;
    if !me.is_staff() && request.requested_by != me.id {
        return Err(DomainError::Forbidden);
    }
    take(room, request_id)?;
    out.changes.push(Change::RequestWithdrawn { request_id: request_id.to_string() });
    Ok(())
}

/// A banned guest's requests go with their entries.
pub fn drop_requests_of(room: &mut Room, member_id: &str, out: &mut Outcome) {
    for request in room.requests.iter().filter(|r| r.requested_by == member_id) {
        out.changes.push(Change::RequestWithdrawn { request_id: request.id.clone() });
    }
    room.requests.retain(|r| r.requested_by != member_id);
}

fn take(room: &mut Room, request_id: &str) -> Result<Request, DomainError> {
    let at = room.requests.iter().position(|r| r.id == request_id).ok_or(DomainError::RequestNotFound)?;
    Ok(room.requests.remove(at))
}
