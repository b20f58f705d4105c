// The speaker in a real browser: the host makes the big screen the room's
// speaker, a track from a music folder plays there at the server's
// position, and pause, resume, skip and a reload follow. The audio is
// generated here with ffmpeg; Chromium plays it headless with autoplay
// allowed (a tap is needed otherwise, tested apart).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { api, connect, launchChromium, SHOTS, startServer, waitUntil } from './server.mjs';

const TV = { viewport: { width: 1920, height: 1080 } };
const LAPTOP = { viewport: { width: 1280, height: 900 } };

let server;
let browser;
let music;

function tone(path, frequency, title, seconds = 40) {
  const made = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=44100`,
    '-t', String(seconds), '-metadata', `title=${title}`, '-metadata', 'artist=Test Tones', '-c:a', 'flac', path,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
}

before(async () => {
  music = mkdtempSync(join(tmpdir(), 'crowdjuke-music-'));
  tone(join(music, 'first.flac'), 440, 'Speaker First');
  tone(join(music, 'second.flac'), 660, 'Speaker Second');
  tone(join(music, 'fade-one.flac'), 330, 'Fade One', 10);
  tone(join(music, 'fade-two.flac'), 550, 'Fade Two', 10);
  server = await startServer({ music: [music] });
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0);
  rmSync(music, { recursive: true, force: true });
});

/** The id of the folder track with this title, once the scan found it. */
async function trackId(title) {
  for (let i = 0; i < 200; i++) {
    const found = await (await fetch(`${server.url}/api/search/tracks?q=${encodeURIComponent(title)}`)).json();
    const hit = found.hits?.find((h) => h.title === title);
    if (hit) return hit.id;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`${title} was never scanned`);
}

/** Where the room's track is by the server's clock, at local time `at`. */
function serverPosition(snapshot, receivedAt, at) {
  const np = snapshot.now_playing;
  if (np.paused) return np.position_ms;
  const offset = snapshot.server_time - receivedAt;
  return at + offset - np.started_at;
}

/** The big screen's audio: its track (from the URL), position and state. */
const audioOf = (page) =>
  page.getByTestId('speaker-audio').evaluate((a) => ({
    src: a.currentSrc,
    paused: a.paused,
    ms: a.currentTime * 1000,
    at: Date.now(),
  }));

async function snapshotOf(client) {
  const receivedAt = Date.now();
  const snapshot = await client.ok('room:sync', {});
  return { snapshot, receivedAt };
}

test('the big screen plays the room at the server position and follows pause, resume, skip and a reload', async () => {
  const first = await trackId('Speaker First');
  const second = await trackId('Speaker Second');
  const hostPage = await (await browser.newContext(LAPTOP)).newPage();
  await hostPage.goto(`${server.url}/`);
  await hostPage.getByTestId('room-name').fill('Sound check');
  await hostPage.getByTestId('host-name').fill('Hana');
  await hostPage.getByTestId('create-room').click();
  await hostPage.waitForURL(/\/room\/[A-Z0-9]{6}$/);
  const code = hostPage.url().split('/').pop();
  const tv = await (await browser.newContext(TV)).newPage();
  await tv.goto(`${server.url}/display/${code}`);
  await tv.getByTestId('room-name').filter({ hasText: 'Sound check' }).waitFor();

  // The host sends the music to the big screen.
  const choice = hostPage.getByTestId('speaker-choice');
  await choice.locator('option', { hasText: 'The big screen' }).waitFor({ state: 'attached' });
  await choice.selectOption({ label: 'The big screen' });
  await tv.getByTestId('speaker').waitFor();

  // A guest's phone (socket.io-client) queues both tracks: the first plays.
  const guest = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name: 'Gus' });
  const phone = await connect(server.url, guest.body.token).ready;
  await phone.ok('queue:add', { track_id: first });
  await phone.ok('queue:add', { track_id: second });
  await waitUntil(tv, () => {
    const a = document.querySelector('[data-testid="speaker-audio"]');
    return a && !a.paused && a.currentTime > 1;
  }, null, { timeout: 15_000 });
  const playing = await audioOf(tv);
  assert.ok(playing.src.includes(`/api/tracks/${first}/audio?ticket=`), playing.src);
  const { snapshot, receivedAt } = await snapshotOf(phone);
  const drift = Math.abs(playing.ms - serverPosition(snapshot, receivedAt, playing.at));
  assert.ok(drift < 300, `the speaker is ${drift} ms away from the server's position`);
  // The tone is about -21 LUFS: Web Audio turns it up to -14 (about 2.2×,
  // well under what its peak allows).
  const level = await tv.getByTestId('speaker-audio').evaluate((a) => ({ boost: a.dataset.boost, gain: Number(a.dataset.gain) }));
  assert.equal(level.boost, 'web-audio');
  assert.ok(level.gain > 1.8 && level.gain < 2.8, `gain ${level.gain}`);
  await tv.screenshot({ path: join(SHOTS, 'speaker-tv.png') });

  // Pause and resume from the host's page.
  await hostPage.getByTestId('pause').click();
  await waitUntil(tv, () => document.querySelector('[data-testid="speaker-audio"]').paused);
  const paused = await audioOf(tv);
  const held = (await snapshotOf(phone)).snapshot.now_playing;
  assert.ok(held.paused);
  assert.ok(Math.abs(paused.ms - held.position_ms) < 300, `paused at ${paused.ms}, the room at ${held.position_ms}`);
  await hostPage.getByTestId('resume').click();
  await waitUntil(tv, () => !document.querySelector('[data-testid="speaker-audio"]').paused);

  // Skip: the second track plays.
  await hostPage.getByTestId('skip').click();
  await waitUntil(tv,
    (id) => {
      const a = document.querySelector('[data-testid="speaker-audio"]');
      return a.currentSrc.includes(`/api/tracks/${id}/audio`) && !a.paused;
    },
    second,
    { timeout: 15_000 },
  );

  // A reloaded speaker comes back at the right place.
  await tv.waitForTimeout(1500);
  await tv.reload();
  await waitUntil(tv, () => {
    const a = document.querySelector('[data-testid="speaker-audio"]');
    return a && !a.paused && a.currentTime > 1;
  }, null, { timeout: 15_000 });
  const back = await audioOf(tv);
  const again = await snapshotOf(phone);
  const after = Math.abs(back.ms - serverPosition(again.snapshot, again.receivedAt, back.at));
  assert.ok(after < 300, `after a reload the speaker is ${after} ms away`);
  assert.ok(back.src.includes(`/api/tracks/${second}/audio`), back.src);

  // The big screen goes away for longer than the grace period (20 s): the
  // room pauses and every screen says why; it resumes when it is back.
  const tvContext = tv.context();
  await tv.close();
  const badge = hostPage.getByTestId('paused');
  await badge.filter({ hasText: 'waiting for the speaker' }).waitFor({ timeout: 45_000 });
  assert.ok((await snapshotOf(phone)).snapshot.now_playing.waiting_for_speaker);
  await hostPage.screenshot({ path: join(SHOTS, 'speaker-away-laptop.png') });
  const tvAgain = await tvContext.newPage(); // the same browser: the same speaker
  await tvAgain.goto(`${server.url}/display/${code}`);
  await badge.waitFor({ state: 'hidden', timeout: 15_000 });
  await waitUntil(tvAgain, () => {
    const a = document.querySelector('[data-testid="speaker-audio"]');
    return a && !a.paused;
  }, null, { timeout: 15_000 });
  phone.socket.close();
});

test('with a crossfade the room moves on before the end and the big screen fades one track into the next', async () => {
  const one = await trackId('Fade One');
  const two = await trackId('Fade Two');
  const created = await api(server.url, 'POST', '/api/rooms', { name: 'Fades', host_name: 'Hana', rules: { crossfade_secs: 4 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const code = created.body.room.code;
  const host = await connect(server.url, created.body.token).ready;
  const tv = await (await browser.newContext(TV)).newPage();
  await tv.goto(`${server.url}/display/${code}`);
  let screen;
  for (let i = 0; i < 100 && !screen; i++) {
    screen = (await host.ok('room:sync', {})).screens.find((s) => s.online);
    if (!screen) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.ok(screen, 'the big screen is open');
  await host.ok('room:set_speaker', { member_id: screen.id });
  await host.ok('queue:add', { track_id: one });
  await host.ok('queue:add', { track_id: two });

  // Both decks play at once: the first fading out, the second in.
  const overlap = await waitUntil(tv,
    ([first, second]) => {
      const now = document.querySelector('[data-testid="speaker-audio"]');
      const old = document.querySelector('[data-testid="speaker-next"]');
      if (!now?.currentSrc.includes(`/api/tracks/${second}/audio`) || now.paused) return null;
      if (!old?.currentSrc.includes(`/api/tracks/${first}/audio`) || old.paused) return null;
      return { oldTime: old.currentTime, newTime: now.currentTime };
    },
    [one, two],
    { timeout: 20_000, polling: 50 },
  );
  const { oldTime, newTime } = overlap;
  assert.ok(oldTime > 5 && oldTime < 10, `the first track is in its last seconds (${oldTime} s)`);
  assert.ok(newTime < 2, `the second one has just begun (${newTime} s)`);
  await tv.screenshot({ path: join(SHOTS, 'speaker-crossfade-tv.png') });
  // The first fades out and stops by its end.
  await waitUntil(tv, () => document.querySelector('[data-testid="speaker-next"]').paused, null, { timeout: 8_000 });

  // The server moved on 4 s before the first track's end.
  const plays = (await host.ok('room:sync', {})).recent_plays;
  const first = plays.find((p) => p.track_id === one);
  assert.ok(first, JSON.stringify(plays));
  const heard = first.ended_at - first.started_at;
  assert.ok(Math.abs(heard - 6_000) < 400, `the first track held the room for ${heard} ms`);
  host.socket.close();
  await tv.context().close();
});
