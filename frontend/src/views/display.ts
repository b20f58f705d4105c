// The big screen (`/display/{code}`): now playing, the next five tracks, how
// to join (QR code and the code in big letters) and the live photo wall. No
// controls. Made for a TV (1920×1080 up to 4K, and 1024×768 projectors), and
// readable on the phone of a host who opened it from the room page (the
// layout is app.css's, "the big screen"). It watches the room as a screen
// (protocol.md §1.4: not a member, not counted among the people), with a
// screen token kept on this device; staff may remove it.

import { ApiError, openScreen, qrUrl } from '../api';
import { h, part, setText, syncList } from '../dom';
import { formatDuration } from '../clock';
import { RoomConnection } from '../socket';
import type { RoomState } from '../state';
import { displayToken, joinUrl } from '../storage';
import type { EntryView } from '../types';
import { displayWall } from './display_wall';
import { nowPlayingSection } from './nowplaying';
import { speakerSection } from './speaker';
import type { Navigate, Section } from './view';

const UP_NEXT = 5;

export function displayView(root: HTMLElement, _navigate: Navigate, code: string): () => void {
  document.title = `${code} · crowdjuke big screen`;
  document.body.className = 'display-mode';
  const nowPlaying = nowPlayingSection(null);
  const upNext = h('ol', { class: 'd-queue', 'data-testid': 'queue', 'aria-labelledby': 'd-next' });
  const upNextEmpty = h('p', { class: 'empty', 'data-testid': 'queue-empty' }, 'Nothing queued yet: add a track from your phone!');
  const upNextMore = h('p', { class: 'd-more', 'data-testid': 'queue-more', hidden: true });
  const wall = displayWall();
  const title = h('h1', { 'data-testid': 'room-name' }, 'crowdjuke');
  const status = h('p', { class: 'd-status', 'data-testid': 'notice', role: 'status' }, 'Connecting…');
  const banner = h('p', { class: 'banner', 'data-testid': 'reconnecting', role: 'status', hidden: true }, 'Reconnecting…');
  const link = h('p', { class: 'd-link', 'data-testid': 'join-link' });
  // Filled once connected: the screen can be the room's speaker.
  const speakerSlot = h('div', { class: 'd-speaker' });
  let speaker: Section | null = null;
  showLink(link, joinUrl.get(code));

  root.append(
    h(
      'div',
      { class: 'display' },
      h('header', { class: 'd-header' }, h('img', { src: '/app/icon.svg', alt: '', width: 64, height: 64 }), title, banner),
      status,
      h(
        'main',
        { class: 'd-grid' },
        h('div', { class: 'd-now' }, speakerSlot, nowPlaying.el),
        h('section', { class: 'd-next', 'aria-labelledby': 'd-next' }, h('h2', { id: 'd-next' }, 'Up next'), upNextEmpty, upNext, upNextMore),
        h(
          'section',
          { class: 'd-join', 'aria-labelledby': 'd-join' },
          h('h2', { id: 'd-join' }, 'Join the party'),
          h('img', { class: 'd-qr', src: qrUrl(code), alt: `QR code to join room ${code}`, 'data-testid': 'qr' }),
          h('p', { class: 'd-code', 'data-testid': 'room-code', 'aria-label': `Room code ${code.split('').join(' ')}` }, code),
          link,
        ),
        wall.el,
      ),
    ),
  );

  let conn: RoomConnection | null = null;
  let retry: number | undefined;
  let frame = 0;
  let stopped = false;
  const wake = keepAwake();

  const draw = () => {
    frame = 0;
    if (!conn) return;
    banner.hidden = conn.status !== 'reconnecting';
    if (conn.ended) {
      ended(conn.ended);
      return;
    }
    const state = conn.state;
    if (!state) return;
    status.hidden = true;
    setText(title, state.room.name);
    document.title = `${state.room.name} · crowdjuke big screen`;
    speaker?.update(state);
    nowPlaying.update(state);
    drawJoinLink(link, code, state);
    drawUpNext(upNext, upNextEmpty, state);
    fitUpNext(upNext, upNextMore, state);
    wall.update(state);
  };
  // The up-next list fits its cell: measure again when the screen changes.
  const redraw = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };
  window.addEventListener('resize', redraw);

  const connect = (token: string) => {
    conn = new RoomConnection(token, {
      update: () => {
        if (!frame) frame = requestAnimationFrame(draw);
      },
      notice: () => undefined, // nobody to read it on a wall screen
    });
    speaker?.stop?.();
    speaker = speakerSection(code, token, conn);
    speakerSlot.replaceChildren(speaker.el);
  };

  const ended = (reason: string) => {
    speaker?.stop?.();
    conn?.close();
    conn = null;
    if (reason === 'removed' || reason === 'unauthorized' || reason === 'kicked') {
      // Staff removed this screen: it stays off until someone here opens it
      // again (coming back by itself would undo the host's decision).
      displayToken.set(code, null);
      showStatus('The host removed this screen from the room.');
      status.append(' ', reopen);
    } else {
      showStatus('This room has closed.');
    }
  };
  const reopen = h('button', { type: 'button', class: 'primary', 'data-testid': 'reopen-screen' }, 'Open the big screen again');
  reopen.addEventListener('click', () => {
    reopen.remove();
    showStatus('Connecting…');
    start();
  });

  const start = async () => {
    if (stopped) return;
    const stored = displayToken.get(code);
    try {
      // The same screen again when this device has its pass (a screen
      // staff removed gets a new one only through `reopen`).
      const answer = await openScreen(code, stored);
      if (stopped) return;
      displayToken.set(code, answer.token);
      joinUrl.set(code, answer.room.join_url);
      showLink(link, joinUrl.get(code));
      connect(answer.token);
    } catch (err) {
      const e = err instanceof ApiError ? err : null;
      if (e?.code === 'room_not_found') {
        showStatus(`There is no room with the code ${code}.`);
        schedule(30);
      } else {
        showStatus('Waiting for the server…');
        schedule(e?.retryAfter ?? 10);
      }
    }
  };

  const showStatus = (text: string) => {
    status.hidden = false;
    setText(status, text);
  };
  const schedule = (seconds: number) => {
    window.clearTimeout(retry);
    retry = window.setTimeout(start, seconds * 1000);
  };

  start();
  return () => {
    stopped = true;
    window.clearTimeout(retry);
    cancelAnimationFrame(frame);
    conn?.close();
    speaker?.stop?.();
    nowPlaying.stop?.();
    wall.stop();
    window.removeEventListener('resize', redraw);
    wake.release();
  };
}

function drawUpNext(list: HTMLElement, empty: HTMLElement, state: RoomState): void {
  const next = state.queue.slice(0, UP_NEXT);
  empty.hidden = next.length > 0;
  syncList(list, next, (e) => e.id, entryItem, (li, e: EntryView, i) => {
    li.dataset.trackId = e.track.id;
    setText(part(li, 'pos'), String(i + 1));
    setText(part(li, 'title'), e.track.title);
    // A pinned entry jumps the votes: say why a 0 sits above a +2.
    part(li, 'pinned').hidden = !e.pinned;
    part(li, 'next').hidden = i !== 0;
    part(li, 'explicit').hidden = !e.track.explicit;
    setText(part(li, 'artists'), e.track.artists.join(', '));
    setText(part(li, 'time'), formatDuration(e.track.duration_ms));
    setText(part(li, 'by'), `Added by ${e.added_by_name}`);
    const score = part(li, 'score');
    setText(score, `${e.score > 0 ? '+' : ''}${e.score}`);
    score.setAttribute('aria-label', `score ${e.score}`);
  });
}

/**
 * One waiting track, on three rows: title and score; artists and length;
 * labels and who added it.
 */
function entryItem(e: EntryView): HTMLElement {
  return h(
    'li',
    { class: 'd-entry', 'data-testid': 'entry', 'data-track-id': e.track.id },
    h('span', { class: 'd-pos', 'data-part': 'pos', 'aria-hidden': 'true' }),
    h('p', { class: 'd-entry-title', 'data-part': 'title' }),
    h('span', { class: 'd-score', 'data-part': 'score' }),
    h('p', { class: 'd-entry-artists', 'data-part': 'artists' }),
    h('span', { class: 'd-time', 'data-part': 'time' }),
    h(
      'p',
      { class: 'd-entry-meta' },
      h('span', { class: 'badge pin-badge', 'data-part': 'pinned', 'data-testid': 'pinned', hidden: true }, 'Pinned'),
      h('span', { class: 'badge next-badge', 'data-part': 'next', hidden: true }, 'Plays next'),
      h('abbr', { class: 'badge', title: 'explicit', 'data-part': 'explicit', hidden: true }, 'E'),
      h('span', { class: 'd-entry-by', 'data-part': 'by', 'data-testid': 'added-by' }),
    ),
  );
}

/**
 * On the wall the list has the height its cell gives it: show only the
 * entries that fit whole (a track cut in half looks broken from across the
 * room) and say how many more wait.
 */
function fitUpNext(list: HTMLElement, more: HTMLElement, state: RoomState): void {
  const items = Array.from(list.children) as HTMLElement[];
  // Layout offsets, not bounding boxes: syncList may be sliding the rows.
  // The section is the rows' offset parent (position: relative in app.css).
  const box = list.closest('section') as HTMLElement;
  const limit = box.clientHeight - parseFloat(getComputedStyle(box).paddingBottom);
  const fits = (el: HTMLElement) => el.hidden || el.offsetTop + el.offsetHeight <= limit + 0.5;
  let shown = items.length;
  const show = () => {
    items.forEach((li, i) => (li.hidden = i >= shown));
    const rest = state.queue.length - shown;
    more.hidden = rest <= 0;
    setText(more, `+ ${rest} more in the queue`);
  };
  show();
  while (shown > 1 && !(items.slice(0, shown).every(fits) && fits(more))) {
    shown -= 1;
    show();
  }
}

/**
 * The link under the QR code: the room's public address as the snapshot
 * announces it (`room.join_url`), else the one stored from the join answer,
 * else this page's own origin (storage.ts). A screen opened on `localhost`
 * must still show the address guests can reach.
 */
function drawJoinLink(el: HTMLElement, code: string, state: RoomState): void {
  if (state.room.join_url) joinUrl.set(code, state.room.join_url);
  const url = joinUrl.get(code);
  if (el.dataset.url !== url) showLink(el, url);
}

/** `host:port/join/CODE`, breaking the line (if needed) before `/join`. */
function showLink(el: HTMLElement, url: string): void {
  el.dataset.url = url;
  const bare = url.replace(/^https?:\/\//, '');
  const cut = bare.indexOf('/join/');
  if (cut < 0) return setText(el, bare);
  el.replaceChildren(bare.slice(0, cut), h('wbr'), bare.slice(cut));
}

/** Keeps a TV or a tablet from dimming while the page is shown. */
function keepAwake(): { release(): void } {
  let lock: WakeLockSentinel | null = null;
  let released = false;
  const request = async () => {
    if (released || document.visibilityState !== 'visible' || !('wakeLock' in navigator)) return;
    try {
      lock = await navigator.wakeLock.request('screen');
    } catch {
      lock = null; // not allowed here: the screen's own settings apply
    }
  };
  document.addEventListener('visibilitychange', request);
  request();
  return {
    release() {
      released = true;
      document.removeEventListener('visibilitychange', request);
      lock?.release().catch(() => undefined);
    },
  };
}
