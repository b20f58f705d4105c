// Music services in the web app, in Chromium, against a local fake of
// Spotify (spotify_fake.mjs): a host creates an account from the room,
// links Spotify through the consent page and comes back to the room,
// imports a playlist into the library and the room's fallback with
// progress, sends the music to a Spotify device, sees a refused hand-off
// as a sentence, saves the queue as a playlist and unlinks. A server
// without a Spotify app says so instead of offering a link.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, launchChromium, SHOTS, startServer } from './server.mjs';
import { spotifyTrack, spotifyTrackId, startSpotifyFake } from './spotify_fake.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

let fake;
let server;
let browser;

before(async () => {
  fake = await startSpotifyFake();
  fake.addUser('ana.spotify', 'Ana S');
  const classics = Array.from({ length: 60 }, (_, n) => spotifyTrack(n + 1, `Classic ${n + 1}`, 'The Oldies'));
  fake.addPlaylist('ana.spotify', 'pl0party0classics', 'Party Classics', classics);
  fake.setLiked('ana.spotify', [spotifyTrack(100, 'Liked One', 'Somebody')]);
  server = await startServer({ spotify: fake });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0);
  await fake.stop();
});

test('a host links Spotify from the room, imports a playlist, plays on a device, exports and unlinks', async () => {
  const page = await (await browser.newContext(PHONE)).newPage();
  await page.goto(`${server.url}/`);
  await page.getByTestId('room-name').fill('Spotify night');
  await page.getByTestId('host-name').fill('Hana');
  await page.getByTestId('create-room').click();
  await page.waitForURL(/\/room\/[A-Z0-9]{6}$/);
  const code = page.url().split('/').pop();

  // An account, made from the room: the host's member becomes it.
  const card = page.getByTestId('music-services');
  await card.getByTestId('account-form').waitFor();
  await card.getByTestId('account-username').fill('hana.host');
  await card.getByTestId('account-password').fill('violet kettle 42 orbit');
  await card.getByTestId('account-create').click();
  await card.getByTestId('account-name').filter({ hasText: 'hana.host' }).waitFor();
  await card.getByTestId('spotify-status').filter({ hasText: 'not linked' }).waitFor();

  // Linking goes to Spotify's consent page and back to this room.
  await card.getByTestId('spotify-link').click();
  await page.waitForURL(new RegExp(`/room/${code}#music$`));
  await page.getByTestId('notice').filter({ hasText: 'Spotify is linked.' }).waitFor();
  await card.getByTestId('spotify-status').filter({ hasText: 'linked as Ana S' }).waitFor();
  assert.ok(fake.requests.some((r) => r.startsWith('GET /authorize?')), 'the browser went to the consent page');

  // Import the playlist into the library and the room's fallback.
  const source = card.getByTestId('spotify-import-source');
  await source.locator('option', { hasText: 'Party Classics (60 tracks)' }).waitFor({ state: 'attached' });
  await source.selectOption({ label: 'Party Classics (60 tracks)' });
  await card.getByTestId('spotify-import-fallback').check();
  await card.getByTestId('spotify-import').click();
  const status = card.getByTestId('spotify-import-status');
  await card.locator('[data-testid="spotify-import-status"][data-status="done"]').waitFor({ timeout: 20_000 });
  const said = await status.textContent();
  assert.match(said, /Imported 60 tracks into the library/);
  assert.match(said, /60 tracks now play here when the queue is empty/);
  const progress = await card.getByTestId('spotify-import-progress').evaluate((p) => [p.value, p.max]);
  assert.deepEqual(progress, [60, 60]);
  await card.scrollIntoViewIfNeeded();
  await card.screenshot({ path: join(SHOTS, 'music-services-phone.png') });

  // The fallback plays at once; search shows where tracks come from.
  await page.getByTestId('now-title').filter({ hasText: 'Classic 1' }).waitFor();
  await page.getByTestId('search-input').fill('Classic 7');
  const hit = page.getByTestId('search-result').filter({ hasText: 'Classic 7' }).first();
  await hit.waitFor();
  assert.equal(await hit.getByTestId('track-source').textContent(), 'Spotify');

  // The music goes to the account's Spotify device.
  const choice = page.getByTestId('speaker-choice');
  await choice.locator('option', { hasText: "Spotify: Ana S's speaker" }).waitFor({ state: 'attached' });
  await choice.selectOption({ label: "Spotify: Ana S's speaker" });
  const played = async (n) => {
    for (let i = 0; i < 100 && fake.plays.length < n; i++) await new Promise((ok) => setTimeout(ok, 100));
    assert.ok(fake.plays.length >= n, `plays: ${JSON.stringify(fake.plays)}`);
  };
  await played(1);
  assert.equal(fake.plays[0].device, 'dev-ana.spotify');

  // Spotify refuses the next hand-off: the host reads why, the party goes on.
  fake.fail('/me/player/play', 403, { error: { status: 403, message: 'Player command failed: Premium required', reason: 'PREMIUM_REQUIRED' } }, 1);
  await page.getByTestId('skip').click();
  await page.getByTestId('notice').filter({ hasText: "Spotify could not play on Ana S's speaker: Playing on a Spotify device needs Spotify Premium." }).waitFor();
  await page.getByTestId('now-title').filter({ hasText: 'Classic 2' }).waitFor();

  // Save what plays and what waits as a playlist.
  const guest = await connect(server.url, (await (await fetch(`${server.url}/api/rooms/${code}/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Gus' }) })).json()).token).ready;
  await guest.ok('queue:add', { track_id: spotifyTrackId(10) });
  // The export's answer comes late, after the job has ended and the feed
  // has told: the app must still show the end (it once waited forever).
  await page.route('**/exports', async (route) => {
    const answer = await route.fetch();
    await new Promise((ok) => setTimeout(ok, 1500));
    await route.fulfill({ response: answer });
  });
  await card.getByTestId('spotify-export-source').selectOption('queue');
  await card.getByTestId('spotify-export-name').fill('Night one');
  await card.getByTestId('spotify-export').click();
  await card.locator('[data-testid="spotify-export-status"][data-status="done"]').waitFor({ timeout: 20_000 });
  assert.match(await card.getByTestId('spotify-export-status').textContent(), /Saved 2 tracks to “Night one”/);
  assert.equal(fake.created.length, 1);
  assert.equal(fake.created[0].name, 'Night one');
  assert.equal(fake.created[0].uris.length, 2);

  // Unlink: the import and export controls go away.
  await card.getByTestId('spotify-unlink').click();
  await card.getByTestId('spotify-status').filter({ hasText: 'not linked' }).waitFor();
  assert.ok(await card.getByTestId('spotify-import').isHidden());
  guest.socket.close();
});

test('a server without a Spotify app says so instead of offering a link', async () => {
  const plain = await startServer();
  try {
    const page = await (await browser.newContext(PHONE)).newPage();
    await page.goto(`${plain.url}/`);
    await page.getByTestId('room-name').fill('No Spotify');
    await page.getByTestId('host-name').fill('Hana');
    await page.getByTestId('create-room').click();
    await page.waitForURL(/\/room\/[A-Z0-9]{6}$/);
    await page.getByTestId('spotify-unconfigured').waitFor();
    assert.ok(await page.getByTestId('account-form').isHidden());
    assert.ok(await page.getByTestId('spotify-link').isHidden());
  } finally {
    assert.equal(await plain.stop(), 0);
  }
});
