// REST calls (docs/protocol.md §3). Every failure becomes an ApiError with
// the server's stable `code`, so views can match on it.

import type {
  Analytics,
  AnalyticsRange,
  AnalyticsTable,
  ApiErrorBody,
  DayPartNow,
  JoinAnswer,
  PhotoView,
  RoomInfo,
  Schedule,
  SchedulePlan,
  ScreenView,
  Taste,
  Track,
  VenueAnswer,
  VenueDetails,
  VenueRole,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Seconds from a `Retry-After` header, when the server sent one. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

async function request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, method });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError('network', 'the server cannot be reached', 0);
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.ok) return body as T;
  const error = (body as { error?: ApiErrorBody } | null)?.error;
  const retry = Number(res.headers.get('Retry-After'));
  throw new ApiError(
    error?.code ?? 'internal',
    error?.message ?? `the server answered ${res.status}`,
    res.status,
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
}

function json(body: unknown): RequestInit {
  return { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

export function createRoom(name: string, hostName: string): Promise<JoinAnswer> {
  return request('POST', '/api/rooms', json({ name, host_name: hostName }));
}

/** The public facts of a room (`GET /api/rooms/{code}`), for the join page. */
export async function roomPreview(code: string): Promise<RoomInfo> {
  return (await request<{ room: RoomInfo }>('GET', `/api/rooms/${encodeURIComponent(code)}`)).room;
}

/** With `accountToken`, the member is that account (venue staff become co-hosts, §3.18). */
export function joinRoom(code: string, name: string, token: string | null, accountToken?: string): Promise<JoinAnswer> {
  const body = accountToken ? { name, token, account_token: accountToken } : { name, token };
  return request('POST', `/api/rooms/${encodeURIComponent(code)}/join`, json(body));
}

/** A screen's pass (`POST /api/rooms/{code}/screens`): the big screen is no member. */
export interface ScreenAnswer {
  room: RoomInfo;
  token: string;
  screen: ScreenView;
}

export function openScreen(code: string, token: string | null): Promise<ScreenAnswer> {
  return request('POST', `/api/rooms/${encodeURIComponent(code)}/screens`, json({ token }));
}

/** One page of the search box: `total` counts every match (protocol.md §3.7). */
export interface TrackPage {
  tracks: Track[];
  total: number;
}

export async function searchTracks(q: string, signal: AbortSignal, offset = 0): Promise<TrackPage> {
  const params = new URLSearchParams({ q, limit: '20', offset: String(offset) });
  const res = await request<{ tracks: Track[]; total?: number }>('GET', `/api/tracks?${params}`, { signal });
  return { tracks: res.tracks, total: res.total ?? res.tracks.length };
}

/** One library track (`GET /api/tracks/{id}`). */
export async function getTrack(id: string): Promise<Track> {
  return (await request<{ track: Track }>('GET', `/api/tracks/${encodeURIComponent(id)}`)).track;
}

export async function uploadPhoto(code: string, token: string, file: File, comment: string): Promise<PhotoView> {
  const form = new FormData();
  form.append('photo', file);
  if (comment.trim()) form.append('comment', comment.trim());
  const res = await request<{ photo: PhotoView }>('POST', `/api/rooms/${encodeURIComponent(code)}/photos`, {
    headers: { Authorization: `Bearer ${token}` },
    body: form,
  });
  return res.photo;
}

export function olderPhotos(code: string, token: string, before: string): Promise<{ photos: PhotoView[]; next: string | null }> {
  const params = new URLSearchParams({ before, limit: '12' });
  return request('GET', `/api/rooms/${encodeURIComponent(code)}/photos?${params}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
}

/** A short-lived URL of a track's audio, for an `<audio>` element (§3.17). */
export function audioTicket(code: string, token: string, trackId: string): Promise<{ url: string; expires_at: number }> {
  const path = `/api/rooms/${encodeURIComponent(code)}/audio/${encodeURIComponent(trackId)}`;
  return request('GET', path, { headers: { Authorization: `Bearer ${token}` } });
}

export function qrUrl(code: string): string {
  return `/api/rooms/${encodeURIComponent(code)}/qr.svg`;
}

// Accounts (§3.15) and music services (§3.16). Account routes take the
// account token; staff routes the member token.

function bearer(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` } };
}

export interface AccountAnswer {
  user: { id: string; username: string; display_name: string };
  token: string;
}

/** Registers; with `memberToken`, that member (this room's me) becomes the account. */
export function register(username: string, password: string, memberToken?: string): Promise<AccountAnswer> {
  const body = memberToken ? { username, password, member_token: memberToken } : { username, password };
  return request('POST', '/api/accounts', json(body));
}

export function logIn(username: string, password: string): Promise<AccountAnswer> {
  return request('POST', '/api/sessions', json({ username, password }));
}

export function logOut(accountToken: string): Promise<void> {
  return request<null>('DELETE', '/api/sessions/current', bearer(accountToken)).then(() => undefined);
}

/** Makes this room's member the account's (§3.15 `POST /api/accounts/link`). */
export function linkMember(accountToken: string, memberToken: string): Promise<unknown> {
  return request('POST', '/api/accounts/link', bearer(accountToken, json({ member_token: memberToken })));
}

export interface ProviderLink {
  provider: string;
  linked: boolean;
  status?: 'ok' | 'broken';
  message?: string;
  account_name?: string;
  account_id?: string;
}

export interface Playlist {
  id: string;
  name: string;
  tracks: number;
  url: string;
}

export interface ProviderJob {
  id: string;
  kind: 'import' | 'export';
  source: string;
  status: 'running' | 'done' | 'failed';
  done: number;
  total: number | null;
  result: {
    imported?: number;
    skipped?: number;
    duplicates?: number;
    fallback_tracks?: number | null;
    added?: number;
    playlist?: Playlist;
  } | null;
  error: ApiErrorBody | null;
  /** Milliseconds since the epoch of the job's last step. */
  updated_at: number;
}

export interface Device {
  id: string;
  name: string;
  kind: string;
  active: boolean;
}

const spotify = '/api/providers/spotify';

export async function spotifyLink(accountToken: string): Promise<ProviderLink> {
  return (await request<{ link: ProviderLink }>('GET', spotify, bearer(accountToken))).link;
}

export async function spotifyLoginUrl(accountToken: string): Promise<string> {
  return (await request<{ url: string }>('POST', `${spotify}/login`, bearer(accountToken))).url;
}

export function spotifyUnlink(accountToken: string): Promise<unknown> {
  return request('DELETE', spotify, bearer(accountToken));
}

export function spotifyPlaylists(accountToken: string, offset: number): Promise<{ playlists: Playlist[]; total: number; next_offset: number | null }> {
  return request('GET', `${spotify}/playlists?offset=${offset}`, bearer(accountToken));
}

export async function spotifyImport(
  accountToken: string,
  source: { source: 'liked' } | { source: 'playlist'; playlist_id: string },
  fallbackRoomToken: string | null,
): Promise<ProviderJob> {
  const body = fallbackRoomToken ? { ...source, fallback_room_token: fallbackRoomToken } : source;
  return (await request<{ job: ProviderJob }>('POST', `${spotify}/imports`, bearer(accountToken, json(body)))).job;
}

export async function spotifyExport(memberToken: string, source: 'queue' | 'history', name: string): Promise<ProviderJob> {
  const body = name.trim() ? { source, name: name.trim() } : { source };
  return (await request<{ job: ProviderJob }>('POST', `${spotify}/exports`, bearer(memberToken, json(body)))).job;
}

export async function spotifyJob(accountToken: string, id: string): Promise<ProviderJob> {
  return (await request<{ job: ProviderJob }>('GET', `${spotify}/jobs/${encodeURIComponent(id)}`, bearer(accountToken))).job;
}

export async function spotifyDevices(accountToken: string): Promise<Device[]> {
  return (await request<{ devices: Device[] }>('GET', `${spotify}/devices`, bearer(accountToken))).devices;
}

export function spotifyPlayOn(memberToken: string, deviceId: string | null): Promise<unknown> {
  return request('PUT', `${spotify}/playback`, bearer(memberToken, json({ device_id: deviceId })));
}

/** Whether this server is set up for Spotify (public). */
export async function spotifyConfigured(): Promise<boolean> {
  const answer = await request<{ providers: { name: string; configured: boolean }[] }>('GET', '/api/providers');
  return answer.providers.some((p) => p.name === 'spotify' && p.configured);
}

export async function me(accountToken: string): Promise<AccountAnswer['user']> {
  return (await request<{ user: AccountAnswer['user'] }>('GET', '/api/me', bearer(accountToken))).user;
}

// The taste profile (§3.15): what venue autopilots count for the account.

export async function getTaste(accountToken: string): Promise<Taste> {
  return (await request<{ taste: Taste }>('GET', '/api/me/taste', bearer(accountToken))).taste;
}

export async function setTasteEnabled(accountToken: string, enabled: boolean): Promise<Taste> {
  return (await request<{ taste: Taste }>('PUT', '/api/me/taste', bearer(accountToken, json({ enabled })))).taste;
}

/** Only what the account adds from now on counts (`since` becomes now). */
export async function deleteTaste(accountToken: string): Promise<void> {
  await request<null>('DELETE', '/api/me/taste', bearer(accountToken));
}

// Venues (§3.18): every route takes the account token.

const venuePath = (id: string) => `/api/venues/${encodeURIComponent(id)}`;
const zonePath = (id: string, roomId: string) => `${venuePath(id)}/zones/${encodeURIComponent(roomId)}`;

export async function myVenues(accountToken: string): Promise<VenueAnswer[]> {
  return (await request<{ venues: VenueAnswer[] }>('GET', '/api/venues', bearer(accountToken))).venues;
}

export function createVenue(accountToken: string, details: VenueDetails): Promise<VenueAnswer> {
  return request('POST', '/api/venues', bearer(accountToken, json(details)));
}

export function getVenue(accountToken: string, id: string): Promise<VenueAnswer> {
  return request('GET', venuePath(id), bearer(accountToken));
}

/** Replaces the details whole (owner, manager). */
export function updateVenue(accountToken: string, id: string, details: VenueDetails): Promise<VenueAnswer> {
  return request('PUT', venuePath(id), bearer(accountToken, json(details)));
}

export async function deleteVenue(accountToken: string, id: string): Promise<void> {
  await request<null>('DELETE', venuePath(id), bearer(accountToken));
}

export interface InvitationAnswer {
  invitation: { id: string; role: VenueRole; expires_at: number };
  url: string;
}

export function inviteStaff(accountToken: string, id: string, role: Exclude<VenueRole, 'owner'>): Promise<InvitationAnswer> {
  return request('POST', `${venuePath(id)}/invitations`, bearer(accountToken, json({ role })));
}

export function acceptInvitation(accountToken: string, invitationId: string): Promise<VenueAnswer> {
  return request('POST', `/api/invitations/${encodeURIComponent(invitationId)}/accept`, bearer(accountToken));
}

export function setStaffRole(accountToken: string, id: string, userId: string, role: Exclude<VenueRole, 'owner'>): Promise<VenueAnswer> {
  return request('PUT', `${venuePath(id)}/staff/${encodeURIComponent(userId)}`, bearer(accountToken, json({ role })));
}

export async function removeStaff(accountToken: string, id: string, userId: string): Promise<void> {
  await request<null>('DELETE', `${venuePath(id)}/staff/${encodeURIComponent(userId)}`, bearer(accountToken));
}

export interface ZoneAnswer {
  zone: { room_id: string; code: string; name: string };
  join_url: string;
  /** The caller's member token as the zone room's host. */
  token: string;
}

export function createZone(accountToken: string, id: string, name: string): Promise<ZoneAnswer> {
  return request('POST', `${venuePath(id)}/zones`, bearer(accountToken, json({ name })));
}

export async function removeZone(accountToken: string, id: string, roomId: string): Promise<void> {
  await request<null>('DELETE', zonePath(id, roomId), bearer(accountToken));
}

/** A file a route answers (not JSON), fetched with the account token. */
async function download(accountToken: string, path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, bearer(accountToken));
  } catch {
    throw new ApiError('network', 'the server cannot be reached', 0);
  }
  if (res.ok) return res;
  const error = ((await res.json().catch(() => null)) as { error?: ApiErrorBody } | null)?.error;
  throw new ApiError(error?.code ?? 'internal', error?.message ?? `the server answered ${res.status}`, res.status);
}

/** The sheet of table cards (an SVG); fetched because it needs the account token. */
export async function tableCards(accountToken: string, id: string, roomId: string): Promise<Blob> {
  return (await download(accountToken, `${zonePath(id, roomId)}/cards.svg`)).blob();
}

export interface SetScheduleAnswer {
  schedule: Schedule;
  day_part: DayPartNow;
}

/** A zone's schedule (`null`: none) and the day part in force (`null` without a schedule). Any staff. */
export interface ScheduleAnswer {
  schedule: Schedule | null;
  day_part: DayPartNow | null;
}

export function getSchedule(accountToken: string, id: string, roomId: string): Promise<ScheduleAnswer> {
  return request('GET', `${zonePath(id, roomId)}/schedule`, bearer(accountToken));
}

export function setSchedule(accountToken: string, id: string, roomId: string, plan: SchedulePlan): Promise<SetScheduleAnswer> {
  return request('PUT', `${zonePath(id, roomId)}/schedule`, bearer(accountToken, json(plan)));
}

export async function clearSchedule(accountToken: string, id: string, roomId: string): Promise<void> {
  await request<null>('DELETE', `${zonePath(id, roomId)}/schedule`, bearer(accountToken));
}

/** Lifts a track's block after too many declines (any staff). */
export async function unblockTrack(accountToken: string, id: string, trackId: string): Promise<void> {
  await request<null>('DELETE', `${venuePath(id)}/blocked/${encodeURIComponent(trackId)}`, bearer(accountToken));
}

export function cataloguePage(accountToken: string, id: string, after: string | null, limit = 50): Promise<{ tracks: Track[]; next: string | null }> {
  const params = new URLSearchParams({ limit: String(limit) });
  if (after) params.set('after', after);
  return request('GET', `${venuePath(id)}/catalogue?${params}`, bearer(accountToken));
}

export async function addToCatalogue(accountToken: string, id: string, trackIds: string[]): Promise<number> {
  return (await request<{ added: number }>('POST', `${venuePath(id)}/catalogue`, bearer(accountToken, json({ track_ids: trackIds })))).added;
}

export async function removeFromCatalogue(accountToken: string, id: string, trackIds: string[]): Promise<void> {
  await request<null>('DELETE', `${venuePath(id)}/catalogue`, bearer(accountToken, json({ track_ids: trackIds })));
}

// The dashboard (owner, manager): empty fields of the range are left out,
// so the server picks its default (the last 30 days in the venue's zone).

function rangeQuery(range: AnalyticsRange, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const key of ['from', 'to', 'zone'] as const) if (range[key]) params.set(key, range[key]);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function getAnalytics(accountToken: string, id: string, range: AnalyticsRange, signal?: AbortSignal): Promise<Analytics> {
  return request('GET', `${venuePath(id)}/analytics${rangeQuery(range)}`, { ...bearer(accountToken), signal });
}

/** One table of the report as CSV (every row), with the server's file name. */
export async function analyticsCsv(accountToken: string, id: string, table: AnalyticsTable, range: AnalyticsRange): Promise<{ blob: Blob; filename: string }> {
  const res = await download(accountToken, `${venuePath(id)}/analytics/export${rangeQuery(range, { table })}`);
  const named = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') ?? '');
  const fallback = `${table}${range.from ? `-${range.from}` : ''}${range.to ? `-${range.to}` : ''}.csv`;
  return { blob: await res.blob(), filename: named?.[1] ?? fallback };
}
