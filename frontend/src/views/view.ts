// What views share: how to move between pages, and the parts of a room page.

import type { Later } from '../later';
import type { Notice } from '../notice';
import type { RoomConnection } from '../socket';
import type { RoomState } from '../state';

/** Moves to another path of the app without reloading the page. */
export type Navigate = (path: string, replace?: boolean) => void;

/** A view draws itself into `root` and returns how to stop (sockets, timers). */
export type View = (root: HTMLElement, navigate: Navigate) => (() => void) | void;

/** What a room page's sections need to act. */
export interface RoomContext {
  code: string;
  token: string;
  conn: RoomConnection;
  notice: Notice;
  /** Commands that wait a few seconds for an undo. */
  later: Later;
}

/** One block of a room page, drawn from the state on every change. */
export interface Section {
  el: HTMLElement;
  update(state: RoomState): void;
  stop?(): void;
}
