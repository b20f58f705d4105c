// Host tools (host and co-hosts): inviting people (QR code, join link, the
// big screen) and the room's main rules. Queue, player, member and photo
// moderation live next to what they act on.

import { ApiError, type Device, qrUrl, spotifyPlayOn } from '../api';
import { h, setText } from '../dom';
import { describeError } from '../errors';
import { isStaff, type RoomState } from '../state';
import { joinUrl } from '../storage';
import type { Rules } from '../types';
import type { RoomContext, Section } from './view';

type Toggle = 'guests_can_add' | 'allow_downvotes' | 'fair_mode' | 'allow_explicit' | 'only_playable';

const toggles: { rule: Toggle; label: string; hint: string }[] = [
  { rule: 'guests_can_add', label: 'Guests may add tracks', hint: 'Off: guests only vote.' },
  { rule: 'allow_downvotes', label: 'Allow down-votes', hint: 'Off: up-votes only.' },
  { rule: 'fair_mode', label: 'Fair mode', hint: 'Take turns between the people who add tracks.' },
  { rule: 'allow_explicit', label: 'Allow explicit tracks', hint: '' },
  { rule: 'only_playable', label: 'Only tracks the speaker can play', hint: 'Others are refused instead of keeping time in silence.' },
];

const skipChoices: { value: number | null; label: string }[] = [
  { value: null, label: 'Off' },
  { value: 1 / 3, label: 'A third of the people here' },
  { value: 0.5, label: 'Half of the people here' },
  { value: 2 / 3, label: 'Two thirds of the people here' },
];

/** The host tools, and how the music services tell them the Spotify devices. */
export interface HostSection extends Section {
  setDevices(devices: Device[]): void;
}

export function hostSection(ctx: RoomContext): HostSection {
  // No `src` until the section is shown: guests never fetch the QR code (it
  // counts against the join quota of their address).
  const qr = h('img', { class: 'qr', alt: `QR code to join room ${ctx.code}`, width: 180, height: 180, 'data-testid': 'qr' });
  const link = joinUrl.get(ctx.code);
  const share = h(
    'div',
    { class: 'share' },
    qr,
    h(
      'div',
      { class: 'share-text' },
      h('p', {}, 'Room code'),
      h('p', { class: 'big-code', 'data-testid': 'share-code' }, ctx.code),
      h('p', {}, h('a', { href: link, 'data-testid': 'join-link', class: 'join-link' }, link)),
      h('div', { class: 'row wrap' }, copyButton(ctx, link), h('a', { href: `/display/${ctx.code}`, target: '_blank', rel: 'noopener', class: 'button secondary small', 'data-testid': 'display-link' }, 'Open the big screen')),
    ),
  );

  const boxes = new Map<Toggle, HTMLInputElement>();
  const rulesBox = h('fieldset', { class: 'rules', 'data-testid': 'rules' }, h('legend', {}, 'Room rules'));
  for (const t of toggles) {
    const box = h('input', { type: 'checkbox', id: `rule-${t.rule}`, 'data-testid': `rule-${t.rule}` });
    box.addEventListener('change', () => setRules(ctx, { [t.rule]: box.checked }));
    boxes.set(t.rule, box);
    rulesBox.append(
      h('div', { class: 'check' }, box, h('label', { for: `rule-${t.rule}` }, t.label, t.hint ? h('span', { class: 'hint' }, t.hint) : null)),
    );
  }
  const skip = h('select', { id: 'rule-skip_threshold', 'data-testid': 'rule-skip_threshold' });
  for (const c of skipChoices) skip.append(h('option', { value: c.value === null ? '' : String(c.value) }, c.label));
  skip.addEventListener('change', () => setRules(ctx, { skip_threshold: skip.value === '' ? null : Number(skip.value) }));
  rulesBox.append(h('div', { class: 'field' }, h('label', { for: 'rule-skip_threshold' }, 'Vote to skip needs'), skip));

  const crossfade = h('select', { id: 'rule-crossfade_secs', 'data-testid': 'rule-crossfade_secs' });
  for (const secs of [0, 2, 4, 6, 8, 10, 12]) crossfade.append(h('option', { value: String(secs) }, secs === 0 ? 'Off: one track after the other' : `${secs} s`));
  crossfade.addEventListener('change', () => setRules(ctx, { crossfade_secs: Number(crossfade.value) }));
  rulesBox.append(
    h('div', { class: 'field' }, h('label', { for: 'rule-crossfade_secs' }, 'Fade between tracks', h('span', { class: 'hint' }, 'On a screen playing the music: the next track fades in over the end of the last one.')), crossfade),
  );

  const summary = h('p', { class: 'hint', 'data-testid': 'rules-summary' });

  // Where the music plays: this browser, the big screen, a Spotify device
  // of the host's account (under Music services), or nowhere (a DJ plays).
  let devices: Device[] = [];
  let latest: RoomState | null = null;
  const speaker = h('select', { id: 'speaker', 'data-testid': 'speaker-choice' });
  const speakerStatus = h('span', { class: 'inline-status', role: 'status', 'data-testid': 'speaker-choice-status' });
  speaker.addEventListener('change', async () => {
    const value = speaker.value;
    setText(speakerStatus, '');
    if (value.startsWith('spotify:')) {
      try {
        await spotifyPlayOn(ctx.token, value.slice('spotify:'.length));
      } catch (err) {
        setText(speakerStatus, err instanceof ApiError ? describeError(err, err.retryAfter) : 'Spotify could not be reached.');
      }
    } else {
      if (!value && latest?.room.playback) {
        await spotifyPlayOn(ctx.token, null).catch((err) => setText(speakerStatus, describeError(err)));
      }
      const ack = await ctx.conn.command('room:set_speaker', { member_id: value === '' ? null : value });
      if (!ack.ok) setText(speakerStatus, describeError(ack.error));
    }
    ctx.conn.edit(() => undefined);
  });
  const speakerBox = h(
    'div',
    { class: 'field' },
    h('label', { for: 'speaker' }, 'Where the music plays'),
    speaker,
    speakerStatus,
    h('span', { class: 'hint' }, 'Tracks from a music folder play on a screen; Spotify tracks on a Spotify device (link Spotify under Music services); the others only keep time.'),
  );
  const el = h(
    'section',
    { class: 'card host', id: 'host', 'data-testid': 'host-tools', 'aria-labelledby': 'host-heading', hidden: true },
    h('h2', { id: 'host-heading' }, 'Host tools'),
    h('h3', {}, 'Invite people'),
    share,
    speakerBox,
    rulesBox,
    summary,
  );

  return {
    el,
    setDevices(list) {
      devices = list;
      if (latest) drawSpeakerChoice(speaker, latest, devices);
    },
    update(state) {
      latest = state;
      el.hidden = !isStaff(state);
      if (el.hidden) return;
      if (!qr.getAttribute('src')) qr.setAttribute('src', qrUrl(ctx.code));
      const rules = state.room.rules;
      for (const [rule, box] of boxes) box.checked = rules[rule];
      const choice = skipChoices.find((c) => c.value === rules.skip_threshold);
      if (!choice && rules.skip_threshold !== null && !skip.querySelector('[data-custom]')) {
        skip.append(h('option', { value: String(rules.skip_threshold), 'data-custom': '' }, `${Math.round(rules.skip_threshold * 100)} % of the people here`));
      }
      skip.value = rules.skip_threshold === null ? '' : String(rules.skip_threshold);
      if (!crossfade.querySelector(`option[value="${rules.crossfade_secs}"]`)) crossfade.append(h('option', { value: String(rules.crossfade_secs) }, `${rules.crossfade_secs} s`));
      crossfade.value = String(rules.crossfade_secs);
      setText(summary, otherRules(state));
      drawSpeakerChoice(speaker, state, devices);
    },
  };
}

function drawSpeakerChoice(select: HTMLSelectElement, state: RoomState, devices: Device[]): void {
  const choices: { value: string; label: string }[] = [{ value: '', label: 'Nowhere: a DJ plays' }, { value: state.me.id, label: 'This device' }];
  for (const m of state.members) {
    if (m.id !== state.me.id && m.name === 'Big screen') choices.push({ value: m.id, label: m.online ? 'The big screen' : 'The big screen (offline)' });
  }
  for (const d of devices) choices.push({ value: `spotify:${d.id}`, label: `Spotify: ${d.name}` });
  let current = state.room.speaker ?? '';
  const playback = state.room.playback;
  if (!current && playback) {
    // The room keeps only the device's name.
    const device = devices.find((d) => d.name === playback.device_name);
    current = device ? `spotify:${device.id}` : 'spotify:current';
    if (!device) choices.push({ value: current, label: `Spotify: ${playback.device_name}` });
  }
  const other = state.members.find((m) => m.id === current);
  if (current && !choices.some((c) => c.value === current)) choices.push({ value: current, label: other ? `${other.name}'s device` : 'Another device' });
  const key = JSON.stringify(choices);
  if (select.dataset.choices !== key) {
    select.dataset.choices = key;
    select.replaceChildren(...choices.map((c) => h('option', { value: c.value }, c.label)));
  }
  if (document.activeElement !== select) select.value = current;
}

async function setRules(ctx: RoomContext, rules: Partial<Rules>): Promise<void> {
  const ack = await ctx.conn.command('room:update_rules', { rules });
  if (!ack.ok) ctx.notice.show(describeError(ack.error), 'error');
  else ctx.notice.show('Rules updated.', 'success');
  // Draw from the room's rules, whatever happened (a refused change snaps back).
  ctx.conn.edit(() => undefined);
}

function otherRules(state: RoomState): string {
  const r = state.room.rules;
  const parts: string[] = [];
  if (r.max_queued_per_guest !== null) parts.push(`at most ${r.max_queued_per_guest} waiting tracks per guest`);
  if (r.add_cooldown_secs) parts.push(`${r.add_cooldown_secs} s between a guest's adds`);
  if (r.max_track_secs !== null) parts.push(`tracks up to ${Math.round(r.max_track_secs / 60)} min`);
  if (r.no_replay_hours !== null) parts.push(`no replay within ${r.no_replay_hours} h`);
  if (r.downvote_removal !== null) parts.push(`removed at a score of −${r.downvote_removal}`);
  if (r.banned_tracks.length + r.banned_artists.length > 0) parts.push(`${r.banned_tracks.length + r.banned_artists.length} bans`);
  return parts.length ? `Also: ${parts.join('; ')}.` : '';
}

function copyButton(ctx: RoomContext, link: string): HTMLElement {
  const canShare = typeof navigator.share === 'function';
  const button = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'copy-link' }, canShare ? 'Share link' : 'Copy link');
  button.addEventListener('click', async () => {
    try {
      if (canShare) {
        await navigator.share({ title: 'Join the party on crowdjuke', url: link });
      } else {
        await navigator.clipboard.writeText(link);
        ctx.notice.show('Join link copied.', 'success');
      }
    } catch {
      // Share sheet dismissed, or no clipboard access: the link is on screen.
    }
  });
  return button;
}
