// A venue's catalogue (protocol.md §3.18): the library tracks its zones may
// play; guests in a zone can add only these. Everyone on the staff pages
// through it; owners and managers find library tracks to add and remove
// tracks.

import { addToCatalogue, ApiError, cataloguePage, removeFromCatalogue, searchTracks } from '../api';
import { h, part, setText, syncList } from '../dom';
import { inlineStatus } from '../notice';
import type { Track, VenueAnswer } from '../types';
import { count } from '../words';
import { can, venueProblem, type VenueContext, type VenueSection } from './venue_context';

const PAGE = 50;

const trackMeta = (t: Track) => [t.artists.join(', '), t.album, t.genres?.length ? t.genres.join(', ') : null].filter(Boolean).join(' · ');

function trackText(t: Track): HTMLElement {
  return h(
    'div',
    { class: 'result-text' },
    h('p', { class: 'result-title' }, t.title, t.explicit ? h('span', { class: 'badge', title: 'Explicit' }, 'E') : null),
    h('p', { class: 'result-meta' }, trackMeta(t)),
  );
}

export function catalogueSection(ctx: VenueContext): VenueSection {
  /** The loaded part of the catalogue, in id order (the server's). */
  let tracks: Track[] = [];
  let next: string | null = null;
  let loaded = false;
  let manage = false;
  let searchAbort: AbortController | null = null;
  let timer: number | undefined;

  // --- finding library tracks (owner, manager) --------------------------
  const query = h('input', { id: 'library-search', type: 'search', 'data-testid': 'library-search', autocomplete: 'off', placeholder: 'Title, artist or genre' });
  const find = h('button', { type: 'submit', 'data-testid': 'library-search-submit' }, 'Search');
  const results = h('ul', { class: 'results', 'data-testid': 'library-results' });
  const searchStatus = h('p', { class: 'search-status', 'data-testid': 'library-status', role: 'status' });
  const searchForm = h(
    'form',
    { class: 'library-search', role: 'search', 'aria-label': 'Find library tracks to add' },
    h('label', { for: 'library-search' }, 'Find tracks in the library'),
    h('div', { class: 'row' }, query, find),
    searchStatus,
    results,
  );

  // --- the catalogue ----------------------------------------------------
  const list = h('ul', { class: 'results catalogue', 'data-testid': 'catalogue' });
  const empty = h('p', { class: 'empty', 'data-testid': 'catalogue-empty', hidden: true });
  const more = h('button', { type: 'button', 'data-testid': 'catalogue-more', hidden: true }, 'Show more');
  const listStatus = inlineStatus(ctx.notice, 'catalogue-status', more);
  const shown = h('p', { class: 'hint', 'data-testid': 'catalogue-count' });
  const el = h(
    'section',
    { class: 'card venue-catalogue', id: 'catalogue', 'aria-labelledby': 'catalogue-heading', 'data-testid': 'venue-catalogue' },
    h('h2', { id: 'catalogue-heading' }, 'Catalogue'),
    h('p', { class: 'hint' }, 'Guests in your zones can add only these tracks; staff too.'),
    searchForm,
    h('h3', {}, 'In the catalogue'),
    shown,
    list,
    empty,
    more,
    listStatus.el,
  );
  const inCatalogue = new Set<string>();

  const drawList = () => {
    syncList(
      list,
      tracks,
      (t) => t.id,
      (t) => {
        const remove = h('button', { type: 'button', class: 'small', 'data-part': 'remove', 'data-testid': 'catalogue-remove', 'aria-label': `Remove ${t.title} from the catalogue` }, 'Remove');
        remove.addEventListener('click', () => void drop(t, remove));
        return h('li', { class: 'result', 'data-testid': 'catalogue-track', 'data-track-id': t.id }, trackText(t), remove);
      },
      (li) => {
        part(li, 'remove').hidden = !manage;
      },
      false,
    );
    empty.hidden = tracks.length > 0;
    setText(empty, manage ? 'No tracks yet: find some in the library above and add them.' : 'No tracks yet: the owner or a manager adds them.');
    more.hidden = next === null;
    setText(shown, tracks.length ? `${count(tracks.length, 'track')} shown${next ? ' (more below)' : ''}.` : '');
    drawResults();
  };

  const load = async (fresh: boolean) => {
    more.disabled = true;
    try {
      const page = await cataloguePage(ctx.token, ctx.id, fresh ? null : next, PAGE);
      if (fresh) {
        tracks = [];
        inCatalogue.clear();
      }
      for (const t of page.tracks) {
        if (inCatalogue.has(t.id)) continue;
        inCatalogue.add(t.id);
        tracks.push(t);
      }
      next = page.next;
      listStatus.clear();
      drawList();
    } catch (err) {
      listStatus.show(venueProblem(ctx, err), 'error');
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load(false));

  /** Puts an added track in its place when that place is loaded already. */
  const placed = (t: Track) => {
    inCatalogue.add(t.id);
    const last = tracks[tracks.length - 1];
    if (next !== null && last && t.id > last.id) return; // on a page not loaded yet
    if (tracks.some((x) => x.id === t.id)) return;
    tracks.push(t);
    tracks.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };

  const add = async (t: Track, button: HTMLButtonElement, line: ReturnType<typeof inlineStatus>) => {
    button.disabled = true;
    try {
      await addToCatalogue(ctx.token, ctx.id, [t.id]);
      placed(t);
      drawList();
      line.show(`Added “${t.title}”.`, 'success');
    } catch (err) {
      button.disabled = false;
      line.show(venueProblem(ctx, err), 'error');
    }
  };

  const drop = async (t: Track, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      await removeFromCatalogue(ctx.token, ctx.id, [t.id]);
      inCatalogue.delete(t.id);
      tracks = tracks.filter((x) => x.id !== t.id);
      drawList();
      ctx.notice.show(`Removed “${t.title}” from the catalogue.`, 'success');
    } catch (err) {
      button.disabled = false;
      listStatus.show(venueProblem(ctx, err), 'error');
    }
  };

  let found: Track[] = [];
  const drawResults = () => {
    syncList(
      results,
      found,
      (t) => t.id,
      (t) => {
        const button = h('button', { type: 'button', class: 'small primary', 'data-part': 'add', 'data-testid': 'catalogue-add', 'aria-label': `Add ${t.title} to the catalogue` }, 'Add');
        const line = inlineStatus(ctx.notice, 'catalogue-add-status', button);
        button.addEventListener('click', () => void add(t, button, line));
        return h('li', { class: 'result', 'data-testid': 'library-result', 'data-track-id': t.id }, trackText(t), h('div', { class: 'result-actions' }, button, line.el));
      },
      (li, t) => {
        const button = part<HTMLButtonElement>(li, 'add');
        const has = inCatalogue.has(t.id);
        button.disabled = has;
        setText(button, has ? 'In the catalogue' : 'Add');
        button.classList.toggle('primary', !has);
      },
      false,
    );
  };

  const search = async () => {
    searchAbort?.abort();
    const abort = new AbortController();
    searchAbort = abort;
    setText(searchStatus, 'Searching…');
    try {
      const page = await searchTracks(query.value.trim(), abort.signal);
      found = page.tracks;
      drawResults();
      setText(searchStatus, found.length ? (query.value.trim() ? `${count(page.total, 'track')} found.` : 'Popular tracks in the library.') : 'No track in the library matches.');
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return;
      setText(searchStatus, err instanceof ApiError ? venueProblem(ctx, err) : 'The search failed. Try again.');
    }
  };
  query.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void search(), 250);
  });
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    window.clearTimeout(timer);
    void search();
  });

  return {
    el,
    update(answer: VenueAnswer) {
      manage = can(answer.role, 'catalogue');
      searchForm.hidden = !manage;
      if (!loaded) {
        loaded = true;
        void load(true);
      } else drawList();
    },
  };
}
