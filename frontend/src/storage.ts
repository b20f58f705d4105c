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
