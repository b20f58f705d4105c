// Who is here: the member list with presence, host and co-hosts marked.
// Staff get kick and ban, the host promotes and demotes co-hosts. Long lists
// page in with room:members.
//
// Kick and ban are guarded twice. First a confirmation that never lands
// under the finger: it opens in a row of its own *below* the member (the
// Kick and Ban buttons stay where they were, so nothing moves up under the
// pointer) and ignores taps for its first 400 ms, so a double tap on Kick or
// Ban only opens it. Then an undo: the command waits 5 s (see later.ts)
// while the row says "Kicking Bea… Undo".

import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { UNDO_MS } from '../later';
import { addMembers, canModerate, onlineCount, type RoomState } from '../state';
import type { MemberView } from '../types';
import { count } from '../words';
import { inlineStatus } from '../notice';
import type { RoomContext, Section } from './view';

const roleNames = { host: 'Host', cohost: 'Co-host', guest: '' };
const PAGE = 200;
/** Enough for a big party; a list longer than this is no use on a phone. */
const MAX_MEMBERS = 2000;
/** Taps on a confirmation this soon after it opened are the same gesture. */
export const CONFIRM_ARM_MS = 400;

type Removal = 'kick' | 'ban';

const removal: Record<Removal, { ask: (n: string) => string; doing: (n: string) => string; done: (n: string) => string; confirm: string; event: string }> = {
  kick: {
    ask: (n) => `Kick ${n}? They can join again as a new guest.`,
    doing: (n) => `Kicking ${n}…`,
    done: (n) => `${n} was removed from the room.`,
    confirm: 'Kick',
    event: 'member:kick',
  },
  ban: {
    ask: (n) => `Ban ${n}? Their waiting tracks, votes and photos go, and they cannot come back.`,
    doing: (n) => `Banning ${n}…`,
    done: (n) => `${n} was banned.`,
    confirm: 'Ban',
    event: 'member:ban',
  },
};

export function membersSection(ctx: RoomContext): Section {
  const countEl = h('span', { class: 'count', 'data-testid': 'online-count' });
  const list = h('ul', { class: 'members', 'data-testid': 'members', 'aria-labelledby': 'members-heading' });
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': 'more-members', hidden: true }, 'Show everyone');
  const sectionStatus = inlineStatus(ctx.notice, 'members-status', more);
  const el = h('section', { class: 'card', id: 'people' }, h('h2', { id: 'members-heading' }, 'People ', countEl), sectionStatus.el, list, more);

  // Pages from the start: members who joined since the snapshot were
  // appended locally, so the local count is not an offset into the server's list.
  more.addEventListener('click', async () => {
    more.disabled = true;
    for (let offset = 0; offset < MAX_MEMBERS; offset += PAGE) {
      const ack = await ctx.conn.command<{ members: MemberView[]; total: number }>('room:members', { offset, limit: PAGE });
      if (!ack.ok) {
        sectionStatus.show(describeError(ack.error), 'error');
        break;
      }
      ctx.conn.edit((s) => addMembers(s, ack.data.members));
      if (offset + PAGE >= ack.data.total) break;
    }
    more.disabled = false;
  });

  const members = new WeakMap<HTMLElement, MemberView>();
  /** Open confirmations: member id → what, and when it opened. */
  const confirming = new Map<string, { what: Removal; at: number }>();
  const redraw = () => {
    if (ctx.conn.state) draw(ctx.conn.state);
  };
  const say = (li: HTMLElement, text: string, kind: 'success' | 'error' | 'info') => {
    setText(part(li, 'row-status'), text);
    part(li, 'row-status').dataset.kind = kind;
    ctx.notice.show(text, kind);
  };

  const act = async (event: string, li: HTMLElement, done: (m: MemberView) => string) => {
    const member = members.get(li);
    if (!member) return;
    const ack = await ctx.conn.command(event, { member_id: member.id });
    if (ack.ok) say(li, done(member), 'success');
    else say(li, describeError(ack.error), 'error');
    redraw();
  };
  const ask = (li: HTMLElement, what: Removal) => {
    const member = members.get(li);
    if (!member || confirming.get(member.id)?.what === what) return; // a second tap: keep it open
    confirming.set(member.id, { what, at: performance.now() });
    redraw();
    const panel = part(li, 'confirm-panel');
    delete panel.dataset.armed;
    window.setTimeout(() => {
      if (confirming.get(member.id)?.what === what) panel.dataset.armed = 'true';
    }, CONFIRM_ARM_MS);
    part(li, 'confirm-text').focus();
  };
  const armed = (member: MemberView) => {
    const open = confirming.get(member.id);
    return open && performance.now() - open.at >= CONFIRM_ARM_MS ? open : null;
  };
  const cancel = (li: HTMLElement) => {
    const member = members.get(li);
    if (!member || !armed(member)) return;
    const what = confirming.get(member.id)?.what ?? 'kick';
    confirming.delete(member.id);
    redraw();
    part(li, what).focus();
  };
  const confirm = (li: HTMLElement) => {
    const member = members.get(li);
    const open = member && armed(member);
    if (!member || !open) return;
    confirming.delete(member.id);
    const how = removal[open.what];
    const key = `${open.what}:${member.id}`;
    const undo = () => {
      if (ctx.later.undo(key)) {
        sectionStatus.show(`${member.name} stays in the room.`, 'success');
        redraw();
      }
    };
    ctx.later.schedule(key, how.doing(member.name), async () => {
      const ack = await ctx.conn.command(how.event, { member_id: member.id });
      if (ack.ok) sectionStatus.show(how.done(member.name), 'success');
      else sectionStatus.show(`${member.name}: ${describeError(ack.error)}`, 'error');
    });
    ctx.notice.show(`${how.doing(member.name)} You can undo it for ${UNDO_MS / 1000} s.`, 'info', false, { label: 'Undo', testid: 'notice-undo', run: undo });
    redraw();
    part(li, 'undo').focus();
  };

  const undoRow = (li: HTMLElement) => {
    const m = members.get(li);
    if (!m) return;
    for (const what of ['kick', 'ban'] as const) {
      if (ctx.later.undo(`${what}:${m.id}`)) sectionStatus.show(`${m.name} stays in the room.`, 'success');
    }
    redraw();
    part(li, 'kick').focus();
  };

  const create = (member: MemberView): HTMLElement => {
    const li: HTMLElement = h('li', { class: 'member', 'data-testid': 'member' });
    const statusId = `member-status-${member.id}`;
    const button = (name: string, label: string, onclick: () => void, cls = 'small secondary') =>
      h('button', { type: 'button', class: cls, 'data-part': name, 'data-testid': name, 'aria-describedby': statusId, onclick }, label);
    li.append(
      h('span', { class: 'presence', 'data-part': 'presence', 'aria-hidden': 'true' }),
      h(
        'p',
        { class: 'member-name' },
        h('span', { 'data-part': 'name' }),
        h('span', { class: 'visually-hidden', 'data-part': 'status' }),
        h('span', { class: 'badge role', 'data-part': 'role' }),
      ),
      h(
        'div',
        { class: 'member-actions' },
        button('promote', 'Make co-host', () => act('member:promote', li, (m) => `${m.name} is now a co-host.`)),
        button('demote', 'Make guest', () => act('member:demote', li, (m) => `${m.name} is a guest again.`)),
        button('kick', 'Kick', () => ask(li, 'kick')),
        button('ban', 'Ban', () => ask(li, 'ban'), 'small danger'),
      ),
      h('p', { class: 'inline-status member-status', id: statusId, 'data-part': 'row-status', 'data-testid': 'member-status' }),
      h(
        'div',
        { class: 'member-confirm', 'data-part': 'confirm-panel', 'data-testid': 'member-confirm', hidden: true },
        h('p', { 'data-part': 'confirm-text', tabindex: -1 }),
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', class: 'small danger', 'data-part': 'confirm', onclick: () => confirm(li) }),
          h('button', { type: 'button', class: 'small secondary', 'data-part': 'cancel', onclick: () => cancel(li) }, 'Cancel'),
          // While the command waits: on the other side from where "Kick
          // Bea" was, so a second tap on that spot does not undo by chance.
          h('button', { type: 'button', class: 'small secondary undo-button', 'data-part': 'undo', 'data-testid': 'undo', onclick: () => undoRow(li) }, 'Undo'),
        ),
      ),
    );
    return li;
  };

  const draw = (state: RoomState) => {
    const online = onlineCount(state);
    const total = state.room.member_count;
    setText(countEl, `(${online} here${total > online ? ` of ${total}` : ''})`);
    countEl.setAttribute('aria-label', `${count(online, 'person', 'people')} here${total > online ? ` of ${total}` : ''}`);
    more.hidden = state.members.length >= total;
    for (const id of confirming.keys()) if (!state.members.some((m) => m.id === id)) confirming.delete(id);
    syncList(list, state.members, (m) => m.id, create, (li, member) => {
      members.set(li, member);
      const waiting = ctx.later.has(`kick:${member.id}`) ? 'kick' : ctx.later.has(`ban:${member.id}`) ? 'ban' : null;
      drawMember(li, member, state, confirming.get(member.id)?.what ?? null, waiting);
    }, false);
  };

  return { el, update: draw };
}

function drawMember(li: HTMLElement, member: MemberView, state: RoomState, confirming: Removal | null, waiting: Removal | null): void {
  const me = member.id === state.me.id;
  li.dataset.memberId = member.id;
  li.dataset.role = member.role;
  li.classList.toggle('offline', !member.online);
  li.classList.toggle('leaving', waiting !== null);
  setText(part(li, 'name'), me ? `${member.name} (you)` : member.name);
  setText(part(li, 'status'), member.online ? ', online' : ', offline');
  const role = part(li, 'role');
  setText(role, roleNames[member.role]);
  role.hidden = member.role === 'guest';

  // While a kick or ban waits, Kick and Ban stay in place (disabled) so
  // the row keeps its height and nothing slides under the finger.
  const moderate = canModerate(state, member);
  const host = state.me.role === 'host' && !me;
  const buttons: Record<string, boolean> = {
    promote: host && member.role === 'guest',
    demote: host && member.role === 'cohost',
    kick: moderate,
    ban: moderate,
  };
  for (const [name, shown] of Object.entries(buttons)) {
    const b = part<HTMLButtonElement>(li, name);
    b.hidden = !shown;
    b.disabled = waiting !== null;
    b.setAttribute('aria-label', `${b.textContent} ${member.name}`);
  }
  part(li, 'kick').setAttribute('aria-expanded', String(confirming === 'kick'));
  part(li, 'ban').setAttribute('aria-expanded', String(confirming === 'ban'));

  const panel = part(li, 'confirm-panel');
  panel.hidden = !moderate || (confirming === null && waiting === null);
  const yes = part(panel, 'confirm');
  const no = part(panel, 'cancel');
  const undo = part(panel, 'undo');
  yes.hidden = no.hidden = waiting !== null;
  undo.hidden = waiting === null;
  if (waiting) {
    setText(part(panel, 'confirm-text'), `${removal[waiting].doing(member.name)} You can undo it for ${UNDO_MS / 1000} s.`);
    undo.setAttribute('aria-label', `Undo: keep ${member.name} in the room`);
  } else if (confirming) {
    const how = removal[confirming];
    setText(part(panel, 'confirm-text'), how.ask(member.name));
    setText(yes, `${how.confirm} ${member.name}`);
    yes.dataset.testid = `${confirming}-confirm`;
    no.dataset.testid = `${confirming}-cancel`;
  }
}
