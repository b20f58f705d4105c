// The message line at the top of a page (`data-testid="notice"`): errors
// are announced at once (role=alert), other news politely (role=status).

import { h } from './dom';

export type NoticeKind = 'info' | 'success' | 'error';

export interface Notice {
  el: HTMLElement;
  /** Shows a message; transient ones fade after a few seconds. */
  show(text: string, kind?: NoticeKind, persistent?: boolean): void;
  clear(): void;
}

export function createNotice(): Notice {
  const text = h('p', { class: 'notice-text' });
  const close = h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Dismiss message' }, '×');
  const el = h('div', { class: 'notice', 'data-testid': 'notice', role: 'status', 'aria-live': 'polite', hidden: true }, text, close);
  let timer: number | undefined;
  const clear = () => {
    window.clearTimeout(timer);
    el.hidden = true;
    text.textContent = '';
  };
  close.addEventListener('click', clear);
  return {
    el,
    clear,
    show(message, kind = 'info', persistent = false) {
      window.clearTimeout(timer);
      el.dataset.kind = kind;
      el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      text.textContent = message;
      el.hidden = false;
      if (!persistent) timer = window.setTimeout(clear, kind === 'error' ? 8000 : 5000);
    },
  };
}
