// Error codes (protocol.md §2.2) turned into sentences for people. Codes
// whose server message carries the useful number (seconds, limits) keep it.

import type { ApiErrorBody } from './types';

const messages: Record<string, string> = {
  network: 'The server cannot be reached. Check your Wi-Fi and try again.',
  timeout: 'The server did not answer in time. Try again.',
  disconnected: 'Not connected right now. Wait for the connection to come back.',
  connection_lost: 'The connection dropped: we could not tell whether it went through. Check the room once it is back.',
  room_not_found: 'There is no room with this code. Check the code and try again.',
  banned: 'You were banned from this room.',
  unauthorized: 'You are no longer a member of this room.',
  not_a_member: 'You are no longer a member of this room.',
  forbidden: 'Only the host or a co-host may do this.',
  target_is_host: 'The host cannot be the target of this action.',
  unavailable: 'The server is busy right now. Try again in a moment.',
  internal: 'Something went wrong on the server. Try again.',
  invalid_payload: 'That was not accepted: check what you typed.',
  track_not_found: 'This track is no longer in the library.',
  entry_not_found: 'This track is no longer waiting in the queue.',
  member_not_found: 'This person is no longer in the room.',
  guest_adds_disabled: 'In this room guests may vote but not add tracks.',
  explicit_not_allowed: 'Explicit tracks are not allowed in this room.',
  track_banned: 'This track is banned in this room.',
  artist_banned: 'An artist of this track is banned in this room.',
  downvotes_disabled: 'This room allows up-votes only.',
  queue_full: 'The queue is full (500 tracks). Try again later.',
  skip_voting_disabled: 'Vote-to-skip is not enabled in this room.',
  nothing_playing: 'Nothing is playing.',
  already_playing: 'This track is playing now: it cannot be queued again until it has played.',
  screen_not_found: 'This screen is no longer in the room.',
  too_many_screens: 'This room has 10 screens already: the host can remove one under Host tools.',
  already_paused: 'Already paused.',
  not_paused: 'Not paused.',
  photo_not_found: 'This photo is no longer on the wall.',
  not_an_image: 'This file is not a photo: use a JPEG, PNG or WebP image.',
  image_too_large: 'This photo has too many pixels (at most 50 megapixels).',
  image_damaged: 'This photo is damaged or incomplete. Try another one.',
  payload_too_large: 'This is too large to send (photos: at most 15 MB).',
  not_playable: 'The room’s speaker cannot play this track (no audio for it here).',
  no_audio: 'This server has no audio for this track.',
  weak_password: 'Choose a longer password: at least 10 characters, not an easy one to guess.',
  username_taken: 'This username is taken. Try another one.',
  invalid_credentials: 'Wrong username or password.',
  already_linked: 'You are already in this room with another account.',
  provider_not_configured: 'This server is not set up for Spotify.',
  provider_not_linked: 'Link your Spotify account first (Music services).',
  provider_link_broken: 'Spotify no longer accepts the link to your account: link it again.',
  invalid_state: 'That link attempt expired or was already used. Start again with “Link Spotify”.',
  job_not_found: 'This import or export is no longer known. Start it again.',
  provider_unavailable: 'Spotify is not answering right now. Try again in a minute.',
  provider_bad_response: 'Spotify sent an answer we could not read. Try again later.',
  premium_required: 'Playing on a Spotify device needs Spotify Premium.',
  provider_not_found: 'Spotify could not find it (the device may be off, or the playlist gone).',
  not_venue_staff: 'You are not staff of this venue (any more).',
  target_is_owner: 'The owner’s role cannot be changed, and the owner cannot be removed.',
  too_many_zones: 'A venue has at most 20 zones: remove one first.',
  zone_not_found: 'This zone is no longer part of the venue.',
  already_staff: 'You are staff of this venue already.',
  venue_not_found: 'There is no venue here: it may have been deleted.',
  invitation_not_found: 'This invitation was used already, or it expired. Ask the owner for a new link.',
  not_in_catalogue: 'This venue plays its own catalogue, and this track is not in it.',
  already_requested: 'Someone asked for this track already: it is waiting for the staff’s approval.',
  request_not_found: 'This request is no longer waiting: it was answered or withdrawn.',
};

/** Codes whose server message is already the best sentence (it has numbers). */
const serverWording = new Set([
  'cooldown_active',
  'queue_limit_reached',
  'track_too_long',
  'recently_played',
  'invalid_rules',
  'outside_day_part',
  'request_limit_reached',
  'too_many_pending',
]);

/** Codes whose server message says what was wrong after a fixed prefix. */
const prefixed: Record<string, string> = {
  invalid_venue: 'invalid venue:',
  invalid_schedule: 'invalid schedule:',
};

export function describeError(error: ApiErrorBody, retryAfter: number | null = null): string {
  if (error.code === 'provider_rate_limited') {
    const wait = retryAfter ?? Number(/(\d+)\s*s/.exec(error.message)?.[1]);
    return Number.isFinite(wait) && wait > 0
      ? `Spotify asks us to slow down. Try again in ${wait} s.`
      : 'Spotify asks us to slow down. Try again in a minute.';
  }
  if (error.code === 'rate_limited') {
    const wait = retryAfter ?? Number(/(\d+)\s*s/.exec(error.message)?.[1]);
    return Number.isFinite(wait) && wait > 0
      ? `Too many attempts. Try again in ${wait} s.`
      : 'Too many attempts. Wait a moment and try again.';
  }
  if (serverWording.has(error.code)) return sentence(error.message);
  const prefix = prefixed[error.code];
  if (prefix) {
    const why = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    return sentence(why);
  }
  return messages[error.code] ?? sentence(error.message);
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return 'Something went wrong.';
  return t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}
