// What this device remembers between visits: one member token per room
// (the only credential, protocol.md §1.3), the big screen's token, the
// last name typed, and each room's join link.

const prefix = 'crowdjuke:';

function read(key: string): string | null {
  try {
    return localStorage.getItem(prefix + key);
  } catch {
    return null; // storage disabled (private mode): the app still works for this visit
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(prefix + key);
    else localStorage.setItem(prefix + key, value);
  } catch {
    // ignored: see read()
  }
}

/** The server's own normalisation of a join code (protocol.md §1.2). */
export function normaliseCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

export const memberToken = {
  get: (code: string) => read(`token:${normaliseCode(code)}`),
  set: (code: string, token: string | null) => write(`token:${normaliseCode(code)}`, token),
};

export const displayToken = {
  get: (code: string) => read(`display:${normaliseCode(code)}`),
  set: (code: string, token: string | null) => write(`display:${normaliseCode(code)}`, token),
};

/** The join link as the server announces it (its public address, not necessarily ours). */
export const joinUrl = {
  get: (code: string) => read(`join_url:${normaliseCode(code)}`) ?? `${location.origin}/join/${normaliseCode(code)}`,
  set: (code: string, url: string | undefined) => {
    if (url) write(`join_url:${normaliseCode(code)}`, url);
  },
};

export const lastName = {
  get: () => read('name') ?? '',
  set: (name: string) => write('name', name),
};

/** The account this device is logged in as (protocol.md §3.15), if any. */
export const accountToken = {
  get: () => read('account'),
  set: (token: string | null) => write('account', token),
};

function session(key: string, value?: string | null): string | null {
  try {
    if (value === undefined) return sessionStorage.getItem(prefix + key);
    if (value === null) sessionStorage.removeItem(prefix + key);
    else sessionStorage.setItem(prefix + key, value);
  } catch {
    // ignored: see read()
  }
  return null;
}

/**
 * Where to come back to after a trip to a music service's consent page
 * (the server sends the browser to `/?provider=…` afterwards), and what to
 * say when back.
 */
export const returnTrip = {
  leave: (path: string) => session('return', path),
  /** The page to go back to, once. */
  take: (): string | null => {
    const path = session('return');
    session('return', null);
    return path && path.startsWith('/') && !path.startsWith('//') ? path : null;
  },
  say: (text: string, kind: 'success' | 'error') => session('flash', JSON.stringify({ text, kind })),
  /** The message left for the next page, once. */
  heard: (): { text: string; kind: 'success' | 'error' } | null => {
    const raw = session('flash');
    session('flash', null);
    try {
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  },
};
