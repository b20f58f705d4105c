// Search-as-you-type over the library (`GET /api/tracks?q=`, 200 ms
// debounce, stale answers dropped) and adding a result (`queue:add`).
// Tracks the room's rules would refuse are shown with the reason.

import { ApiError, searchTracks } from '../api';
import { formatDuration } from '../clock';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { applyEntryAck, applyRequestAck, approvalOn, isRequestAck, isStaff, type RoomState, playableHere } from '../state';
import type { AddAck, ApiErrorBody, Track } from '../types';
import { count, duration } from '../words';
import type { RoomContext, Section } from './view';

const DEBOUNCE_MS = 200;

/**
 * `pickFallback`: staff put a found track on the draft of the house
 * playlist (host tools save it with room:set_fallback).
 */
export function searchSection(ctx: RoomContext, pickFallback: (track: Track) => void): Section {
  const input = h('input', {
    id: 'search-input',
    type: 'search',
    'data-testid': 'search-input',
    placeholder: 'Title, artist, album or genre',
    autocomplete: 'off',
    maxlength: 200,
    'aria-describedby': 'search-status',
  });
  const status = h('p', { id: 'search-status', class: 'search-status', role: 'status', 'data-testid': 'search-status' });
  const results = h('ul', { class: 'results', 'data-testid': 'search-results', 'aria-label': 'Search results' });
  const form = h(
    'form',
    { role: 'search', 'data-part': 'form' },
    h('label', { for: 'search-input' }, 'Find a track to add'),
    input,
  );
  const closed = h('p', { class: 'hint', 'data-part': 'closed', 'data-testid': 'adds-disabled', hidden: true }, 'In this room guests vote on the queue; only the host adds tracks.');
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': 'more-results', hidden: true }, 'Show more');
  const el = h('section', { class: 'card search', id: 'search', 'aria-labelledby': 'search-heading' }, h('h2', { id: 'search-heading' }, 'Add music'), closed, form, status, results, more);

  let tracks: Track[] = [];
  let total = 0;
  let query = '';
  let latest: RoomState | null = null;
  let timer: number | undefined;
  let inflight: AbortController | null = null;

  const draw = () => {
    if (latest) drawResults(results, tracks, latest, actions);
  };

  const run = async (q: string) => {
    inflight?.abort();
    if (!q.trim()) {
      tracks = [];
      total = 0;
      setText(status, '');
      more.hidden = true;
      draw();
      return;
    }
    const controller = new AbortController();
    inflight = controller;
    try {
      const page = await searchTracks(q, controller.signal);
      if (controller.signal.aborted) return;
      query = q;
      tracks = page.tracks;
      total = Math.max(page.total, page.tracks.length);
      showCount();
      draw();
    } catch (err) {
      if (controller.signal.aborted) return;
      setText(status, err instanceof ApiError ? describeError(err) : 'Search failed. Try again.');
    }
  };
  const showCount = () => {
    const q = query.trim();
    if (tracks.length === 0) setText(status, `No tracks found for “${q}”.`);
    else if (total > tracks.length) setText(status, `${count(total, 'track')} found, showing ${tracks.length}.`);
    else setText(status, `${count(total, 'track')} found.`);
    more.hidden = tracks.length >= total;
  };
  // The next page, appended (the first page may have more than 20 when the
  // music service's catalogue filled it in).
  more.addEventListener('click', async () => {
    const controller = new AbortController();
    inflight?.abort();
    inflight = controller;
    more.disabled = true;
    try {
      const page = await searchTracks(query, controller.signal, tracks.length);
      if (controller.signal.aborted) return;
      const known = new Set(tracks.map((t) => t.id));
      const fresh = page.tracks.filter((t) => !known.has(t.id));
      tracks = [...tracks, ...fresh];
      // Nothing new: the index has no more to give.
      if (fresh.length === 0) total = tracks.length;
      showCount();
      draw();
    } catch (err) {
      if (!controller.signal.aborted) setText(status, err instanceof ApiError ? describeError(err) : 'Search failed. Try again.');
    } finally {
      more.disabled = false;
    }
  });

  const add = async (track: Track, button: HTMLButtonElement, say: Say) => {
    button.disabled = true;
    const ack = await ctx.conn.command<AddAck>('queue:add', { track_id: track.id });
    button.disabled = false;
    if (!ack.ok) {
      say(ctx.conn.state ? addRefusal(ack.error, ctx.conn.state, track.id) : describeError(ack.error), 'error');
      return;
    }
    const answer = ack.data;
    if (isRequestAck(answer)) {
      // Held for the staff (a zone whose day part wants approval).
      ctx.conn.edit((s) => applyRequestAck(s, answer));
      say(`Sent to the staff for approval: “${track.title}”. It joins the queue once they say yes.`, 'success');
      return;
    }
    ctx.conn.edit((s) => applyEntryAck(s, answer.entry));
    if (answer.duplicate) say(`“${track.title}” was already in the queue: your up-vote counts.`, 'success');
    else if (answer.entry === null) say(`“${track.title}” is playing now.`, 'success');
    else say(`Added “${track.title}” to the queue.`, 'success');
  };
  const actions: ResultActions = { add, pickFallback, notice: ctx.notice };

  input.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => run(input.value), DEBOUNCE_MS);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    window.clearTimeout(timer);
    run(input.value);
  });

  return {
    el,
    update(state) {
      latest = state;
      const mayAdd = state.room.rules.guests_can_add || isStaff(state);
      closed.hidden = mayAdd;
      form.hidden = !mayAdd;
      results.hidden = !mayAdd;
      status.hidden = !mayAdd;
      if (!mayAdd) more.hidden = true;
      draw();
    },
    stop() {
      window.clearTimeout(timer);
      inflight?.abort();
    },
  };
}

type Say = (text: string, kind: 'success' | 'error' | 'info') => void;

interface ResultActions {
  add(track: Track, button: HTMLButtonElement, say: Say): void;
  pickFallback(track: Track): void;
  notice: RoomContext['notice'];
}

function drawResults(list: HTMLElement, tracks: Track[], state: RoomState, actions: ResultActions): void {
  const create = (track: Track): HTMLElement => {
    const statusId = `result-status-${track.id}`;
    const status = h('p', { class: 'inline-status', id: statusId, 'data-testid': 'result-status' });
    const say: Say = (text, kind) => {
      setText(status, text);
      status.dataset.kind = kind;
      actions.notice.show(text, kind);
    };
    const button = h('button', { type: 'button', class: 'primary small', 'data-part': 'add', 'data-testid': 'add-button', 'aria-describedby': statusId }, 'Add');
    button.addEventListener('click', () => actions.add(track, button, say));
    const fallback = h('button', { type: 'button', class: 'secondary small', 'data-part': 'fallback', 'data-testid': 'pick-fallback', 'aria-describedby': statusId }, 'House playlist');
    fallback.addEventListener('click', () => {
      actions.pickFallback(track);
      say(`“${track.title}” is on the draft of the house playlist (Host tools).`, 'success');
    });
    return h(
      'li',
      { class: 'result', 'data-testid': 'search-result', 'data-track-id': track.id },
      h(
        'div',
        { class: 'result-text' },
        h(
          'p',
          { class: 'result-title' },
          track.title,
          track.explicit ? h('abbr', { class: 'badge', title: 'explicit' }, 'E') : null,
          sourceBadge(track),
          h('span', { class: 'badge silent', 'data-part': 'silent', 'data-testid': 'silent', title: 'The speaker has no audio for it: it keeps time in silence', hidden: true }, 'No sound'),
        ),
        h('p', { class: 'result-meta' }, `${track.artists.join(', ')}${track.album ? ` · ${track.album}` : ''} · ${formatDuration(track.duration_ms)}`),
        h('p', { class: 'result-problem', 'data-part': 'problem', 'data-testid': 'rule-problem', hidden: true }),
        status,
      ),
      h('div', { class: 'result-actions' }, button, fallback),
    );
  };
  const queued = new Set(state.queue.map((e) => e.track.id));
  const requested = new Map(state.requests.map((r) => [r.track.id, r]));
  // Guests ask; the staff say yes (staff adds go straight in).
  const asks = approvalOn(state) && !isStaff(state);
  syncList(
    list,
    tracks,
    (t) => t.id,
    create,
    (li, track) => {
      const problem = ruleProblem(track, state);
      const button = part<HTMLButtonElement>(li, 'add');
      const isQueued = queued.has(track.id);
      // The track playing now cannot be queued again (it would play twice).
      const playing = !isQueued && state.nowPlaying?.track.id === track.id;
      // Asked for already (by anyone): it waits for the staff, once.
      const request = !isQueued && !playing ? requested.get(track.id) : undefined;
      const waiting = request !== undefined && !isStaff(state);
      li.dataset.playing = String(playing);
      li.dataset.requested = String(request !== undefined);
      const verb = asks ? 'Request' : 'Add';
      setText(button, playing ? 'Playing' : isQueued ? 'Up-vote' : waiting ? 'Requested' : verb);
      button.setAttribute(
        'aria-label',
        playing
          ? `${track.title} is playing now`
          : waiting
            ? `${track.title} is waiting for the staff’s approval`
            : `${isQueued ? 'Already queued, up-vote' : verb} ${track.title} by ${track.artists.join(', ')}`,
      );
      // A duplicate add is an up-vote: the track rules do not apply to it.
      const blocked = playing || waiting || (problem !== null && !isQueued);
      button.disabled = blocked;
      part(li, 'fallback').hidden = !isStaff(state);
      part(li, 'fallback').setAttribute('aria-label', `Put ${track.title} on the house playlist`);
      part(li, 'silent').hidden = playableHere(track, state);
      const note = part(li, 'problem');
      note.hidden = !blocked;
      note.dataset.kind = waiting ? 'info' : 'problem';
      const asker = request?.requested_by === state.me.id ? 'You asked for it' : 'Asked for already';
      setText(note, playing ? 'Playing now.' : waiting ? `${asker}: waiting for the staff’s approval.` : blocked ? (problem ?? '') : '');
    },
    false,
  );
}

/**
 * A refused add as a sentence built here from the room's rules and what
 * this device knows, so numbers and plurals are right ("You already have 2
 * tracks waiting"); other refusals as errors.ts says them.
 */
export function addRefusal(error: ApiErrorBody, state: RoomState, trackId?: string): string {
  const rules = state.room.rules;
  switch (error.code) {
    case 'queue_limit_reached': {
      const mine = state.queue.filter((e) => e.added_by === state.me.id).length;
      const max = rules.max_queued_per_guest;
      const have = Math.max(mine, max ?? 0);
      const most = max === null ? '' : ` This room allows ${count(max, 'waiting track')} per guest.`;
      return `You already have ${count(have, 'track')} waiting.${most} Add another when one of yours has played.`;
    }
    case 'cooldown_active': {
      const secs = Number(/(\d+)/.exec(error.message)?.[1]);
      return Number.isFinite(secs) && secs > 0
        ? `Wait ${count(secs, 'more second')} before adding another track.`
        : 'Wait a little before adding another track.';
    }
    case 'recently_played':
      return rules.no_replay_hours !== null
        ? `This track was played less than ${count(rules.no_replay_hours, 'hour')} ago.`
        : describeError(error);
    case 'track_banned':
      // In a zone, a track the room does not ban is one the venue blocked
      // after its staff declined it too often (the same code).
      return state.room.kind === 'venue' && trackId !== undefined && !rules.banned_tracks.includes(trackId)
        ? 'The staff blocked this track here: it was declined too often. Ask them if you think it should play.'
        : describeError(error);
    case 'track_too_long':
      return rules.max_track_secs !== null ? `This track is longer than this room allows (${duration(rules.max_track_secs)}).` : describeError(error);
    default:
      return describeError(error);
  }
}

/** Where a track comes from: a music folder on this server, Spotify, or a catalogue (the demo, an upload). */
function sourceBadge(track: Track): HTMLElement {
  const [kind, label, title] = track.audio
    ? ['folder', 'Music folder', 'A file on this server: it plays on a screen chosen as the speaker']
    : track.provider_uri?.startsWith('spotify:')
      ? ['spotify', 'Spotify', 'From Spotify: it plays on a Spotify device']
      : ['catalogue', 'Catalogue', 'From the library’s catalogue (no audio on this server)'];
  return h('span', { class: `badge source source-${kind}`, 'data-testid': 'track-source', title }, label);
}

/** Why the room would refuse this track for everyone (protocol.md §5.1, §5.3), or null. */
export function ruleProblem(track: Track, state: RoomState): string | null {
  const rules = state.room.rules;
  if (rules.banned_tracks.includes(track.id)) return 'This track is banned in this room.';
  const banned = new Set(rules.banned_artists.map((a) => a.toLowerCase()));
  if (track.artists.some((a) => banned.has(a.toLowerCase()))) return 'An artist of this track is banned in this room.';
  if (!rules.allow_explicit && track.explicit) return 'Explicit tracks are not allowed here.';
  if (rules.only_playable && !playableHere(track, state)) return 'The speaker cannot play this track here.';
  if (rules.max_track_secs !== null && track.duration_ms > rules.max_track_secs * 1000) {
    return `Longer than this room allows (${formatDuration(rules.max_track_secs * 1000)}).`;
  }
  if (rules.no_replay_hours !== null) {
    const since = Date.now() + state.offset - rules.no_replay_hours * 3600_000;
    const playing = state.nowPlaying?.track.id === track.id;
    const recent = state.recentPlays.some((p) => p.track_id === track.id && p.started_at >= since);
    if (playing || recent) return `Played less than ${rules.no_replay_hours} h ago.`;
  }
  return null;
}
