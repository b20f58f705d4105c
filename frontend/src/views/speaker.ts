// The speaker: when the room's staff made this browser the room's speaker
// (`room.speaker` is me), it plays the now-playing track from the server's
// position, follows pause, resume and skip as they arrive, corrects drift
// above 250 ms, evens out loudness (every track is brought to -14 LUFS
// through a Web Audio gain: quiet ones turned up as far as their true peak
// allows, loud ones down; without Web Audio, loud ones are only turned
// down), and fetches the next track ahead. Where the browser blocks
// autoplay it shows "Tap to start the music".

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

/** A ticket URL per track, fetched once and reused until it nearly expires. */
interface Ticket {
  url: string;
  expiresAt: number;
}

export function speakerSection(code: string, token: string, conn: RoomConnection): Section {
  const audio = h('audio', { preload: 'auto', 'data-testid': 'speaker-audio' });
  const next = h('audio', { preload: 'auto', 'data-testid': 'speaker-next' });
  const status = h('p', { class: 'hint', 'data-testid': 'speaker-status', role: 'status' });
  const tap = h('button', { type: 'button', class: 'primary', 'data-testid': 'speaker-start', hidden: true }, 'Tap to start the music');
  const el = h(
    'section',
    { class: 'card speaker', 'data-testid': 'speaker', 'aria-labelledby': 'speaker-heading', hidden: true },
    h('h2', { id: 'speaker-heading' }, 'This device plays the music'),
    status,
    tap,
    audio,
    next,
  );

  const tickets = new Map<string, Ticket>();
  let state: RoomState | null = null;
  /** The entry whose audio `audio` holds. */
  let loadedEntry: string | null = null;
  let loading = false;
  let blocked = false;
  let wakeLock: { release(): Promise<void> } | null = null;
  /** The Web Audio route that can turn quiet tracks up; null until it runs. */
  let boost: { context: AudioContext; gain: GainNode } | null = null;
  let gainWanted = 1;

  /**
   * Routes `audio` through a gain node once an AudioContext actually runs
   * (one that stays suspended would silence the element), else keeps the
   * element's own volume, which can only turn down.
   */
  const routeThroughWebAudio = async () => {
    if (boost || typeof AudioContext === 'undefined') return;
    let context: AudioContext | null = null;
    try {
      context = new AudioContext();
      await Promise.race([context.resume(), new Promise((ok) => setTimeout(ok, 500))]);
      if (context.state !== 'running') throw new Error('suspended');
      const gain = context.createGain();
      context.createMediaElementSource(audio).connect(gain).connect(context.destination);
      boost = { context, gain };
      audio.dataset.boost = 'web-audio';
    } catch {
      void context?.close().catch(() => undefined);
    }
    applyGain();
  };

  const applyGain = () => {
    audio.dataset.gain = gainWanted.toFixed(3);
    if (boost) {
      boost.gain.gain.value = gainWanted;
      audio.volume = 1;
    } else {
      audio.volume = Math.min(1, gainWanted);
    }
  };

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

  const play = async () => {
    try {
      await audio.play();
      await routeThroughWebAudio();
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

  /** Loads the now-playing track into `audio` (the browser's cache has it when it was preloaded). */
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
    loadedEntry = np.entry_id;
    audio.src = url;
    gainWanted = gainFor(np.track);
    applyGain();
    describe(np);
    follow(state);
  };

  /** Makes `audio` match the room: paused or playing, at the server's position. */
  const follow = (s: RoomState) => {
    const np = s.nowPlaying;
    if (!np || loadedEntry !== np.entry_id || audio.seeking) return;
    const position = positionNow(np, s.offset);
    if (np.paused) {
      audio.pause();
      if (Math.abs(audio.currentTime * 1000 - position) > MAX_DRIFT_MS) audio.currentTime = position / 1000;
      setText(status, `Paused: ${np.track.title}`);
      return;
    }
    if (Math.abs(audio.currentTime * 1000 - position) > MAX_DRIFT_MS) audio.currentTime = position / 1000;
    if (audio.paused && !blocked) void play();
    if (!blocked) setText(status, `Playing ${np.track.title} · ${np.track.artists.join(', ')}`);
  };

  /** Fetches the next track's audio ahead of time. */
  const preload = (s: RoomState) => {
    const upcoming = s.queue.find((e) => e.track.audio);
    if (!upcoming || next.dataset.track === upcoming.track.id) return;
    next.dataset.track = upcoming.track.id;
    void ticket(upcoming.track).then((url) => {
      if (url && next.dataset.track === upcoming.track.id) next.src = url;
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

  /** Makes this speaker match the room: what plays, where, and what comes next. */
  const sync = (s: RoomState) => {
    const mine = s.room.speaker === s.me.id;
    el.hidden = !mine;
    void stayAwake(mine);
    if (!mine) {
      audio.pause();
      loadedEntry = null;
      return;
    }
    controls(s);
    const np = s.nowPlaying;
    if (!np) {
      audio.pause();
      loadedEntry = null;
      setText(status, 'Nothing is playing. Add a track!');
    } else if (!np.track.audio) {
      audio.pause();
      loadedEntry = null;
      setText(status, `“${np.track.title}” has no audio on this server: it plays silently.`);
    } else if (loadedEntry !== np.entry_id) {
      audio.pause();
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
      audio.pause();
      void stayAwake(false);
      void boost?.context.close().catch(() => undefined);
    },
  };
}
