// Guests' requests in a zone whose day part wants the staff's approval
// (a guest's `queue:add` is held instead of queued). Staff see every
// request waiting, oldest first, and approve (it joins the queue as the
// guest's track) or decline it (5 s to undo: declines count toward the
// venue blocking the track). A guest sees their own requests waiting, and
// may withdraw one (5 s to undo too: a request withdrawn still counts
// toward their requests this hour).
//
// The toasts for a guest when the staff answer come from the connection
// (state.ts `requestNews`): they are news, not answers to a tap here.

import { formatDuration } from '../clock';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { UNDO_MS } from '../later';
import { approvalOn, isStaff, myRequests, type RoomState } from '../state';
import type { RequestView } from '../types';
import { count } from '../words';
import type { RoomContext, Section } from './view';

/** How often "2 min ago" is brought up to date. */
const TICK_MS = 20_000;

export function requestsSection(ctx: RoomContext): Section {
  const label = h('span', {}, 'Requests');
  const countEl = h('span', { class: 'count', 'data-testid': 'requests-count' });
  const heading = h('h2', { id: 'requests-heading' }, label, ' ', countEl);
  const mode = h('p', { class: 'hint', 'data-testid': 'requests-mode' });
  const empty = h('p', { class: 'empty', 'data-testid': 'requests-empty' });
  const sectionStatus = h('p', { class: 'inline-status', 'data-testid': 'requests-status' });
  const list = h('ol', { class: 'requests', 'data-testid': 'request-list', 'aria-labelledby': 'requests-heading' });
  const el = h(
    'section',
    { class: 'card requests-card', id: 'requests', 'data-testid': 'requests', 'aria-labelledby': 'requests-heading', hidden: true },
    heading,
    mode,
    sectionStatus,
    empty,
    list,
  );

  let latest: RoomState | null = null;
  /** Requests whose approval is on its way. */
  const busy = new Set<string>();
  const redraw = () => ctx.conn.edit(() => undefined);
  const rowOf = (id: string) => list.querySelector<HTMLElement>(`[data-request-id="${id}"]`);
  /** Beside the request (or under the heading once it is gone), and in the toast. */
  const say = (id: string, text: string, kind: 'success' | 'error' | 'info') => {
    const li = rowOf(id);
    const target = li ? part(li, 'row-status') : sectionStatus;
    setText(target, text);
    target.dataset.kind = kind;
    ctx.notice.show(text, kind);
  };
  const stillWaiting = (id: string) => ctx.conn.state?.requests.some((r) => r.id === id) ?? false;

  const approve = async (r: RequestView) => {
    if (busy.has(r.id)) return;
    busy.add(r.id);
    redraw();
    const ack = await ctx.conn.command('request:approve', { request_id: r.id });
    busy.delete(r.id);
    if (ack.ok) say(r.id, `Approved “${r.track.title}”: it is in the queue for ${r.requested_by_name}.`, 'success');
    else say(r.id, describeError(ack.error), 'error');
    redraw();
  };

  const decline = (r: RequestView) => {
    const key = `decline:${r.id}`;
    const undo = () => {
      if (ctx.later.undo(key)) say(r.id, `“${r.track.title}” is still waiting for your answer.`, 'success');
    };
    const scheduled = ctx.later.schedule(key, 'decline', async () => {
      if (!stillWaiting(r.id)) return; // withdrawn or answered meanwhile
      const ack = await ctx.conn.command<{ version: number; blocked?: boolean }>('request:decline', { request_id: r.id });
      if (!ack.ok) {
        say(r.id, describeError(ack.error), 'error');
        return;
      }
      const blocked = ack.data.blocked
        ? ' It was declined too often here: guests can no longer ask for it (Blocked tracks, on the venue’s page, lifts it).'
        : '';
      say(r.id, `Declined “${r.track.title}”: ${r.requested_by_name} is told.${blocked}`, 'info');
    });
    if (!scheduled) return;
    ctx.notice.show(`Declining “${r.track.title}”… You can undo it for ${UNDO_MS / 1000} s.`, 'info', false, { label: 'Undo', testid: 'notice-undo', run: undo });
    const li = rowOf(r.id);
    if (li) part(li, 'undo').focus();
  };

  const withdraw = (r: RequestView) => {
    const key = `withdraw:${r.id}`;
    const undo = () => {
      if (ctx.later.undo(key)) say(r.id, `“${r.track.title}” is still waiting for the staff.`, 'success');
    };
    const scheduled = ctx.later.schedule(key, 'withdraw', async () => {
      if (!stillWaiting(r.id)) return;
      const ack = await ctx.conn.command('request:withdraw', { request_id: r.id });
      if (ack.ok) say(r.id, `You withdrew “${r.track.title}”.`, 'info');
      else say(r.id, describeError(ack.error), 'error');
    });
    if (!scheduled) return;
    ctx.notice.show(`Withdrawing “${r.track.title}”… You can undo it for ${UNDO_MS / 1000} s.`, 'info', false, { label: 'Undo', testid: 'notice-undo', run: undo });
    const li = rowOf(r.id);
    if (li) part(li, 'undo').focus();
  };

  // The handlers read the request as last drawn, kept on the element.
  const drawn = new WeakMap<HTMLElement, RequestView>();
  const create = (r: RequestView): HTMLElement => {
    const li = h('li', { class: 'request', 'data-testid': 'request', 'data-request-id': r.id, 'data-track-id': r.track.id });
    const statusId = `request-status-${r.id}`;
    const on = (handler: (r: RequestView) => void) => () => {
      const current = drawn.get(li);
      if (current) handler(current);
    };
    const button = (name: string, label: string, cls: string, handler: (r: RequestView) => void) =>
      h('button', { type: 'button', class: cls, 'data-part': name, 'data-testid': `request-${name}`, 'aria-describedby': statusId, onclick: on(handler) }, label);
    li.append(
      h(
        'div',
        { class: 'request-text' },
        h('p', { class: 'request-title' }, h('span', { 'data-part': 'title' }), h('abbr', { class: 'badge', title: 'explicit', 'data-part': 'explicit', hidden: true }, 'E')),
        h('p', { class: 'request-meta', 'data-part': 'meta' }),
        h('p', { class: 'request-who', 'data-part': 'who', 'data-testid': 'request-who' }),
      ),
      h(
        'div',
        { class: 'request-actions' },
        button('approve', 'Approve', 'primary', approve),
        button('decline', 'Decline', 'danger', decline),
        button('withdraw', 'Withdraw', 'secondary', withdraw),
        button('undo', 'Undo', 'secondary', (x) => {
          const key = ctx.later.has(`decline:${x.id}`) ? `decline:${x.id}` : `withdraw:${x.id}`;
          if (ctx.later.undo(key)) say(x.id, `“${x.track.title}” is still waiting.`, 'success');
        }),
      ),
      h('p', { class: 'inline-status', id: statusId, 'data-part': 'row-status', 'data-testid': 'request-status' }),
    );
    return li;
  };

  const update = (state: RoomState) => {
    latest = state;
    const staff = isStaff(state);
    const shown = staff ? state.requests : myRequests(state);
    // Staff of a zone always see the card (with its empty state); a guest
    // only while a request of theirs waits; a party room has no requests.
    el.hidden = staff ? state.room.kind !== 'venue' && shown.length === 0 : shown.length === 0;
    if (el.hidden) return;
    el.dataset.view = staff ? 'staff' : 'guest';
    setText(label, staff ? 'Requests' : 'Your requests');
    setText(countEl, shown.length ? `(${shown.length})` : '');
    countEl.setAttribute('aria-label', count(shown.length, 'request'));
    const approval = approvalOn(state);
    const during = state.dayPart?.name ? ` during ${state.dayPart.name}` : '';
    setText(
      mode,
      staff
        ? approval
          ? `Guests’ tracks wait here for your approval${during}. Approved, a track joins the queue as the guest’s.`
          : state.dayPart
            ? `Right now${during} guests’ tracks go straight into the queue: no approval in force.`
            : 'This zone has no schedule: guests’ tracks go straight into the queue. A schedule on the venue’s page can ask for approval.'
        : 'The staff approve each request before it joins the queue.',
    );
    empty.hidden = shown.length > 0;
    setText(empty, 'No requests waiting. When guests ask for tracks, they appear here for you to approve or decline.');
    const now = Date.now() + state.offset;
    syncList(list, shown, (r) => r.id, create, (li, r) => {
      drawn.set(li, r);
      const declining = ctx.later.has(`decline:${r.id}`);
      const withdrawing = ctx.later.has(`withdraw:${r.id}`);
      const waitingUndo = declining || withdrawing;
      const approving = busy.has(r.id);
      const t = r.track;
      setText(part(li, 'title'), t.title);
      part(li, 'explicit').hidden = !t.explicit;
      setText(part(li, 'meta'), `${t.artists.join(', ')} · ${formatDuration(t.duration_ms)}`);
      const ago = since(now - r.requested_at);
      setText(part(li, 'who'), staff ? `Asked by ${r.requested_by_name} · ${ago}` : `Waiting for approval · asked ${ago}`);
      li.dataset.state = declining ? 'declining' : withdrawing ? 'withdrawing' : approving ? 'approving' : 'waiting';
      const approveButton = part<HTMLButtonElement>(li, 'approve');
      approveButton.hidden = !staff || waitingUndo;
      approveButton.disabled = approving;
      approveButton.setAttribute('aria-label', `Approve ${t.title}, asked by ${r.requested_by_name}`);
      part(li, 'decline').hidden = !staff || waitingUndo || approving;
      part(li, 'decline').setAttribute('aria-label', `Decline ${t.title}, asked by ${r.requested_by_name}`);
      part(li, 'withdraw').hidden = staff || waitingUndo;
      part(li, 'withdraw').setAttribute('aria-label', `Withdraw your request for ${t.title}`);
      part(li, 'undo').hidden = !waitingUndo;
      setText(part(li, 'undo'), declining ? 'Undo decline' : 'Undo withdraw');
      part(li, 'undo').setAttribute('aria-label', `${declining ? 'Undo declining' : 'Undo withdrawing'} ${t.title}`);
      const rowStatus = part(li, 'row-status');
      if (waitingUndo) {
        setText(rowStatus, `${declining ? 'Declining' : 'Withdrawing'} “${t.title}”…`);
        rowStatus.dataset.kind = 'info';
      } else if (/^(Declining|Withdrawing) “/.test(rowStatus.textContent ?? '')) {
        setText(rowStatus, '');
      }
    });
  };

  const timer = window.setInterval(() => {
    if (latest && !el.hidden && latest.requests.length) update(ctx.conn.state ?? latest);
  }, TICK_MS);

  return {
    el,
    update,
    stop() {
      window.clearInterval(timer);
    },
  };
}

/** "just now", "4 min ago", "2 h ago". */
function since(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  return `${count(Math.floor(minutes / 60), 'h', 'h')} ago`;
}
