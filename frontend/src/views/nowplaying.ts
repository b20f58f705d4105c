// Now playing: artwork, title, artists and a progress bar driven by the
// server clock (protocol.md §6). On the room page it also has vote-to-skip
// and, for staff, pause/resume and skip; the big screen shows it alone.

import { formatDuration, positionNow } from '../clock';
import { h, part, setText } from '../dom';
import { describeError } from '../errors';
import { isStaff, skipVotesNeeded, votedToSkip, type RoomState } from '../state';
import type { TrackView } from '../types';
import { type Later, UNDO_MS } from '../later';
import type { RoomContext, Section } from './view';

export function nowPlayingSection(ctx: RoomContext | null): Section {
  const el = h(
    'section',
    { class: 'now-playing card', 'data-testid': 'now-playing', 'aria-labelledby': 'now-heading' },
    h('h2', { id: 'now-heading', class: 'eyebrow' }, 'Now playing'),
    h(
      'div',
      { class: 'np-body' },
      h('div', { class: 'artwork', 'data-part': 'artwork', 'aria-hidden': 'true' }),
      h(
        'div',
        { class: 'np-text' },
        h(
          'p',
          { class: 'np-title', 'data-part': 'title' },
          h('span', { 'data-part': 'title-text', 'data-testid': 'now-title' }),
          h('abbr', { class: 'badge', title: 'explicit', 'data-part': 'explicit', hidden: true }, 'E'),
        ),
        h('p', { class: 'np-artist', 'data-part': 'artist', 'data-testid': 'now-artist' }),
        h('p', { class: 'np-meta', 'data-part': 'meta' }),
      ),
    ),
    h(
      'div',
      { class: 'progress', 'data-part': 'progress' },
      h(
        'div',
        { class: 'progress-track', role: 'progressbar', 'aria-label': 'Playback position', 'aria-valuemin': '0', 'data-part': 'bar', 'data-testid': 'progress' },
        h('div', { class: 'progress-fill', 'data-part': 'fill' }),
      ),
      h(
        'p',
        { class: 'progress-times' },
        h('span', { 'data-part': 'elapsed', 'data-testid': 'elapsed' }),
        h('span', { class: 'paused-badge', 'data-part': 'paused', 'data-testid': 'paused', hidden: true }, 'Paused'),
        h('span', { 'data-part': 'duration', 'data-testid': 'duration' }),
      ),
    ),
    h('p', { class: 'np-empty', 'data-part': 'empty', 'data-testid': 'nothing-playing', hidden: true }, 'Nothing is playing. Add a track to start the music.'),
    ctx ? controls(ctx) : null,
  );

  let latest: RoomState | null = null;
  let trackId: string | null = null;
  const tick = () => {
    if (latest) drawProgress(el, latest);
  };
  const timer = window.setInterval(tick, 250);

  return {
    el,
    update(state) {
      latest = state;
      const np = state.nowPlaying;
      el.classList.toggle('is-empty', !np);
      part(el, 'empty').hidden = !!np;
      for (const name of ['progress', 'title', 'artist', 'meta']) part(el, name).hidden = !np;
      if (np && np.track.id + np.entry_id !== trackId) {
        trackId = np.track.id + np.entry_id;
        drawArtwork(part(el, 'artwork'), np.track);
      } else if (!np) {
        trackId = null;
        drawArtwork(part(el, 'artwork'), null);
      }
      if (np) {
        setText(part(el, 'title-text'), np.track.title);
        part(el, 'explicit').hidden = !np.track.explicit;
        setText(part(el, 'artist'), np.track.artists.join(', '));
        setText(part(el, 'meta'), np.reason ? `Autopilot: ${np.reason}` : addedBy(state, np.added_by));
      }
      if (ctx) drawControls(el, state, ctx.later);
      tick();
    },
    stop() {
      window.clearInterval(timer);
    },
  };
}

function addedBy(state: RoomState, memberId: string | null): string {
  if (memberId === null) return 'From the house playlist';
  if (memberId === state.me.id) return 'Added by you';
  const member = state.members.find((m) => m.id === memberId);
  return member ? `Added by ${member.name}` : '';
}

function drawArtwork(box: HTMLElement, track: TrackView | null): void {
  box.replaceChildren();
  if (track?.artwork_url) {
    box.append(h('img', { src: track.artwork_url, alt: '', loading: 'lazy' }));
  } else {
    // A colour from the title, so each track looks a little different.
    const hue = track ? [...track.title].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 360, 7) : 220;
    box.style.setProperty('--hue', String(hue));
    box.append(h('span', { class: 'artwork-note' }, '♪'));
  }
}

function drawProgress(el: HTMLElement, state: RoomState): void {
  const np = state.nowPlaying;
  if (!np) return;
  const pos = positionNow(np, state.offset);
  const total = np.track.duration_ms;
  const pct = total > 0 ? (pos / total) * 100 : 0;
  part(el, 'fill').style.width = `${pct.toFixed(2)}%`;
  const bar = part(el, 'bar');
  const secs = String(Math.floor(pos / 1000));
  if (bar.getAttribute('aria-valuenow') !== secs) {
    bar.setAttribute('aria-valuemax', String(Math.floor(total / 1000)));
    bar.setAttribute('aria-valuenow', secs);
    bar.setAttribute('aria-valuetext', `${formatDuration(pos)} of ${formatDuration(total)}`);
  }
  setText(part(el, 'elapsed'), formatDuration(pos));
  setText(part(el, 'duration'), formatDuration(total));
  const paused = part(el, 'paused');
  paused.hidden = !np.paused;
  // Paused by the server because the speaker went away (protocol.md §6).
  setText(paused, np.waiting_for_speaker ? 'Paused: waiting for the speaker to come back' : 'Paused');
  paused.title = np.waiting_for_speaker ? 'The screen playing the music lost its connection; the music resumes when it is back.' : '';
}

// ---- controls (room page only) ----

function controls(ctx: RoomContext): HTMLElement {
  const status = h('p', { class: 'inline-status', 'data-part': 'np-status', 'data-testid': 'player-status' });
  const say = (text: string, kind: 'success' | 'error' | 'info') => {
    setText(status, text);
    status.dataset.kind = kind;
    ctx.notice.show(text, kind);
  };
  const run = async (event: string, done?: (state: RoomState) => void, success?: string) => {
    // An ack comes after the broadcasts of its command: remember which
    // track was playing when the button was pressed.
    const entryId = ctx.conn.state?.nowPlaying?.entry_id ?? null;
    const ack = await ctx.conn.command(event);
    if (!ack.ok) say(describeError(ack.error), 'error');
    else {
      if (done) ctx.conn.edit((s) => (s.nowPlaying?.entry_id === entryId ? done(s) : undefined));
      if (success) say(success, 'success');
    }
  };
  // Skip waits 5 s for an undo (later.ts), and skips only the track that
  // was playing when it was pressed: if that one ended meanwhile, the next
  // one is left alone.
  const skip = () => {
    const np = ctx.conn.state?.nowPlaying;
    if (!np) return;
    const key = `skip:${np.entry_id}`;
    const title = np.track.title;
    const undo = () => {
      if (ctx.later.undo(key)) say(`“${title}” plays on.`, 'success');
    };
    ctx.later.schedule(key, 'skip', () => {
      if (ctx.conn.state?.nowPlaying?.entry_id !== np.entry_id) return;
      void run('player:skip', undefined, `Skipped “${title}”.`);
    });
    ctx.notice.show(`Skipping “${title}”… You can undo it for ${UNDO_MS / 1000} s.`, 'info', false, { label: 'Undo', testid: 'notice-undo', run: undo });
  };
  const ban = async () => {
    const state = ctx.conn.state;
    const np = state?.nowPlaying;
    if (!state || !np) return;
    const banned = [...new Set([...state.room.rules.banned_tracks, np.track.id])];
    const ack = await ctx.conn.command('room:update_rules', { rules: { banned_tracks: banned } });
    if (!ack.ok) say(describeError(ack.error), 'error');
    else say(`“${np.track.title}” is banned: nobody can add it again. Skip it to stop it now.`, 'success');
  };
  const button = (name: string, label: string, onclick: () => void) =>
    h('button', { type: 'button', class: 'secondary', 'data-part': name, 'data-testid': name, onclick }, label);
  return h(
    'div',
    { class: 'np-actions' },
    h(
      'div',
      { class: 'np-controls', 'data-part': 'controls' },
      button('vote-skip', 'Vote to skip', () => run('player:vote_skip', (s) => (s.mySkipVoteFor = s.nowPlaying?.entry_id ?? null))),
      button('pause', 'Pause', () => run('player:pause')),
      button('resume', 'Resume', () => run('player:resume')),
      button('skip', 'Skip', skip),
      button('undo-skip', 'Undo skip', () => {
        const np = ctx.conn.state?.nowPlaying;
        if (np && ctx.later.undo(`skip:${np.entry_id}`)) say(`“${np.track.title}” plays on.`, 'success');
      }),
      button('ban-current', 'Ban track', ban),
    ),
    status,
  );
}

function drawControls(el: HTMLElement, state: RoomState, later: Later): void {
  const np = state.nowPlaying;
  const staff = isStaff(state);
  const needed = skipVotesNeeded(state);
  const voted = votedToSkip(state);
  const voteSkip = part<HTMLButtonElement>(el, 'vote-skip');
  voteSkip.hidden = !np || needed === null;
  if (np && needed !== null) {
    setText(voteSkip, `${voted ? 'You voted to skip' : 'Vote to skip'} (${np.skip_votes}/${needed})`);
    voteSkip.disabled = voted;
    voteSkip.setAttribute('aria-label', `${voted ? 'You voted to skip' : 'Vote to skip this track'}: ${np.skip_votes} of ${needed} votes`);
  }
  part(el, 'pause').hidden = !staff || !np || np.paused;
  part(el, 'resume').hidden = !staff || !np || !np.paused;
  const skipping = !!np && later.has(`skip:${np.entry_id}`);
  part(el, 'skip').hidden = !staff || !np || skipping;
  part(el, 'undo-skip').hidden = !staff || !skipping;
  part(el, 'ban-current').hidden = !staff || !np || state.room.rules.banned_tracks.includes(np.track.id);
  part(el, 'controls').hidden = !np;
}
