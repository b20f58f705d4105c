// Entry point: picks the view from `location.pathname` (the server sends
// this same page for /, /join/{code}, /room/{code}, /display/{code},
// /venues, /venues/{id}, /venues/{id}/dashboard, /invitations/{id} and
// /me/taste).

import { normaliseCode } from './storage';
import { displayView } from './views/display';
import { homeView } from './views/home';
import { invitationView } from './views/invitation';
import { joinView } from './views/join';
import { roomView } from './views/room';
import { tasteView } from './views/taste';
import { venueView } from './views/venue';
import { dashboardView } from './views/venue_dashboard';
import { venuesView } from './views/venues';
import type { Navigate, View } from './views/view';

const root = document.getElementById('app') as HTMLElement;
let stop: (() => void) | void;
let generation = 0;
/** The path the current view was drawn for. */
let drawnPath = '';

/** A path part as typed, or its decoding. */
function decoded(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function viewFor(path: string): View {
  if (/^\/venues\/?$/.test(path)) return venuesView;
  if (/^\/me\/taste\/?$/.test(path)) return tasteView;
  const dashboard = /^\/venues\/([^/]+)\/dashboard\/?$/.exec(path);
  if (dashboard) return (r, nav) => dashboardView(r, nav, decoded(dashboard[1]));
  const venue = /^\/venues\/([^/]+)\/?$/.exec(path);
  if (venue) return (r, nav) => venueView(r, nav, decoded(venue[1]));
  const invitation = /^\/invitations\/([^/]+)\/?$/.exec(path);
  if (invitation) return (r, nav) => invitationView(r, nav, decoded(invitation[1]));
  const m = /^\/(join|room|display)\/([^/]+)\/?$/.exec(path);
  if (!m) return homeView;
  // A malformed escape is used as typed (it will not match a room).
  const code = normaliseCode(decoded(m[2]));
  if (m[1] === 'join') return (r, nav) => joinView(r, nav, code);
  if (m[1] === 'room') return (r, nav) => roomView(r, nav, code);
  return (r, nav) => displayView(r, nav, code);
}

function render(): void {
  drawnPath = location.pathname;
  const mine = ++generation;
  const previous = stop;
  stop = undefined;
  if (previous) previous();
  root.replaceChildren();
  document.body.className = '';
  const cleanup = viewFor(location.pathname)(root, navigate);
  // A view may redirect while drawing: then a newer view is already up.
  if (mine !== generation) {
    if (cleanup) cleanup();
    return;
  }
  stop = cleanup;
  const heading = root.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1; // moves screen readers to the new page
    if (document.activeElement === document.body) heading.focus({ preventScroll: true });
  }
}

const navigate: Navigate = (path, replace = false) => {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.scrollTo(0, 0);
  render();
};

// Same-page links (#queue, #photos) and going back to them change only the
// fragment: the view, its socket and whatever was typed stay as they are.
window.addEventListener('popstate', () => {
  if (location.pathname !== drawnPath) render();
});
render();

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/app/sw.js', { scope: '/' }).catch(() => {
    // Offline support is a bonus: the app works without it.
  });
}
