// The waiting queue in play order (the server's order, never re-sorted
// here), with my vote and the score, and staff or adder actions. Entries
// slide to their new place when votes reorder them.

import { formatDuration } from '../clock';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { applyEntryAck, isStaff, type RoomState, playableHere } from '../state';
import type { EntryAck, EntryView, Vote } from '../types';
import type { RoomContext, Section } from './view';

export function queueSection(ctx: RoomContext): Section {
  const list = h('ol', { class: 'queue', 'data-testid': 'queue', 'aria-labelledby': 'queue-heading' });
  const count = h('span', { class: 'count', 'data-testid': 'queue-count' });
  const empty = h('p', { class: 'empty', 'data-testid': 'queue-empty' }, 'The queue is empty. Search for a track and add it!');
  const el = h('section', { class: 'card', id: 'queue' }, h('h2', { id: 'queue-heading' }, 'Up next ', count), empty, list);

  const vote = async (entry: EntryView, value: Vote) => {
    const next: Vote = entry.my_vote === value ? 0 : value;
    const ack = await ctx.conn.command<EntryAck>('queue:vote', { entry_id: entry.id, value: next });
    if (ack.ok) ctx.conn.edit((s) => applyEntryAck(s, ack.data.entry));
    else ctx.notice.show(describeError(ack.error), 'error');
  };
  const act = async (event: string, entry: EntryView, done: string) => {
    const ack = await ctx.conn.command(event, { entry_id: entry.id });
    if (ack.ok) ctx.notice.show(done, 'success');
    else ctx.notice.show(describeError(ack.error), 'error');
  };

  // The handlers read the entry as last drawn, kept on the element.
  const entries = new WeakMap<HTMLElement, EntryView>();
  const create = (): HTMLElement => {
    const li = h('li', { class: 'entry', 'data-testid': 'entry' });
    const on = (handler: (e: EntryView) => void) => () => {
      const entry = entries.get(li);
      if (entry) handler(entry);
    };
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
      h(
        'div',
        { class: 'entry-actions' },
        h('button', { type: 'button', class: 'small', 'data-part': 'pin', 'data-testid': 'pin', onclick: on((e) => act('queue:pin', e, `“${e.track.title}” plays next.`)) }, 'Play next'),
        h('button', { type: 'button', class: 'small danger', 'data-part': 'remove', 'data-testid': 'remove', onclick: on((e) => act('queue:remove', e, `Removed “${e.track.title}”.`)) }, 'Remove'),
      ),
    );
    return li;
  };

  return {
    el,
    update(state) {
      empty.hidden = state.queue.length > 0;
      setText(count, state.queue.length > 0 ? `(${state.queue.length})` : '');
      syncList(list, state.queue, (e) => e.id, create, (li, entry, index) => {
        entries.set(li, entry);
        drawEntry(li, entry, state, index);
      });
    },
  };
}

function drawEntry(li: HTMLElement, entry: EntryView, state: RoomState, index: number): void {
  const { track } = entry;
  const mine = entry.added_by === state.me.id;
  const staff = isStaff(state);
  li.dataset.trackId = track.id;
  li.dataset.entryId = entry.id;
  li.dataset.myVote = String(entry.my_vote ?? 0);
  setText(part(li, 'position'), String(index + 1));
  setText(part(li, 'title'), track.title);
  part(li, 'explicit').hidden = !track.explicit;
  part(li, 'silent').hidden = playableHere(track, state, false);
  part(li, 'pinned').hidden = !entry.pinned;
  setText(part(li, 'meta'), `${track.artists.join(', ')} · ${formatDuration(track.duration_ms)} · ${mine ? 'added by you' : `added by ${entry.added_by_name}`}`);

  const up = part<HTMLButtonElement>(li, 'up');
  const down = part<HTMLButtonElement>(li, 'down');
  up.setAttribute('aria-pressed', String(entry.my_vote === 1));
  up.setAttribute('aria-label', entry.my_vote === 1 ? `Remove your up-vote for ${track.title}` : `Up-vote ${track.title}`);
  down.setAttribute('aria-pressed', String(entry.my_vote === -1));
  down.setAttribute('aria-label', entry.my_vote === -1 ? `Remove your down-vote for ${track.title}` : `Down-vote ${track.title}`);
  // With down-votes off, an existing down-vote can still be taken back.
  down.hidden = !state.room.rules.allow_downvotes && entry.my_vote !== -1;
  setText(part(li, 'score'), String(entry.score));

  const pin = part(li, 'pin');
  pin.hidden = !staff || entry.pinned;
  pin.setAttribute('aria-label', `Play ${track.title} next`);
  const remove = part(li, 'remove');
  remove.hidden = !staff && !mine;
  remove.setAttribute('aria-label', `Remove ${track.title} from the queue`);
}
