// Home (`/`): start a party (you become its host) or join one by its code.

import { ApiError, createRoom } from '../api';
import { h } from '../dom';
import { describeError } from '../errors';
import { createNotice } from '../notice';
import { joinUrl, lastName, memberToken, normaliseCode, returnTrip, visits } from '../storage';
import type { Navigate } from './view';

const CODE_SHAPE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/;

export function homeView(root: HTMLElement, navigate: Navigate): void {
  document.title = 'crowdjuke';
  const notice = createNotice();
  // A music service sends the browser back here (protocol.md §3.16.2):
  // say how it went on the page the host left for it.
  const params = new URLSearchParams(location.search);
  const provider = params.get('provider');
  if (provider) {
    const service = provider === 'spotify' ? 'Spotify' : provider;
    const error = params.get('error');
    const text = error ? `${service} was not linked. ${describeError({ code: error, message: '' })}` : `${service} is linked.`;
    const back = returnTrip.take();
    if (back) {
      returnTrip.say(text, error ? 'error' : 'success');
      navigate(back, true);
      return;
    }
    history.replaceState(null, '', '/');
    notice.show(text, error ? 'error' : 'success', true);
  }

  const code = h('input', {
    id: 'join-code',
    name: 'code',
    'data-testid': 'join-code',
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    maxlength: 9,
    required: true,
    placeholder: 'K7M2PQ',
    class: 'code-input',
  });
  const joinForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'join-heading' },
    h('h2', { id: 'join-heading' }, 'Join a party'),
    h('label', { for: 'join-code' }, 'Room code (6 letters and digits)'),
    h('div', { class: 'row' }, code, h('button', { type: 'submit', class: 'primary', 'data-testid': 'join-code-submit' }, 'Join')),
  );
  joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = normaliseCode(code.value);
    if (!CODE_SHAPE.test(value)) {
      notice.show('A room code is 6 letters and digits, like K7M2PQ.', 'error');
      code.focus();
      return;
    }
    navigate(`/join/${value}`);
  });

  const roomName = h('input', { id: 'room-name', name: 'room', 'data-testid': 'room-name', maxlength: 80, required: true, placeholder: 'Friday night' });
  const hostName = h('input', {
    id: 'host-name',
    name: 'name',
    'data-testid': 'host-name',
    maxlength: 40,
    required: true,
    autocomplete: 'nickname',
    value: lastName.get(),
  });
  const createButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'create-room' }, 'Create room');
  const createForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-heading' },
    h('h2', { id: 'create-heading' }, 'Start a party'),
    h('label', { for: 'room-name' }, 'Room name'),
    roomName,
    h('label', { for: 'host-name' }, 'Your name'),
    hostName,
    createButton,
  );
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    createButton.disabled = true;
    try {
      const answer = await createRoom(roomName.value.trim(), hostName.value.trim());
      memberToken.set(answer.room.code, answer.token);
      joinUrl.set(answer.room.code, answer.room.join_url);
      lastName.set(hostName.value.trim());
      navigate(`/room/${answer.room.code}`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError('internal', String(err), 0);
      notice.show(describeError(e, e.retryAfter), 'error');
      createButton.disabled = false;
    }
  });

  // Back to the parties this device is in (newest first): a guest who
  // went home to look something up finds her way back in one tap.
  const parties = visits.list().slice(0, 3);
  const back = parties.length
    ? h(
        'nav',
        { class: 'card back-to', 'aria-labelledby': 'back-heading', 'data-testid': 'back-to-party' },
        h('h2', { id: 'back-heading' }, parties.length === 1 ? 'Your party' : 'Your parties'),
        h(
          'ul',
          { class: 'back-list' },
          ...parties.map((p) => {
            const link = h('a', { href: `/room/${p.code}`, class: 'button primary', 'data-testid': 'back-to-room' }, `Back to “${p.name}”`);
            link.addEventListener('click', (e) => {
              e.preventDefault();
              navigate(`/room/${p.code}`);
            });
            return h('li', {}, link, h('span', { class: 'hint' }, ` Code ${p.code}`));
          }),
        ),
      )
    : null;

  // Bars and shops run venues: their own pages, behind an account.
  const venues = h('a', { href: '/venues', class: 'venue-cta-link', 'data-testid': 'venues-link' }, 'Venues');
  venues.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/venues');
  });

  root.append(
    h(
      'main',
      { class: 'page home' },
      h('header', { class: 'hero' }, h('img', { src: '/app/icon.svg', alt: '', width: 56, height: 56 }), h('h1', {}, 'crowdjuke')),
      h('p', { class: 'lead' }, 'The party playlist everyone steers: add tracks, vote them up, share photos.'),
      notice.el,
      back,
      joinForm,
      createForm,
      h('p', { class: 'venue-cta' }, 'Run a bar or shop? ', venues),
    ),
  );
}
