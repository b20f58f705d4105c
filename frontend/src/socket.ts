// The live connection to one room: Socket.IO with the member token,
// the snapshot/changed/sync algorithm of protocol.md §1.5, presence and
// photo events, and commands with acks. Views subscribe and redraw.

import { io, type Socket } from 'socket.io-client';
import {
  addPhoto,
  applyChanged,
  applyPresence,
  fromSnapshot,
  hidePhotosOf,
  removePhoto,
  setPhotoLikes,
  type RoomState,
} from './state';
import type { Ack, ApiErrorBody, PhotoView, Presence, RoomChanged, Snapshot } from './types';
import { describeError } from './errors';

/** `live`: connected and in step; `reconnecting`: connection lost, retrying. */
export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'ended';

/** Why the room is over for this device (no automatic retry). */
export type EndReason = 'kicked' | 'banned' | 'room_closed' | 'unauthorized';

export interface RoomEvents {
  /** Anything changed: state, status. */
  update(): void;
  /** Something to tell the person (a photo failed, a photo was reported…). */
  notice(text: string, kind: 'info' | 'error'): void;
}

const ACK_TIMEOUT_MS = 8000;
/** After a `room:sync` that timed out (the server announces versions only once a room settles). */
const SYNC_RETRY_MS = 3000;
const SNAPSHOT_WAIT_MS = 3000;

export class RoomConnection {
  state: RoomState | null = null;
  status: ConnectionStatus = 'connecting';
  ended: EndReason | null = null;
  /**
   * True when the server closed the connection (a restart or a deploy
   * closes it cleanly), false when the network dropped it.
   */
  serverClosed = false;

  private readonly socket: Socket;
  private buffer: RoomChanged[] = [];
  private syncing = false;
  private snapshotTimer: number | undefined;
  private retryTimer: number | undefined;
  private retryDelay = 1000;

  constructor(
    token: string,
    private readonly events: RoomEvents,
  ) {
    this.socket = io({ auth: { token }, reconnectionDelayMax: 5000 });
    this.listen();
  }

  close(): void {
    window.clearTimeout(this.snapshotTimer);
    window.clearTimeout(this.retryTimer);
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  /** Sends a command and waits for its ack; never throws. */
  async command<T>(event: string, payload: object = {}): Promise<Ack<T>> {
    if (this.status === 'ended') return { ok: false, error: { code: 'not_a_member', message: 'not a member' } };
    if (!this.socket.connected) return { ok: false, error: { code: 'disconnected', message: 'not connected' } };
    let ack: Ack<T>;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      return { ok: false, error: { code: 'timeout', message: 'no answer from the server' } };
    }
    // The room is gone or we are no longer in it: end, as a sync would.
    if (!ack.ok) this.onRefused(ack.error);
    // The broadcast comes before the ack: a newer version here means we missed one.
    const version = ack.ok ? (ack.data as { version?: unknown } | null)?.version : undefined;
    if (typeof version === 'number' && this.state && version > this.state.version) this.sync();
    return ack;
  }

  private listen(): void {
    const s = this.socket;
    s.on('connect', () => {
      this.retryDelay = 1000;
      this.serverClosed = false;
      // A snapshot comes on every connect; if the server could not build one,
      // ask for it (protocol.md §4.3 room:snapshot).
      window.clearTimeout(this.snapshotTimer);
      this.snapshotTimer = window.setTimeout(() => this.sync(), SNAPSHOT_WAIT_MS);
    });
    s.on('room:snapshot', (snap: Snapshot) => {
      window.clearTimeout(this.snapshotTimer);
      this.takeSnapshot(snap);
    });
    s.on('room:changed', (msg: RoomChanged) => this.onChanged(msg));
    s.on('room:version', ({ version }: { version: number }) => {
      // Behind, or still without a snapshot (a lost one): ask for it.
      if (!this.state || version > this.state.version) this.sync();
    });
    s.on('room:presence', (p: Presence) => this.edit((st) => applyPresence(st, p)));
    s.on('room:removed', ({ reason }: { reason: 'kicked' | 'banned' }) => this.end(reason));
    s.on('photo:new', ({ photo }: { photo: PhotoView }) => this.edit((st) => addPhoto(st, photo)));
    s.on('photo:likes', (likes: Parameters<typeof setPhotoLikes>[1]) => this.edit((st) => setPhotoLikes(st, likes)));
    s.on('photo:removed', ({ photo_id }: { photo_id: string }) => this.edit((st) => removePhoto(st, photo_id)));
    s.on('photos:hidden', ({ member_id }: { member_id: string }) => this.edit((st) => hidePhotosOf(st, member_id)));
    s.on('photo:failed', () => this.events.notice('Your photo could not be processed: it seems damaged. Try another one.', 'error'));
    s.on('photo:reported', ({ photo, reports }: { photo: PhotoView; reports: number }) =>
      this.events.notice(`A photo by ${photo.member_name} was reported (${reports}×). Remove it from the photo wall if needed.`, 'info'),
    );
    s.on('playback:failed', ({ device_name, error }: { device_name: string; error: ApiErrorBody }) =>
      this.events.notice(`Spotify could not play on ${device_name}: ${describeError(error)} The party goes on.`, 'error'),
    );
    s.on('disconnect', (reason) => this.onDisconnect(reason));
    s.on('connect_error', (err) => this.onConnectError(err.message));
  }

  private takeSnapshot(snap: Snapshot): void {
    if (this.status === 'ended') return; // a late sync answer
    this.state = fromSnapshot(snap, this.state);
    this.status = 'live';
    this.replay();
    this.events.update();
  }

  private onChanged(msg: RoomChanged): void {
    if (!this.state || this.syncing) {
      this.buffer.push(msg);
      return;
    }
    if (msg.version <= this.state.version) return; // old or duplicate
    if (msg.version !== this.state.version + 1) {
      this.buffer.push(msg);
      this.sync();
      return;
    }
    if (!applyChanged(this.state, msg)) this.sync();
    this.events.update();
  }

  private replay(): void {
    const pending = this.buffer.sort((a, b) => a.version - b.version);
    this.buffer = [];
    for (const msg of pending) this.onChanged(msg);
  }

  /** Replaces the state with a fresh snapshot from `room:sync`. */
  private async sync(): Promise<void> {
    if (this.syncing || !this.socket.connected || this.status === 'ended') return;
    this.syncing = true;
    let ack: Ack<Snapshot> | null = null;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:sync', {});
    } catch {
      ack = null; // timed out: try again shortly
    }
    this.syncing = false;
    if (!ack) {
      setTimeout(() => void this.sync(), SYNC_RETRY_MS);
    } else if (ack.ok) {
      this.takeSnapshot(ack.data);
    } else {
      this.onRefused(ack.error);
    }
  }

  private onRefused(error: ApiErrorBody): void {
    if (error.code === 'room_not_found') this.end('room_closed');
    else if (error.code === 'not_a_member') this.end('unauthorized');
  }

  private onDisconnect(reason: Socket.DisconnectReason): void {
    if (this.status === 'ended') return;
    this.status = 'reconnecting';
    this.serverClosed = reason === 'io server disconnect' || reason === 'transport close';
    // Not a removal (room:removed would have ended us): the server is
    // shutting down, and Socket.IO does not retry by itself after this one.
    if (reason === 'io server disconnect') this.retrySoon();
    this.events.update();
  }

  private onConnectError(message: string): void {
    switch (message) {
      case 'banned':
        this.end('banned');
        return;
      case 'room_not_found':
        this.end('room_closed');
        return;
      case 'unauthorized':
        this.end('unauthorized');
        return;
    }
    if (this.status === 'live') this.status = 'reconnecting';
    // `unavailable` (storage trouble) and other refusals are not retried by
    // Socket.IO itself; transport failures are.
    if (!this.socket.active) this.retrySoon();
    this.events.update();
  }

  private retrySoon(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => {
      if (this.status !== 'ended' && !this.socket.connected) this.socket.connect();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 10000);
  }

  private end(reason: EndReason): void {
    if (this.status === 'ended') return;
    this.ended = reason;
    this.status = 'ended';
    window.clearTimeout(this.snapshotTimer);
    window.clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.events.update();
  }

  /** Applies an unversioned event (presence, photos) and redraws. */
  edit(change: (state: RoomState) => void): void {
    if (!this.state) return;
    change(this.state);
    this.events.update();
  }
}
