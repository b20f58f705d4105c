// The player clock (protocol.md §6): the server is the source of truth;
// the position is derived from `started_at` and the server clock.

import type { NowPlayingView } from './types';

/** Server clock minus local clock, in ms, from the latest message's `server_time`. */
export function clockOffset(serverTime: number): number {
  return serverTime - Date.now();
}

/** Playback position now, held at the end until the server advances. */
export function positionNow(np: NowPlayingView, offset: number): number {
  if (np.paused) return np.position_ms;
  const serverNow = Date.now() + offset;
  return Math.min(Math.max(serverNow - np.started_at, 0), np.track.duration_ms);
}

/** `3:07`, or `1:02:03` past an hour. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
