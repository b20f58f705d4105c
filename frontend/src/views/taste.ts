// Your taste profile (`/me/taste`, protocol.md §3.15): what the autopilot
// of a venue knows about the music you like — the artists and genres of the
// tracks you added and voted up in parties, and imported from Spotify — with a switch to turn it off (venues then
// ignore your history) and a button to delete it (only what you add from
// now on counts). Asks for an account first (the gate of the venue pages).

import { ApiError, deleteTaste, getTaste, setTasteEnabled } from '../api';
import { h, setText } from '../dom';
import { describeError } from '../errors';
import { createNotice, inlineStatus } from '../notice';
import type { Taste, TasteName } from '../types';
import { count } from '../words';
import { accountGate } from './account';
import { confirmPanel } from './venue_context';
import type { Navigate } from './view';

/** "5 December 2026" in the reader's language. */
function day(ms: number): string {
  return new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
}

/** A weight as a short number: 3, 2.5. */
function weightText(w: number): string {
  return String(Math.round(w * 10) / 10);
}

export function tasteView(root: HTMLElement, navigate: Navigate): () => void {
  document.title = 'Your taste profile · crowdjuke';
  const notice = createNotice();
  let stopped = false;
  let token = '';
  let taste: Taste | null = null;

  const signedOut = () => gate.signedOut('You were signed out. Sign in again.');
  /** An error of a taste route in a sentence; signs out when the token is gone. */
  const problem = (err: unknown): string => {
    if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
    if (err.code === 'unauthorized') {
      signedOut();
      return 'You were signed out. Sign in again.';
    }
    return describeError(err, err.retryAfter);
  };

  // --- the profile ---------------------------------------------------------
  const loading = h('p', { class: 'loading', 'data-testid': 'taste-loading', hidden: true }, 'Loading your taste profile…');
  const failed = h('p', { class: 'empty', role: 'alert', 'data-testid': 'taste-failed', hidden: true });
  const made = h('p', { 'data-testid': 'taste-tracks' });
  const since = h('p', { class: 'hint', 'data-testid': 'taste-since', hidden: true });
  const empty = h('p', { class: 'empty', tabindex: -1, 'data-testid': 'taste-empty', hidden: true });
  const artists = h('ol', { class: 'taste-bars', 'data-testid': 'taste-artists', 'aria-labelledby': 'taste-artists-heading' });
  const genres = h('ol', { class: 'taste-bars', 'data-testid': 'taste-genres', 'aria-labelledby': 'taste-genres-heading' });
  const lists = h(
    'div',
    { class: 'taste-lists', hidden: true },
    h('div', {}, h('h3', { id: 'taste-artists-heading' }, 'Top artists'), artists),
    h('div', {}, h('h3', { id: 'taste-genres-heading' }, 'Top genres'), genres),
  );
  const state = h('span', { class: 'badge taste-state', 'data-testid': 'taste-state' });
  const profile = h(
    'section',
    { class: 'card', 'aria-labelledby': 'taste-heading', 'data-testid': 'taste-profile', hidden: true },
    h('h2', { id: 'taste-heading' }, 'What the autopilot knows', state),
    made,
    since,
    empty,
    lists,
  );

  /** One artist or genre: its name and a bar as long as its weight against the heaviest. */
  const bars = (list: HTMLElement, names: TasteName[], testid: string) => {
    const top = Math.max(...names.map((n) => n.weight), 1e-9);
    list.replaceChildren(
      ...names.map((n) => {
        const share = Math.max(4, Math.round((n.weight / top) * 100));
        const fill = h('span', { class: 'taste-fill' });
        fill.style.width = `${share}%`; // CSSOM, not a style attribute
        return h(
          'li',
          { class: 'taste-bar', 'data-testid': testid, 'data-name': n.name },
          h('span', { class: 'taste-name' }, n.name),
          h('span', { class: 'taste-weight', title: 'weight' }, weightText(n.weight)),
          h('span', { class: 'taste-meter', 'aria-hidden': 'true' }, fill),
        );
      }),
    );
  };

  // --- the switch ----------------------------------------------------------
  const toggle = h(
    'button',
    { type: 'button', role: 'switch', class: 'switch', 'aria-checked': 'true', 'aria-labelledby': 'taste-switch-label', 'data-testid': 'taste-enabled' },
    h('span', { class: 'switch-knob', 'aria-hidden': 'true' }),
  );
  const toggleStatus = inlineStatus(notice, 'taste-status', toggle);
  const toggleHint = h('span', { class: 'hint', 'data-testid': 'taste-enabled-hint' });
  const settings = h(
    'section',
    { class: 'card', 'aria-labelledby': 'taste-use-heading', 'data-testid': 'taste-settings', hidden: true },
    h('h2', { id: 'taste-use-heading' }, 'In venues'),
    h('div', { class: 'switch-row' }, h('p', { class: 'switch-text' }, h('strong', { id: 'taste-switch-label' }, 'Use my taste in venues'), toggleHint), toggle),
    toggleStatus.el,
  );

  toggle.addEventListener('click', async () => {
    if (!taste) return;
    const wanted = !taste.enabled;
    toggle.disabled = true;
    toggleStatus.clear();
    setText(toggleStatus.el, 'Saving…');
    try {
      const answer = await setTasteEnabled(token, wanted);
      if (stopped) return;
      draw(answer);
      toggleStatus.show(
        answer.enabled ? 'Turned on: venues’ autopilots use your taste again.' : 'Turned off: venues’ autopilots ignore your history.',
        'success',
      );
    } catch (err) {
      if (stopped) return;
      toggleStatus.show(problem(err), 'error');
    } finally {
      toggle.disabled = false;
    }
  });

  // --- delete --------------------------------------------------------------
  const remove = h('button', { type: 'button', class: 'danger', 'data-testid': 'taste-delete' }, 'Delete my taste profile');
  const removeHint = h('p', { class: 'hint', 'data-testid': 'taste-delete-hint' });
  const removeStatus = inlineStatus(notice, 'taste-delete-status', remove);
  const confirm = confirmPanel('taste-delete-confirm', 'Delete it', async () => {
    try {
      await deleteTaste(token);
      const answer = await getTaste(token);
      if (stopped) return;
      confirm.close();
      draw(answer);
      removeStatus.show('Deleted. Only the tracks you add from now on count.', 'success');
      empty.focus(); // where the page changed (the button is disabled now)
    } catch (err) {
      if (stopped) return;
      confirm.close();
      removeStatus.show(problem(err), 'error');
    }
  });
  remove.addEventListener('click', () => {
    removeStatus.clear();
    const n = taste ? counted(taste) : 0;
    confirm.open(
      `Delete your taste profile? The ${count(n, 'track')} it is made of stop counting: only what you add and vote up from now on will. Your parties and your timeline stay as they are.`,
    );
  });
  const danger = h(
    'section',
    { class: 'card', 'aria-labelledby': 'taste-delete-heading', 'data-testid': 'taste-danger', hidden: true },
    h('h2', { id: 'taste-delete-heading' }, 'Start again'),
    removeHint,
    h('div', { class: 'taste-delete' }, remove),
    confirm.el,
    removeStatus.el,
  );

  function draw(t: Taste): void {
    taste = t;
    setText(made, madeOf(t));
    made.hidden = counted(t) === 0; // the empty state says it
    since.hidden = t.since === null;
    setText(since, t.since === null ? '' : `Counting from ${day(t.since)}.`);
    empty.hidden = counted(t) > 0;
    setText(
      empty,
      t.since === null
        ? 'Nothing here yet. Join a party signed in with this account and add a few tracks: their artists and genres show up here.'
        : 'Empty: you deleted it. The tracks you add in parties from now on show up here.',
    );
    lists.hidden = counted(t) === 0;
    bars(artists, t.artists, 'taste-artist');
    bars(genres, t.genres, 'taste-genre');
    state.dataset.enabled = String(t.enabled);
    setText(state, t.enabled ? 'On' : 'Off');
    toggle.setAttribute('aria-checked', String(t.enabled));
    setText(toggleHint, t.enabled ? 'On: in a venue’s zone, its autopilot picks music with your taste in mind.' : 'Off: venues ignore your history. Your profile is still kept.');
    remove.disabled = t.tracks === 0;
    setText(removeHint, counted(t) > 0 ? 'Deleting forgets every track counted so far. Turning it off above keeps them, but venues stop using them.' : 'Nothing to delete: no track counts yet.');
  }

  const gate = accountGate(
    'Your taste profile belongs to your account: sign in, or create an account, to see it.',
    async (_user, t) => {
      token = t;
      loading.hidden = false;
      failed.hidden = true;
      try {
        const answer = await getTaste(t);
        if (stopped) return;
        draw(answer);
        profile.hidden = settings.hidden = danger.hidden = false;
      } catch (err) {
        if (stopped) return;
        const text = problem(err);
        if (!(err instanceof ApiError && err.code === 'unauthorized')) {
          setText(failed, text);
          failed.hidden = false;
        }
      } finally {
        loading.hidden = true;
      }
    },
    () => {
      token = '';
      taste = null;
      profile.hidden = settings.hidden = danger.hidden = true;
      failed.hidden = true;
      confirm.close();
    },
  );

  const home = h('a', { href: '/' }, '← crowdjuke');
  home.addEventListener('click', (e) => {
    e.preventDefault();
    navigate('/');
  });

  root.append(
    h(
      'main',
      { class: 'page venues taste-page' },
      h('p', { class: 'back' }, home),
      h('header', { class: 'venue-header' }, h('h1', {}, 'Your taste profile'), gate.bar),
      h(
        'p',
        { class: 'lead', 'data-testid': 'taste-intro' },
        'When you are in a venue’s zone with your account, its autopilot picks music for the guests there using this profile, made from the tracks you added in parties.',
      ),
      notice.el,
      gate.form,
      loading,
      failed,
      profile,
      settings,
      danger,
    ),
  );
  return () => {
    stopped = true;
  };
}

/** The tracks a profile is made of, however they came in. */
function counted(t: Taste): number {
  return t.tracks + t.votes + t.imported;
}

/** "Made from the 12 tracks you added in parties, 3 tracks you voted up and 40 tracks imported from Spotify (…)." */
function madeOf(t: Taste): string {
  const parts = [
    t.tracks > 0 ? `the ${count(t.tracks, 'track')} you added in parties` : '',
    t.votes > 0 ? `${count(t.votes, 'track')} you voted up` : '',
    t.imported > 0 ? `${count(t.imported, 'track')} imported from Spotify` : '',
  ].filter((p) => p !== '');
  if (parts.length === 0) return '';
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return `Made from ${list} (only the latest count).`;
}
