// A venue's page for its staff (`/venues/{id}`, protocol.md §3.18): its
// zones, blocked tracks, details, staff and catalogue (and, for owners and
// managers, a link to the dashboard, venue_dashboard.ts), each showing what
// the caller's role allows (the role comes with every answer and is
// checked again by the server). Asks for an account first.

import { ApiError, getVenue } from '../api';
import { h, setText } from '../dom';
import { createNotice } from '../notice';
import { returnTrip } from '../storage';
import type { VenueAnswer } from '../types';
import { count } from '../words';
import { accountGate, type Account } from './account';
import { blockedSection } from './venue_blocked';
import { catalogueSection } from './venue_catalogue';
import { can, ROLE_NAMES, venueProblem, type VenueContext, type VenueSection } from './venue_context';
import { detailsSection } from './venue_details';
import { staffSection } from './venue_staff';
import { zonesSection } from './venue_zones';
import type { Navigate } from './view';

export function venueView(root: HTMLElement, navigate: Navigate, id: string): () => void {
  document.title = 'Venue · crowdjuke';
  const notice = createNotice();
  let stopped = false;
  const title = h('h1', { 'data-testid': 'venue-title' }, 'Venue');
  const meta = h('p', { class: 'meta', 'data-testid': 'venue-meta' });
  const loading = h('p', { class: 'loading', 'data-testid': 'loading', hidden: true }, 'Loading the venue…');
  const missing = h('div', { class: 'card', 'data-testid': 'venue-missing', hidden: true });
  const body = h('div', { class: 'venue-body' });
  const dashboardPath = `/venues/${encodeURIComponent(id)}/dashboard`;
  // Owners and managers only (the server checks it again).
  const dashboard = h('a', { href: dashboardPath, class: 'button', 'data-testid': 'venue-dashboard-link', hidden: true }, 'Dashboard: plays, requests, guests');
  dashboard.addEventListener('click', (e) => {
    e.preventDefault();
    navigate(dashboardPath);
  });
  const back = h('a', { href: '/venues', 'data-testid': 'back-to-venues' }, '← Your venues');
  back.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/venues');
  });

  const gate = accountGate(
    'The venue’s pages are for its staff: sign in with your account.',
    (user, token) => void open(user, token),
    () => {
      body.replaceChildren();
      missing.hidden = true;
      dashboard.hidden = true;
      setText(title, 'Venue');
      setText(meta, '');
    },
  );

  async function open(me: Account, token: string): Promise<void> {
    loading.hidden = false;
    missing.hidden = true;
    let sections: VenueSection[] = [];
    const ctx: VenueContext = {
      id,
      token,
      me,
      notice,
      navigate,
      apply(answer) {
        if (stopped) return;
        draw(answer);
        for (const s of sections) s.update(answer);
      },
      async reload() {
        try {
          ctx.apply(await getVenue(token, id));
        } catch (err) {
          gone(err);
        }
      },
      signedOut() {
        gate.signedOut('You were signed out. Sign in again.');
      },
    };
    const gone = (err: unknown) => {
      if (err instanceof ApiError && ['venue_not_found', 'not_venue_staff'].includes(err.code)) {
        body.replaceChildren();
        sections = [];
        setText(title, err.code === 'venue_not_found' ? 'No such venue' : 'Not your venue');
        const link = h('a', { href: '/venues', class: 'button primary' }, 'Your venues');
        link.addEventListener('click', (e) => {
          e.preventDefault();
          navigate('/venues');
        });
        missing.replaceChildren(h('p', { role: 'alert' }, venueProblem(ctx, err)), h('p', {}, link));
        missing.hidden = false;
      } else notice.show(venueProblem(ctx, err), 'error', true);
    };
    let answer: VenueAnswer;
    try {
      answer = await getVenue(token, id);
    } catch (err) {
      loading.hidden = true;
      gone(err);
      return;
    }
    loading.hidden = true;
    if (stopped) return;
    const zones = zonesSection(ctx);
    const details = detailsSection(ctx);
    const staff = staffSection(ctx);
    const catalogue = catalogueSection(ctx);
    const blocked = blockedSection(ctx);
    sections = [zones, details, staff, catalogue, blocked];
    const links = [
      ['zones', 'Zones'],
      ['catalogue', 'Catalogue'],
      ['staff', 'Staff'],
      ['details', 'Details'],
    ].map(([to, label]) => h('a', { href: `#${to}`, 'data-testid': `jump-${to}` }, label));
    body.replaceChildren(
      h('nav', { class: 'jump venue-jump', 'aria-label': 'Sections of this page' }, ...links),
      h('div', { class: 'venue-grid' }, h('div', { class: 'col-main' }, zones.el, blocked.el, catalogue.el), h('div', { class: 'col-side' }, staff.el, details.el)),
    );
    ctx.apply(answer);
  }

  function draw(answer: VenueAnswer): void {
    const v = answer.venue;
    setText(title, v.name);
    document.title = `${v.name} · crowdjuke`;
    const place = [v.city, v.time_zone].filter(Boolean).join(' · ');
    setText(meta, `You are ${ROLE_NAMES[answer.role].toLowerCase()} · ${count(v.zones.length, 'zone')} · ${place}`);
    dashboard.hidden = !can(answer.role, 'analytics');
  }

  // A message left by the page before (an invitation accepted).
  const flash = returnTrip.heard();
  if (flash) notice.show(flash.text, flash.kind);

  root.append(
    h(
      'main',
      { class: 'page venue-page' },
      h('p', { class: 'back' }, back),
      h('header', { class: 'venue-header' }, title, meta, gate.bar, dashboard),
      notice.el,
      gate.form,
      loading,
      missing,
      body,
    ),
  );
  return () => {
    stopped = true;
  };
}
