// Who is here: the member list with presence, host and co-hosts marked.
// Staff get kick and ban (ban asks once more: it cannot be undone), the
// host promotes and demotes co-hosts. Long lists page in with room:members.

import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { addMembers, canModerate, onlineCount, type RoomState } from '../state';
import type { MemberView } from '../types';
import type { RoomContext, Section } from './view';

const roleNames = { host: 'Host', cohost: 'Co-host', guest: '' };
const PAGE = 200;
/** Enough for a big party; a list longer than this is no use on a phone. */
const MAX_MEMBERS = 2000;

export function membersSection(ctx: RoomContext): Section {
  const count = h('span', { class: 'count', 'data-testid': 'online-count' });
  const list = h('ul', { class: 'members', 'data-testid': 'members', 'aria-labelledby': 'members-heading' });
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': 'more-members', hidden: true }, 'Show everyone');
  const el = h('section', { class: 'card', id: 'people' }, h('h2', { id: 'members-heading' }, 'People ', count), list, more);

  // Pages from the start: members who joined since the snapshot were
  // appended locally, so the local count is not an offset into the server's list.
  more.addEventListener('click', async () => {
    more.disabled = true;
    for (let offset = 0; offset < MAX_MEMBERS; offset += PAGE) {
      const ack = await ctx.conn.command<{ members: MemberView[]; total: number }>('room:members', { offset, limit: PAGE });
      if (!ack.ok) {
        ctx.notice.show(describeError(ack.error), 'error');
        break;
      }
      ctx.conn.edit((s) => addMembers(s, ack.data.members));
      if (offset + PAGE >= ack.data.total) break;
    }
    more.disabled = false;
  });

  const members = new WeakMap<HTMLElement, MemberView>();
  const confirming = new Set<string>();
  const act = async (event: string, li: HTMLElement, done: (m: MemberView) => string) => {
    const member = members.get(li);
    if (!member) return;
    confirming.delete(member.id);
    const ack = await ctx.conn.command(event, { member_id: member.id });
    if (ack.ok) ctx.notice.show(done(member), 'success');
    else ctx.notice.show(describeError(ack.error), 'error');
    if (ctx.conn.state) draw(ctx.conn.state);
  };
  const askBan = (li: HTMLElement, ask: boolean) => {
    const member = members.get(li);
    if (!member) return;
    if (ask) confirming.add(member.id);
    else confirming.delete(member.id);
    if (ctx.conn.state) draw(ctx.conn.state);
    part(li, ask ? 'ban-confirm' : 'ban').focus();
  };

  const create = (): HTMLElement => {
    const li: HTMLElement = h('li', { class: 'member', 'data-testid': 'member' });
    const button = (name: string, label: string, onclick: () => void, cls = 'small secondary') =>
      h('button', { type: 'button', class: cls, 'data-part': name, 'data-testid': name, onclick }, label);
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
        button('kick', 'Kick', () => act('member:kick', li, (m) => `${m.name} was removed from the room.`)),
        button('ban', 'Ban', () => askBan(li, true), 'small danger'),
        button('ban-confirm', 'Confirm ban', () => act('member:ban', li, (m) => `${m.name} was banned.`), 'small danger'),
        button('ban-cancel', 'Cancel', () => askBan(li, false)),
      ),
    );
    return li;
  };

  const draw = (state: RoomState) => {
    const online = onlineCount(state);
    setText(count, `(${online} here${state.room.member_count > online ? ` of ${state.room.member_count}` : ''})`);
    more.hidden = state.members.length >= state.room.member_count;
    syncList(list, state.members, (m) => m.id, create, (li, member) => {
      members.set(li, member);
      drawMember(li, member, state, confirming.has(member.id));
    }, false);
  };

  return { el, update: draw };
}

function drawMember(li: HTMLElement, member: MemberView, state: RoomState, confirmingBan: boolean): void {
  const me = member.id === state.me.id;
  li.dataset.memberId = member.id;
  li.dataset.role = member.role;
  li.classList.toggle('offline', !member.online);
  setText(part(li, 'name'), me ? `${member.name} (you)` : member.name);
  setText(part(li, 'status'), member.online ? ', online' : ', offline');
  const role = part(li, 'role');
  setText(role, roleNames[member.role]);
  role.hidden = member.role === 'guest';

  const moderate = canModerate(state, member);
  const host = state.me.role === 'host' && !me;
  const buttons: Record<string, boolean> = {
    promote: host && member.role === 'guest',
    demote: host && member.role === 'cohost',
    kick: moderate && !confirmingBan,
    ban: moderate && !confirmingBan,
    'ban-confirm': moderate && confirmingBan,
    'ban-cancel': moderate && confirmingBan,
  };
  for (const [name, shown] of Object.entries(buttons)) {
    const b = part(li, name);
    b.hidden = !shown;
    b.setAttribute('aria-label', `${b.textContent} ${member.name}`);
  }
}
