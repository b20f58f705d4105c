// Search-as-you-type over the library (`GET /api/tracks?q=`, 200 ms
// debounce, stale answers dropped) and adding a result (`queue:add`).
// Tracks the room's rules would refuse are shown with the reason.

import { ApiError, searchTracks } from '../api';
import { formatDuration } from '../clock';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { applyEntryAck, isStaff, type RoomState, playableHere } from '../state';
import type { EntryAck, Track } from '../types';
import type { RoomContext, Section } from './view';

const DEBOUNCE_MS = 200;

export function searchSection(ctx: RoomContext): Section {
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
  const el = h('section', { class: 'card search', id: 'search', 'aria-labelledby': 'search-heading' }, h('h2', { id: 'search-heading' }, 'Add music'), closed, form, status, results);

  let tracks: Track[] = [];
  let latest: RoomState | null = null;
  let timer: number | undefined;
  let inflight: AbortController | null = null;

  const draw = () => {
    if (latest) drawResults(results, tracks, latest, add);
  };

  const run = async (q: string) => {
    inflight?.abort();
    if (!q.trim()) {
      tracks = [];
      setText(status, '');
      draw();
      return;
    }
    const controller = new AbortController();
    inflight = controller;
    try {
      const found = await searchTracks(q, controller.signal);
      if (controller.signal.aborted) return;
      tracks = found;
      setText(status, found.length === 0 ? `No tracks found for “${q.trim()}”.` : `${found.length} tracks found.`);
      draw();
    } catch (err) {
      if (controller.signal.aborted) return;
      setText(status, err instanceof ApiError ? describeError(err) : 'Search failed. Try again.');
    }
  };

  const add = async (track: Track, button: HTMLButtonElement) => {
    button.disabled = true;
    const ack = await ctx.conn.command<EntryAck>('queue:add', { track_id: track.id });
    button.disabled = false;
    if (!ack.ok) {
      ctx.notice.show(describeError(ack.error), 'error');
      return;
    }
    ctx.conn.edit((s) => applyEntryAck(s, ack.data.entry));
    if (ack.data.duplicate) ctx.notice.show(`“${track.title}” was already in the queue: your up-vote counts.`, 'success');
    else if (ack.data.entry === null) ctx.notice.show(`“${track.title}” is playing now.`, 'success');
    else ctx.notice.show(`Added “${track.title}” to the queue.`, 'success');
  };

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
      draw();
    },
    stop() {
      window.clearTimeout(timer);
      inflight?.abort();
    },
  };
}

function drawResults(list: HTMLElement, tracks: Track[], state: RoomState, add: (t: Track, b: HTMLButtonElement) => void): void {
  const create = (track: Track): HTMLElement => {
    const button = h('button', { type: 'button', class: 'primary small', 'data-part': 'add', 'data-testid': 'add-button' }, 'Add');
    button.addEventListener('click', () => add(track, button));
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
      ),
      button,
    );
  };
  const queued = new Set(state.queue.map((e) => e.track.id));
  syncList(
    list,
    tracks,
    (t) => t.id,
    create,
    (li, track) => {
      const problem = ruleProblem(track, state);
      const button = part<HTMLButtonElement>(li, 'add');
      const isQueued = queued.has(track.id);
      setText(button, isQueued ? 'Up-vote' : 'Add');
      button.setAttribute('aria-label', `${isQueued ? 'Already queued, up-vote' : 'Add'} ${track.title} by ${track.artists.join(', ')}`);
      // A duplicate add is an up-vote: the track rules do not apply to it.
      const blocked = problem !== null && !isQueued;
      button.disabled = blocked;
      part(li, 'silent').hidden = playableHere(track, state);
      const note = part(li, 'problem');
      note.hidden = !blocked;
      setText(note, blocked ? problem : '');
    },
    false,
  );
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
