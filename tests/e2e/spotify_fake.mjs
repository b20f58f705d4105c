// A local fake of the Spotify accounts service and Web API for the browser
// tests: a port of tests/api/spotify_fake.rs (same request checks, same
// answers), so the server's rspotify client sees what it sees in the API
// tests. `GET /authorize` (client id, redirect URI, S256 challenge, scopes),
// `POST /api/token` (authorization code with the PKCE verifier checked
// against the challenge, single-use codes; refresh tokens rotated on every
// refresh; client credentials with Basic auth), and under `/v1`: `me`,
// `me/playlists`, `playlists/{id}/items`, `me/tracks`, `search`,
// `me/player/devices`, `me/player/play`, `me/player/pause`, and
// `POST me/playlists` / `playlists/{id}/items`. Paging follows
// `limit`/`offset` (at most 50); `fail()` injects failures.
//
// Only `node:` built-ins: no npm packages.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

export const CLIENT_ID = 'crowdjuke-test-client';
export const CLIENT_SECRET = 'crowdjuke-test-secret';
const MAX_LIMIT = 50;
const SCOPES_NEEDED = ['playlist-read-private', 'user-library-read', 'user-modify-playback-state', 'playlist-modify-private'];

const pad = (n, width) => String(n).padStart(width, '0');

/** A track object as the Web API sends it (the Rust fake's `track`). */
export function spotifyTrack(n, title, artist) {
  return {
    album: {
      album_type: 'album',
      artists: [{ external_urls: {}, href: null, id: null, name: artist, type: 'artist', uri: 'spotify:artist:x' }],
      external_urls: {},
      href: null,
      id: `album${pad(n, 8)}`,
      images: [{ height: 640, url: `https://i.scdn.co/image/${n}`, width: 640 }],
      name: `${title} (album)`,
      release_date: '1999-05-01',
      release_date_precision: 'day',
      type: 'album',
      uri: `spotify:album:album${pad(n, 8)}`,
    },
    artists: [
      { external_urls: {}, href: null, id: `artist${pad(n, 8)}`, name: artist, type: 'artist', uri: `spotify:artist:artist${pad(n, 8)}` },
    ],
    disc_number: 1,
    duration_ms: 180_000 + n,
    explicit: false,
    external_ids: { isrc: `QZ${pad(n, 10)}` },
    external_urls: { spotify: `https://open.spotify.com/track/tr${pad(n, 20)}` },
    href: null,
    id: `tr${pad(n, 20)}`,
    is_local: false,
    is_playable: true,
    name: title,
    popularity: 40,
    preview_url: null,
    track_number: 1,
    type: 'track',
    uri: `spotify:track:tr${pad(n, 20)}`,
  };
}

/** The URI of `spotifyTrack(n, …)`. */
export const spotifyTrackUri = (n) => `spotify:track:tr${pad(n, 20)}`;

/** The library id the server gives `spotifyTrack(n, …)` (from its ISRC). */
export const spotifyTrackId = (n) => `isrc-QZ${pad(n, 10)}`;

// ---- answers ---------------------------------------------------------------

/** A reply: status, headers, body (a Buffer, or undefined for none). */
const json = (status, value) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(value === undefined ? null : value)),
});
const noContent = () => ({ status: 204, headers: {}, body: undefined });
const error = (status, message) => json(status, { error: { status, message } });
const oauthError = (code) => json(400, { error: code, error_description: code });

/** Thrown by handlers: the reply itself (the Rust fake's `Err(Response)`). */
class Reply {
  constructor(response) {
    this.response = response;
  }
}

// ---- parsing like the Rust fake --------------------------------------------

const utf8 = new TextDecoder('utf-8'); // lossy, like `into_owned()` of form_urlencoded

/** `application/x-www-form-urlencoded` pairs (the `url` crate's parser), later keys win. */
function formParse(input) {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8');
  const out = new Map();
  const decode = (part) => {
    const result = [];
    for (let i = 0; i < part.length; i++) {
      const b = part[i];
      if (b === 0x2b) result.push(0x20);
      else if (b === 0x25 && i + 2 < part.length && isHex(part[i + 1]) && isHex(part[i + 2])) {
        result.push(parseInt(String.fromCharCode(part[i + 1], part[i + 2]), 16));
        i += 2;
      } else result.push(b);
    }
    return utf8.decode(Uint8Array.from(result));
  };
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x26, start);
    if (end === -1) end = bytes.length;
    const seq = bytes.subarray(start, end);
    if (seq.length > 0) {
      const eq = seq.indexOf(0x3d);
      const [name, value] = eq === -1 ? [seq, Buffer.alloc(0)] : [seq.subarray(0, eq), seq.subarray(eq + 1)];
      out.set(decode(name), decode(value));
    }
    start = end + 1;
  }
  return out;
}
const isHex = (b) => b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));

/** `value[key]` of serde_json: only objects have keys; anything else is null. */
function field(value, key) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  return Object.hasOwn(value, key) ? value[key] : null;
}
function at(value, index) {
  return Array.isArray(value) && index < value.length ? value[index] : null;
}

/** serde_json's `as_u64` (integers only; JSON.parse cannot tell `1.0` from `1`). */
const asU64 = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** Rust's `str::parse::<usize>` (an optional `+`, digits). */
function parseUsize(text) {
  if (!/^\+?[0-9]+$/.test(text)) return null;
  const n = Number(text.replace(/^\+/, ''));
  return Number.isSafeInteger(n) ? n : null;
}

/** Unicode White_Space, as Rust's `split_whitespace` uses it. */
const WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Display of a serde_json value (compact JSON). */
const display = (v) => JSON.stringify(v === undefined ? null : v);

/** `HeaderValue::to_str`: visible ASCII and tab only. */
function headerStr(value) {
  if (typeof value !== 'string') return null;
  return /^[\t\x20-\x7e]*$/.test(value) ? value : null;
}

// ---- shapes ----------------------------------------------------------------

/** One page of `items`, each shaped by `wrap` (only the page's items are). */
function pageOf(base, items, q, wrap = (v) => v) {
  const limit = q.has('limit') ? parseUsize(q.get('limit')) : 20;
  if (limit === null) throw new Reply(error(400, 'Invalid limit'));
  const offset = q.has('offset') ? parseUsize(q.get('offset')) : 0;
  if (offset === null) throw new Reply(error(400, 'Invalid offset'));
  if (limit === 0 || limit > MAX_LIMIT) throw new Reply(error(400, 'Invalid limit'));
  const slice = items.slice(offset, offset + limit).map(wrap);
  const next = offset + limit < items.length ? `${base}?offset=${offset + limit}&limit=${limit}` : null;
  return {
    href: `${base}?offset=${offset}&limit=${limit}`,
    items: slice,
    limit,
    next,
    offset,
    previous: null,
    total: items.length,
  };
}

function userJson(id, name) {
  return {
    display_name: name,
    external_urls: { spotify: `https://open.spotify.com/user/${id}` },
    href: `https://api.spotify.com/v1/users/${id}`,
    id,
    images: [],
    type: 'user',
    uri: `spotify:user:${id}`,
  };
}

function playlistJson(id, name, owner, total) {
  return {
    collaborative: false,
    description: '',
    external_urls: { spotify: `https://open.spotify.com/playlist/${id}` },
    href: `https://api.spotify.com/v1/playlists/${id}`,
    id,
    images: [],
    name,
    owner,
    public: false,
    snapshot_id: 'snap',
    type: 'playlist',
    uri: `spotify:playlist:${id}`,
    items: { href: `https://api.spotify.com/v1/playlists/${id}/items`, total },
  };
}

/**
 * Items as the Rust fake stores them: the item itself (a track, an episode…).
 * `{track: …}` wrappers (as `me/tracks` answers them) are unwrapped, so both
 * `[spotifyTrack(…)]` and `[{track: spotifyTrack(…)}]` work.
 */
const bare = (items) =>
  items.map((i) => (i !== null && typeof i === 'object' && !Array.isArray(i) && 'track' in i && !('type' in i) ? i.track : i));

// ---- the fake --------------------------------------------------------------

/** Starts the fake on 127.0.0.1 (a free port). */
export async function startSpotifyFake() {
  const inner = {
    /** The Spotify user who approves the next `/authorize`. */
    approving: '',
    /** id → {name, playlists: [[id, name, items]], liked, devices}. */
    users: new Map(),
    catalogue: [],
    failures: [],
    /** `METHOD path?query` of every request, in order. */
    requests: [],
    plays: [],
    pauses: [],
    created: [],
    /** Users whose grants Spotify no longer accepts. */
    revoked: new Set(),
    codes: new Map(),
    /** access token → user (null: the app's client-credentials token). */
    access: new Map(),
    expired: new Set(),
    refresh: new Map(),
    nextId: 0,
  };
  const id = (prefix) => `${prefix}${pad(++inner.nextId, 6)}`;

  function handle(method, target, headers, body) {
    inner.requests.push(`${method} ${target}`);
    const failure = inner.failures.find((f) => f.times > 0 && target.includes(f.path));
    if (failure) {
      failure.times -= 1;
      const response = json(failure.status, failure.body);
      if (failure.retryAfter !== null && failure.retryAfter !== undefined) response.headers['retry-after'] = String(failure.retryAfter);
      return response;
    }
    const mark = target.indexOf('?');
    const path = mark === -1 ? target : target.slice(0, mark);
    const q = formParse(mark === -1 ? '' : target.slice(mark + 1));
    if (method === 'GET' && path === '/authorize') return authorize(q);
    if (method === 'POST' && path === '/api/token') return token(headers, body);
    if (path.startsWith('/v1/')) {
      let rest = path;
      while (rest.startsWith('/v1')) rest = rest.slice(3); // `trim_start_matches("/v1")`
      try {
        return api(method, rest, q, headers, body);
      } catch (e) {
        if (e instanceof Reply) return e.response;
        throw e;
      }
    }
    return error(404, 'Service not found');
  }

  function authorize(q) {
    const get = (k) => q.get(k) ?? '';
    if (get('client_id') !== CLIENT_ID) return error(400, 'INVALID_CLIENT: Invalid client');
    if (get('response_type') !== 'code' || get('code_challenge_method') !== 'S256' || Buffer.byteLength(get('code_challenge')) !== 43) {
      return error(400, 'invalid PKCE request');
    }
    const redirect = get('redirect_uri');
    if (!redirect.startsWith('http://127.0.0.1:') || get('state') === '') return error(400, 'INVALID_CLIENT: Invalid redirect URI');
    for (const scope of SCOPES_NEEDED) {
      if (!get('scope').split(' ').includes(scope)) return error(400, `missing scope ${scope}`);
    }
    const code = id('code');
    inner.codes.set(code, { challenge: get('code_challenge'), redirect, user: inner.approving });
    const location = `${redirect}?code=${code}&state=${get('state')}`;
    // Sent as UTF-8 bytes, as the Rust fake does; control characters make
    // an invalid header value there (a 500).
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(location)) {
      return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from('invalid header value') };
    }
    return { status: 303, headers: { location: Buffer.from(location, 'utf8').toString('latin1') }, body: undefined };
  }

  function issue(user) {
    const access = id('access');
    const refresh = id('refresh');
    inner.access.set(access, user);
    inner.refresh.set(refresh, user);
    return json(200, {
      access_token: access,
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: refresh,
      scope: 'playlist-read-private user-library-read user-modify-playback-state',
    });
  }

  function token(headers, body) {
    const form = formParse(body);
    const get = (k) => form.get(k) ?? '';
    switch (get('grant_type')) {
      case 'authorization_code': {
        if (get('client_id') !== CLIENT_ID) return oauthError('invalid_client');
        const grant = inner.codes.get(get('code'));
        if (!grant) return oauthError('invalid_grant');
        inner.codes.delete(get('code')); // single use, even when the verifier is wrong
        const verifierChallenge = createHash('sha256').update(get('code_verifier'), 'utf8').digest('base64url');
        if (verifierChallenge !== grant.challenge || grant.redirect !== get('redirect_uri')) return oauthError('invalid_grant');
        return issue(grant.user);
      }
      case 'refresh_token': {
        if (get('client_id') !== CLIENT_ID) return oauthError('invalid_client');
        // Rotated: a refresh token works once.
        const key = get('refresh_token');
        const user = inner.refresh.get(key);
        inner.refresh.delete(key);
        if (user !== undefined && !inner.revoked.has(user)) return issue(user);
        return oauthError('invalid_grant');
      }
      case 'client_credentials': {
        const expected = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
        if (headerStr(headers.authorization) !== expected) return oauthError('invalid_client');
        const access = id('app');
        inner.access.set(access, null);
        return json(200, { access_token: access, token_type: 'Bearer', expires_in: 3600 });
      }
      default:
        return oauthError('unsupported_grant_type');
    }
  }

  function api(method, path, q, headers, body) {
    const auth = headerStr(headers.authorization);
    const bearer = auth !== null && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : null;
    if (bearer === null || !inner.access.has(bearer)) return error(401, 'Invalid access token');
    const holder = inner.access.get(bearer);
    if (inner.expired.has(bearer)) return error(401, 'The access token expired');
    if (path === '/search') return search(q);
    if (holder === null) return error(401, 'This endpoint needs a user token');
    const user = holder;
    if (inner.revoked.has(user)) return error(403, 'User not registered in the Developer Dashboard');
    let jsonBody = null;
    try {
      jsonBody = JSON.parse(body.toString('utf8'));
    } catch {
      jsonBody = null;
    }
    const base = `https://api.spotify.com/v1${path}`;
    const account = inner.users.get(user);
    if (!account) return error(404, 'No such user');
    const me = userJson(user, account.name);
    const segments = path.replace(/^\/+|\/+$/g, '').split('/');
    const route = `${method} ${segments.map((s, i) => (i === 1 && segments[0] === 'playlists' ? '{id}' : s)).join('/')}`;
    const playlistId = segments[1];
    switch (route) {
      case 'GET me':
        return json(200, me);
      case 'GET me/playlists': {
        const items = account.playlists.map(([pid, name, items]) => playlistJson(pid, name, me, items.length));
        return json(200, pageOf(base, items, q));
      }
      case 'GET playlists/{id}/items': {
        const found = account.playlists.find(([pid]) => pid === playlistId);
        if (!found) return error(404, 'Resource not found');
        return json(
          200,
          pageOf(base, found[2], q, (item) => ({
            added_at: '2024-01-01T00:00:00Z',
            added_by: null,
            is_local: field(item, 'is_local') === true,
            item,
          })),
        );
      }
      case 'GET me/tracks':
        return json(200, pageOf(base, account.liked, q, (t) => ({ added_at: '2024-01-01T00:00:00Z', track: t })));
      case 'GET me/player/devices':
        return json(200, { devices: account.devices });
      case 'PUT me/player/play': {
        const device = q.get('device_id') ?? '';
        if (!account.devices.some((d) => field(d, 'id') === device)) return error(404, 'Device not found');
        const uris = field(jsonBody, 'uris');
        const position = asU64(field(jsonBody, 'position_ms'));
        if (Array.isArray(uris) && uris.length === 1 && typeof uris[0] === 'string' && uris[0].startsWith('spotify:track:')) {
          inner.plays.push({ device, uri: uris[0], position_ms: position ?? 0 });
          return noContent();
        }
        return error(400, 'Bad uris');
      }
      case 'PUT me/player/pause':
        inner.pauses.push(q.get('device_id') ?? '');
        return noContent();
      case 'POST me/playlists': {
        const name = field(jsonBody, 'name');
        if (typeof name !== 'string' || name === '') return error(400, 'Missing name');
        const pid = id('pl');
        const description = field(jsonBody, 'description');
        inner.created.push({ id: pid, name, description: typeof description === 'string' ? description : '', uris: [] });
        const full = playlistJson(pid, name, me, 0);
        full.followers = { href: null, total: 0 };
        full.items = { href: base, items: [], limit: 100, next: null, offset: 0, previous: null, total: 0 };
        return json(201, full);
      }
      case 'POST playlists/{id}/items': {
        const list = field(jsonBody, 'uris');
        const uris = Array.isArray(list) ? list.filter((u) => typeof u === 'string') : [];
        const created = inner.created.find((c) => c.id === playlistId);
        if (!created) return error(404, 'Resource not found');
        if (uris.length === 0 || uris.length > 100) return error(400, 'Too many or no uris');
        created.uris.push(...uris);
        return json(201, { snapshot_id: 'snap2' });
      }
      default:
        return error(404, 'Service not found');
    }
  }

  function search(q) {
    if (q.get('type') !== 'track') return error(400, 'Bad search type');
    const words = (q.get('q') ?? '')
      .split(WHITESPACE)
      .filter((w) => w !== '')
      .map((w) => w.toLowerCase());
    if (words.length === 0) return error(400, 'No search query');
    const found = inner.catalogue.filter((t) => {
      const text = `${display(field(t, 'name'))} ${display(field(at(field(t, 'artists'), 0), 'name'))}`.toLowerCase();
      return words.every((w) => text.includes(w));
    });
    try {
      return json(200, { tracks: pageOf('https://api.spotify.com/v1/search', found, q) });
    } catch (e) {
      if (e instanceof Reply) return e.response;
      throw e;
    }
  }

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let reply;
      try {
        reply = handle(req.method, req.url || '/', req.headers, Buffer.concat(chunks));
      } catch (e) {
        reply = { status: 500, headers: { 'content-type': 'text/plain' }, body: Buffer.from(String(e?.stack ?? e)) };
      }
      const headers = { ...reply.headers, 'content-length': String(reply.body?.length ?? 0) };
      if (reply.status === 204) delete headers['content-length'];
      res.writeHead(reply.status, headers);
      res.end(reply.body);
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;

  const userOf = (userId) => {
    const user = inner.users.get(userId);
    if (!user) throw new Error(`no fake Spotify user ${userId}: addUser first`);
    return user;
  };

  return {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    port,
    accountsUrl: `${origin}/`,
    apiUrl: `${origin}/v1/`,
    /** `METHOD /path?query` of every request, in order. */
    requests: inner.requests,
    /** Every play: `{device, uri, position_ms}`. */
    plays: inner.plays,
    /** The device id of every pause. */
    pauses: inner.pauses,
    /** Playlists made through the API: `{id, name, description, uris}`. */
    created: inner.created,
    /** Tracks `GET /v1/search` finds (push `spotifyTrack(…)`s). */
    catalogue: inner.catalogue,
    /** Users whose grants Spotify no longer accepts (add an id to revoke). */
    revoked: inner.revoked,
    /** Adds a user (who approves the next authorization) with a device `dev-{id}`. */
    addUser(userId, name) {
      inner.approving = userId;
      const device = {
        id: `dev-${userId}`,
        is_active: true,
        is_private_session: false,
        is_restricted: false,
        name: `${name}'s speaker`,
        type: 'Speaker',
        volume_percent: 60,
      };
      inner.users.set(userId, { name, playlists: [], liked: [], devices: [device] });
    },
    /** The user who approves the next `/authorize`. */
    approveAs(userId) {
      inner.approving = userId;
    },
    /** `items`: tracks (or other items), bare or as `{track: …}`. */
    addPlaylist(userId, playlistId, name, items = []) {
      userOf(userId).playlists.push([playlistId, name, bare(items)]);
    },
    /** The user's liked songs: tracks, bare or as `{track: …}`. */
    setLiked(userId, items) {
      userOf(userId).liked = bare(items);
    },
    addDevice(userId, { id: deviceId, name, type = 'Computer', is_active = false, ...rest }) {
      userOf(userId).devices.push({
        id: deviceId,
        is_active,
        is_private_session: false,
        is_restricted: false,
        name,
        type,
        volume_percent: 60,
        ...rest,
      });
    },
    /** Requests containing `needle` so far. */
    count(needle) {
      return inner.requests.filter((r) => r.includes(needle)).length;
    },
    /** Makes every access token issued so far answer 401. */
    expireAccessTokens() {
      for (const t of inner.access.keys()) inner.expired.add(t);
    },
    /**
     * The next `times` requests whose path and query contain `path` answer
     * `status` with `body` (JSON) and, when given, `Retry-After`.
     */
    fail(path, status, body = { error: { status, message: 'injected failure' } }, times = 1, retryAfter = null) {
      inner.failures.push({ path, status, body, times, retryAfter });
    },
    async stop() {
      const closed = new Promise((ok) => server.close(ok));
      server.closeAllConnections?.();
      await closed;
    },
  };
}
