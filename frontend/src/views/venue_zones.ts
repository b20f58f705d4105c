// A venue's zones (protocol.md §3.18): each an always-on room with its join
// code. Everyone on the staff opens a zone (joining it with the account
// makes them co-host there), its big screen and its table cards; owners and
// managers open new zones, remove them and edit their schedules.

import { createZone, joinRoom, removeZone, tableCards } from '../api';
import { h, part, setText, syncList } from '../dom';
import { inlineStatus } from '../notice';
import { joinUrl, memberToken } from '../storage';
import type { VenueAnswer, Zone } from '../types';
import { can, confirmPanel, venueProblem, type VenueContext, type VenueSection } from './venue_context';
import { scheduleEditor } from './venue_schedule';

export function zonesSection(ctx: VenueContext): VenueSection {
  const name = h('input', { id: 'zone-name', 'data-testid': 'zone-name', maxlength: 80, required: true, placeholder: 'Terrace' });
  const open = h('button', { type: 'submit', class: 'primary', 'data-testid': 'zone-create' }, 'Open zone');
  const status = inlineStatus(ctx.notice, 'zone-status', open);
  const form = h(
    'form',
    { class: 'zone-form', 'aria-label': 'Open a new zone' },
    h('label', { for: 'zone-name' }, 'New zone', h('span', { class: 'hint' }, ' (a room, a floor, the terrace)')),
    h('div', { class: 'row' }, name, open),
    status.el,
  );
  const list = h('ul', { class: 'zones', 'data-testid': 'zones' });
  const empty = h('p', { class: 'empty', 'data-testid': 'zones-empty' });
  const el = h(
    'section',
    { class: 'card venue-zones', id: 'zones', 'aria-labelledby': 'zones-heading', 'data-testid': 'venue-zones' },
    h('h2', { id: 'zones-heading' }, 'Zones'),
    h('p', { class: 'hint' }, 'Each zone is a room that never closes, with its own join code for the table cards.'),
    list,
    empty,
    form,
  );
  let current: VenueAnswer | null = null;
  const timeZone = () => current?.venue.time_zone ?? 'UTC';

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const zoneName = name.value.trim();
    if (!zoneName) return;
    open.disabled = true;
    status.clear();
    try {
      const answer = await createZone(ctx.token, ctx.id, zoneName);
      // The answer's token is ours as the zone's host: "Open the zone" uses it.
      memberToken.set(answer.zone.code, answer.token);
      joinUrl.set(answer.zone.code, answer.join_url);
      name.value = '';
      await ctx.reload();
      status.show(`“${answer.zone.name}” is open. Its code is ${answer.zone.code}.`, 'success');
    } catch (err) {
      status.show(venueProblem(ctx, err), 'error');
    } finally {
      open.disabled = false;
    }
  });

  /** Into the zone's room page: with a stored pass, or joining with the account (co-host). */
  const enter = async (zone: Zone, button: HTMLElement, line: ReturnType<typeof inlineStatus>) => {
    if (!memberToken.get(zone.code)) {
      button.setAttribute('aria-disabled', 'true');
      try {
        const answer = await joinRoom(zone.code, ctx.me.display_name.slice(0, 40) || ctx.me.username, null, ctx.token);
        memberToken.set(zone.code, answer.token);
        joinUrl.set(zone.code, zone.join_url ?? answer.room.join_url);
      } catch (err) {
        line.show(venueProblem(ctx, err), 'error');
        return;
      } finally {
        button.removeAttribute('aria-disabled');
      }
    }
    ctx.navigate(`/room/${zone.code}`);
  };

  const showCards = async (zone: Zone, li: HTMLElement, line: ReturnType<typeof inlineStatus>) => {
    const box = part(li, 'cards');
    const button = part<HTMLButtonElement>(li, 'print');
    button.disabled = true;
    setText(button, 'Preparing the cards…');
    try {
      const blob = await tableCards(ctx.token, ctx.id, zone.room_id);
      const old = box.dataset.url;
      if (old) URL.revokeObjectURL(old);
      const url = URL.createObjectURL(blob);
      box.dataset.url = url;
      box.replaceChildren(
        h('img', { src: url, alt: `Table cards of ${zone.name}: six cards with the QR code and the code ${zone.code}`, 'data-testid': 'cards-preview' }),
        h(
          'div',
          { class: 'row wrap' },
          h('a', { href: url, target: '_blank', rel: 'noopener', class: 'button primary', 'data-testid': 'cards-open' }, 'Open to print'),
          h('a', { href: url, download: `table-cards-${zone.code}.svg`, class: 'button', 'data-testid': 'cards-download' }, 'Download (SVG)'),
        ),
        h('p', { class: 'hint' }, 'An A4 sheet of six cards: print it, cut along the lines, put one on each table.'),
      );
      box.hidden = false;
    } catch (err) {
      line.show(venueProblem(ctx, err), 'error');
    } finally {
      button.disabled = false;
      setText(button, 'Print table cards');
    }
  };

  const create = (zone: Zone): HTMLElement => {
    const li = h('li', { class: 'zone', 'data-testid': 'zone', 'data-code': zone.code, 'data-room-id': zone.room_id });
    const enterLink = h('a', { href: `/room/${zone.code}`, class: 'button primary', 'data-testid': 'zone-open' }, 'Open the zone');
    const screen = h('a', { href: `/display/${zone.code}`, class: 'button', 'data-testid': 'zone-display' }, 'Big screen');
    const print = h('button', { type: 'button', 'data-part': 'print', 'data-testid': 'zone-cards' }, 'Print table cards');
    const remove = h('button', { type: 'button', class: 'danger', 'data-part': 'remove', 'data-testid': 'zone-remove' }, 'Remove zone');
    const line = inlineStatus(ctx.notice, 'zone-line-status', enterLink, print, remove);
    const confirm = confirmPanel('zone-remove-confirm', 'Remove the zone', async () => {
      try {
        await removeZone(ctx.token, ctx.id, zone.room_id);
        memberToken.set(zone.code, null);
        await ctx.reload();
        ctx.notice.show(`“${zone.name}” is removed.`, 'success');
      } catch (err) {
        line.show(venueProblem(ctx, err), 'error');
      }
    });
    enterLink.addEventListener('click', (e) => {
      e.preventDefault();
      void enter(zone, enterLink, line);
    });
    screen.addEventListener('click', (e) => {
      e.preventDefault();
      ctx.navigate(`/display/${zone.code}`);
    });
    print.addEventListener('click', () => void showCards(zone, li, line));
    remove.addEventListener('click', () =>
      confirm.open(`Remove “${zone.name}”? Its room closes for everyone in it: the queue, the photos and the code ${zone.code} go with it, and its table cards stop working.`),
    );
    const schedule = h(
      'details',
      { class: 'zone-schedule', 'data-part': 'schedule' },
      h('summary', { 'data-testid': 'zone-schedule-toggle' }, 'Schedule: day parts and limits'),
    );
    schedule.addEventListener('toggle', () => {
      // Built on first opening: most visits never edit a schedule.
      if (schedule.open && schedule.children.length === 1) schedule.append(scheduleEditor(ctx, zone, timeZone));
    });
    li.append(
      h('div', { class: 'zone-head' }, h('h3', { 'data-part': 'name' }, zone.name), h('span', { class: 'big-code code', 'data-testid': 'zone-code' }, zone.code)),
      h('p', { class: 'join-link hint' }, 'Join link: ', h('span', { 'data-part': 'link', 'data-testid': 'zone-join-link' })),
      h('div', { class: 'row wrap zone-actions' }, enterLink, screen, print),
      line.el,
      h('div', { class: 'cards', 'data-part': 'cards', hidden: true }),
      schedule,
      // Apart from the everyday buttons: it closes the room for everyone.
      h('div', { class: 'zone-danger' }, remove),
      confirm.el,
    );
    return li;
  };

  return {
    el,
    update(answer) {
      current = answer;
      const manage = can(answer.role, 'zones');
      form.hidden = !manage;
      const zones = answer.venue.zones;
      empty.hidden = zones.length > 0;
      setText(empty, manage ? 'No zones yet: open the first one below.' : 'No zones yet: the owner or a manager opens them.');
      syncList(
        list,
        zones,
        (z) => z.room_id,
        create,
        (li, z) => {
          setText(part(li, 'name'), z.name);
          // The server's link (its public address); older answers had none.
          const url = z.join_url ?? joinUrl.get(z.code);
          setText(part(li, 'link'), url);
          if (z.join_url) joinUrl.set(z.code, z.join_url);
          part(li, 'remove').hidden = !manage;
          (part(li, 'remove').parentElement as HTMLElement).hidden = !manage;
          part(li, 'schedule').hidden = !can(answer.role, 'schedules');
        },
        false,
      );
    },
  };
}
