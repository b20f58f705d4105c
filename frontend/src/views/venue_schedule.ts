// A zone's schedule editor (protocol.md §3.18, owners and managers): day
// parts (a name, the weekdays it starts on, local start and end times) each
// with its limits on what guests may ask for, and the defaults outside them.
// It opens on the zone's schedule as the server has it (GET), and Save
// sends the whole schedule (PUT); the server's `invalid_schedule` reason
// is shown beside Save.

import { ApiError, clearSchedule, getSchedule, setSchedule, type ScheduleAnswer } from '../api';
import { h, setText } from '../dom';
import { inlineStatus } from '../notice';
import type { DayPart, DayPartNow, Limits, SchedulePlan, Zone } from '../types';
import { venueTime, WEEKDAYS, WEEKDAYS_SHORT } from '../words';
import { venueProblem, type VenueContext } from './venue_context';

let ids = 0;

interface LimitsEditor {
  el: HTMLElement;
  read(): Limits | string;
}

const genreList = (text: string) =>
  text
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);

/** A number pair `[low, high]` from two inputs; one side empty takes the bound. */
function range(what: string, low: HTMLInputElement, high: HTMLInputElement, max: number): [number, number] | null | string {
  if (!low.value && !high.value) return null;
  const a = low.value ? Number(low.value) : 0;
  const b = high.value ? Number(high.value) : max;
  if (![a, b].every((n) => Number.isInteger(n) && n >= 0 && n <= max)) return `${what} is a whole number from 0 to ${max}.`;
  if (a > b) return `${what}: the lowest is above the highest.`;
  return [a, b];
}

/** The limits of one day part, or of the defaults. `testid` prefixes each control; `what` is its legend. */
function limitsEditor(testid: string, what: string, limits: Limits): LimitsEditor {
  const n = ++ids;
  const id = (name: string) => `limits-${n}-${name}`;
  const input = (name: string, attrs: Record<string, string | number | boolean>) =>
    h('input', { id: id(name), 'data-testid': `${testid}-${name}`, ...attrs });
  const allowed = input('genres-allowed', { value: (limits.genres_allowed ?? []).join(', '), autocapitalize: 'none', placeholder: 'disco, funk' });
  const blocked = input('genres-blocked', { value: (limits.genres_blocked ?? []).join(', '), autocapitalize: 'none' });
  const num = (name: string, value: number | undefined, max: number) =>
    input(name, { type: 'number', inputmode: 'numeric', min: 0, max, step: 1, class: 'limit-input', value: value === undefined ? '' : String(value) });
  const energyLow = num('energy-low', limits.energy?.[0], 100);
  const energyHigh = num('energy-high', limits.energy?.[1], 100);
  const tempoLow = num('tempo-low', limits.tempo?.[0], 300);
  const tempoHigh = num('tempo-high', limits.tempo?.[1], 300);
  const explicit = input('explicit', { type: 'checkbox', checked: limits.explicit !== false });
  const requests = input('requests', { type: 'checkbox', checked: limits.requests !== false });
  const approval = input('approval', { type: 'checkbox', checked: limits.approval === true });
  const perHour = input('requests-per-hour', {
    type: 'number',
    inputmode: 'numeric',
    min: 1,
    max: 60,
    step: 1,
    class: 'limit-input',
    placeholder: 'Any',
    value: limits.requests_per_hour ? String(limits.requests_per_hour) : '',
  });
  // Approval and a quota mean nothing when guests may not ask at all.
  const syncRequests = () => {
    approval.disabled = perHour.disabled = !requests.checked;
  };
  requests.addEventListener('change', syncRequests);
  syncRequests();

  const pair = (label: string, low: HTMLInputElement, high: HTMLInputElement, unit: string, hint: string) =>
    h(
      'fieldset',
      { class: 'pair' },
      h('legend', {}, label),
      h(
        'div',
        { class: 'row wrap' },
        h('label', { for: low.id, class: 'pair-label' }, 'from'),
        low,
        h('label', { for: high.id, class: 'pair-label' }, 'to'),
        high,
        h('span', { class: 'unit' }, unit),
      ),
      h('p', { class: 'hint' }, hint),
    );
  const check = (box: HTMLInputElement, label: string, hint: string) =>
    h('div', { class: 'check' }, box, h('label', { for: box.id }, label, h('span', { class: 'hint' }, hint)));

  const el = h(
    'fieldset',
    { class: 'limits' },
    h('legend', {}, what),
    h('div', { class: 'field' }, h('label', { for: allowed.id }, 'Genres allowed', h('span', { class: 'hint' }, ' (separated by commas; empty: any genre)')), allowed),
    h('div', { class: 'field' }, h('label', { for: blocked.id }, 'Genres blocked', h('span', { class: 'hint' }, ' (separated by commas)')), blocked),
    pair('Energy', energyLow, energyHigh, '0–100', 'Calm 0 to wild 100. Tracks never measured pass. Empty: any.'),
    pair('Tempo', tempoLow, tempoHigh, 'BPM', 'Beats per minute, 0–300. Tracks without a tempo pass. Empty: any.'),
    check(explicit, 'Explicit tracks allowed', 'Unticked, guests cannot add tracks marked explicit.'),
    check(requests, 'Guests may request tracks', 'Unticked, guests only vote; staff still add.'),
    check(approval, 'Staff approve requests', 'A guest’s track waits under “Requests” in the zone until a host or a co-host approves it.'),
    h(
      'div',
      { class: 'field limit' },
      h('label', { for: perHour.id }, 'Requests per guest per hour', h('span', { class: 'hint' }, ' (1–60; empty: no limit)')),
      h('div', { class: 'row' }, perHour, h('span', { class: 'unit' }, 'requests')),
    ),
  );

  return {
    el,
    read() {
      const energy = range('Energy', energyLow, energyHigh, 100);
      if (typeof energy === 'string') return energy;
      const tempo = range('Tempo', tempoLow, tempoHigh, 300);
      if (typeof tempo === 'string') return tempo;
      const out: Limits = {};
      const a = genreList(allowed.value);
      const b = genreList(blocked.value);
      if (a.length) out.genres_allowed = a;
      if (b.length) out.genres_blocked = b;
      if (energy) out.energy = energy;
      if (tempo) out.tempo = tempo;
      if (!explicit.checked) out.explicit = false;
      if (!requests.checked) {
        out.requests = false;
        return out;
      }
      if (approval.checked) out.approval = true;
      if (perHour.value.trim()) {
        const n = Number(perHour.value);
        if (!Number.isInteger(n) || n < 1 || n > 60) return 'Requests per guest per hour is a whole number from 1 to 60, or empty.';
        out.requests_per_hour = n;
      }
      return out;
    },
  };
}

interface PartEditor {
  el: HTMLElement;
  read(): DayPart | string;
}

function dayPartEditor(part: DayPart | null, remove: (editor: PartEditor) => void): PartEditor {
  const n = ++ids;
  const id = (name: string) => `part-${n}-${name}`;
  const name = h('input', { id: id('name'), 'data-testid': 'part-name', maxlength: 60, required: true, value: part?.name ?? '', placeholder: 'Happy hour' });
  const days = WEEKDAYS.map((day, i) => {
    const box = h('input', { type: 'checkbox', id: id(`day-${i + 1}`), 'data-testid': `part-day-${i + 1}`, checked: part?.days.includes(i + 1) ?? false });
    return { d: i + 1, box, el: h('div', { class: 'day-chip' }, box, h('label', { for: box.id, title: day }, WEEKDAYS_SHORT[i], h('span', { class: 'visually-hidden' }, ` (${day})`))) };
  });
  const starts = h('input', { type: 'time', id: id('starts'), 'data-testid': 'part-starts', required: true, value: part?.starts ?? '17:00' });
  const ends = h('input', { type: 'time', id: id('ends'), 'data-testid': 'part-ends', required: true, value: part?.ends ?? '20:00' });
  const limits = limitsEditor('part', 'What guests may ask for then', part?.limits ?? {});
  const drop = h('button', { type: 'button', class: 'danger', 'data-testid': 'part-remove' }, 'Remove this day part');
  const legend = h('legend', {}, part?.name || 'New day part');
  name.addEventListener('input', () => setText(legend, name.value.trim() || 'New day part'));
  const el = h(
    'fieldset',
    { class: 'day-part', 'data-testid': 'day-part' },
    legend,
    h('div', { class: 'field' }, h('label', { for: name.id }, 'Name', h('span', { class: 'hint' }, ' (guests see it)')), name),
    h('fieldset', { class: 'days' }, h('legend', {}, 'Starts on'), h('div', { class: 'day-chips' }, ...days.map((d) => d.el))),
    h(
      'div',
      { class: 'times' },
      h('div', { class: 'field' }, h('label', { for: starts.id }, 'Starts at'), starts),
      h('div', { class: 'field' }, h('label', { for: ends.id }, 'Ends at'), ends),
    ),
    h('p', { class: 'hint' }, 'Local time at the venue. An end at or before the start is the next day.'),
    limits.el,
    drop,
  );
  const editor: PartEditor = {
    el,
    read() {
      const label = name.value.trim() || 'A day part';
      if (!name.value.trim()) return 'Give each day part a name.';
      const chosen = days.filter((d) => d.box.checked).map((d) => d.d);
      if (!chosen.length) return `${label}: tick at least one day it starts on.`;
      if (!starts.value || !ends.value) return `${label}: give a start and an end time.`;
      const l = limits.read();
      if (typeof l === 'string') return `${label}: ${l}`;
      return { name: name.value.trim(), days: chosen, starts: starts.value.slice(0, 5), ends: ends.value.slice(0, 5), limits: l };
    },
  };
  drop.addEventListener('click', () => remove(editor));
  return editor;
}

/**
 * The editor of one zone, once its schedule is read from the server;
 * `timeZone` is the venue's, for "until" times.
 */
export function scheduleEditor(ctx: VenueContext, zone: Zone, timeZone: () => string): HTMLElement {
  const loading = h('p', { class: 'loading', 'data-testid': 'schedule-loading' }, 'Reading the zone’s schedule…');
  const box = h('div', { class: 'schedule-box' }, loading);
  const load = async () => {
    box.replaceChildren(loading);
    try {
      const answer = await getSchedule(ctx.token, ctx.id, zone.room_id);
      box.replaceChildren(scheduleForm(ctx, zone, timeZone, answer));
      // What older versions of this page kept on the device.
      try {
        localStorage.removeItem(`crowdjuke:schedule:${zone.room_id}`);
      } catch {
        // storage off
      }
    } catch (err) {
      // Not an empty editor: saving it would wipe the zone's schedule.
      const retry = h('button', { type: 'button', 'data-testid': 'schedule-retry' }, 'Try again');
      retry.addEventListener('click', () => void load());
      box.replaceChildren(h('p', { class: 'inline-status', 'data-kind': 'error', 'data-testid': 'schedule-status' }, `The schedule could not be read: ${venueProblem(ctx, err)}`), retry);
    }
  };
  void load();
  return box;
}

function scheduleForm(ctx: VenueContext, zone: Zone, timeZone: () => string, answer: ScheduleAnswer): HTMLElement {
  const plan: SchedulePlan | null = answer.schedule;
  const parts: PartEditor[] = [];
  const list = h('div', { class: 'day-parts' });
  const empty = h('p', { class: 'empty', 'data-testid': 'parts-empty' }, 'No day parts: the defaults below hold all week.');
  const add = h('button', { type: 'button', 'data-testid': 'part-add' }, 'Add a day part');
  const defaults = limitsEditor('defaults', 'Defaults, outside the day parts', plan?.defaults ?? {});
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'schedule-save' }, 'Save schedule');
  const clear = h('button', { type: 'button', 'data-testid': 'schedule-clear' }, 'Clear schedule');
  const status = inlineStatus(ctx.notice, 'schedule-status', save, clear);
  const now = h('p', { class: 'hint', 'data-testid': 'schedule-now' });
  const origin = h('p', { class: 'hint', 'data-testid': 'schedule-origin' });
  const showOrigin = (has: boolean) =>
    setText(origin, has ? 'The zone’s schedule as it is now: saving replaces it.' : 'This zone has no schedule yet: guests’ requests follow the room’s rules only.');
  showOrigin(plan !== null);
  clear.hidden = plan === null;

  const redraw = () => {
    list.replaceChildren(...parts.map((p) => p.el));
    empty.hidden = parts.length > 0;
  };
  const removePart = (editor: PartEditor) => {
    parts.splice(parts.indexOf(editor), 1);
    redraw();
    add.focus();
  };
  for (const p of plan?.day_parts ?? []) parts.push(dayPartEditor(p, removePart));
  redraw();
  add.addEventListener('click', () => {
    const editor = dayPartEditor(null, removePart);
    parts.push(editor);
    redraw();
    editor.el.querySelector('input')?.focus();
  });

  const says = (part: DayPartNow | null) => {
    if (!part) return '';
    const approval = part.limits.approval ? ' Staff approve requests.' : '';
    return part.name
      ? `Now: ${part.name}${part.until ? `, until ${venueTime(part.until, timeZone())}` : ''}.${approval}`
      : `Now: outside the day parts (the defaults apply).${approval}`;
  };
  setText(now, says(answer.day_part));

  const form = h(
    'form',
    { class: 'schedule', 'data-testid': 'schedule', 'aria-label': `Schedule of ${zone.name}` },
    origin,
    list,
    empty,
    add,
    defaults.el,
    h('div', { class: 'row wrap form-actions' }, save, clear),
    status.el,
    now,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const read = parts.map((p) => p.read());
    const problem = read.find((r): r is string => typeof r === 'string');
    const d = defaults.read();
    if (problem || typeof d === 'string') {
      status.show(problem ?? `Defaults: ${d}`, 'error');
      return;
    }
    const next: SchedulePlan = { defaults: d as Limits, day_parts: read as DayPart[] };
    save.disabled = true;
    status.clear();
    try {
      const saved = await setSchedule(ctx.token, ctx.id, zone.room_id, next);
      showOrigin(true);
      clear.hidden = false;
      setText(now, says(saved.day_part));
      status.show('Schedule saved.', 'success');
    } catch (err) {
      // invalid_schedule carries the reason (overlaps, a bad range): say it here.
      const text = err instanceof ApiError && err.code === 'invalid_schedule' ? `Not saved: ${venueProblem(ctx, err)}` : venueProblem(ctx, err);
      status.show(text, 'error');
    } finally {
      save.disabled = false;
    }
  });
  clear.addEventListener('click', async () => {
    clear.disabled = true;
    status.clear();
    try {
      await clearSchedule(ctx.token, ctx.id, zone.room_id);
      parts.length = 0;
      redraw();
      showOrigin(false);
      clear.hidden = true;
      setText(now, '');
      status.show('Schedule cleared: no limits from a schedule in this zone.', 'success');
    } catch (err) {
      status.show(venueProblem(ctx, err), 'error');
    } finally {
      clear.disabled = false;
    }
  });
  return form;
}
