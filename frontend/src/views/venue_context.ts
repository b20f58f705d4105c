// What the sections of a venue page share: who is looking (their account
// and role), how to tell the page that the venue changed, the role table of
// protocol.md §3.18, and errors in a venue's words.

import { ApiError } from '../api';
import { h, setText } from '../dom';
import { describeError } from '../errors';
import type { Notice } from '../notice';
import type { VenueAnswer, VenueRole } from '../types';
import type { Account } from './account';
import type { Navigate } from './view';

export interface VenueContext {
  id: string;
  /** The account token (every venue route takes it). */
  token: string;
  me: Account;
  notice: Notice;
  navigate: Navigate;
  /** A route answered the venue: every section redraws from it. */
  apply(answer: VenueAnswer): void;
  /** Reads the venue again (after a route that answers without it). */
  reload(): Promise<void>;
  /** The server no longer takes the token: back to the sign-in form. */
  signedOut(): void;
}

/** A venue section, drawn again from each answer. */
export interface VenueSection {
  el: HTMLElement;
  update(answer: VenueAnswer): void;
}

type VenueAction = 'edit' | 'zones' | 'catalogue' | 'schedules' | 'analytics' | 'staff' | 'delete';

/** The role table (protocol.md §3.18); the server checks it again. */
export function can(role: VenueRole, action: VenueAction): boolean {
  if (action === 'staff' || action === 'delete') return role === 'owner';
  return role === 'owner' || role === 'manager';
}

export const ROLE_NAMES: Record<VenueRole, string> = { owner: 'Owner', manager: 'Manager', staff: 'Staff' };

/** What each role may do, for the invitation form and the role badge. */
export const ROLE_POWERS: Record<VenueRole, string> = {
  owner: 'Does everything, including staff and deleting the venue.',
  manager: 'Edits the venue, opens and removes zones, sets the catalogue and the schedules, sees the dashboard.',
  staff: 'Sees the venue, prints table cards and moderates the zones.',
};

/** An error of a venue route in a sentence; signs out when the token is gone. */
export function venueProblem(ctx: Pick<VenueContext, 'signedOut'> | null, err: unknown): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (err.code) {
    case 'unauthorized':
      ctx?.signedOut();
      return 'You were signed out. Sign in again.';
    case 'forbidden':
      return 'Your role at this venue does not allow this. Ask the owner.';
    case 'invalid_payload':
      return `That was not accepted: ${err.message}.`;
    default:
      return describeError(err, err.retryAfter);
  }
}

/**
 * A "Sure?" panel under a destructive button: the button opens it, Keep
 * closes it, the red button does it. `testid` names the panel
 * (`{testid}`), its yes (`{testid}-yes`) and its no (`{testid}-no`).
 */
export function confirmPanel(testid: string, yesLabel: string, run: () => Promise<void> | void): { el: HTMLElement; open(text: string): void; close(): void } {
  const text = h('p', { tabindex: -1 });
  const yes = h('button', { type: 'button', class: 'danger', 'data-testid': `${testid}-yes` }, yesLabel);
  const no = h('button', { type: 'button', 'data-testid': `${testid}-no` }, 'Keep');
  const el = h('div', { class: 'confirm', 'data-testid': testid, hidden: true }, text, h('div', { class: 'row wrap' }, yes, no));
  const close = () => {
    el.hidden = true;
  };
  no.addEventListener('click', close);
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      await run();
    } finally {
      yes.disabled = false;
    }
  });
  return {
    el,
    close,
    open(message) {
      setText(text, message);
      el.hidden = false;
      text.focus();
    },
  };
}
