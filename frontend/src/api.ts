// REST calls (docs/protocol.md §3). Every failure becomes an ApiError with
// the server's stable `code`, so views can match on it.

import type { ApiErrorBody, JoinAnswer, PhotoView, Track } from './types';

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

export function joinRoom(code: string, name: string, token: string | null): Promise<JoinAnswer> {
  return request('POST', `/api/rooms/${encodeURIComponent(code)}/join`, json({ name, token }));
}

export async function searchTracks(q: string, signal: AbortSignal): Promise<Track[]> {
  const params = new URLSearchParams({ q, limit: '20' });
  const res = await request<{ tracks: Track[] }>('GET', `/api/tracks?${params}`, { signal });
  return res.tracks;
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
