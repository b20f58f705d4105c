// Tracks the venue blocks (protocol.md §3.18): declined by the staff as
// many times as the venue's `block_after_declines` within 30 days, they
// are refused in every zone (`track_banned`) until someone on the staff
// unblocks them here.

import { unblockTrack } from '../api';
import { h, part, setText, syncList } from '../dom';
import { inlineStatus } from '../notice';
import type { BlockedTrack, VenueAnswer } from '../types';
import { calendarDay, count } from '../words';
import { venueProblem, type VenueContext, type VenueSection } from './venue_context';

export function blockedSection(ctx: VenueContext): VenueSection {
  const list = h('ul', { class: 'results blocked', 'data-testid': 'blocked-tracks' });
  const empty = h('p', { class: 'empty', 'data-testid': 'blocked-empty' });
  const rule = h('p', { class: 'hint', 'data-testid': 'blocked-rule' });
  const status = inlineStatus(ctx.notice, 'blocked-status');
  const el = h(
    'section',
    { class: 'card venue-blocked', id: 'blocked', 'aria-labelledby': 'blocked-heading', 'data-testid': 'venue-blocked' },
    h('h2', { id: 'blocked-heading' }, 'Blocked tracks'),
    rule,
    list,
    empty,
    status.el,
  );

  const unblock = async (track: BlockedTrack, button: HTMLButtonElement) => {
    button.disabled = true;
    status.clear();
    try {
      await unblockTrack(ctx.token, ctx.id, track.track_id);
      await ctx.reload();
      status.show(`“${track.title}” is unblocked: guests may ask for it again.`, 'success');
    } catch (err) {
      status.show(venueProblem(ctx, err), 'error');
    } finally {
      button.disabled = false;
    }
  };

  return {
    el,
    update(answer: VenueAnswer) {
      const blocked = [...(answer.venue.blocked ?? [])].sort((a, b) => b.at - a.at);
      const n = answer.venue.block_after_declines ?? 3;
      setText(
        rule,
        n === 0
          ? 'This venue never blocks a track, however often the staff decline it (Details).'
          : n === 1
            ? 'A track the staff decline is blocked at once in every zone, until someone unblocks it.'
            : `A track the staff decline ${n} times within 30 days is blocked in every zone until someone unblocks it.`,
      );
      empty.hidden = blocked.length > 0;
      setText(empty, 'No blocked tracks.');
      syncList(
        list,
        blocked,
        (t) => t.track_id,
        (t) => {
          const button = h('button', { type: 'button', 'data-part': 'unblock', 'data-testid': 'unblock-track' }, 'Unblock');
          button.addEventListener('click', () => void unblock(t, button));
          return h(
            'li',
            { class: 'result', 'data-testid': 'blocked-track', 'data-track-id': t.track_id },
            h('div', { class: 'result-text' }, h('p', { class: 'result-title', 'data-part': 'title' }), h('p', { class: 'result-meta', 'data-part': 'meta' })),
            button,
          );
        },
        (li, t) => {
          setText(part(li, 'title'), t.title);
          setText(part(li, 'meta'), [t.artist, `blocked ${calendarDay(t.at)}`].filter(Boolean).join(' · '));
          part(li, 'unblock').setAttribute('aria-label', `Unblock ${t.title}`);
        },
        false,
      );
      el.dataset.count = String(blocked.length);
      list.setAttribute('aria-label', count(blocked.length, 'blocked track'));
    },
  };
}
