// Entry point: picks the view from `location.pathname` (the server sends
// this same page for /, /join/{code}, /room/{code} and /display/{code}).

import { normaliseCode } from './storage';
import { displayView } from './views/display';
import { homeView } from './views/home';
import { joinView } from './views/join';
import { roomView } from './views/room';
import type { Navigate, View } from './views/view';

const root = document.getElementById('app') as HTMLElement;
let stop: (() => void) | void;
let generation = 0;

function viewFor(path: string): View {
  const m = /^\/(join|room|display)\/([^/]+)\/?$/.exec(path);
  if (!m) return homeView;
  const code = normaliseCode(decodeURIComponent(m[2]));
  if (m[1] === 'join') return (r, nav) => joinView(r, nav, code);
  if (m[1] === 'room') return (r, nav) => roomView(r, nav, code);
  return (r, nav) => displayView(r, nav, code);
}

function render(): void {
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

window.addEventListener('popstate', render);
render();

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/app/sw.js', { scope: '/' }).catch(() => {
    // Offline support is a bonus: the app works without it.
  });
}
