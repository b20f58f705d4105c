// The speaker: when the room's staff made this browser the room's speaker
// (`room.speaker` is me), it plays the now-playing track from the server's
// position, follows pause, resume and skip as they arrive, corrects drift
// above 250 ms, evens out loudness (every track is brought to -14 LUFS
// through a Web Audio gain: quiet ones turned up as far as their true peak
// allows, loud ones down; without Web Audio, loud ones are only turned
// down), and fetches the next track ahead. Where the browser blocks
// autoplay it shows "Tap to start the music".
//
// Two decks (audio elements) take turns: one plays, the other fetches the
// next track, so a skip to it starts at once. With the room's
// `crossfade_secs` rule, a track that ends by itself keeps playing on its
// deck and fades out while the next one fades in on the other (the server
// moves on that much before the end, protocol.md §6.3). The playing deck
// is `data-testid="speaker-audio"`, the other `speaker-next`.

import { ApiError, audioTicket } from '../api';
import { positionNow } from '../clock';
import { h, setText } from '../dom';
import type { RoomConnection } from '../socket';
import { isStaff, type RoomState } from '../state';
import type { NowPlayingView, TrackView } from '../types';
import type { Section } from './view';

/** Drift from the server's position corrected by seeking. */
const MAX_DRIFT_MS = 250;
/** Target loudness: the level streaming services play at. */
const TARGET_LUFS = -14;
/** Turning a quiet track up stops where its true peak would reach this. */
const PEAK_CEILING_DBTP = -1;
/** A track this close to its end when the room moved on ended by itself (no skip). */
const NATURAL_END_SLACK_MS = 1500;

/** A ticket URL per track, fetched once and reused until it nearly expires. */
interface Ticket {
  url: string;
  expiresAt: number;
}

/** One audio element, with its own gain once Web Audio runs. */
interface Deck {
  el: HTMLAudioElement;
  gain: GainNode | null;
  /** The loudness gain of its track. */
  level: number;
  /** The entry it plays, when it is the playing deck. */
  entry: string | null;
  /** Its current fade, cancelled by the next one. */
  fade: number | undefined;
}

export function speakerSection(code: string, token: string, conn: RoomConnection): Section {
  const deck = (): Deck => ({ el: h('audio', { preload: 'auto' }), gain: null, level: 1, entry: null, fade: undefined });
  let playing = deck();
  let spare = deck();
  const status = h('p', { class: 'hint', 'data-testid': 'speaker-status', role: 'status' });
  const tap = h('button', { type: 'button', class: 'primary', 'data-testid': 'speaker-start', hidden: true }, 'Tap to start the music');
  const el = h(
    'section',
    { class: 'card speaker', 'data-testid': 'speaker', 'aria-labelledby': 'speaker-heading', hidden: true },
    h('h2', { id: 'speaker-heading' }, 'This device plays the music'),
    status,
    tap,
    playing.el,
    spare.el,
  );
  const label = () => {
    playing.el.dataset.testid = 'speaker-audio';
    spare.el.dataset.testid = 'speaker-next';
  };
  label();

  const tickets = new Map<string, Ticket>();
  let state: RoomState | null = null;
  let loading = false;
  let blocked = false;
  let wakeLock: { release(): Promise<void> } | null = null;
  /** The Web Audio context once it runs (a suspended one would silence the decks). */
  let context: AudioContext | null = null;
  let contextTried = false;

  const ticket = async (track: TrackView): Promise<string | null> => {
    const known = tickets.get(track.id);
    if (known && known.expiresAt - Date.now() > 60_000) return known.url;
    try {
      const answer = await audioTicket(code, token, track.id);
      tickets.set(track.id, { url: answer.url, expiresAt: answer.expires_at - (state?.offset ?? 0) });
      return answer.url;
    } catch (err) {
      const reason = err instanceof ApiError && err.code === 'no_audio' ? 'the server has no audio for it' : 'it could not be fetched';
      setText(status, `“${track.title}” cannot play here: ${reason}.`);
      return null;
    }
  };

  /** Routes both decks through gain nodes once an AudioContext runs. */
  const startWebAudio = async () => {
    if (contextTried || typeof AudioContext === 'undefined') return;
    contextTried = true;
    const candidate = new AudioContext();
    try {
      await Promise.race([candidate.resume(), new Promise((ok) => setTimeout(ok, 500))]);
      if (candidate.state !== 'running') throw new Error('suspended');
      for (const d of [playing, spare]) {
        d.gain = candidate.createGain();
        candidate.createMediaElementSource(d.el).connect(d.gain).connect(candidate.destination);
        d.el.dataset.boost = 'web-audio';
      }
      context = candidate;
    } catch {
      contextTried = false; // a later tap may let it run
      void candidate.close().catch(() => undefined);
    }
    setLevel(playing, playing.level);
  };

  /** Plays `d` at `level × loudness gain` (`level` 0–1 during fades). */
  const setLevel = (d: Deck, level: number) => {
    const value = d.level * level;
    d.el.dataset.gain = d.level.toFixed(3);
    if (d.gain) {
      d.gain.gain.value = value;
      d.el.volume = 1;
    } else {
      d.el.volume = Math.max(0, Math.min(1, value));
    }
  };

  /** Fades `d` from `from` to `to` over `ms`, then `done`. */
  const fade = (d: Deck, from: number, to: number, ms: number, done?: () => void) => {
    window.clearInterval(d.fade);
    const began = performance.now();
    setLevel(d, from);
    d.fade = window.setInterval(() => {
      const t = Math.min(1, (performance.now() - began) / ms);
      setLevel(d, from + (to - from) * t);
      if (t >= 1) {
        window.clearInterval(d.fade);
        d.fade = undefined;
        done?.();
      }
    }, 50);
  };

  const play = async () => {
    try {
      await playing.el.play();
      await startWebAudio();
      blocked = false;
      tap.hidden = true;
    } catch (err) {
      if (err instanceof DOMException && err.name === 'NotAllowedError') {
        blocked = true;
        tap.hidden = false;
        setText(status, 'The browser is waiting for a tap before it plays sound.');
      }
    }
  };

  tap.addEventListener('click', () => {
    void play().then(() => state && follow(state));
  });

  /** The gain that brings the track to the target loudness without clipping. */
  const gainFor = (track: TrackView) => {
    if (track.loudness_lufs === undefined) return 1;
    const wanted = 10 ** ((TARGET_LUFS - track.loudness_lufs) / 20);
    const headroom = track.true_peak_dbtp === undefined ? 1 : 10 ** ((PEAK_CEILING_DBTP - track.true_peak_dbtp) / 20);
    return Math.min(wanted, Math.max(1, headroom));
  };

  /** Stops a deck at once (a skip, a pause of the room, another speaker). */
  const silence = (d: Deck) => {
    window.clearInterval(d.fade);
    d.fade = undefined;
    d.el.pause();
    d.entry = null;
  };

  /**
   * Puts the now-playing track on the spare deck and makes it the playing
   * one. The deck that played fades out when its track ended by itself and
   * the room crossfades; otherwise it stops.
   */
  const load = async (np: NowPlayingView) => {
    loading = true;
    const url = await ticket(np.track);
    loading = false;
    if (!url) return;
    if (state?.nowPlaying?.entry_id !== np.entry_id) {
      // It changed meanwhile (a skip): load what plays now.
      if (state) sync(state);
      return;
    }
    const crossfade = (state?.room.rules.crossfade_secs ?? 0) * 1000;
    // Still fading out the track before (a quick skip): it stops now.
    if (spare.fade !== undefined) silence(spare);
    const before = playing;
    const left = (before.el.duration - before.el.currentTime) * 1000;
    const endedByItself = before.entry !== null && !before.el.paused && Number.isFinite(left) && left <= crossfade + NATURAL_END_SLACK_MS;
    [playing, spare] = [spare, before];
    label();
    if (endedByItself && crossfade > 0) {
      fade(before, 1, 0, Math.max(100, left), () => silence(before));
    } else {
      silence(before);
    }
    playing.entry = np.entry_id;
    playing.level = gainFor(np.track);
    if (playing.el.dataset.track !== np.track.id || !playing.el.src) {
      playing.el.dataset.track = np.track.id;
      playing.el.src = url;
    }
    if (endedByItself && crossfade > 0) fade(playing, 0, 1, crossfade);
    else setLevel(playing, 1);
    describe(np);
    follow(state);
  };

  /** Makes the playing deck match the room: paused or playing, at the server's position. */
  const follow = (s: RoomState) => {
    const np = s.nowPlaying;
    const audio = playing.el;
    if (!np || playing.entry !== np.entry_id || audio.seeking) return;
    const position = positionNow(np, s.offset);
    if (np.paused) {
      audio.pause();
      if (spare.fade !== undefined) silence(spare);
      if (Math.abs(audio.currentTime * 1000 - position) > MAX_DRIFT_MS) audio.currentTime = position / 1000;
      setText(status, `Paused: ${np.track.title}`);
      return;
    }
    if (Math.abs(audio.currentTime * 1000 - position) > MAX_DRIFT_MS) audio.currentTime = position / 1000;
    if (audio.paused && !blocked) void play();
    if (!blocked) setText(status, `Playing ${np.track.title} · ${np.track.artists.join(', ')}`);
  };

  /** Fetches the next track's audio ahead on the spare deck (not while it fades out). */
  const preload = (s: RoomState) => {
    const upcoming = s.queue.find((e) => e.track.audio);
    if (!upcoming || spare.fade !== undefined || spare.el.dataset.track === upcoming.track.id) return;
    const d = spare;
    d.el.dataset.track = upcoming.track.id;
    void ticket(upcoming.track).then((url) => {
      if (url && d === spare && d.el.dataset.track === upcoming.track.id && d.fade === undefined) d.el.src = url;
    });
  };

  const describe = (np: NowPlayingView) => {
    const session = navigator.mediaSession;
    if (!session || typeof MediaMetadata === 'undefined') return;
    const artwork = np.track.artwork_url ? [{ src: np.track.artwork_url }] : [];
    session.metadata = new MediaMetadata({ title: np.track.title, artist: np.track.artists.join(', '), album: np.track.album ?? '', artwork });
  };

  const controls = (s: RoomState) => {
    const session = navigator.mediaSession;
    if (!session) return;
    const staff = isStaff(s);
    const act = (event: string) => (staff ? () => void conn.command(event) : null);
    session.setActionHandler('play', act('player:resume'));
    session.setActionHandler('pause', act('player:pause'));
    session.setActionHandler('nexttrack', act('player:skip'));
  };

  const stayAwake = async (on: boolean) => {
    const lock = (navigator as Navigator & { wakeLock?: { request(t: 'screen'): Promise<{ release(): Promise<void> }> } }).wakeLock;
    if (on && !wakeLock && lock) wakeLock = await lock.request('screen').catch(() => null);
    if (!on && wakeLock) {
      await wakeLock.release().catch(() => undefined);
      wakeLock = null;
    }
  };

  const stopAll = () => {
    silence(playing);
    silence(spare);
  };

  /** Nothing plays next: a track that ended by itself fades out with the room's crossfade. */
  const endQuietly = (s: RoomState) => {
    if (spare.fade === undefined) silence(spare);
    if (playing.entry === null) return;
    const crossfade = s.room.rules.crossfade_secs * 1000;
    const left = (playing.el.duration - playing.el.currentTime) * 1000;
    const natural = crossfade > 0 && !playing.el.paused && Number.isFinite(left) && left <= crossfade + NATURAL_END_SLACK_MS;
    const last = playing;
    last.entry = null;
    if (natural) fade(last, 1, 0, Math.max(100, left), () => silence(last));
    else silence(last);
  };

  /** Makes this speaker match the room: what plays, where, and what comes next. */
  const sync = (s: RoomState) => {
    const mine = s.room.speaker === s.me.id;
    el.hidden = !mine;
    void stayAwake(mine);
    if (!mine) {
      stopAll();
      return;
    }
    controls(s);
    const np = s.nowPlaying;
    if (!np) {
      endQuietly(s);
      setText(status, 'Nothing is playing. Add a track!');
    } else if (!np.track.audio) {
      stopAll();
      setText(status, `“${np.track.title}” has no audio on this server: it plays silently.`);
    } else if (playing.entry !== np.entry_id) {
      if (!loading) void load(np);
    } else {
      follow(s);
    }
    preload(s);
  };

  // Between room changes the clocks can still drift apart, and a track
  // that changed while its audio was fetched is loaded here.
  const timer = window.setInterval(() => state && sync(state), 1000);

  return {
    el,
    update(s) {
      state = s;
      sync(s);
    },
    stop() {
      window.clearInterval(timer);
      stopAll();
      void stayAwake(false);
      void context?.close().catch(() => undefined);
    },
  };
}
