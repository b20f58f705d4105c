// "Room rules" for everyone: the rules the host set, in plain words, so a
// guest knows why an add or a down-vote is refused before trying.

import { h, setText, syncList } from '../dom';
import type { RoomState } from '../state';
import { dayPartLines, ruleLines, type RuleLine } from '../words';
import type { Section } from './view';

export function rulesSection(): Section {
  const list = h('ul', { class: 'room-rules', 'data-testid': 'room-rules', 'aria-labelledby': 'room-rules-heading' });
  const who = h('p', { class: 'hint' });
  const el = h('section', { class: 'card', id: 'room-rules', 'aria-labelledby': 'room-rules-heading' }, h('h2', { id: 'room-rules-heading' }, 'Room rules'), list, who);
  return {
    el,
    update(state: RoomState) {
      // A zone's day part adds its own limits (protocol.md §3.18).
      const lines = [...ruleLines(state.room.rules, state.room.fallback_count), ...(state.dayPart ? dayPartLines(state.dayPart) : [])];
      syncList(list, lines, (l) => l.rule, (l: RuleLine) => h('li', { 'data-testid': 'room-rule', 'data-rule': l.rule }), (li, l) => setText(li, l.text), false);
      const r = state.room.rules;
      const guestOnly = r.max_queued_per_guest !== null || r.add_cooldown_secs;
      setText(who, guestOnly ? 'Limits on adding apply to guests; the hosts set the rules.' : 'The hosts set these rules.');
    },
  };
}
