// The account gate of the venue pages (protocol.md §3.15): a venue belongs
// to accounts, so these pages ask for one first. The token is the one the
// music services use too (`crowdjuke:account`): signed in once, signed in
// everywhere on this device.

import { ApiError, logIn, logOut, me, register, type AccountAnswer } from '../api';
import { h, setText } from '../dom';
import { describeError } from '../errors';
import { accountToken } from '../storage';

export type Account = AccountAnswer['user'];

export interface AccountGate {
  /** The sign-in form, shown while nobody is signed in. */
  form: HTMLElement;
  /** "Signed in as …  Sign out", shown once someone is. */
  bar: HTMLElement;
  /** Forgets a token the server no longer takes and asks again. */
  signedOut(why: string): void;
}

/**
 * Draws the form or, with a stored token the server still takes, calls
 * `ready` at once. `ready` runs again after each sign-in; `gone` after a
 * sign-out.
 */
export function accountGate(intro: string, ready: (user: Account, token: string) => void, gone: () => void): AccountGate {
  const username = h('input', {
    id: 'account-username',
    name: 'username',
    'data-testid': 'account-username',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    maxlength: 30,
    required: true,
  });
  const password = h('input', {
    id: 'account-password',
    name: 'password',
    type: 'password',
    'data-testid': 'account-password',
    autocomplete: 'current-password',
    minlength: 10,
    required: true,
  });
  const signIn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'account-sign-in' }, 'Sign in');
  const create = h('button', { type: 'button', class: 'secondary', 'data-testid': 'account-create' }, 'Create account');
  const status = h('p', { class: 'inline-status', id: 'account-status', 'data-testid': 'account-status' });
  password.setAttribute('aria-describedby', 'account-status');
  const form = h(
    'form',
    { class: 'card account-gate', 'aria-labelledby': 'account-heading', 'data-testid': 'account-form', hidden: true },
    h('h2', { id: 'account-heading' }, 'Sign in'),
    h('p', { class: 'hint' }, intro),
    h('label', { for: 'account-username' }, 'Username', h('span', { class: 'hint' }, ' (3–30 letters, digits, _ or .)')),
    username,
    h('label', { for: 'account-password' }, 'Password', h('span', { class: 'hint' }, ' (at least 10 characters)')),
    password,
    h('div', { class: 'row wrap account-actions' }, signIn, create),
    status,
  );

  const who = h('strong', { 'data-testid': 'account-name' });
  const signOut = h('button', { type: 'button', class: 'link-button', 'data-testid': 'account-sign-out' }, 'Sign out');
  const bar = h('p', { class: 'account-bar hint', hidden: true }, 'Signed in as ', who, ' · ', signOut);

  const show = (user: Account | null) => {
    form.hidden = user !== null;
    bar.hidden = user === null;
    if (user) setText(who, user.display_name === user.username ? user.username : `${user.display_name} (${user.username})`);
  };
  const problem = (err: unknown) => {
    status.dataset.kind = 'error';
    setText(status, err instanceof ApiError ? describeError(err, err.retryAfter) : 'Something went wrong. Try again.');
  };
  const signedIn = (answer: AccountAnswer) => {
    accountToken.set(answer.token);
    password.value = '';
    setText(status, '');
    show(answer.user);
    ready(answer.user, answer.token);
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    signIn.disabled = create.disabled = true;
    delete status.dataset.kind;
    setText(status, 'Signing in…');
    try {
      signedIn(await logIn(username.value.trim().toLowerCase(), password.value));
    } catch (err) {
      problem(err);
    } finally {
      signIn.disabled = create.disabled = false;
    }
  });
  create.addEventListener('click', async () => {
    if (!form.reportValidity()) return;
    signIn.disabled = create.disabled = true;
    delete status.dataset.kind;
    setText(status, 'Creating your account…');
    try {
      signedIn(await register(username.value.trim(), password.value));
    } catch (err) {
      problem(err);
    } finally {
      signIn.disabled = create.disabled = false;
    }
  });
  signOut.addEventListener('click', async () => {
    const token = accountToken.get();
    accountToken.set(null);
    show(null);
    gone();
    if (token) await logOut(token).catch(() => undefined);
  });

  const stored = accountToken.get();
  if (stored) {
    me(stored)
      .then((user) => {
        show(user);
        ready(user, stored);
      })
      .catch((err) => {
        if (err instanceof ApiError && err.code === 'unauthorized') {
          accountToken.set(null);
          setText(status, 'You were signed out. Sign in again.');
        } else problem(err);
        show(null);
      });
  } else show(null);

  return {
    form,
    bar,
    signedOut(why) {
      accountToken.set(null);
      show(null);
      delete status.dataset.kind;
      setText(status, why);
      gone();
    },
  };
}
