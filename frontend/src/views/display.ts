// The big screen (`/display/{code}`, a TV at 1920×1080): now playing, the
// next five tracks, how to join (QR code and the code in big letters) and
// the live photo wall. No controls. It reads the room as a member named
// "Big screen", with its own token so it never takes a guest's place.

import { ApiError, joinRoom, qrUrl } from '../api';
import { h, setText, syncList } from '../dom';
import { formatDuration } from '../clock';
import { RoomConnection } from '../socket';
import type { RoomState } from '../state';
import { displayToken, joinUrl } from '../storage';
import type { EntryView, PhotoView } from '../types';
import { likedByText } from './photos';
import { nowPlayingSection } from './nowplaying';
import { speakerSection } from './speaker';
import type { Navigate, Section } from './view';

const SCREEN_NAME = 'Big screen';
const UP_NEXT = 5;
const WALL = 9;

export function displayView(root: HTMLElement, _navigate: Navigate, code: string): () => void {
  document.title = `${code} · crowdjuke big screen`;
  document.body.className = 'display-mode';
  const nowPlaying = nowPlayingSection(null);
  const upNext = h('ol', { class: 'd-queue', 'data-testid': 'queue', 'aria-labelledby': 'd-next' });
  const upNextEmpty = h('p', { class: 'empty', 'data-testid': 'queue-empty' }, 'Nothing queued yet: add a track from your phone!');
  const wall = h('ul', { class: 'd-wall', 'data-testid': 'photo-wall', 'aria-label': 'Photo wall' });
  const wallEmpty = h('p', { class: 'empty' }, 'Share photos from your phone: they appear here.');
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
        h('section', { class: 'd-next', 'aria-labelledby': 'd-next' }, h('h2', { id: 'd-next' }, 'Up next'), upNextEmpty, upNext),
        h(
          'section',
          { class: 'd-join', 'aria-labelledby': 'd-join' },
          h('h2', { id: 'd-join' }, 'Join the party'),
          h('img', { class: 'd-qr', src: qrUrl(code), alt: `QR code to join room ${code}`, 'data-testid': 'qr' }),
          h('p', { class: 'd-code', 'data-testid': 'room-code', 'aria-label': `Room code ${code.split('').join(' ')}` }, code),
          link,
        ),
        h('section', { class: 'd-photos', 'aria-label': 'Photos' }, wallEmpty, wall),
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
    drawUpNext(upNext, upNextEmpty, state);
    drawWall(wall, wallEmpty, state);
  };

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
    if (reason === 'kicked' || reason === 'unauthorized') {
      // Someone removed the screen: take a fresh pass and carry on.
      displayToken.set(code, null);
      showStatus('Reconnecting the big screen…');
      schedule(5);
    } else if (reason === 'banned') {
      showStatus('This screen was banned from the room.');
    } else {
      showStatus('This room has closed.');
    }
  };

  const start = async () => {
    if (stopped) return;
    const stored = displayToken.get(code);
    if (stored) return connect(stored);
    try {
      const answer = await joinRoom(code, SCREEN_NAME, null);
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
    wake.release();
  };
}

function drawUpNext(list: HTMLElement, empty: HTMLElement, state: RoomState): void {
  const next = state.queue.slice(0, UP_NEXT);
  empty.hidden = next.length > 0;
  syncList(
    list,
    next,
    (e) => e.id,
    (e) => h('li', { class: 'd-entry', 'data-testid': 'entry', 'data-track-id': e.track.id }, h('span', { class: 'd-entry-text' }), h('span', { class: 'd-score' })),
    (li, e: EntryView) => {
      const [text, score] = Array.from(li.children) as HTMLElement[];
      text.replaceChildren(h('strong', {}, e.track.title), ` ${e.track.artists.join(', ')} · ${formatDuration(e.track.duration_ms)}`);
      setText(score, `${e.score > 0 ? '+' : ''}${e.score}`);
      score.setAttribute('aria-label', `score ${e.score}`);
    },
  );
}

function drawWall(list: HTMLElement, empty: HTMLElement, state: RoomState): void {
  const photos = state.photos.filter((p) => p.urls).slice(0, WALL);
  empty.hidden = photos.length > 0;
  syncList(
    list,
    photos,
    (p) => p.id,
    (p: PhotoView) =>
      h(
        'li',
        { class: 'd-photo', 'data-testid': 'photo', 'data-photo-id': p.id },
        // The newest photo is drawn large: take the bigger rendering for all.
        h('img', { src: p.urls?.preview ?? '', alt: p.comment ? `Photo by ${p.member_name}: ${p.comment}` : `Photo by ${p.member_name}` }),
        h('p', { class: 'd-caption' }),
      ),
    (li, p) => {
      const caption = li.querySelector('p') as HTMLElement;
      const likes = p.likes > 0 ? ` · ♥ ${p.likes}` : '';
      setText(caption, `${p.member_name}${p.comment ? `: ${p.comment}` : ''}${likes}`);
      caption.title = likedByText(p, state.me.id);
    },
  );
}

/** `host:port/join/CODE`, breaking the line (if needed) before `/join`. */
function showLink(el: HTMLElement, url: string): void {
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
