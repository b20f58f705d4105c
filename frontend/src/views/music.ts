// Music services (staff only, protocol.md §3.16): the host signs in to an
// account (the link to Spotify belongs to the account, not to the party),
// links Spotify and sees the link's state, imports liked songs or a
// playlist into the library or the room's fallback with live progress
// (`provider:job` on the `/feed` socket), saves the queue or the night's
// history as a Spotify playlist, and lists the account's Spotify devices
// for "Where the music plays" in the host tools.

import { io, type Socket } from 'socket.io-client';
import {
  ApiError,
  type Device,
  linkMember,
  logIn,
  logOut,
  me,
  type Playlist,
  type ProviderJob,
  type ProviderLink,
  register,
  spotifyConfigured,
  spotifyDevices,
  spotifyExport,
  spotifyImport,
  spotifyJob,
  spotifyLink,
  spotifyLoginUrl,
  spotifyPlaylists,
  spotifyUnlink,
} from '../api';
import { h, setText } from '../dom';
import { describeError } from '../errors';
import { isStaff } from '../state';
import { accountToken, returnTrip } from '../storage';
import type { RoomContext, Section } from './view';

/** How often a job is polled when the `/feed` socket is not connected. */
const POLL_MS = 1500;

function problem(err: unknown): string {
  if (err instanceof ApiError) return describeError(err, err.retryAfter);
  return 'Something went wrong. Try again.';
}

export function musicSection(ctx: RoomContext, devicesChanged: (devices: Device[]) => void): Section {
  // --- signing in -------------------------------------------------------
  const username = h('input', { id: 'account-username', 'data-testid': 'account-username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: 30, required: true });
  const password = h('input', { id: 'account-password', 'data-testid': 'account-password', type: 'password', autocomplete: 'current-password', minlength: 10, required: true });
  const signIn = h('button', { type: 'submit', class: 'primary small', 'data-testid': 'account-sign-in' }, 'Sign in');
  const create = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'account-create' }, 'Create account');
  const accountStatus = h('p', { class: 'inline-status', role: 'status', 'data-testid': 'account-status' });
  const signInForm = h(
    'form',
    { class: 'account-form', 'data-testid': 'account-form' },
    h('p', { class: 'hint' }, 'Sign in to link Spotify. The link stays with your account, for every party.'),
    h('label', { for: 'account-username' }, 'Username'),
    username,
    h('label', { for: 'account-password' }, 'Password (at least 10 characters)'),
    password,
    h('div', { class: 'row wrap' }, signIn, create),
    accountStatus,
  );
  const who = h('span', { 'data-testid': 'account-name' });
  const signOut = h('button', { type: 'button', class: 'link-button', 'data-testid': 'account-sign-out' }, 'Sign out');
  const signedIn = h('p', { class: 'hint', hidden: true }, 'Signed in as ', who, ' · ', signOut);

  // --- the Spotify link -------------------------------------------------
  const linkStatus = h('p', { 'data-testid': 'spotify-status', role: 'status' });
  const link = h('button', { type: 'button', class: 'primary small', 'data-testid': 'spotify-link' }, 'Link Spotify');
  const unlink = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'spotify-unlink', hidden: true }, 'Unlink');
  const linkBox = h('div', { class: 'provider', hidden: true }, linkStatus, h('div', { class: 'row wrap' }, link, unlink));

  // --- import -----------------------------------------------------------
  const importSource = h('select', { id: 'spotify-import-source', 'data-testid': 'spotify-import-source' }, h('option', { value: 'liked' }, 'My liked songs'));
  const morePlaylists = h('button', { type: 'button', class: 'link-button', 'data-testid': 'spotify-more-playlists', hidden: true }, 'More playlists');
  const toFallback = h('input', { type: 'checkbox', id: 'spotify-import-fallback', 'data-testid': 'spotify-import-fallback' });
  const importButton = h('button', { type: 'button', class: 'primary small', 'data-testid': 'spotify-import' }, 'Import');
  const importProgress = h('progress', { 'data-testid': 'spotify-import-progress', max: 1, value: 0, hidden: true });
  const importStatus = h('p', { class: 'inline-status', role: 'status', 'data-testid': 'spotify-import-status' });
  const importBox = h(
    'div',
    { class: 'provider-part', hidden: true },
    h('h3', {}, 'Import from Spotify'),
    h('label', { for: 'spotify-import-source' }, 'What to import'),
    importSource,
    morePlaylists,
    h('div', { class: 'check' }, toFallback, h('label', { for: 'spotify-import-fallback' }, 'Also play it here when the queue is empty', h('span', { class: 'hint' }, 'It becomes this room’s fallback playlist (the first 500 tracks).'))),
    importButton,
    importProgress,
    importStatus,
  );

  // --- export -----------------------------------------------------------
  const exportSource = h('select', { id: 'spotify-export-source', 'data-testid': 'spotify-export-source' }, h('option', { value: 'queue' }, 'What plays now and the queue'), h('option', { value: 'history' }, 'Everything played tonight'));
  const exportName = h('input', { id: 'spotify-export-name', 'data-testid': 'spotify-export-name', maxlength: 100, placeholder: 'Name (optional)' });
  const exportButton = h('button', { type: 'button', class: 'primary small', 'data-testid': 'spotify-export' }, 'Save to Spotify');
  const exportStatus = h('p', { class: 'inline-status', role: 'status', 'data-testid': 'spotify-export-status' });
  const exportBox = h(
    'div',
    { class: 'provider-part', hidden: true },
    h('h3', {}, 'Save as a Spotify playlist'),
    h('label', { for: 'spotify-export-source' }, 'Which tracks'),
    exportSource,
    h('label', { for: 'spotify-export-name' }, 'Playlist name'),
    exportName,
    exportButton,
    exportStatus,
  );

  const unconfigured = h('p', { class: 'hint', 'data-testid': 'spotify-unconfigured', hidden: true }, 'This server is not set up for Spotify (its operator adds a Spotify app in the settings). Music folders still play.');
  const el = h(
    'section',
    { class: 'card music', id: 'music', 'data-testid': 'music-services', 'aria-labelledby': 'music-heading', hidden: true },
    h('h2', { id: 'music-heading' }, 'Music services'),
    unconfigured,
    signInForm,
    signedIn,
    linkBox,
    importBox,
    exportBox,
  );

  let configured: boolean | null = null;
  let started = false;
  let current: ProviderLink | null = null;
  let feed: Socket | null = null;
  /** The job each status line follows, and what to do with its news. */
  const following = new Map<string, (job: ProviderJob) => void>();
  /** Ends of jobs heard before anyone followed them (a few, newest last). */
  const unclaimed = new Map<string, ProviderJob>();
  const keepUnclaimed = (job: ProviderJob) => {
    unclaimed.set(job.id, job);
    for (const id of unclaimed.keys()) {
      if (unclaimed.size <= 8) break;
      unclaimed.delete(id);
    }
  };
  let poll: number | undefined;
  let nextOffset: number | null = 0;

  const drawAccount = () => {
    const token = accountToken.get();
    signInForm.hidden = !configured || token !== null;
    signedIn.hidden = !configured || token === null;
    linkBox.hidden = !configured || token === null;
    if (!token) {
      current = null;
      importBox.hidden = true;
      exportBox.hidden = true;
      devicesChanged([]);
    }
  };

  const drawLink = (l: ProviderLink) => {
    current = l;
    const ok = l.linked && l.status === 'ok';
    if (!l.linked) setText(linkStatus, 'Spotify: not linked.');
    else if (ok) setText(linkStatus, `Spotify: linked as ${l.account_name ?? l.account_id ?? 'your account'}.`);
    else setText(linkStatus, `Spotify: the link is broken. ${l.message ?? ''} Link it again.`.trim());
    linkStatus.dataset.state = !l.linked ? 'unlinked' : ok ? 'linked' : 'broken';
    setText(link, l.linked ? 'Link again' : 'Link Spotify');
    link.hidden = ok;
    unlink.hidden = !l.linked;
    importBox.hidden = !ok;
    exportBox.hidden = !ok;
  };

  let memberLinked = false;

  /** Reads the link, playlists and devices of the signed-in account. */
  const refresh = async () => {
    const token = accountToken.get();
    drawAccount();
    if (!configured || !token) return;
    try {
      if (!memberLinked) {
        // Signed in on an earlier visit: this room's member becomes the
        // account's too, so the staff routes (export, playback) use its link.
        const [profile] = await Promise.all([me(token), linkMember(token, ctx.token).catch(ignoreAlreadyLinked)]);
        setText(who, profile.username);
        memberLinked = true;
      }
      drawLink(await spotifyLink(token));
      connectFeed(token);
      if (current?.linked && current.status === 'ok') {
        await Promise.all([loadPlaylists(true), loadDevices()]);
      } else {
        devicesChanged([]);
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'unauthorized') {
        // Logged out elsewhere, or the account is gone.
        accountToken.set(null);
        drawAccount();
        setText(accountStatus, 'You were signed out. Sign in again.');
        return;
      }
      setText(linkStatus, problem(err));
    }
  };

  const loadPlaylists = async (fresh: boolean) => {
    const token = accountToken.get();
    if (!token) return;
    if (fresh) {
      nextOffset = 0;
      importSource.replaceChildren(h('option', { value: 'liked' }, 'My liked songs'));
    }
    if (nextOffset === null) return;
    try {
      const page = await spotifyPlaylists(token, nextOffset);
      for (const p of page.playlists) importSource.append(playlistOption(p));
      nextOffset = page.next_offset;
    } catch (err) {
      setText(importStatus, problem(err));
    }
    morePlaylists.hidden = nextOffset === null;
  };

  const loadDevices = async () => {
    const token = accountToken.get();
    if (!token) return;
    try {
      devicesChanged(await spotifyDevices(token));
    } catch {
      devicesChanged([]);
    }
  };

  const connectFeed = (token: string) => {
    if (feed) return;
    feed = io('/feed', { auth: { token }, reconnectionDelayMax: 5000 });
    feed.on('provider:job', ({ job }: { job: ProviderJob }) => {
      const tell = following.get(job.id);
      if (tell) tell(job);
      else if (job.status !== 'running') keepUnclaimed(job);
    });
    feed.on('provider:link', ({ link: l }: { link: ProviderLink }) => {
      drawLink(l);
      if (l.status === 'broken') ctx.notice.show(`Spotify: ${l.message ?? 'the link is broken: link it again.'}`, 'error');
    });
    feed.on('connect_error', (err: Error) => {
      if (err.message === 'unauthorized') {
        feed?.close();
        feed = null;
      }
    });
  };

  const closeFeed = () => {
    feed?.close();
    feed = null;
  };

  /** Follows a job until it ends: from the feed, and by polling in case the
   * feed is down. A short job can finish before its start is answered, so
   * news of jobs not followed yet is kept, and the job is read once at once. */
  const follow = (job: ProviderJob, news: (job: ProviderJob) => void) => {
    let last = 0;
    const tell = (j: ProviderJob) => {
      if (j.updated_at < last) return;
      last = j.updated_at;
      news(j);
      if (j.status !== 'running') following.delete(j.id);
    };
    following.set(job.id, tell);
    tell(job);
    const early = unclaimed.get(job.id);
    unclaimed.delete(job.id);
    if (early) tell(early);
    if (!following.has(job.id)) return;
    const token = accountToken.get();
    if (token) void spotifyJob(token, job.id).then((j) => following.get(j.id)?.(j), () => undefined);
    window.clearInterval(poll);
    poll = window.setInterval(async () => {
      const token = accountToken.get();
      if (following.size === 0 || !token) {
        window.clearInterval(poll);
        return;
      }
      if (feed?.connected) return;
      for (const id of [...following.keys()]) {
        try {
          following.get(id)?.(await spotifyJob(token, id));
        } catch {
          // The next tick tries again.
        }
      }
    }, POLL_MS);
  };

  // --- actions ----------------------------------------------------------
  const signedInAs = (name: string, token: string) => {
    accountToken.set(token);
    setText(who, name);
    password.value = '';
    setText(accountStatus, '');
    void refresh();
  };

  signInForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    signIn.disabled = true;
    setText(accountStatus, 'Signing in…');
    try {
      const answer = await logIn(username.value.trim(), password.value);
      // This member becomes the account's, so staff routes use its link.
      await linkMember(answer.token, ctx.token).catch(ignoreAlreadyLinked);
      memberLinked = true;
      signedInAs(answer.user.username, answer.token);
    } catch (err) {
      setText(accountStatus, problem(err));
    } finally {
      signIn.disabled = false;
    }
  });

  create.addEventListener('click', async () => {
    if (!signInForm.reportValidity()) return;
    create.disabled = true;
    setText(accountStatus, 'Creating your account…');
    try {
      const answer = await register(username.value.trim(), password.value, ctx.token);
      memberLinked = true;
      signedInAs(answer.user.username, answer.token);
    } catch (err) {
      setText(accountStatus, problem(err));
    } finally {
      create.disabled = false;
    }
  });

  signOut.addEventListener('click', async () => {
    const token = accountToken.get();
    accountToken.set(null);
    memberLinked = false;
    closeFeed();
    drawAccount();
    if (token) await logOut(token).catch(() => undefined);
  });

  link.addEventListener('click', async () => {
    const token = accountToken.get();
    if (!token) return;
    link.disabled = true;
    try {
      const url = await spotifyLoginUrl(token);
      // Spotify sends the browser back to `/?provider=spotify…`; come back here.
      returnTrip.leave(`${location.pathname}#music`);
      location.assign(url);
    } catch (err) {
      setText(linkStatus, problem(err));
      link.disabled = false;
    }
  });

  unlink.addEventListener('click', async () => {
    const token = accountToken.get();
    if (!token) return;
    unlink.disabled = true;
    try {
      await spotifyUnlink(token);
      drawLink({ provider: 'spotify', linked: false });
      devicesChanged([]);
      ctx.notice.show('Spotify is unlinked.', 'success');
    } catch (err) {
      setText(linkStatus, problem(err));
    } finally {
      unlink.disabled = false;
    }
  });

  morePlaylists.addEventListener('click', () => void loadPlaylists(false));

  importButton.addEventListener('click', async () => {
    const token = accountToken.get();
    if (!token) return;
    importButton.disabled = true;
    const source = importSource.value === 'liked' ? ({ source: 'liked' } as const) : ({ source: 'playlist', playlist_id: importSource.value } as const);
    const label = importSource.selectedOptions[0]?.textContent ?? 'the playlist';
    setText(importStatus, `Starting the import of ${label}…`);
    try {
      const job = await spotifyImport(token, source, toFallback.checked ? ctx.token : null);
      follow(job, (j) => {
        importProgress.hidden = false;
        importProgress.max = Math.max(1, j.total ?? 1);
        importProgress.value = j.done;
        importStatus.dataset.status = j.status;
        if (j.status === 'running') {
          setText(importStatus, j.total ? `Importing ${label}: ${j.done} of ${count(j.total, 'track')} read…` : `Importing ${label}…`);
          return;
        }
        importButton.disabled = false;
        if (j.status === 'failed') {
          setText(importStatus, `The import stopped: ${j.error ? describeError(j.error) : 'try again.'} Nothing was added.`);
          return;
        }
        importProgress.value = importProgress.max;
        setText(importStatus, imported(j));
      });
    } catch (err) {
      importButton.disabled = false;
      setText(importStatus, problem(err));
    }
  });

  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    setText(exportStatus, 'Saving to Spotify…');
    try {
      const job = await spotifyExport(ctx.token, exportSource.value as 'queue' | 'history', exportName.value);
      follow(job, (j) => {
        exportStatus.dataset.status = j.status;
        if (j.status === 'running') return;
        exportButton.disabled = false;
        if (j.status === 'failed') {
          setText(exportStatus, `Not saved: ${j.error ? describeError(j.error) : 'try again.'}`);
          return;
        }
        const playlist = j.result?.playlist;
        const skipped = j.result?.skipped ? ` (${j.result.skipped} not on Spotify were left out)` : '';
        exportStatus.replaceChildren(
          `Saved ${count(j.result?.added ?? 0, 'track')}${skipped} to `,
          playlist ? h('a', { href: playlist.url, target: '_blank', rel: 'noopener', 'data-testid': 'spotify-export-link' }, `“${playlist.name}”`) : 'Spotify',
          '.',
        );
      });
    } catch (err) {
      exportButton.disabled = false;
      setText(exportStatus, problem(err));
    }
  });

  return {
    el,
    update(state) {
      el.hidden = !isStaff(state);
      if (el.hidden || started) return;
      started = true;
      void spotifyConfigured()
        .then((yes) => {
          configured = yes;
          unconfigured.hidden = yes;
          return refresh();
        })
        .catch(() => {
          configured = false;
          unconfigured.hidden = false;
        });
    },
    stop() {
      window.clearInterval(poll);
      closeFeed();
    },
  };
}

function ignoreAlreadyLinked(err: unknown): void {
  if (!(err instanceof ApiError && err.code === 'already_linked')) throw err;
}

function playlistOption(p: Playlist): HTMLOptionElement {
  return h('option', { value: p.id }, `${p.name} (${count(p.tracks, 'track')})`);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function imported(job: ProviderJob): string {
  const r = job.result ?? {};
  const notes: string[] = [];
  if (r.skipped) notes.push(`${r.skipped} could not be imported (local files, podcasts)`);
  if (r.duplicates) notes.push(`${count(r.duplicates, 'duplicate')} counted once`);
  const fallback = typeof r.fallback_tracks === 'number' ? ` ${count(r.fallback_tracks, 'track')} now ${r.fallback_tracks === 1 ? 'plays' : 'play'} here when the queue is empty.` : '';
  return `Imported ${count(r.imported ?? 0, 'track')} into the library${notes.length ? ` (${notes.join('; ')})` : ''}.${fallback}`;
}
