// The room as this device knows it: built from a snapshot, then changed by
// `room:changed` (protocol.md §4.3), presence and photo events. Everything
// here is plain data and plain functions; the socket decides when to call them.

import { clockOffset } from './clock';
import type {
  AddAck,
  Change,
  DayPartNow,
  EntryView,
  LikeAck,
  MemberView,
  NowPlayingView,
  PhotoView,
  Play,
  Presence,
  RequestAck,
  RequestView,
  RoomChanged,
  RoomInfo,
  Snapshot,
  ScreenView,
  Vote,
} from './types';

export interface RoomState {
  version: number;
  /** Server clock minus local clock (ms). */
  offset: number;
  room: RoomInfo;
  me: MemberView | ScreenView;
  /** Waiting entries in play order, each with my vote. */
  queue: EntryView[];
  nowPlaying: NowPlayingView | null;
  /** Votes needed to skip, from the latest `skip_votes` change of this track. */
  skipNeeded: number | null;
  /** The now-playing entry I voted to skip (kept locally; votes reset per track). */
  mySkipVoteFor: string | null;
  members: MemberView[];
  /** Distinct members connected, from presence; null until known. */
  onlineCount: number | null;
  recentPlays: Play[];
  photos: PhotoView[];
  photosNext: string | null;
  /** Screens watching the room (the big screen): never among the people. */
  screens: ScreenView[];
  /** Guests' requests waiting for the staff, oldest first (zones with approval). */
  requests: RequestView[];
  /** A zone's day part in force; null in a party room or a zone without a schedule. */
  dayPart: DayPartNow | null;
}

export function fromSnapshot(s: Snapshot, previous: RoomState | null): RoomState {
  const sameTrack = previous?.nowPlaying && s.now_playing && previous.nowPlaying.entry_id === s.now_playing.entry_id;
  return {
    version: s.version,
    offset: clockOffset(s.server_time),
    room: s.room,
    me: s.me,
    queue: s.queue.map((e) => ({ ...e, my_vote: e.my_vote ?? 0 })),
    nowPlaying: s.now_playing,
    skipNeeded: sameTrack ? previous.skipNeeded : null,
    mySkipVoteFor: sameTrack ? previous.mySkipVoteFor : null,
    members: mergeMembers(s, previous),
    onlineCount: s.online_count,
    recentPlays: s.recent_plays,
    // No photos in the snapshot means "could not read them now": keep ours.
    photos: s.photos ?? previous?.photos ?? [],
    photosNext: s.photos ? (s.photos_next ?? null) : (previous?.photosNext ?? null),
    screens: s.screens ?? [],
    requests: s.requests ?? [],
    dayPart: s.day_part ?? null,
  };
}

/**
 * The snapshot lists only the first 50 members (protocol.md §1.6
 * Snapshot). Members paged in with "Show everyone" are kept after them,
 * so a resync does not fold the list back; the caller pages them again
 * (`pagedBeyondSnapshot`) to drop those removed meanwhile and refresh
 * their presence.
 */
function mergeMembers(s: Snapshot, previous: RoomState | null): MemberView[] {
  const members = [...s.members];
  if (!previous || s.members.length >= s.room.member_count) return members;
  const known = new Set(members.map((m) => m.id));
  for (const m of previous.members) {
    if (members.length >= s.room.member_count) break;
    if (!known.has(m.id)) members.push(m);
  }
  return members;
}

/** How many members we list beyond the snapshot's page (to page in again). */
export function pagedBeyondSnapshot(state: RoomState, snapshotMembers: number): number {
  return Math.max(0, state.members.length - snapshotMembers);
}

/**
 * Whether the room's speaker can play the track (protocol.md §5.1
 * `only_playable`): a browser speaker plays tracks with audio on the
 * server, a Spotify device its own tracks, and with neither (a DJ plays)
 * anything goes. Queue entries carry no `provider_uri`: they count as
 * playable on a device.
 */
export function playableHere(track: { audio?: string; provider_uri?: string }, state: RoomState, known = true): boolean {
  if (state.room.speaker) return Boolean(track.audio);
  const device = state.room.playback;
  if (device && known) return Boolean(track.provider_uri?.startsWith(`${device.provider}:track:`));
  return true;
}

export function isStaff(state: RoomState): boolean {
  return state.me.role === 'host' || state.me.role === 'cohost';
}

/** Whether I may kick or ban this member (protocol.md §4.4 member:kick). */
export function canModerate(state: RoomState, target: MemberView): boolean {
  if (target.id === state.me.id || target.role === 'host') return false;
  if (state.me.role === 'host') return true;
  return state.me.role === 'cohost' && target.role === 'guest';
}

export function votedToSkip(state: RoomState): boolean {
  return state.nowPlaying !== null && state.mySkipVoteFor === state.nowPlaying.entry_id;
}

export function onlineCount(state: RoomState): number {
  return state.onlineCount ?? state.members.filter((m) => m.online).length;
}

/** Votes needed to skip: from the server when it told us, else computed (§5.5). */
export function skipVotesNeeded(state: RoomState): number | null {
  const t = state.room.rules.skip_threshold;
  if (t === null) return null;
  // The server's own rounding (a hair under, so 2/3 of 3 is 2).
  return state.skipNeeded ?? Math.max(1, Math.ceil(t * onlineCount(state) - 1e-9));
}

/**
 * Applies one `room:changed` whose version is exactly ours + 1 to a copy of
 * the state and returns it; `null` when the message cannot be applied
 * faithfully (an unknown id in `order`). The caller swaps the copy in only
 * on success and resyncs otherwise (also if this throws), so a bad message
 * never leaves a half-applied state behind a new version number.
 */
export function applyChanged(state: RoomState, msg: RoomChanged): RoomState | null {
  const next: RoomState = { ...state, room: { ...state.room }, queue: [...state.queue], members: [...state.members], requests: [...state.requests] };
  // My request approved for a track already queued comes as an
  // `entry_updated` (my up-vote added), which does not say whose vote.
  const approvedMine = new Set<string>();
  for (const c of msg.changes) {
    if (c.type !== 'request_approved' || c.member_id !== state.me.id) continue;
    const request = state.requests.find((r) => r.id === c.request_id);
    if (request) approvedMine.add(request.track.id);
  }
  for (const change of msg.changes) applyChange(next, change);
  if (approvedMine.size) next.queue = next.queue.map((e) => (approvedMine.has(e.track.id) ? { ...e, my_vote: 1 } : e));
  if (msg.order && !reorder(next, msg.order)) return null;
  next.version = msg.version;
  next.offset = clockOffset(msg.server_time);
  return next;
}

function applyChange(state: RoomState, c: Change): void {
  switch (c.type) {
    case 'member_joined':
      if (!state.members.some((m) => m.id === c.member.id)) {
        state.members.push(c.member);
        state.room.member_count += 1;
      }
      break;
    case 'member_updated':
      state.members = state.members.map((m) => (m.id === c.member.id ? c.member : m));
      if (c.member.id === state.me.id) state.me = { ...c.member, online: true };
      break;
    case 'member_removed':
      // Also for a member beyond the page we hold: the room has one fewer
      // (member_count counts every non-banned member, protocol.md §1.6).
      state.room.member_count = Math.max(0, state.room.member_count - 1);
      state.members = state.members.filter((m) => m.id !== c.member_id);
      break;
    case 'entry_added': {
      const mine: Vote = c.entry.added_by === state.me.id ? 1 : 0;
      state.queue = state.queue.filter((e) => e.id !== c.entry.id);
      state.queue.push({ ...c.entry, my_vote: mine });
      break;
    }
    case 'entry_updated':
      state.queue = state.queue.map((e) => (e.id === c.entry.id ? { ...c.entry, my_vote: e.my_vote ?? 0 } : e));
      break;
    case 'entry_removed':
      state.queue = state.queue.filter((e) => e.id !== c.entry_id);
      break;
    case 'now_playing':
      if (c.now_playing?.entry_id !== state.nowPlaying?.entry_id) {
        state.skipNeeded = null;
        state.mySkipVoteFor = null;
      }
      state.nowPlaying = c.now_playing;
      break;
    case 'skip_votes':
      if (state.nowPlaying) state.nowPlaying = { ...state.nowPlaying, skip_votes: c.count };
      state.skipNeeded = c.needed;
      break;
    case 'rules_updated':
      state.room = { ...state.room, rules: c.rules };
      break;
    case 'listing_updated':
      state.room = { ...state.room, listing: c.listing };
      break;
    case 'fallback_updated':
      state.room = { ...state.room, fallback_count: c.count };
      break;
    case 'speaker_updated':
      state.room = { ...state.room, speaker: c.speaker };
      break;
    case 'screen_added':
      state.screens = [...state.screens.filter((s) => s.id !== c.screen.id), c.screen];
      break;
    case 'screen_removed':
      state.screens = state.screens.filter((s) => s.id !== c.screen_id);
      break;
    case 'playback_updated':
      state.room = { ...state.room, playback: c.playback };
      break;
    case 'schedule_updated':
    case 'day_part_changed':
      state.dayPart = c.day_part;
      break;
    case 'request_added':
      state.requests = [...state.requests.filter((r) => r.id !== c.request.id), c.request];
      break;
    case 'request_approved':
    case 'request_declined':
    case 'request_withdrawn':
      state.requests = state.requests.filter((r) => r.id !== c.request_id);
      break;
  }
}

/** News for me in a `room:changed`, read against the state before it. */
export interface News {
  text: string;
  kind: 'info' | 'success';
}

/**
 * What to tell a guest about their own requests: the staff approved one
 * (the change has no title: it is the request's, or the entry's that
 * follows) or declined one.
 */
export function requestNews(state: RoomState, msg: RoomChanged): News[] {
  const news: News[] = [];
  for (const c of msg.changes) {
    if (c.type === 'request_declined' && c.member_id === state.me.id) {
      news.push({ text: `The staff declined “${c.title}”.`, kind: 'info' });
    } else if (c.type === 'request_approved' && c.member_id === state.me.id) {
      const request = state.requests.find((r) => r.id === c.request_id);
      const entry = msg.changes.find((e) => e.type === 'entry_added' && e.entry.id === c.request_id);
      const title = request?.track.title ?? (entry?.type === 'entry_added' ? entry.entry.track.title : null);
      news.push({ text: title ? `“${title}” was approved: it is in the queue.` : 'The staff approved your request: it is in the queue.', kind: 'success' });
    }
  }
  return news;
}

export function isRequestAck(ack: AddAck): ack is RequestAck {
  return (ack as RequestAck).pending === true;
}

/**
 * My request as its ack tells it, until its `request_added` arrives; not
 * when the state is already past the ack (it may be answered by then).
 */
export function applyRequestAck(state: RoomState, ack: RequestAck): void {
  if (state.version >= ack.version || state.requests.some((r) => r.id === ack.request.id)) return;
  state.requests = [...state.requests, ack.request];
}

/** My requests still waiting, oldest first. */
export function myRequests(state: RoomState): RequestView[] {
  return state.requests.filter((r) => r.requested_by === state.me.id);
}

/** Whether guests' requests wait for the staff right now (the zone's day part says so). */
export function approvalOn(state: RoomState): boolean {
  return state.dayPart?.limits.approval === true;
}

function reorder(state: RoomState, order: string[]): boolean {
  const byId = new Map(state.queue.map((e) => [e.id, e]));
  const queue: EntryView[] = [];
  for (const id of order) {
    const entry = byId.get(id);
    if (!entry) return false;
    queue.push(entry);
  }
  state.queue = queue;
  return true;
}

/** My vote as the server confirmed it in an EntryAck. */
export function applyEntryAck(state: RoomState, entry: EntryView | null): void {
  if (!entry) return;
  state.queue = state.queue.map((e) => (e.id === entry.id ? { ...e, my_vote: entry.my_vote ?? e.my_vote } : e));
}

export function applyPresence(state: RoomState, p: Presence): void {
  state.onlineCount = p.online_count;
  const online = new Map(p.changes.map((c) => [c.member_id, c.online]));
  state.members = state.members.map((m) => {
    const now = online.get(m.id);
    return now === undefined ? m : { ...m, online: now };
  });
  state.screens = state.screens.map((s) => {
    const now = online.get(s.id);
    return now === undefined ? s : { ...s, online: now };
  });
}

/** Members paged in with `room:members`, appended without duplicates. */
export function addMembers(state: RoomState, members: MemberView[]): void {
  const known = new Set(state.members.map((m) => m.id));
  for (const m of members) if (!known.has(m.id)) state.members.push(m);
}

/** The member list paged in again from the start (drops those removed meanwhile). */
export function setMembers(state: RoomState, members: MemberView[]): void {
  state.members = members;
}

// ---- photo wall (not versioned: applied as they come) ----

export function addPhoto(state: RoomState, photo: PhotoView): void {
  if (state.photos.some((p) => p.id === photo.id)) return;
  const liked = photo.liked ?? photo.liked_by.some((l) => l.member_id === state.me.id);
  state.photos = [{ ...photo, liked }, ...state.photos];
}

export function addOlderPhotos(state: RoomState, photos: PhotoView[], next: string | null): void {
  const known = new Set(state.photos.map((p) => p.id));
  state.photos = [...state.photos, ...photos.filter((p) => !known.has(p.id))];
  state.photosNext = next;
}

export function setPhotoLikes(state: RoomState, likes: Omit<LikeAck, 'liked'> & { liked?: boolean }): void {
  state.photos = state.photos.map((p) => {
    if (p.id !== likes.photo_id) return p;
    // Broadcasts do not say whether *I* like it: keep what we know unless
    // the likers list or an ack tells us.
    // `liked_by` holds only the latest 50 likers: it is complete when it
    // has as many names as there are likes.
    const inList = likes.liked_by.some((l) => l.member_id === state.me.id);
    const complete = likes.liked_by.length >= likes.likes;
    const liked = likes.liked ?? (inList || (complete ? false : p.liked));
    return { ...p, likes: likes.likes, liked_by: likes.liked_by, liked };
  });
}

export function removePhoto(state: RoomState, photoId: string): void {
  state.photos = state.photos.filter((p) => p.id !== photoId);
}

export function hidePhotosOf(state: RoomState, memberId: string): void {
  state.photos = state.photos.filter((p) => p.member_id !== memberId);
}
