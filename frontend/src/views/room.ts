// The room page (`/room/{code}`), the same for guests and staff: host
// controls appear when `me.role` is host or co-host. It owns the
// connection, the "Reconnecting…" banner and the end-of-room messages.

import { h, setText } from '../dom';
import { Later } from '../later';
import { createNotice } from '../notice';
import { RoomConnection, type EndReason } from '../socket';
import { approvalOn } from '../state';
import { memberToken, returnTrip, visits } from '../storage';
import { dayPartLine } from '../words';
import { hostSection } from './host';
import { musicSection } from './music';
import { membersSection } from './members';
import { nowPlayingSection } from './nowplaying';
import { photosSection } from './photos';
import { picksSection } from './picks';
import { rulesSection } from './rules';
import { queueSection } from './queue';
import { speakerSection } from './speaker';
import { requestsSection } from './requests';
import { searchSection } from './search';
import type { Navigate, RoomContext, Section } from './view';

const endings: Record<EndReason, { text: string; rejoin: boolean }> = {
  kicked: { text: 'You were removed from this room by the host.', rejoin: true },
  banned: { text: 'You were banned from this room.', rejoin: false },
  removed: { text: 'You were removed from this room by the host.', rejoin: true },
  room_closed: { text: 'This room has closed. Thanks for partying!', rejoin: false },
  unauthorized: { text: 'Your pass for this room is no longer valid. Join again to get a new one.', rejoin: true },
};

export function roomView(root: HTMLElement, navigate: Navigate, code: string): (() => void) | void {
  const token = memberToken.get(code);
  if (!token) {
    navigate(`/join/${code}`, true);
    return;
  }
  document.title = `${code} · crowdjuke`;
  const notice = createNotice();
  let frame = 0;
  const conn: RoomConnection = new RoomConnection(token, {
    update: () => {
      if (!frame) frame = requestAnimationFrame(draw);
    },
    notice: (text, kind) => notice.show(text, kind),
  });
  const later = new Later(() => conn.edit(() => undefined));
  const ctx: RoomContext = { code, token, conn, notice, later };

  const nowPlaying = nowPlayingSection(ctx);
  const search = searchSection(ctx, (track) => host.pickFallback(track));
  const queue = queueSection(ctx);
  const requests = requestsSection(ctx);
  const picks = picksSection(ctx);
  const host = hostSection(ctx);
  const rules = rulesSection();
  const music = musicSection(ctx, (devices) => host.setDevices(devices));
  const photos = photosSection(ctx);
  const members = membersSection(ctx);
  const speaker = speakerSection(code, token, conn);
  const sections: Section[] = [speaker, nowPlaying, picks, search, requests, queue, rules, host, music, photos, members];

  const title = h('h1', { 'data-testid': 'room-name' }, 'crowdjuke');
  const me = h('span', { 'data-testid': 'me' });
  // A zone's day part in force, for everyone (updated by day_part_changed
  // and schedule_updated); absent in party rooms and unscheduled zones.
  const dayPart = h('p', { class: 'meta room-day-part', 'data-testid': 'day-part', hidden: true });
  const banner = h('p', { class: 'banner', 'data-testid': 'reconnecting', role: 'status', hidden: true });
  const loading = h('p', { class: 'loading', 'data-testid': 'loading' }, 'Connecting to the room…');
  const ended = h('div', { class: 'card ended', 'data-testid': 'ended', hidden: true });
  const grid = h(
    'div',
    { class: 'room-grid', hidden: true },
    h('div', { class: 'col-main' }, speaker.el, nowPlaying.el, picks.el, search.el, requests.el, queue.el, rules.el),
    h('div', { class: 'col-side' }, host.el, music.el, photos.el, members.el),
  );
  // An in-page nav that stays at the top (sticky), not tabs: on a phone a
  // guest scrolls one page, and the queue, the rules and the photos are
  // read one after the other; tabs would hide the queue (which moves
  // live) while photos are open, and break the browser's find and back.
  // The link of the section in view is marked (aria-current).
  const links = [
    ['queue', 'Queue'],
    ['room-rules', 'Rules'],
    ['photos', 'Photos'],
    ['people', 'People'],
  ].map(([id, label]) => h('a', { href: `#${id}`, 'data-testid': `jump-${id}` }, label));
  const jump = h('nav', { class: 'jump', 'aria-label': 'Sections of this page', 'data-testid': 'jump', hidden: true }, ...links);
  const seen = new Map<string, boolean>();
  const observer =
    typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((items) => {
          for (const item of items) seen.set(item.target.id, item.isIntersecting);
          const current = links.find((a) => seen.get(a.hash.slice(1)));
          for (const a of links) {
            if (a === current) a.setAttribute('aria-current', 'location');
            else a.removeAttribute('aria-current');
          }
        }, { rootMargin: '-30% 0px -60% 0px' })
      : null;
  const home = h('a', { href: '/', class: 'home-link', 'aria-label': 'crowdjuke home' }, h('img', { src: '/app/icon.svg', alt: '', width: 32, height: 32 }));
  home.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/');
  });

  root.append(
    h(
      'div',
      { class: 'page room' },
      h(
        'header',
        { class: 'room-header' },
        home,
        h('div', { class: 'room-title' }, title, h('p', { class: 'meta' }, 'Code ', h('span', { class: 'code', 'data-testid': 'room-code' }, code), ' · ', me), dayPart),
      ),
      jump,
      banner,
      h('main', {}, loading, ended, grid),
      notice.el,
    ),
  );
  for (const a of links) {
    const target = root.querySelector(a.hash);
    if (target && observer) observer.observe(target);
  }

  // Back from a music service's consent page (see home.ts).
  const back = returnTrip.heard();
  if (back) notice.show(back.text, back.kind);

  function draw(): void {
    frame = 0;
    banner.hidden = conn.status !== 'reconnecting';
    setText(banner, conn.serverClosed ? 'The server closed the connection (it may be restarting). Reconnecting…' : 'Connection lost. Reconnecting…');
    if (conn.ended) {
      showEnded(conn.ended);
      return;
    }
    const state = conn.state;
    if (!state) return;
    loading.hidden = true;
    grid.hidden = false;
    jump.hidden = false;
    setText(title, state.room.name);
    visits.remember(code, state.room.name);
    document.title = `${state.room.name} · crowdjuke`;
    const role = state.me.role === 'host' ? ' (host)' : state.me.role === 'cohost' ? ' (co-host)' : '';
    setText(me, `You are ${state.me.name}${role}`);
    dayPart.hidden = !state.dayPart;
    if (state.dayPart) setText(dayPart, `${dayPartLine(state.dayPart, Date.now() + state.offset)}${approvalOn(state) ? ' · the staff approve requests' : ''}`);
    for (const s of sections) s.update(state);
  }

  function showEnded(reason: EndReason): void {
    const ending = endings[reason];
    // A kicked guest keeps her pass: joining again with it makes her the
    // same member, with the tracks she added (protocol.md §3.3).
    if (reason === 'room_closed') memberToken.set(code, null);
    loading.hidden = true;
    grid.hidden = true;
    jump.hidden = true;
    if (!ended.hidden) return;
    ended.hidden = false;
    notice.show(ending.text, 'error', true);
    const action = ending.rejoin
      ? h('a', { href: `/join/${code}`, class: 'button primary', 'data-testid': 'rejoin' }, 'Join again')
      : h('a', { href: '/', class: 'button secondary', 'data-testid': 'go-home' }, 'Back to the start');
    action.addEventListener('click', (e) => {
      e.preventDefault();
      navigate(ending.rejoin ? `/join/${code}` : '/');
    });
    // The reason itself is in the notice above.
    ended.replaceChildren(h('h2', {}, ending.rejoin ? 'Want to come back?' : 'The party is over here.'), action);
  }

  return () => {
    cancelAnimationFrame(frame);
    observer?.disconnect();
    later.stop();
    conn.close();
    for (const s of sections) s.stop?.();
  };
}
