// A venue's staff (protocol.md §3.18): who is on it with which role. The
// owner invites (a single-use link to hand over), changes roles and removes
// people; anyone else may leave.
//
// `GET /api/venues/{id}` names each person (username, display name); the
// answers of the PUTs do not, so names are kept here from the last GET.

import { inviteStaff, removeStaff, setStaffRole } from '../api';
import { h, part, setText, syncList } from '../dom';
import { inlineStatus } from '../notice';
import { returnTrip } from '../storage';
import type { VenueAnswer, VenueRole, VenueStaff } from '../types';
import { calendarDay } from '../words';
import { can, confirmPanel, ROLE_NAMES, ROLE_POWERS, venueProblem, type VenueContext, type VenueSection } from './venue_context';

type Invitable = Exclude<VenueRole, 'owner'>;

export function staffSection(ctx: VenueContext): VenueSection {
  const list = h('ul', { class: 'staff', 'data-testid': 'staff' });
  /** user id → names, from any answer that has them. */
  const names = new Map<string, { username: string; display_name: string }>();
  const nameOf = (userId: string) => {
    const n = names.get(userId);
    return n ? n.display_name || n.username : null;
  };

  // --- inviting (owner) -------------------------------------------------
  const role = h(
    'select',
    { id: 'invite-role', 'data-testid': 'invite-role' },
    h('option', { value: 'staff' }, 'Staff'),
    h('option', { value: 'manager' }, 'Manager'),
  );
  const powers = h(
    'ul',
    { class: 'hint role-powers', id: 'invite-role-powers' },
    h('li', {}, h('strong', {}, 'Staff: '), ROLE_POWERS.staff),
    h('li', {}, h('strong', {}, 'Manager: '), ROLE_POWERS.manager),
  );
  role.setAttribute('aria-describedby', powers.id);
  const invite = h('button', { type: 'submit', class: 'primary', 'data-testid': 'invite' }, 'Create invitation link');
  const status = inlineStatus(ctx.notice, 'invite-status', invite);
  const link = h('input', { id: 'invite-link', 'data-testid': 'invite-link', readonly: true, autocomplete: 'off', spellcheck: 'false' });
  const linkLabel = h('label', { for: 'invite-link' }, 'Invitation link');
  const copy = h('button', { type: 'button', 'data-testid': 'invite-copy' }, 'Copy');
  const copyStatus = inlineStatus(ctx.notice, 'invite-copy-status', copy);
  const made = h('div', { class: 'invite-made', hidden: true }, linkLabel, h('div', { class: 'row' }, link, copy), copyStatus.el);
  const inviteForm = h(
    'form',
    { class: 'invite', 'aria-labelledby': 'invite-heading' },
    h('h3', { id: 'invite-heading' }, 'Invite someone'),
    h('label', { for: 'invite-role' }, 'Their role'),
    role,
    powers,
    invite,
    status.el,
    made,
  );

  const leaveNote = h('p', { class: 'hint', 'data-testid': 'staff-role-note' });
  const el = h(
    'section',
    { class: 'card venue-staff', id: 'staff', 'aria-labelledby': 'staff-heading', 'data-testid': 'venue-staff' },
    h('h2', { id: 'staff-heading' }, 'Staff'),
    leaveNote,
    list,
    inviteForm,
  );
  let current: VenueAnswer | null = null;

  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    invite.disabled = true;
    status.clear();
    try {
      const answer = await inviteStaff(ctx.token, ctx.id, role.value as Invitable);
      link.value = answer.url;
      const who = answer.invitation.role === 'manager' ? 'a manager' : 'a staff member';
      linkLabel.replaceChildren('Invitation link', h('span', { class: 'hint' }, ` (for ${who}; works once, until ${calendarDay(answer.invitation.expires_at)})`));
      made.hidden = false;
      link.focus();
      link.select();
      status.show('Send this link to the person you invite: whoever opens it first and signs in joins the staff.', 'success');
    } catch (err) {
      status.show(venueProblem(ctx, err), 'error');
    } finally {
      invite.disabled = false;
    }
  });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(link.value);
      copyStatus.show('Copied.', 'success');
    } catch {
      link.select();
      copyStatus.show('Select the link and copy it by hand.', 'info');
    }
  });

  const create = (member: VenueStaff): HTMLElement => {
    const li = h('li', { class: 'staff-member', 'data-testid': 'staff-member', 'data-user-id': member.user_id });
    const roleSelect = h(
      'select',
      { id: `role-${member.user_id}`, 'data-part': 'role', 'data-testid': 'staff-role' },
      h('option', { value: 'staff' }, 'Staff'),
      h('option', { value: 'manager' }, 'Manager'),
    );
    const remove = h('button', { type: 'button', class: 'danger', 'data-part': 'remove', 'data-testid': 'staff-remove' });
    const line = inlineStatus(ctx.notice, 'staff-status', roleSelect, remove);
    const mine = member.user_id === ctx.me.id;
    const confirm = confirmPanel('staff-remove-confirm', mine ? 'Leave' : 'Remove', async () => {
      try {
        await removeStaff(ctx.token, ctx.id, member.user_id);
        if (mine) {
          returnTrip.say('You left the venue.', 'success');
          ctx.navigate('/venues');
          return;
        }
        await ctx.reload();
        ctx.notice.show('Removed from the staff.', 'success');
      } catch (err) {
        line.show(venueProblem(ctx, err), 'error');
      }
    });
    roleSelect.addEventListener('change', async () => {
      roleSelect.disabled = true;
      try {
        ctx.apply(await setStaffRole(ctx.token, ctx.id, member.user_id, roleSelect.value as Invitable));
        line.show(`Role changed to ${ROLE_NAMES[roleSelect.value as Invitable]}.`, 'success');
      } catch (err) {
        line.show(venueProblem(ctx, err), 'error');
        if (current) ctx.apply(current); // back to the role the server has
      } finally {
        roleSelect.disabled = false;
      }
    });
    remove.addEventListener('click', () => {
      const who = nameOf(member.user_id) ?? 'this person';
      confirm.open(mine ? 'Leave this venue? You lose access at once; only a new invitation brings you back.' : `Remove ${who} from the staff? They lose access at once.`);
    });
    li.append(
      h(
        'div',
        { class: 'staff-who' },
        h('span', { class: 'member-name', 'data-part': 'name', 'data-testid': 'staff-name' }),
        h('span', { class: 'hint staff-username', 'data-part': 'username', 'data-testid': 'staff-username' }),
        h('span', { class: 'badge', 'data-part': 'badge', 'data-testid': 'staff-badge' }),
        h('span', { class: 'hint staff-since', 'data-part': 'since' }),
      ),
      h('div', { class: 'row wrap staff-actions' }, h('label', { for: roleSelect.id, class: 'visually-hidden', 'data-part': 'role-label' }, 'Role'), roleSelect, remove),
      line.el,
      confirm.el,
    );
    return li;
  };

  return {
    el,
    update(answer) {
      current = answer;
      for (const m of answer.venue.staff) {
        if (m.username) names.set(m.user_id, { username: m.username, display_name: m.display_name ?? m.username });
      }
      const owner = can(answer.role, 'staff');
      inviteForm.hidden = !owner;
      setText(leaveNote, `Your role: ${ROLE_NAMES[answer.role]}. ${ROLE_POWERS[answer.role]}`);
      // The owner first, then managers, then staff; each by date.
      const order: Record<VenueRole, number> = { owner: 0, manager: 1, staff: 2 };
      const staff = [...answer.venue.staff].sort((a, b) => order[a.role] - order[b.role] || a.since - b.since);
      syncList(
        list,
        staff,
        (m) => m.user_id,
        create,
        (li, m) => {
          const mine = m.user_id === ctx.me.id;
          const known = names.get(m.user_id);
          const name = nameOf(m.user_id);
          const nameEl = part(li, 'name');
          if (mine) setText(nameEl, `You (${ctx.me.username})`);
          else if (name) setText(nameEl, name);
          else if (!nameEl.querySelector('.account-id')) nameEl.replaceChildren('Account ', h('span', { class: 'code account-id' }, m.user_id));
          // The username too when it differs from what is shown (two people may share a display name).
          const username = mine ? undefined : known?.username;
          const showUsername = username !== undefined && username !== name;
          setText(part(li, 'username'), showUsername ? `@${username}` : '');
          part(li, 'username').hidden = !showUsername;
          setText(part(li, 'badge'), ROLE_NAMES[m.role]);
          setText(part(li, 'since'), m.role === 'owner' ? `since ${calendarDay(m.since)}` : `joined ${calendarDay(m.since)}`);
          li.dataset.role = m.role;
          const select = part<HTMLSelectElement>(li, 'role');
          const canChange = owner && m.role !== 'owner';
          select.hidden = !canChange;
          if (canChange && document.activeElement !== select) select.value = m.role;
          setText(part(li, 'role-label'), mine ? 'Your role' : `Role of ${name ?? `account ${m.user_id}`}`);
          const remove = part(li, 'remove');
          // The owner removes others; anyone but the owner may leave.
          remove.hidden = m.role === 'owner' || !(owner || mine);
          setText(remove, mine ? 'Leave the venue' : 'Remove');
          li.querySelector('.staff-actions')?.toggleAttribute('hidden', select.hidden && remove.hidden);
        },
        false,
      );
    },
  };
}
