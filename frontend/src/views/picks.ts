// Quick picks (protocol.md §4.4 `picks:options`, `picks:set`): a guest who
// scans into a venue's zone, with or without an account, taps up to three
// of the zone's genres, and the autopilot counts them for as long as they
// are there. Optional: "Not now" folds the card for this room; once saved
// it shrinks to one line with a "Change" button.

import { h, setText } from '../dom';
import { describeError } from '../errors';
import type { RoomState } from '../state';
import { count } from '../words';
import type { RoomContext, Section } from './view';

interface Options {
  genres: string[];
  picks: string[];
  max: number;
}

const folded = new Set<string>();

export function picksSection(ctx: RoomContext): Section {
  const chips = h('div', { class: 'picks-chips', role: 'group', 'aria-label': 'Genres' });
  const save = h('button', { type: 'button', class: 'button primary small', 'data-testid': 'picks-save' }, 'Save my picks');
  const later = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'picks-dismiss' }, 'Not now');
  const status = h('p', { class: 'hint', 'data-testid': 'picks-status', role: 'status' });
  const hint = h('p', { class: 'hint', 'data-testid': 'picks-hint' });
  const open = h('div', { class: 'picks-open' }, hint, chips, h('div', { class: 'row wrap' }, save, later));
  const summary = h('span', { 'data-testid': 'picks-summary' });
  const change = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'picks-change' }, 'Change');
  const closed = h('div', { class: 'picks-closed row wrap', hidden: true }, summary, change);
  const el = h(
    'section',
    { class: 'card picks', id: 'picks', 'data-testid': 'picks', 'aria-labelledby': 'picks-heading', hidden: true },
    h('h2', { id: 'picks-heading' }, 'What are you in the mood for?'),
    open,
    closed,
    status,
  );

  let options: Options | null = null;
  let asked = false;
  let saving = false;
  const chosen = new Set<string>();

  const draw = () => {
    if (!options) return;
    const max = options.max;
    setText(hint, `Tap up to ${count(Math.min(max, options.genres.length), 'genre')}: the music here follows the guests who are in.`);
    for (const chip of chips.querySelectorAll<HTMLButtonElement>('button')) {
      const on = chosen.has(chip.dataset.genre?.toLowerCase() ?? '');
      chip.setAttribute('aria-pressed', String(on));
      chip.disabled = saving || (!on && chosen.size >= max);
    }
    save.disabled = saving;
    const saved = options.picks;
    setText(summary, saved.length > 0 ? `Your picks: ${saved.join(', ')}` : 'No picks: the music follows the others here.');
  };

  const fold = (yes: boolean) => {
    open.hidden = yes;
    closed.hidden = !yes;
  };

  const load = async () => {
    asked = true;
    const ack = await ctx.conn.command<Options>('picks:options', {});
    if (!ack.ok) {
      asked = false; // try again on the next update (e.g. after a reconnect)
      return;
    }
    options = ack.data;
    chosen.clear();
    for (const p of options.picks) chosen.add(p);
    chips.replaceChildren(
      ...options.genres.map((genre) => {
        const chip = h('button', { type: 'button', class: 'chip', 'data-testid': 'pick', 'data-genre': genre, 'aria-pressed': 'false' }, genre);
        chip.addEventListener('click', () => {
          const key = genre.toLowerCase();
          if (chosen.has(key)) chosen.delete(key);
          else if (options && chosen.size < options.max) chosen.add(key);
          status.textContent = '';
          draw();
        });
        return chip;
      }),
    );
    el.hidden = options.genres.length === 0;
    fold(options.picks.length > 0 || folded.has(ctx.code));
    draw();
  };

  save.addEventListener('click', async () => {
    if (saving || !options) return;
    saving = true;
    draw();
    const ack = await ctx.conn.command<{ version: number; picks: string[] }>('picks:set', { genres: [...chosen] });
    saving = false;
    if (ack.ok && options) {
      options.picks = ack.data.picks;
      setText(status, ack.data.picks.length > 0 ? 'Saved: the next tracks the venue picks count them.' : 'Cleared.');
      fold(true);
    } else if (!ack.ok) {
      setText(status, describeError(ack.error));
    }
    draw();
  });
  later.addEventListener('click', () => {
    folded.add(ctx.code);
    status.textContent = '';
    fold(true);
  });
  change.addEventListener('click', () => {
    status.textContent = '';
    fold(false);
    chips.querySelector<HTMLButtonElement>('button')?.focus();
  });

  return {
    el,
    update(state: RoomState) {
      const zoneGuest = state.room.kind === 'venue' && state.me.role === 'guest';
      if (!zoneGuest) {
        el.hidden = true;
        return;
      }
      if (!asked) void load();
    },
  };
}
