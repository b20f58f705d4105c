// A venue's details (protocol.md §3.18): the form that creates a venue on
// /venues and edits it on its page, and the section that shows them, with
// Edit for owners and managers and Delete for the owner.

import { deleteVenue, updateVenue } from '../api';
import { h, setText } from '../dom';
import { inlineStatus } from '../notice';
import { returnTrip } from '../storage';
import type { OpeningHours, Venue, VenueAnswer, VenueDetails } from '../types';
import { count, WEEKDAYS } from '../words';
import { can, confirmPanel, venueProblem, type VenueContext, type VenueSection } from './venue_context';

/** The server's `block_after_declines` for a venue that never set it. */
const DEFAULT_BLOCK_AFTER = 3;

/** The browser's own zone: the default for a new venue. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function knownTimeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

export interface DetailsForm {
  el: HTMLElement;
  /** The details to send, or what is missing in plain words. */
  read(): VenueDetails | string;
  focus(): void;
}

/** `prefix` keeps ids unique when two forms could share a page. */
export function detailsForm(prefix: string, initial: Venue | null): DetailsForm {
  const id = (name: string) => `${prefix}-${name}`;
  const field = (label: string, input: HTMLInputElement, hint?: string) =>
    h('div', { class: 'field' }, h('label', { for: input.id }, label, hint ? h('span', { class: 'hint' }, ` ${hint}`) : null), input);

  const name = h('input', { id: id('name'), 'data-testid': 'venue-name', maxlength: 80, required: true, autocomplete: 'organization', value: initial?.name ?? '' });
  const zones = knownTimeZones();
  const list = zones.length ? h('datalist', { id: id('zones') }, ...zones.map((z) => h('option', { value: z }))) : null;
  const timeZone = h('input', {
    id: id('time-zone'),
    'data-testid': 'venue-time-zone',
    required: true,
    autocapitalize: 'none',
    spellcheck: 'false',
    list: list ? id('zones') : undefined,
    value: initial?.time_zone ?? browserTimeZone(),
  });
  const address = h('input', { id: id('address'), 'data-testid': 'venue-address', maxlength: 200, autocomplete: 'street-address', value: initial?.address ?? '' });
  const city = h('input', { id: id('city'), 'data-testid': 'venue-city', maxlength: 80, autocomplete: 'address-level2', value: initial?.city ?? '' });

  const hours = WEEKDAYS.map((day, i) => {
    const d = i + 1;
    const had = initial?.opening_hours?.find((o) => o.day === d);
    const open = h('input', { type: 'checkbox', id: id(`open-${d}`), 'data-testid': `venue-open-${d}`, checked: Boolean(had) });
    const opens = h('input', { type: 'time', id: id(`opens-${d}`), 'data-testid': `venue-opens-${d}`, value: had?.opens ?? '17:00', disabled: !had });
    const closes = h('input', { type: 'time', id: id(`closes-${d}`), 'data-testid': `venue-closes-${d}`, value: had?.closes ?? '23:00', disabled: !had });
    open.addEventListener('change', () => {
      opens.disabled = closes.disabled = !open.checked;
    });
    const row = h(
      'div',
      { class: 'hours-row' },
      h('div', { class: 'check' }, open, h('label', { for: open.id }, day)),
      h('div', {}, h('label', { for: opens.id, class: 'visually-hidden' }, `${day} opens at`), opens),
      h('div', {}, h('label', { for: closes.id, class: 'visually-hidden' }, `${day} closes at`), closes),
    );
    return { d, day, open, opens, closes, row };
  });
  const hoursBox = h(
    'details',
    { class: 'hours', open: Boolean(initial?.opening_hours?.length) },
    h('summary', {}, 'Opening hours (optional)'),
    h('p', { class: 'hint' }, 'In the venue’s time zone. A closing time at or before the opening time is after midnight.'),
    h('div', { class: 'hours-row hours-head', 'aria-hidden': 'true' }, h('span', {}, 'Open on'), h('span', {}, 'Opens'), h('span', {}, 'Closes')),
    ...hours.map((x) => x.row),
  );

  // Editing only: a new venue starts with the server's default (3).
  const blockAfter = initial
    ? h('input', {
        id: id('block-after'),
        'data-testid': 'venue-block-after',
        type: 'number',
        inputmode: 'numeric',
        min: 0,
        max: 20,
        step: 1,
        class: 'limit-input',
        value: String(initial.block_after_declines ?? DEFAULT_BLOCK_AFTER),
      })
    : null;

  const el = h(
    'div',
    { class: 'details-form' },
    field('Venue name', name),
    field('Time zone', timeZone, '(like Europe/Paris; schedules and opening hours use it)'),
    list,
    field('Address', address, '(optional)'),
    field('City', city, '(optional)'),
    hoursBox,
    blockAfter
      ? h(
          'div',
          { class: 'field limit' },
          h('label', { for: blockAfter.id }, 'Block a track after this many declines', h('span', { class: 'hint' }, ' (of guests’ requests for it, within 30 days, in any zone; 0: never, at most 20)')),
          h('div', { class: 'row' }, blockAfter, h('span', { class: 'unit' }, 'declines')),
        )
      : null,
  );

  return {
    el,
    focus: () => name.focus(),
    read() {
      if (!name.value.trim()) return 'Give the venue a name.';
      if (!timeZone.value.trim()) return 'Choose a time zone, like Europe/Paris.';
      const opening: OpeningHours[] = [];
      for (const x of hours) {
        if (!x.open.checked) continue;
        if (!x.opens.value || !x.closes.value) return `Give an opening and a closing time for ${x.day}, or untick it.`;
        opening.push({ day: x.d, opens: x.opens.value.slice(0, 5), closes: x.closes.value.slice(0, 5) });
      }
      let block: number | undefined;
      if (blockAfter) {
        block = Number(blockAfter.value);
        if (blockAfter.value.trim() === '' || !Number.isInteger(block) || block < 0 || block > 20) return 'Block a track after: a whole number of declines from 0 (never) to 20.';
      }
      return {
        name: name.value.trim(),
        time_zone: timeZone.value.trim(),
        address: address.value.trim() || null,
        city: city.value.trim() || null,
        // Not edited here: kept as it is.
        location: initial?.location ?? null,
        opening_hours: opening,
        // Always sent when editing: a PUT without it puts back the default.
        ...(block === undefined ? {} : { block_after_declines: block }),
      };
    },
  };
}

/** What `block_after_declines` does, in words. */
function blockingText(n: number): string {
  return n === 0 ? 'Never blocked, however often declined' : `Blocked after ${count(n, 'decline')} within 30 days`;
}

/** "Mon 17:00–02:00" lines. */
function hoursLines(hours: OpeningHours[]): string[] {
  return [...hours].sort((a, b) => a.day - b.day).map((o) => `${WEEKDAYS[o.day - 1]} ${o.opens}–${o.closes}`);
}

export function detailsSection(ctx: VenueContext): VenueSection {
  const facts = h('dl', { class: 'facts', 'data-testid': 'venue-facts' });
  const edit = h('button', { type: 'button', 'data-testid': 'venue-edit', 'aria-expanded': 'false' }, 'Edit details');
  const remove = h('button', { type: 'button', class: 'danger', 'data-testid': 'venue-delete' }, 'Delete venue');
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'venue-save' }, 'Save details');
  const cancel = h('button', { type: 'button', 'data-testid': 'venue-edit-cancel' }, 'Cancel');
  const formBox = h('form', { class: 'edit-details', hidden: true, 'aria-label': 'Edit the venue’s details' });
  const status = inlineStatus(ctx.notice, 'venue-status', save, edit);
  const confirm = confirmPanel('venue-delete-confirm', 'Delete for good', async () => {
    try {
      await deleteVenue(ctx.token, ctx.id);
      returnTrip.say(`“${current?.venue.name ?? 'The venue'}” is deleted.`, 'success');
      ctx.navigate('/venues');
    } catch (err) {
      status.show(venueProblem(ctx, err), 'error');
    }
  });
  const el = h(
    'section',
    { class: 'card venue-details', id: 'details', 'aria-labelledby': 'details-heading', 'data-testid': 'venue-details' },
    h('h2', { id: 'details-heading' }, 'Details'),
    facts,
    h('div', { class: 'row wrap' }, edit, remove),
    status.el,
    confirm.el,
    formBox,
  );
  let current: VenueAnswer | null = null;
  let form: DetailsForm | null = null;

  edit.addEventListener('click', () => {
    if (!current) return;
    if (!formBox.hidden) {
      formBox.hidden = true;
      edit.setAttribute('aria-expanded', 'false');
      return;
    }
    form = detailsForm('edit', current.venue);
    formBox.replaceChildren(form.el, h('div', { class: 'row wrap form-actions' }, save, cancel));
    formBox.hidden = false;
    edit.setAttribute('aria-expanded', 'true');
    form.focus();
  });
  cancel.addEventListener('click', () => {
    formBox.hidden = true;
    edit.setAttribute('aria-expanded', 'false');
    edit.focus();
  });
  formBox.addEventListener('submit', async (e) => {
    e.preventDefault();
    const details = form?.read();
    if (!details) return;
    if (typeof details === 'string') {
      status.show(details, 'error');
      return;
    }
    save.disabled = true;
    status.clear();
    try {
      ctx.apply(await updateVenue(ctx.token, ctx.id, details));
      formBox.hidden = true;
      edit.setAttribute('aria-expanded', 'false');
      status.show('Details saved.', 'success');
    } catch (err) {
      status.show(venueProblem(ctx, err), 'error');
    } finally {
      save.disabled = false;
    }
  });
  remove.addEventListener('click', () => {
    if (!current) return;
    const zones = current.venue.zones.length;
    confirm.open(
      `Delete “${current.venue.name}”? ${zones ? `Its ${zones === 1 ? 'zone' : `${zones} zones`} close${zones === 1 ? 's' : ''} with it (queues, photos and join codes), and ` : ''}its catalogue and staff list are gone. This cannot be undone.`,
    );
  });

  return {
    el,
    update(answer) {
      current = answer;
      const v = answer.venue;
      const rows: [string, string][] = [
        ['Name', v.name],
        ['Address', [v.address, v.city].filter(Boolean).join(', ') || 'Not given'],
        ['Time zone', v.time_zone],
        ['Opening hours', v.opening_hours?.length ? hoursLines(v.opening_hours).join('\n') : 'Not given'],
        ['Declined tracks', blockingText(v.block_after_declines ?? DEFAULT_BLOCK_AFTER)],
      ];
      facts.replaceChildren(...rows.flatMap(([k, value]) => [h('dt', {}, k), h('dd', {}, value)]));
      edit.hidden = !can(answer.role, 'edit');
      remove.hidden = !can(answer.role, 'delete');
      if (edit.hidden) formBox.hidden = true;
      setText(edit, 'Edit details');
    },
  };
}
