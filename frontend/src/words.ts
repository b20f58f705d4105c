// Counts and rules in plain words, so every number on screen agrees with
// its noun ("1 track", "2 tracks") and guests read the room's rules as
// sentences rather than settings.

import type { DayPartNow, Rules } from './types';

/** "1 track", "3 tracks"; irregular plurals passed in ("person", "people"). */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "45 s", "1 min", "1 min 30 s", "2 h". */
export function duration(secs: number): string {
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) {
    const m = Math.floor(secs / 60);
    const s = secs % 60;
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(secs / 3600);
  const m = Math.round((secs % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

export interface RuleLine {
  /** Which rule (for tests and styling). */
  rule: string;
  text: string;
}

/** The room's rules as guests meet them, one sentence each (protocol.md §5.1). */
export function ruleLines(r: Rules, fallbackCount: number): RuleLine[] {
  const lines: RuleLine[] = [];
  const add = (rule: string, text: string) => lines.push({ rule, text });
  add('guests_can_add', r.guests_can_add ? 'Everyone may add tracks.' : 'Guests vote on the queue; only the hosts add tracks.');
  add('allow_downvotes', r.allow_downvotes ? 'You can vote tracks up or down.' : 'Down-votes are off in this room: up-votes only.');
  if (r.max_queued_per_guest !== null) add('max_queued_per_guest', `Each guest may have at most ${count(r.max_queued_per_guest, 'track')} waiting.`);
  if (r.add_cooldown_secs) add('add_cooldown_secs', `Guests wait ${duration(r.add_cooldown_secs)} between adding two tracks.`);
  if (r.max_track_secs !== null) add('max_track_secs', `Tracks may last at most ${duration(r.max_track_secs)}.`);
  if (!r.allow_explicit) add('allow_explicit', 'No explicit tracks.');
  if (r.no_replay_hours !== null) add('no_replay_hours', `A track played in the last ${count(r.no_replay_hours, 'hour')} cannot be added again.`);
  if (r.fair_mode) add('fair_mode', 'Fair mode: the queue takes turns between the people who add tracks.');
  if (r.skip_threshold !== null) add('skip_threshold', `A track is skipped when ${skipShare(r.skip_threshold)} of the people here vote to skip it.`);
  if (r.downvote_removal !== null) add('downvote_removal', `A track is removed when its score reaches −${r.downvote_removal}.`);
  if (r.banned_artists.length > 0) add('banned_artists', `Banned artists: ${r.banned_artists.join(', ')}.`);
  if (r.banned_tracks.length > 0) add('banned_tracks', `${count(r.banned_tracks.length, 'track is', 'tracks are')} banned.`);
  if (r.only_playable) add('only_playable', 'Only tracks the room’s speaker can play are accepted.');
  if (r.crossfade_secs > 0) add('crossfade_secs', `Tracks fade into each other over ${duration(r.crossfade_secs)}.`);
  if (fallbackCount > 0) add('fallback', `When the queue runs dry, the house playlist plays (${count(fallbackCount, 'track')}).`);
  else if (r.autofill) add('autofill', 'When the queue runs dry, more like what the room voted up plays.');
  return lines;
}

export function skipShare(t: number): string {
  if (Math.abs(t - 1 / 3) < 1e-6) return 'a third';
  if (Math.abs(t - 0.5) < 1e-6) return 'half';
  if (Math.abs(t - 2 / 3) < 1e-6) return 'two thirds';
  if (t >= 1) return 'all';
  return `${Math.round(t * 100)} %`;
}

/** ISO weekdays 1–7, Monday first (protocol.md §3.18). */
export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
export const WEEKDAYS_SHORT = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** "Mon, Wed–Fri": consecutive days as a range. */
export function weekdays(days: readonly number[]): string {
  const sorted = [...new Set(days)].filter((d) => d >= 1 && d <= 7).sort((a, b) => a - b);
  if (sorted.length === 7) return 'every day';
  const runs: number[][] = [];
  for (const d of sorted) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1] === d - 1) run.push(d);
    else runs.push([d]);
  }
  return runs
    .map((r) => (r.length > 2 ? `${WEEKDAYS_SHORT[r[0] - 1]}–${WEEKDAYS_SHORT[r[r.length - 1] - 1]}` : r.map((d) => WEEKDAYS_SHORT[d - 1]).join(', ')))
    .join(', ');
}

/** "5 Dec 2026". */
export function calendarDay(ms: number): string {
  return new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** "Fri 02:00" in a venue's time zone (the browser's when the name is unknown). */
export function venueTime(ms: number, timeZone: string): string {
  const options: Intl.DateTimeFormatOptions = { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  try {
    return new Date(ms).toLocaleString(undefined, { ...options, timeZone });
  } catch {
    return new Date(ms).toLocaleString(undefined, options);
  }
}

/** "20:00" today, "Sat 02:00" another day, on this device's clock (people in a zone are at the venue). */
export function clockTime(ms: number, now = Date.now()): string {
  const at = new Date(ms);
  const time = at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return at.toDateString() === new Date(now).toDateString() ? time : `${at.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
}

/** "Now: Happy hour — until 20:00", or the defaults' "Now: outside the day parts". */
export function dayPartLine(part: DayPartNow, now = Date.now()): string {
  const until = part.until ? ` — until ${clockTime(part.until, now)}` : '';
  return `Now: ${part.name ?? 'outside the day parts'}${until}`;
}

/** The limits of a zone's day part in force, as guests meet them. */
export function dayPartLines(part: DayPartNow): RuleLine[] {
  const l = part.limits;
  const lines: RuleLine[] = [];
  const add = (rule: string, text: string) => lines.push({ rule: `day_part_${rule}`, text });
  const when = part.name ? `During ${part.name}` : 'Right now';
  if (l.requests === false) add('requests', `${when} guests vote on the queue; only the staff add tracks.`);
  if (l.genres_allowed?.length) add('genres_allowed', `${when} only ${l.genres_allowed.join(', ')} ${l.genres_allowed.length === 1 ? 'is' : 'are'} played.`);
  if (l.genres_blocked?.length) add('genres_blocked', `${when} no ${l.genres_blocked.join(', ')}.`);
  if (l.energy) add('energy', `${when} tracks have an energy from ${l.energy[0]} to ${l.energy[1]} (of 100).`);
  if (l.tempo) add('tempo', `${when} tracks have a tempo from ${l.tempo[0]} to ${l.tempo[1]} BPM.`);
  if (l.explicit === false) add('explicit', `${when} no explicit tracks.`);
  if (l.approval) add('approval', 'The staff approve each track guests ask for before it joins the queue.');
  if (l.requests_per_hour) add('requests_per_hour', `Each guest may ask for ${count(l.requests_per_hour, 'track')} an hour.`);
  return lines;
}
