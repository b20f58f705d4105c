// Venues (`/venues`): a bar or a shop signs in (or registers), sees the
// venues it is staff of and creates one (protocol.md §3.18).

import { createVenue, myVenues } from '../api';
import { h, setText } from '../dom';
import { createNotice, inlineStatus } from '../notice';
import { returnTrip } from '../storage';
import type { VenueAnswer } from '../types';
import { count } from '../words';
import { accountGate } from './account';
import { ROLE_NAMES, venueProblem } from './venue_context';
import { detailsForm } from './venue_details';
import type { Navigate } from './view';

export function venuesView(root: HTMLElement, navigate: Navigate): () => void {
  document.title = 'Venues · crowdjuke';
  const notice = createNotice();
  let stopped = false;
  const list = h('ul', { class: 'venue-list', 'data-testid': 'venue-list' });
  const listStatus = h('p', { class: 'empty', 'data-testid': 'venues-empty' });
  const mine = h(
    'section',
    { class: 'card', 'aria-labelledby': 'mine-heading', 'data-testid': 'my-venues', hidden: true },
    h('h2', { id: 'mine-heading' }, 'Your venues'),
    listStatus,
    list,
  );

  const form = detailsForm('new', null);
  const create = h('button', { type: 'submit', class: 'primary', 'data-testid': 'venue-create' }, 'Create venue');
  const status = inlineStatus(notice, 'venue-create-status', create);
  const createForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-venue-heading', 'data-testid': 'venue-create-form', hidden: true },
    h('h2', { id: 'create-venue-heading' }, 'Create a venue'),
    h('p', { class: 'hint' }, 'You become its owner. Then open zones, add your catalogue and invite your staff.'),
    form.el,
    create,
    status.el,
  );

  const goTo = (id: string) => navigate(`/venues/${encodeURIComponent(id)}`);

  const draw = (venues: VenueAnswer[]) => {
    setText(listStatus, venues.length ? '' : 'None yet: create your first venue below, or open an invitation link from its owner.');
    listStatus.hidden = venues.length > 0;
    list.replaceChildren(
      ...venues.map(({ venue, role }) => {
        const link = h('a', { href: `/venues/${encodeURIComponent(venue.id)}`, class: 'venue-link', 'data-testid': 'venue-link' }, venue.name);
        link.addEventListener('click', (e) => {
          e.preventDefault();
          goTo(venue.id);
        });
        const where = [venue.city, count(venue.zones.length, 'zone')].filter(Boolean).join(' · ');
        return h('li', { class: 'venue-item', 'data-testid': 'venue-item', 'data-venue-id': venue.id }, link, h('span', { class: 'badge' }, ROLE_NAMES[role]), h('p', { class: 'hint' }, where));
      }),
    );
  };

  // What a bar's autopilot knows about the signed-in person (taste.ts).
  const tasteLink = h('a', { href: '/me/taste', class: 'taste-link', 'data-testid': 'taste-link' }, 'Your taste profile: what venues’ autopilots know about your music');
  tasteLink.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/me/taste');
  });
  const tasteLine = h('p', { class: 'account-links', hidden: true }, tasteLink);

  let token = '';
  const gate = accountGate(
    'A venue belongs to accounts: sign in, or create an account for yourself (not one shared by the whole bar).',
    async (_user, t) => {
      token = t;
      mine.hidden = createForm.hidden = tasteLine.hidden = false;
      setText(listStatus, 'Loading…');
      listStatus.hidden = false;
      try {
        const venues = await myVenues(t);
        if (!stopped) draw(venues);
      } catch (err) {
        setText(listStatus, venueProblem({ signedOut: () => gate.signedOut('You were signed out. Sign in again.') }, err));
      }
    },
    () => {
      mine.hidden = createForm.hidden = tasteLine.hidden = true;
      list.replaceChildren();
    },
  );

  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const details = form.read();
    if (typeof details === 'string') {
      status.show(details, 'error');
      return;
    }
    create.disabled = true;
    status.clear();
    try {
      const answer = await createVenue(token, details);
      goTo(answer.venue.id);
    } catch (err) {
      status.show(venueProblem({ signedOut: () => gate.signedOut('You were signed out. Sign in again.') }, err), 'error');
      create.disabled = false;
    }
  });

  const home = h('a', { href: '/' }, '← crowdjuke');
  home.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/');
  });
  // A message left by the page before (a venue deleted or left).
  const flash = returnTrip.heard();
  if (flash) notice.show(flash.text, flash.kind);

  root.append(
    h(
      'main',
      { class: 'page venues' },
      h('p', { class: 'back' }, home),
      h('header', { class: 'venue-header' }, h('h1', {}, 'Venues'), gate.bar, tasteLine),
      h('p', { class: 'lead' }, 'For bars and shops: zones with their own join codes and table cards, your own catalogue, day parts and your staff.'),
      notice.el,
      gate.form,
      mine,
      createForm,
    ),
  );
  return () => {
    stopped = true;
  };
}
