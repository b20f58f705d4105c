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
  pagedBeyondSnapshot,
  requestNews,
  setMembers,
  removePhoto,
  setPhotoLikes,
  type RoomState,
} from './state';
import type { Ack, ApiErrorBody, MemberView, PhotoView, Presence, RoomChanged, Snapshot } from './types';
import { describeError } from './errors';
import { count } from './words';

/** `live`: connected and in step; `reconnecting`: connection lost, retrying. */
export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'ended';

/** Why the room is over for this device (no automatic retry). */
export type EndReason = 'kicked' | 'banned' | 'removed' | 'room_closed' | 'unauthorized';

export interface RoomEvents {
  /** Anything changed: state, status. */
  update(): void;
  /** Something to tell the person (a photo failed, a photo was reported, the staff answered a request…). */
  notice(text: string, kind: 'info' | 'success' | 'error'): void;
}

const ACK_TIMEOUT_MS = 8000;
/**
 * A `room:sync` that timed out or was refused (`unavailable`, `internal`) is
 * tried again after 1 s, then 2, 4, 8, 10, 10… (the server announces
 * versions only once a room settles, so waiting for it is not enough).
 */
const SYNC_RETRY_FIRST_MS = 1000;
const SYNC_RETRY_MAX_MS = 10000;
const SNAPSHOT_WAIT_MS = 3000;
/** Largest `room:members` page (protocol.md §4.4). */
const MEMBERS_PAGE = 200;

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
  private syncTimer: number | undefined;
  private syncDelay = SYNC_RETRY_FIRST_MS;
  /** Presence heard while a `room:sync` is in flight: its snapshot may be older. */
  private presenceDuringSync: Presence[] = [];

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
    window.clearTimeout(this.syncTimer);
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  /**
   * Sends a command and waits for its ack; never throws. A connection that
   * drops while the command is out answers `connection_lost`: it may or may
   * not have been applied, and the snapshot that comes with the reconnect
   * (or a sync) tells.
   */
  async command<T>(event: string, payload: object = {}): Promise<Ack<T>> {
    if (this.status === 'ended') return { ok: false, error: { code: 'not_a_member', message: 'not a member' } };
    if (!this.socket.connected) return { ok: false, error: { code: 'disconnected', message: 'not connected' } };
    let ack: Ack<T>;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      if (!this.socket.connected) return { ok: false, error: { code: 'connection_lost', message: 'the connection dropped' } };
      // No answer in time: it may still have been applied; look.
      void this.sync();
      return { ok: false, error: { code: 'timeout', message: 'no answer from the server' } };
    }
    // The room is gone or we are no longer in it: end, as a sync would.
    if (!ack.ok) this.onRefused(ack.error);
    // The broadcast comes before the ack: a newer version here means we missed one.
    const version = ack.ok ? (ack.data as { version?: unknown } | null)?.version : undefined;
    if (typeof version === 'number' && this.state && version > this.state.version) void this.sync();
    return ack;
  }

  private listen(): void {
    const s = this.socket;
    s.on('connect', () => {
      this.retryDelay = 1000;
      this.syncDelay = SYNC_RETRY_FIRST_MS;
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
    s.on('room:presence', (p: Presence) => {
      if (this.syncing) this.presenceDuringSync.push(p);
      this.edit((st) => applyPresence(st, p));
    });
    // `removed`: staff removed this screen (the big screen).
    s.on('room:removed', ({ reason }: { reason: 'kicked' | 'banned' | 'removed' }) => this.end(reason));
    s.on('photo:new', ({ photo }: { photo: PhotoView }) => this.edit((st) => addPhoto(st, photo)));
    s.on('photo:likes', (likes: Parameters<typeof setPhotoLikes>[1]) => this.edit((st) => setPhotoLikes(st, likes)));
    s.on('photo:removed', ({ photo_id }: { photo_id: string }) => this.edit((st) => removePhoto(st, photo_id)));
    s.on('photos:hidden', ({ member_id }: { member_id: string }) => this.edit((st) => hidePhotosOf(st, member_id)));
    s.on('photo:failed', () => this.events.notice('Your photo could not be processed: it seems damaged. Try another one.', 'error'));
    s.on('photo:reported', ({ photo, reports }: { photo: PhotoView; reports: number }) =>
      this.events.notice(
        `A photo by ${photo.member_name} was reported ${reports === 1 ? 'once' : `by ${count(reports, 'person', 'people')}`}. Remove it from the photo wall if needed.`,
        'info',
      ),
    );
    s.on('playback:failed', ({ device_name, error }: { device_name: string; error: ApiErrorBody }) =>
      this.events.notice(`Spotify could not play on ${device_name}: ${describeError(error)} The party goes on.`, 'error'),
    );
    s.on('disconnect', (reason) => this.onDisconnect(reason));
    s.on('connect_error', (err) => this.onConnectError(err.message));
  }

  private takeSnapshot(snap: Snapshot): void {
    if (this.status === 'ended') return; // a late sync answer
    this.status = 'live';
    // An older snapshot than what we hold (a slow sync answer overtaken by
    // changes): keep ours. The same or a newer version replaces it.
    if (this.state && snap.version < this.state.version) {
      this.replay();
      this.events.update();
      return;
    }
    const previous = this.state;
    this.state = fromSnapshot(snap, previous);
    // Presence heard while the sync was out is newer than its snapshot.
    for (const p of this.presenceDuringSync) applyPresence(this.state, p);
    this.presenceDuringSync = [];
    const beyond = pagedBeyondSnapshot(this.state, snap.members.length);
    if (beyond > 0) void this.refreshMembers(snap.members.length + beyond);
    this.replay();
    this.events.update();
  }

  /** Pages the member list in again (after a resync kept paged-in members). */
  private async refreshMembers(count: number): Promise<void> {
    const members: MemberView[] = [];
    for (let offset = 0; offset < count; offset += MEMBERS_PAGE) {
      const ack = await this.command<{ members: MemberView[]; total: number }>('room:members', { offset, limit: MEMBERS_PAGE });
      if (!ack.ok) return; // keep what we have
      members.push(...ack.data.members);
      if (offset + MEMBERS_PAGE >= ack.data.total) break;
    }
    this.edit((st) => setMembers(st, members));
  }

  private onChanged(msg: RoomChanged): void {
    if (!this.state || this.syncing) {
      this.buffer.push(msg);
      return;
    }
    if (msg.version <= this.state.version) return; // old or duplicate
    if (msg.version !== this.state.version + 1) {
      this.buffer.push(msg);
      void this.sync();
      return;
    }
    let next: RoomState | null = null;
    // Read against the state before the change (an approval names only the request).
    const news = requestNews(this.state, msg);
    try {
      next = applyChanged(this.state, msg);
    } catch (err) {
      console.error('room:changed could not be applied; resyncing', err);
    }
    if (next) this.state = next;
    else void this.sync();
    for (const n of news) this.events.notice(n.text, n.kind);
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
    window.clearTimeout(this.syncTimer);
    this.syncing = true;
    this.presenceDuringSync = [];
    let ack: Ack<Snapshot> | null = null;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:sync', {});
    } catch {
      ack = null; // timed out or disconnected
    }
    this.syncing = false;
    if (ack?.ok) {
      this.syncDelay = SYNC_RETRY_FIRST_MS;
      this.takeSnapshot(ack.data);
      return;
    }
    if (ack) this.onRefused(ack.error);
    if (this.ended) return;
    // Timed out, or refused for now (`unavailable`, `internal`): try again
    // with back-off. A reconnect brings a snapshot by itself.
    this.syncTimer = window.setTimeout(() => void this.sync(), this.syncDelay);
    this.syncDelay = Math.min(this.syncDelay * 2, SYNC_RETRY_MAX_MS);
    // Changes heard meanwhile wait in the buffer for the snapshot.
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
    window.clearTimeout(this.syncTimer);
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
