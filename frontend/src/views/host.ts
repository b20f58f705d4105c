// Host tools (host and co-hosts): inviting people (QR code, join link, the
// big screen) and the room's main rules. Queue, player, member and photo
// moderation live next to what they act on.

import { ApiError, type Device, getTrack, qrUrl, spotifyPlayOn } from '../api';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { isStaff, type RoomState } from '../state';
import { joinUrl } from '../storage';
import { inlineStatus, type InlineStatus } from '../notice';
import type { Rules, ScreenView, Track } from '../types';
import { count } from '../words';
import type { RoomContext, Section } from './view';

type Toggle = 'guests_can_add' | 'allow_downvotes' | 'fair_mode' | 'allow_explicit' | 'only_playable' | 'autofill';

// Each hint says what the ticked box does (not only what "off" means).
const toggles: { rule: Toggle; label: string; hint: string }[] = [
  { rule: 'guests_can_add', label: 'Guests may add tracks', hint: 'Everyone can add tracks from search. Unticked, guests only vote.' },
  { rule: 'allow_downvotes', label: 'Allow down-votes', hint: 'Guests can vote a track down as well as up.' },
  { rule: 'fair_mode', label: 'Fair mode', hint: 'The queue takes turns between the people who add tracks.' },
  { rule: 'allow_explicit', label: 'Allow explicit tracks', hint: 'Tracks marked explicit (E) can be added.' },
  { rule: 'only_playable', label: 'Only tracks the speaker can play', hint: 'Tracks the speaker cannot play are refused instead of keeping time in silence.' },
  { rule: 'autofill', label: 'Keep the music going', hint: 'When the queue runs dry (and no house playlist is set), play more like what the room voted up.' },
];

type NumberRule = 'max_queued_per_guest' | 'add_cooldown_secs' | 'max_track_secs' | 'no_replay_hours' | 'downvote_removal';

/**
 * Limits with a value; empty means off. Ranges are what makes sense at a
 * party, inside what the server accepts (protocol.md §5.1): tracks per
 * guest 1–50 (server 1–1000), cooldown up to an hour (server 0–86400 s),
 * track length 1–120 min (server 30–7200 s), no replay 1–48 h, removal
 * at a score of −1 to −100 (server 1–10000). `scale` turns the shown unit
 * into the rule's.
 */
const limits: { rule: NumberRule; label: string; hint: string; unit: string; min: number; max: number; scale: number }[] = [
  { rule: 'max_queued_per_guest', label: 'Tracks per guest', hint: 'Most tracks one guest may have waiting (1–50). Empty: no limit.', unit: 'tracks', min: 1, max: 50, scale: 1 },
  { rule: 'add_cooldown_secs', label: 'Wait between adds', hint: 'Seconds a guest waits after adding a track before adding another (1–3600). Empty: no wait.', unit: 's', min: 1, max: 3600, scale: 1 },
  { rule: 'max_track_secs', label: 'Longest track', hint: 'Longer tracks are refused, for everyone (1–120 min). Empty: any length.', unit: 'min', min: 1, max: 120, scale: 60 },
  { rule: 'no_replay_hours', label: 'No replay within', hint: 'A track played this many hours ago or less cannot be added again (1–48 h). Empty: replays allowed.', unit: 'h', min: 1, max: 48, scale: 1 },
  { rule: 'downvote_removal', label: 'Remove a track at score', hint: 'A track whose score falls to minus this number leaves the queue (1–100). Empty: never.', unit: '−', min: 1, max: 100, scale: 1 },
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
  /** A track found in search goes on the draft of the house playlist. */
  pickFallback(track: Track): void;
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
  const statusFor = (rule: string, ...controls: HTMLElement[]) => inlineStatus(ctx.notice, `rule-status-${rule}`, ...controls);
  for (const t of toggles) {
    const box = h('input', { type: 'checkbox', id: `rule-${t.rule}`, 'data-testid': `rule-${t.rule}` });
    const status = statusFor(t.rule, box);
    box.addEventListener('change', () => setRules(ctx, { [t.rule]: box.checked }, status));
    boxes.set(t.rule, box);
    rulesBox.append(
      h('div', { class: 'check' }, box, h('label', { for: `rule-${t.rule}` }, t.label, t.hint ? h('span', { class: 'hint' }, t.hint) : null), status.el),
    );
  }

  const numbers = new Map<NumberRule, HTMLInputElement>();
  for (const l of limits) {
    const id = `rule-${l.rule}`;
    const input = h('input', { type: 'number', id, 'data-testid': id, min: l.min, max: l.max, step: 1, inputmode: 'numeric', placeholder: 'Off', class: 'limit-input' });
    const status = statusFor(l.rule, input);
    input.addEventListener('change', () => {
      const raw = input.value.trim();
      if (raw === '') {
        void setRules(ctx, { [l.rule]: null }, status);
        return;
      }
      const n = Number(raw);
      if (!Number.isInteger(n) || n < l.min || n > l.max) {
        status.show(`${l.label}: a whole number from ${l.min} to ${l.max}, or empty to turn it off.`, 'error');
        return;
      }
      void setRules(ctx, { [l.rule]: n * l.scale }, status);
    });
    numbers.set(l.rule, input);
    const prefix = l.rule === 'downvote_removal' ? h('span', { class: 'unit', 'aria-hidden': 'true' }, '−') : null;
    const unit = l.rule === 'downvote_removal' ? null : h('span', { class: 'unit' }, l.unit);
    rulesBox.append(
      h('div', { class: 'field limit' }, h('label', { for: id }, l.label, h('span', { class: 'hint' }, l.hint)), h('div', { class: 'row' }, prefix, input, unit), status.el),
    );
  }

  const skip = h('select', { id: 'rule-skip_threshold', 'data-testid': 'rule-skip_threshold' });
  for (const c of skipChoices) skip.append(h('option', { value: c.value === null ? '' : String(c.value) }, c.label));
  const skipStatus = statusFor('skip_threshold', skip);
  skip.addEventListener('change', () => setRules(ctx, { skip_threshold: skip.value === '' ? null : Number(skip.value) }, skipStatus));
  rulesBox.append(h('div', { class: 'field' }, h('label', { for: 'rule-skip_threshold' }, 'Vote to skip needs'), skip, skipStatus.el));

  const crossfade = h('select', { id: 'rule-crossfade_secs', 'data-testid': 'rule-crossfade_secs' });
  for (const secs of [0, 2, 4, 6, 8, 10, 12]) crossfade.append(h('option', { value: String(secs) }, secs === 0 ? 'Off: one track after the other' : `${secs} s`));
  const crossfadeStatus = statusFor('crossfade_secs', crossfade);
  crossfade.addEventListener('change', () => setRules(ctx, { crossfade_secs: Number(crossfade.value) }, crossfadeStatus));
  rulesBox.append(
    h('div', { class: 'field' }, h('label', { for: 'rule-crossfade_secs' }, 'Fade between tracks', h('span', { class: 'hint' }, 'On a screen playing the music: the next track fades in over the end of the last one.')), crossfade, crossfadeStatus.el),
  );

  const bans = bansBox(ctx);
  rulesBox.append(bans.el);
  const fallback = fallbackBox(ctx);
  const screens = screensBox(ctx);

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
    fallback.el,
    screens.el,
  );

  return {
    el,
    pickFallback: (track) => fallback.pick(track),
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
      for (const l of limits) {
        const input = numbers.get(l.rule);
        const value = rules[l.rule];
        // Not while the host is typing in it.
        if (input && document.activeElement !== input) input.value = value === null || value === 0 ? '' : String(Math.round(value / l.scale));
      }
      bans.update(state);
      fallback.update(state);
      screens.update(state);
      setText(summary, summaryOf(state));
      drawSpeakerChoice(speaker, state, devices);
    },
  };
}

/**
 * The screens watching the room (each opened `/display/{code}`): not
 * people, so listed here rather than under People; staff remove one that
 * should not be there (it stays off until someone opens it again).
 */
function screensBox(ctx: RoomContext): { el: HTMLElement; update(state: RoomState): void } {
  const list = h('ul', { class: 'screens', 'data-testid': 'screens' });
  const empty = h('p', { class: 'hint' }, 'No screen yet: “Open the big screen” on a TV or a laptop shows the queue, the QR code and the photos.');
  const status = inlineStatus(ctx.notice, 'screens-status');
  const el = h('div', { class: 'screens-box' }, h('h3', {}, 'Screens'), empty, list, status.el);
  const remove = async (screen: ScreenView) => {
    status.clear();
    const ack = await ctx.conn.command('screen:remove', { screen_id: screen.id });
    if (ack.ok) status.show(`${screen.name} was removed from the room.`, 'success');
    else status.show(describeError(ack.error), 'error');
  };
  return {
    el,
    update(state) {
      empty.hidden = state.screens.length > 0;
      syncList(
        list,
        state.screens,
        (s) => s.id,
        (s) =>
          h(
            'li',
            { class: 'screen', 'data-testid': 'screen', 'data-screen-id': s.id },
            h('span', { class: 'presence', 'data-part': 'presence', 'aria-hidden': 'true' }),
            h('span', { class: 'screen-name', 'data-part': 'name' }),
            h('button', { type: 'button', class: 'small secondary', 'data-testid': 'remove-screen', 'aria-label': `Remove ${s.name}`, onclick: () => remove(s) }, 'Remove'),
          ),
        (li, s) => {
          li.classList.toggle('offline', !s.online);
          setText(part(li, 'name'), `${s.name}${s.id === state.room.speaker ? ' · plays the music' : ''}${s.online ? '' : ' (offline)'}`);
        },
        false,
      );
    },
  };
}

function drawSpeakerChoice(select: HTMLSelectElement, state: RoomState, devices: Device[]): void {
  const choices: { value: string; label: string }[] = [{ value: '', label: 'Nowhere: a DJ plays' }, { value: state.me.id, label: 'This device' }];
  const screens = state.screens.filter((s) => s.id !== state.me.id);
  for (const s of screens) {
    const name = screens.length === 1 && s.name === 'Big screen' ? 'The big screen' : s.name;
    choices.push({ value: s.id, label: s.online ? name : `${name} (offline)` });
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

async function setRules(ctx: RoomContext, rules: Partial<Rules>, status: InlineStatus): Promise<void> {
  const ack = await ctx.conn.command('room:update_rules', { rules });
  if (!ack.ok) status.show(describeError(ack.error), 'error');
  else status.show('Saved: everyone sees the new rule.', 'success');
  // Draw from the room's rules, whatever happened (a refused change snaps back).
  ctx.conn.edit(() => undefined);
}

/** How many rules are on, for the host's glance (the details are in the form and in "Room rules"). */
function summaryOf(state: RoomState): string {
  const r = state.room.rules;
  const bans = r.banned_tracks.length + r.banned_artists.length;
  const limitsOn = limits.filter((l) => r[l.rule] !== null && r[l.rule] !== 0).length;
  const parts: string[] = [];
  if (limitsOn > 0) parts.push(count(limitsOn, 'limit'));
  if (bans > 0) parts.push(count(bans, 'ban'));
  return parts.length ? `Active: ${parts.join(', ')}. Guests see every rule under “Room rules”.` : 'Guests see every rule under “Room rules”.';
}

/** Banned artists (add by name, remove) and banned tracks (banned from the queue or now playing; remove here). */
function bansBox(ctx: RoomContext): { el: HTMLElement; update(state: RoomState): void } {
  const artist = h('input', { id: 'ban-artist', 'data-testid': 'ban-artist-name', maxlength: 200, placeholder: 'Artist name, as written on the tracks', autocomplete: 'off' });
  const addArtist = h('button', { type: 'button', class: 'secondary', 'data-testid': 'ban-artist' }, 'Ban artist');
  const status = inlineStatus(ctx.notice, 'bans-status', artist, addArtist);
  const artists = h('ul', { class: 'ban-list', 'data-testid': 'banned-artists' });
  const tracks = h('ul', { class: 'ban-list', 'data-testid': 'banned-tracks' });
  const titles = new Map<string, string>();
  let latest: RoomState | null = null;

  const save = async (rules: Partial<Rules>, done: string) => {
    const ack = await ctx.conn.command('room:update_rules', { rules });
    if (ack.ok) status.show(done, 'success');
    else status.show(describeError(ack.error), 'error');
    ctx.conn.edit(() => undefined);
  };
  const banArtist = () => {
    const name = artist.value.trim();
    const rules = latest?.room.rules;
    if (!name || !rules) {
      status.show('Type the artist’s name first.', 'error');
      return;
    }
    if (rules.banned_artists.some((a) => a.toLowerCase() === name.toLowerCase())) {
      status.show(`${name} is already banned.`, 'info');
      return;
    }
    artist.value = '';
    void save({ banned_artists: [...rules.banned_artists, name] }, `${name} is banned: their tracks cannot be added.`);
  };
  addArtist.addEventListener('click', banArtist);
  artist.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      banArtist();
    }
  });

  const row = (label: string, remove: () => void, testid: string) =>
    h('li', {}, h('span', {}, label), h('button', { type: 'button', class: 'small secondary', 'data-testid': testid, 'aria-label': `Lift the ban on ${label}`, onclick: remove }, 'Lift ban'));
  const titleOf = (id: string, state: RoomState): string => {
    const known = titles.get(id) ?? state.queue.find((e) => e.track.id === id)?.track.title ?? (state.nowPlaying?.track.id === id ? state.nowPlaying.track.title : undefined);
    if (known) return known;
    titles.set(id, id);
    getTrack(id)
      .then((t) => {
        titles.set(id, t.title);
        ctx.conn.edit(() => undefined);
      })
      .catch(() => undefined);
    return id;
  };

  const el = h(
    'div',
    { class: 'bans' },
    h('h3', {}, 'Bans'),
    h('p', { class: 'hint' }, 'Banned tracks and artists cannot be added by anyone. Ban a track from its “Ban track” button in the queue or under Now playing.'),
    h('label', { for: 'ban-artist' }, 'Ban an artist'),
    h('div', { class: 'row' }, artist, addArtist),
    status.el,
    h('p', { class: 'ban-heading' }, 'Banned artists'),
    artists,
    h('p', { class: 'ban-heading' }, 'Banned tracks'),
    tracks,
  );
  return {
    el,
    update(state) {
      latest = state;
      const r = state.room.rules;
      artists.replaceChildren(
        ...(r.banned_artists.length
          ? r.banned_artists.map((a) => row(a, () => void save({ banned_artists: r.banned_artists.filter((x) => x !== a) }, `${a} may be played again.`), 'unban-artist'))
          : [h('li', { class: 'hint' }, 'None.')]),
      );
      tracks.replaceChildren(
        ...(r.banned_tracks.length
          ? r.banned_tracks.map((id) => {
              const title = titleOf(id, state);
              return row(title, () => void save({ banned_tracks: r.banned_tracks.filter((x) => x !== id) }, `“${title}” may be added again.`), 'unban-track');
            })
          : [h('li', { class: 'hint' }, 'None.')]),
      );
    },
  };
}

/**
 * The house playlist (fallback): what plays when the queue runs dry. The
 * server tells only its length, and room:set_fallback replaces it whole,
 * so staff build a draft from tracks found in search and save it.
 */
function fallbackBox(ctx: RoomContext): { el: HTMLElement; update(state: RoomState): void; pick(track: Track): void } {
  const size = h('p', { 'data-testid': 'fallback-count' });
  const draft: Track[] = [];
  const list = h('ol', { class: 'ban-list', 'data-testid': 'fallback-draft' });
  const save = h('button', { type: 'button', class: 'primary small', 'data-testid': 'fallback-save' }, 'Save as the house playlist');
  const clear = h('button', { type: 'button', class: 'danger small', 'data-testid': 'fallback-clear' }, 'Clear the house playlist');
  const status = inlineStatus(ctx.notice, 'fallback-status', save, clear);
  let latest: RoomState | null = null;
  const drawDraft = () => {
    list.replaceChildren(
      ...draft.map((t, i) =>
        h('li', {}, h('span', {}, `${t.title} · ${t.artists.join(', ')}`), h('button', { type: 'button', class: 'small secondary', 'aria-label': `Take ${t.title} off the draft`, onclick: () => (draft.splice(i, 1), drawDraft()) }, 'Take off')),
      ),
    );
    save.hidden = draft.length === 0;
    setText(save, `Save ${count(draft.length, 'track')} as the house playlist`);
  };
  const send = async (ids: string[], done: string) => {
    const ack = await ctx.conn.command('room:set_fallback', { track_ids: ids });
    if (ack.ok) status.show(done, 'success');
    else status.show(describeError(ack.error), 'error');
  };
  save.addEventListener('click', async () => {
    const n = draft.length;
    await send(draft.map((t) => t.id), `The house playlist now has ${count(n, 'track')}.`);
    draft.length = 0;
    drawDraft();
  });
  clear.addEventListener('click', () => void send([], 'The house playlist is empty: when the queue runs dry, the music stops.'));
  drawDraft();
  const el = h(
    'div',
    { class: 'fallback', 'data-testid': 'fallback' },
    h('h3', {}, 'House playlist'),
    size,
    h('p', { class: 'hint' }, 'Plays when the queue runs dry. Pick tracks with “House playlist” in the search results, then save: saving replaces the whole playlist.'),
    list,
    h('div', { class: 'row wrap' }, save, clear),
    status.el,
  );
  return {
    el,
    pick(track) {
      draft.push(track);
      drawDraft();
    },
    update(state) {
      latest = state;
      const n = latest.room.fallback_count;
      setText(size, n === 0 ? 'The house playlist is empty.' : `The house playlist has ${count(n, 'track')}.`);
      clear.hidden = n === 0;
    },
  };
}

function copyButton(ctx: RoomContext, link: string): HTMLElement {
  const canShare = typeof navigator.share === 'function';
  const button = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'copy-link' }, canShare ? 'Share link' : 'Copy link');
  const status = inlineStatus(ctx.notice, 'copy-link-status', button);
  button.addEventListener('click', async () => {
    try {
      if (canShare) {
        await navigator.share({ title: 'Join the party on crowdjuke', url: link });
      } else {
        await navigator.clipboard.writeText(link);
        status.show('Join link copied.', 'success');
      }
    } catch (err) {
      // A dismissed share sheet is no news; a refused clipboard is.
      if (!canShare) status.show('Could not copy here: the link is on screen, copy it by hand.', 'error');
      else if (err instanceof DOMException && err.name !== 'AbortError') status.show('Could not share: the link is on screen.', 'error');
    }
  });
  return h('span', { class: 'with-status' }, button, status.el);
}
