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

/**
 * The parties this device is in (a member token and the room's name), so
 * home can offer "back to your party". Newest visit first.
 */
export const visits = {
  remember(code: string, name: string): void {
    const key = `visit:${normaliseCode(code)}`;
    const before = read(key);
    const now = JSON.stringify({ name, at: Date.now() });
    // Written at most once a minute per room (every redraw calls this).
    try {
      const old = before ? (JSON.parse(before) as { name: string; at: number }) : null;
      if (old && old.name === name && Date.now() - old.at < 60_000) return;
    } catch {
      // a damaged entry is replaced
    }
    write(key, now);
  },
  list(): { code: string; name: string; at: number }[] {
    const found: { code: string; name: string; at: number }[] = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        if (!key?.startsWith(`${prefix}visit:`)) continue;
        const code = key.slice(`${prefix}visit:`.length);
        if (!memberToken.get(code)) continue; // left, or the room closed
        const visit = JSON.parse(localStorage.getItem(key) ?? 'null') as { name?: unknown; at?: unknown } | null;
        if (visit && typeof visit.name === 'string' && typeof visit.at === 'number') found.push({ code, name: visit.name, at: visit.at });
      }
    } catch {
      // storage disabled or damaged: nothing to offer
    }
    return found.sort((a, b) => b.at - a.at);
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
