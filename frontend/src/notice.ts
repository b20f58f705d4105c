// Messages that stay where the person is looking: a toast area fixed at the
// bottom of the viewport (`data-testid="notice"` is the message itself), and
// inline statuses written beside the control that caused something.
//
// Screen readers: the toast area holds two live regions, created empty with
// the page and never hidden: errors go to role=alert, other news to
// role=status. A message is a child added to one of them and removed when it
// fades, so nothing is announced at load and each message is read once.
// Inline statuses are *not* live regions (that would read every message
// twice): the control points at its status with aria-describedby, so it is
// read again when the control is focused.

import { h, setText } from './dom';

export type NoticeKind = 'info' | 'success' | 'error';

export interface Notice {
  el: HTMLElement;
  /** Shows a message; transient ones fade after a few seconds. */
  show(text: string, kind?: NoticeKind, persistent?: boolean, action?: NoticeAction): void;
  clear(): void;
}

/** A button in the message, e.g. "Undo". */
export interface NoticeAction {
  label: string;
  testid: string;
  run(): void;
}

export function createNotice(): Notice {
  const urgent = h('div', { class: 'toast-region', role: 'alert' });
  const polite = h('div', { class: 'toast-region', role: 'status', 'aria-live': 'polite' });
  const el = h('div', { class: 'toasts' }, urgent, polite);
  let timer: number | undefined;
  const clear = () => {
    window.clearTimeout(timer);
    urgent.replaceChildren();
    polite.replaceChildren();
  };
  return {
    el,
    clear,
    show(message, kind = 'info', persistent = false, action) {
      clear();
      const close = h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Dismiss message', onclick: clear }, '×');
      const extra = action
        ? h('button', { type: 'button', class: 'small notice-action', 'data-testid': action.testid, onclick: () => (clear(), action.run()) }, action.label)
        : null;
      const toast = h('div', { class: 'notice', 'data-testid': 'notice', 'data-kind': kind }, h('p', { class: 'notice-text' }, message), extra, close);
      (kind === 'error' ? urgent : polite).append(toast);
      if (!persistent) timer = window.setTimeout(clear, kind === 'error' ? 8000 : 5000);
    },
  };
}

/** The status line beside one control; shows the message in the toast too. */
export interface InlineStatus {
  el: HTMLElement;
  show(text: string, kind?: NoticeKind, action?: NoticeAction): void;
  clear(): void;
}

let statusIds = 0;

/**
 * `describes`: the controls whose result this reports (they get
 * aria-describedby). Successes fade after a while; errors stay until the
 * next try clears them.
 */
export function inlineStatus(notice: Notice, testid: string, ...describes: HTMLElement[]): InlineStatus {
  const el = h('span', { class: 'inline-status', id: `status-${++statusIds}`, 'data-testid': testid });
  for (const control of describes) describe(control, el.id);
  let timer: number | undefined;
  const clear = () => {
    window.clearTimeout(timer);
    setText(el, '');
    delete el.dataset.kind;
  };
  return {
    el,
    clear,
    show(text, kind = 'info', action) {
      window.clearTimeout(timer);
      setText(el, text);
      el.dataset.kind = kind;
      notice.show(text, kind, false, action);
      if (kind !== 'error') timer = window.setTimeout(clear, 8000);
    },
  };
}

/** Adds an id to a control's aria-describedby (keeping the others). */
export function describe(control: HTMLElement, id: string): void {
  const ids = new Set((control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
  ids.add(id);
  control.setAttribute('aria-describedby', [...ids].join(' '));
}
