// The waiting queue in play order (the server's order, never re-sorted
// here), with my vote and the score, and staff or adder actions. Entries
// slide to their new place when votes reorder them.
//
// A vote button ignores taps while its vote is on its way (a double tap is
// one vote, not a vote and its take-back). My own entries show ▲ pressed:
// the adder's up-vote counts; tapping it takes that vote back and the
// entry says so. Remove waits 5 s for an undo; staff can unpin and ban.

import { formatDuration } from '../clock';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { UNDO_MS } from '../later';
import { applyEntryAck, isStaff, type RoomState, playableHere } from '../state';
import type { EntryAck, EntryView, Vote } from '../types';
import { count as plural } from '../words';
import type { RoomContext, Section } from './view';

export const DOWNVOTES_OFF = 'Down-votes are off in this room.';

export function queueSection(ctx: RoomContext): Section {
  const list = h('ol', { class: 'queue', 'data-testid': 'queue', 'aria-labelledby': 'queue-heading' });
  const count = h('span', { class: 'count', 'data-testid': 'queue-count' });
  const empty = h('p', { class: 'empty', 'data-testid': 'queue-empty' }, 'The queue is empty. Search for a track and add it!');
  const sectionStatus = h('p', { class: 'inline-status', 'data-testid': 'queue-status' });
  const downOff = h('span', { id: 'downvotes-off', class: 'visually-hidden' }, DOWNVOTES_OFF);
  const el = h('section', { class: 'card', id: 'queue' }, h('h2', { id: 'queue-heading' }, 'Up next ', count), downOff, sectionStatus, empty, list);

  /** Entry ids whose vote is on its way. */
  const voting = new Set<string>();
  const redraw = () => ctx.conn.edit(() => undefined);
  const rowOf = (entryId: string) => list.querySelector<HTMLElement>(`[data-entry-id="${entryId}"]`);
  /** The status beside the entry (or, when it left the queue, under the heading) and the toast. */
  const say = (entryId: string, text: string, kind: 'success' | 'error' | 'info') => {
    const li = rowOf(entryId);
    const target = li ? part(li, 'row-status') : sectionStatus;
    setText(target, text);
    target.dataset.kind = kind;
    ctx.notice.show(text, kind);
  };

  const vote = async (entry: EntryView, value: Vote) => {
    if (voting.has(entry.id)) return;
    if (value === -1 && entry.my_vote !== -1 && ctx.conn.state && !ctx.conn.state.room.rules.allow_downvotes) {
      say(entry.id, DOWNVOTES_OFF, 'info');
      return;
    }
    const mine = entry.added_by === ctx.conn.state?.me.id;
    const next: Vote = entry.my_vote === value ? 0 : value;
    voting.add(entry.id);
    redraw();
    const ack = await ctx.conn.command<EntryAck>('queue:vote', { entry_id: entry.id, value: next });
    voting.delete(entry.id);
    if (ack.ok) {
      ctx.conn.edit((s) => applyEntryAck(s, ack.data.entry));
      if (mine && value === 1 && next === 0) say(entry.id, 'You took back your up-vote for your own track.', 'info');
      else if (mine && value === 1 && next === 1) say(entry.id, 'Your up-vote for your own track counts again.', 'success');
      else if (ack.data.entry === null) say(entry.id, `“${entry.track.title}” was voted off the queue.`, 'info');
    } else {
      say(entry.id, describeError(ack.error), 'error');
    }
    redraw();
  };
  const act = async (event: string, entry: EntryView, done: string) => {
    const ack = await ctx.conn.command(event, { entry_id: entry.id });
    if (ack.ok) say(entry.id, done, 'success');
    else say(entry.id, describeError(ack.error), 'error');
  };
  const remove = (entry: EntryView) => {
    const key = `remove:${entry.id}`;
    const undo = () => {
      if (ctx.later.undo(key)) say(entry.id, `“${entry.track.title}” stays in the queue.`, 'success');
    };
    ctx.later.schedule(key, 'remove', () => void act('queue:remove', entry, `Removed “${entry.track.title}”.`));
    ctx.notice.show(`Removing “${entry.track.title}”… You can undo it for ${UNDO_MS / 1000} s.`, 'info', false, { label: 'Undo', testid: 'notice-undo', run: undo });
    const li = rowOf(entry.id);
    if (li) part(li, 'undo').focus();
  };
  const ban = async (entry: EntryView) => {
    const rules = ctx.conn.state?.room.rules;
    if (!rules) return;
    const banned = [...new Set([...rules.banned_tracks, entry.track.id])];
    const ack = await ctx.conn.command('room:update_rules', { rules: { banned_tracks: banned } });
    if (!ack.ok) {
      say(entry.id, describeError(ack.error), 'error');
      return;
    }
    // Rules are not retroactive: take the entry out too.
    await act('queue:remove', entry, `“${entry.track.title}” is banned and left the queue.`);
  };

  // The handlers read the entry as last drawn, kept on the element.
  const entries = new WeakMap<HTMLElement, EntryView>();
  const create = (entry: EntryView): HTMLElement => {
    const li = h('li', { class: 'entry', 'data-testid': 'entry' });
    const statusId = `entry-status-${entry.id}`;
    const on = (handler: (e: EntryView) => void) => () => {
      const e = entries.get(li);
      if (e) handler(e);
    };
    const small = (name: string, label: string, cls: string, handler: (e: EntryView) => void) =>
      h('button', { type: 'button', class: `small ${cls}`, 'data-part': name, 'data-testid': name, 'aria-describedby': statusId, onclick: on(handler) }, label);
    li.append(
      h('span', { class: 'position', 'data-part': 'position', 'aria-hidden': 'true' }),
      h(
        'div',
        { class: 'entry-text' },
        h(
          'p',
          { class: 'entry-title' },
          h('span', { 'data-part': 'title' }),
          h('abbr', { class: 'badge', title: 'explicit', 'data-part': 'explicit', hidden: true }, 'E'),
          h('span', { class: 'badge silent', 'data-part': 'silent', 'data-testid': 'silent', title: 'The speaker has no audio for it: it keeps time in silence', hidden: true }, 'No sound'),
          h('span', { class: 'badge pin-badge', 'data-part': 'pinned', 'data-testid': 'pinned', hidden: true }, 'Pinned'),
        ),
        h('p', { class: 'entry-meta', 'data-part': 'meta' }),
      ),
      h(
        'div',
        { class: 'votes' },
        h('button', { type: 'button', class: 'vote up', 'data-part': 'up', 'data-testid': 'upvote', onclick: on((e) => vote(e, 1)) }, '▲'),
        h('span', { class: 'score' }, h('span', { class: 'visually-hidden' }, 'Score '), h('span', { 'data-part': 'score', 'data-testid': 'score' })),
        h('button', { type: 'button', class: 'vote down', 'data-part': 'down', 'data-testid': 'downvote', onclick: on((e) => vote(e, -1)) }, '▼'),
      ),
      h('p', { class: 'inline-status entry-status', id: statusId, 'data-part': 'row-status', 'data-testid': 'entry-status' }),
      h(
        'div',
        { class: 'entry-actions' },
        small('pin', 'Play next', '', (e) => act('queue:pin', e, `“${e.track.title}” plays next.`)),
        small('unpin', 'Unpin', 'secondary', (e) => act('queue:unpin', e, `“${e.track.title}” is no longer pinned: votes place it again.`)),
        small('ban-track', 'Ban track', 'secondary', ban),
        small('remove', 'Remove', 'danger', remove),
        small('undo', 'Undo remove', 'secondary', (e) => {
          if (ctx.later.undo(`remove:${e.id}`)) say(e.id, `“${e.track.title}” stays in the queue.`, 'success');
        }),
      ),
    );
    return li;
  };

  return {
    el,
    update(state) {
      empty.hidden = state.queue.length > 0;
      setText(count, state.queue.length > 0 ? `(${state.queue.length})` : '');
      count.setAttribute('aria-label', plural(state.queue.length, 'track'));
      syncList(list, state.queue, (e) => e.id, create, (li, entry, index) => {
        entries.set(li, entry);
        drawEntry(li, entry, state, index, voting.has(entry.id), ctx.later.has(`remove:${entry.id}`));
      });
    },
  };
}

function drawEntry(li: HTMLElement, entry: EntryView, state: RoomState, index: number, voting: boolean, removing: boolean): void {
  const { track } = entry;
  const mine = entry.added_by === state.me.id;
  const staff = isStaff(state);
  li.dataset.trackId = track.id;
  li.dataset.entryId = entry.id;
  li.dataset.myVote = String(entry.my_vote ?? 0);
  li.classList.toggle('leaving', removing);
  setText(part(li, 'position'), String(index + 1));
  setText(part(li, 'title'), track.title);
  part(li, 'explicit').hidden = !track.explicit;
  part(li, 'silent').hidden = playableHere(track, state, false);
  part(li, 'pinned').hidden = !entry.pinned;
  setText(part(li, 'meta'), `${track.artists.join(', ')} · ${formatDuration(track.duration_ms)} · ${mine ? 'added by you' : `added by ${entry.added_by_name}`}`);

  const up = part<HTMLButtonElement>(li, 'up');
  const down = part<HTMLButtonElement>(li, 'down');
  up.setAttribute('aria-pressed', String(entry.my_vote === 1));
  const upLabel = mine
    ? entry.my_vote === 1
      ? `Your track: your up-vote counts. Take back your up-vote for ${track.title}`
      : `Your track: up-vote ${track.title} again`
    : entry.my_vote === 1
      ? `Remove your up-vote for ${track.title}`
      : `Up-vote ${track.title}`;
  up.setAttribute('aria-label', upLabel);
  up.title = mine && entry.my_vote === 1 ? 'Your track: your up-vote counts' : '';
  li.classList.toggle('mine', mine);
  down.setAttribute('aria-pressed', String(entry.my_vote === -1));
  down.setAttribute('aria-label', entry.my_vote === -1 ? `Remove your down-vote for ${track.title}` : `Down-vote ${track.title}`);
  // With down-votes off the ▼ stays, disabled, and says why; an existing
  // down-vote can still be taken back.
  const downOff = !state.room.rules.allow_downvotes && entry.my_vote !== -1;
  down.setAttribute('aria-disabled', String(downOff));
  down.title = downOff ? DOWNVOTES_OFF : '';
  if (downOff) down.setAttribute('aria-describedby', 'downvotes-off');
  else down.removeAttribute('aria-describedby');
  // Busy while the vote is out: taps are ignored (see vote()).
  for (const b of [up, down]) b.setAttribute('aria-busy', String(voting));
  li.dataset.voting = String(voting);
  setText(part(li, 'score'), String(entry.score));

  const can = { remove: (staff || mine) && !removing, pin: staff && !entry.pinned && !removing, unpin: staff && entry.pinned && !removing, 'ban-track': staff && !removing, undo: removing };
  for (const [name, shown] of Object.entries(can)) part(li, name).hidden = !shown;
  part(li, 'pin').setAttribute('aria-label', `Play ${track.title} next`);
  part(li, 'unpin').setAttribute('aria-label', `Unpin ${track.title}`);
  part(li, 'ban-track').setAttribute('aria-label', `Ban ${track.title} from this room`);
  part(li, 'remove').setAttribute('aria-label', `Remove ${track.title} from the queue`);
  part(li, 'undo').setAttribute('aria-label', `Undo removing ${track.title}`);
  const rowStatus = part(li, 'row-status');
  if (removing) {
    setText(rowStatus, `Removing “${track.title}”…`);
    rowStatus.dataset.kind = 'info';
  } else if (rowStatus.textContent?.startsWith('Removing “')) {
    setText(rowStatus, '');
  }
}
