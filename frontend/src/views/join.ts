// Join (`/join/{code}`): a nickname, then the room. A token stored on this
// device is sent along, so a returning guest gets their own member back.
// The room's name comes first (`GET /api/rooms/{code}`), so a guest knows
// where she is going, and a wrong code is said before she types her name.

import { ApiError, joinRoom, roomPreview } from '../api';
import { h, setText } from '../dom';
import { describeError } from '../errors';
import { createNotice } from '../notice';
import { joinUrl, lastName, memberToken } from '../storage';
import type { Navigate } from './view';

export function joinView(root: HTMLElement, navigate: Navigate, code: string): void {
  document.title = `Join ${code} · crowdjuke`;
  const notice = createNotice();
  const stored = memberToken.get(code);

  const name = h('input', {
    id: 'join-name',
    name: 'name',
    'data-testid': 'join-name',
    maxlength: 40,
    required: true,
    autocomplete: 'nickname',
    value: lastName.get(),
  });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'join-submit' }, stored ? 'Rejoin' : 'Join the party');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'join-title' },
    h('label', { for: 'join-name' }, 'Your name (what others see)'),
    name,
    stored ? h('p', { class: 'hint' }, 'You were here before on this device: you get your place back.') : null,
    submit,
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const nickname = name.value.trim();
    if (!nickname) {
      notice.show('Type a name first.', 'error');
      name.focus();
      return;
    }
    submit.disabled = true;
    notice.clear();
    try {
      const answer = await joinRoom(code, nickname, memberToken.get(code));
      memberToken.set(code, answer.token);
      joinUrl.set(code, answer.room.join_url);
      lastName.set(nickname);
      navigate(`/room/${answer.room.code}`, true);
    } catch (err) {
      submit.disabled = false;
      notice.show(joinErrorText(err, code), 'error', true);
    }
  });

  const heading = h('span', { 'data-testid': 'join-room-name' }, `Join room ${code}`);
  const codeLine = h('p', { class: 'meta', 'data-testid': 'join-meta' }, 'Code ', h('span', { class: 'code', 'data-testid': 'room-code' }, code));
  const missing = h(
    'div',
    { class: 'card', 'data-testid': 'join-missing', hidden: true },
    h('p', { role: 'alert' }, `There is no room with the code ${code}. Check the code with the host: it is on their screen, under the QR code.`),
    h('p', {}, h('a', { href: '/', 'data-link': '', class: 'button primary' }, 'Type another code')),
  );
  root.append(
    h(
      'main',
      { class: 'page join' },
      h('p', { class: 'back' }, h('a', { href: '/', 'data-link': '' }, '← crowdjuke')),
      h('h1', { id: 'join-title' }, heading),
      codeLine,
      notice.el,
      missing,
      form,
    ),
  );
  for (const a of Array.from(root.querySelectorAll('a[data-link]'))) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      navigate('/');
    });
  }
  // Without an answer (offline, rate limited) the form works as before.
  roomPreview(code)
    .then((room) => {
      setText(heading, `Join “${room.name}”`);
      document.title = `Join ${room.name} · crowdjuke`;
      const here = room.online_count ?? 0;
      if (here > 0) codeLine.append(` · ${here === 1 ? '1 person' : `${here} people`} here`);
    })
    .catch((err) => {
      if (err instanceof ApiError && err.code === 'room_not_found') {
        setText(heading, `No room ${code}`);
        form.hidden = true;
        missing.hidden = false;
      }
    });
}

function joinErrorText(err: unknown, code: string): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (err.code) {
    case 'room_not_found':
      return `There is no room with the code ${code}. Check the code with the host.`;
    case 'banned':
      return 'You were banned from this room, so you cannot join it again.';
    case 'invalid_payload':
      return 'A name is 1 to 40 characters, without special control characters.';
    default:
      return describeError(err, err.retryAfter);
  }
}
