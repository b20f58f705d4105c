// An invitation to a venue's staff (`/invitations/{id}`, protocol.md
// §3.18): sign in or register, then Accept. The link works once; the
// server tells nothing about it before it is accepted (no preview route),
// so the page cannot name the venue beforehand.

import { acceptInvitation, ApiError } from '../api';
import { h, setText } from '../dom';
import { createNotice, inlineStatus } from '../notice';
import { returnTrip } from '../storage';
import { accountGate } from './account';
import { venueProblem } from './venue_context';
import type { Navigate } from './view';

export function invitationView(root: HTMLElement, navigate: Navigate, id: string): void {
  document.title = 'Invitation · crowdjuke';
  const notice = createNotice();
  let token = '';
  const accept = h('button', { type: 'button', class: 'primary', 'data-testid': 'invitation-accept' }, 'Accept the invitation');
  const status = inlineStatus(notice, 'invitation-status', accept);
  const mine = h('a', { href: '/venues', class: 'button', 'data-testid': 'invitation-venues', hidden: true }, 'Your venues');
  mine.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/venues');
  });
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'invitation-heading', 'data-testid': 'invitation', hidden: true },
    h('h2', { id: 'invitation-heading' }, 'Join the staff'),
    h('p', {}, 'Accepting puts your account on the venue’s staff with the role the owner chose. The link then stops working for anyone else.'),
    h('div', { class: 'row wrap' }, accept, mine),
    status.el,
  );
  const gate = accountGate(
    'Sign in, or create your account, to accept.',
    (_user, t) => {
      token = t;
      card.hidden = false;
    },
    () => {
      card.hidden = true;
    },
  );
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    status.clear();
    try {
      const answer = await acceptInvitation(token, id);
      returnTrip.say(`Welcome to the staff of ${answer.venue.name}.`, 'success');
      navigate(`/venues/${encodeURIComponent(answer.venue.id)}`);
    } catch (err) {
      status.show(venueProblem({ signedOut: () => gate.signedOut('You were signed out. Sign in again.') }, err), 'error');
      // Used up either way (protocol.md §3.18): offer the way to the venues.
      if (err instanceof ApiError && ['invitation_not_found', 'already_staff'].includes(err.code)) {
        setText(accept, 'Used');
        mine.hidden = false;
        return;
      }
      accept.disabled = false;
    }
  });
  const home = h('a', { href: '/' }, '← crowdjuke');
  home.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/');
  });
  root.append(
    h(
      'main',
      { class: 'page venues' },
      h('p', { class: 'back' }, home),
      h('header', { class: 'venue-header' }, h('h1', {}, 'You are invited'), gate.bar),
      h('p', { class: 'lead' }, 'Someone invited you to the staff of their venue on crowdjuke.'),
      notice.el,
      gate.form,
      card,
    ),
  );
}
