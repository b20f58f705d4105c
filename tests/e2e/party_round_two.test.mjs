// Issue 21 items that need the server: the big screen is a screen, not a
// person (not among the people, not counted, removed for good by the host);
// search gives the true count and pages; the playing track cannot be queued
// again; the join page names the room and says a wrong code at once; home
// leads back to the party. Real server, Debian's Chromium.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, connect, launchChromium, SHOTS, startServer, waitUntil } from './server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const TV = { viewport: { width: 1920, height: 1080 } };

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0);
});

async function room(name) {
  const created = await api(server.url, 'POST', '/api/rooms', { name, host_name: 'Hana' });
  assert.equal(created.status, 201);
  return { code: created.body.room.code, token: created.body.token, id: created.body.member.id };
}

/** A phone showing the room page with this member token. */
async function open(code, token) {
  const context = await browser.newContext(PHONE);
  await context.addInitScript(([c, t]) => localStorage.setItem(`crowdjuke:token:${c}`, t), [code, token]);
  const page = await context.newPage();
  await page.goto(`${server.url}/room/${code}`);
  await page.locator('#queue').waitFor();
  return page;
}

test('the big screen is a screen: not among the people nor counted, a speaker choice, and removed for good', async () => {
  const { code, token } = await room('Screens');
  const host = await open(code, token);
  const tvContext = await browser.newContext(TV);
  const tv = await tvContext.newPage();
  await tv.goto(`${server.url}/display/${code}`);
  await tv.getByTestId('room-name').filter({ hasText: 'Screens' }).waitFor();

  // Host tools list it under Screens, online; People do not.
  const screen = host.getByTestId('screen');
  await screen.filter({ hasText: 'Big screen' }).waitFor();
  await waitUntil(host, () => !document.querySelector('[data-testid="screen"]')?.classList.contains('offline'));
  const people = await host.getByTestId('member').allInnerTexts();
  assert.equal(people.length, 1, `only the host is a person: ${people}`);
  assert.match(await host.getByTestId('online-count').innerText(), /\(1 here\)/);
  const choice = host.getByTestId('speaker-choice');
  await choice.locator('option', { hasText: 'The big screen' }).waitFor({ state: 'attached' });

  // Opening it again on the same TV is the same screen, not a second one.
  await tv.reload();
  await tv.getByTestId('room-name').filter({ hasText: 'Screens' }).waitFor();
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  assert.equal((await hostClient.ok('room:sync', {})).screens.length, 1);

  // The host removes it: the TV says so and stays off.
  await host.getByTestId('remove-screen').click();
  await tv.getByTestId('notice').filter({ hasText: 'removed this screen' }).waitFor();
  await host.getByTestId('screen').waitFor({ state: 'detached' });
  await tv.waitForTimeout(6000); // longer than the old display's automatic return (5 s)
  assert.equal((await hostClient.ok('room:sync', {})).screens.length, 0, 'it did not come back by itself');
  // Someone at the TV opens it again on purpose.
  await tv.getByTestId('reopen-screen').click();
  await tv.getByTestId('notice').waitFor({ state: 'hidden' });
  await screen.filter({ hasText: 'Big screen' }).waitFor();
  hostClient.socket.disconnect();
  await tvContext.close();
  await host.context().close();
});

test('search gives the true count and shows more; the playing track is shown as playing, not offered', async () => {
  const { code, token } = await room('Search');
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  const page = await open(code, token);
  const input = page.getByTestId('search-input');
  // A word many demo tracks share: more than one page.
  const total = (await api(server.url, 'GET', '/api/tracks?q=the&limit=1')).body.total;
  assert.ok(total > 20, `enough matches for two pages: ${total}`);
  await input.fill('the');
  const status = page.getByTestId('search-status');
  await status.filter({ hasText: `${total} tracks found, showing 20.` }).waitFor();
  assert.equal(await page.getByTestId('search-result').count(), 20);
  await page.getByTestId('more-results').click();
  const shown = Math.min(total, 40);
  await waitUntil(page, (n) => document.querySelectorAll('[data-testid="search-result"]').length === n, shown);
  if (total <= 40) await page.getByTestId('more-results').waitFor({ state: 'hidden' });

  // The track playing now: "Playing", not "Add"; the server refuses it too.
  const first = await page.getByTestId('search-result').first().getAttribute('data-track-id');
  await hostClient.ok('queue:add', { track_id: first });
  const result = page.locator(`[data-testid="search-result"][data-track-id="${first}"]`);
  await result.getByTestId('add-button').filter({ hasText: 'Playing' }).waitFor();
  assert.equal(await result.getByTestId('add-button').isDisabled(), true);
  assert.equal(await result.getByTestId('rule-problem').innerText(), 'Playing now.');
  const refused = await hostClient.ack('queue:add', { track_id: first });
  assert.equal(refused.error.code, 'already_playing');
  hostClient.socket.disconnect();
  await page.context().close();
});

test('the join page names the room, a wrong code is told before a name is typed, and home leads back', async () => {
  const { code, token } = await room('Friday at Bea’s');
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${server.url}/join/${code}`);
  await page.getByTestId('join-room-name').filter({ hasText: 'Join “Friday at Bea’s”' }).waitFor();
  await page.getByTestId('join-meta').filter({ hasText: '1 person here' }).waitFor();

  await page.goto(`${server.url}/join/ZZZZZZ`);
  await page.getByTestId('join-missing').filter({ hasText: 'There is no room with the code ZZZZZZ' }).waitFor();
  assert.equal(await page.getByTestId('join-name').isVisible(), false, 'no name asked for a room that does not exist');

  await page.goto(`${server.url}/join/${code}`);
  await page.getByTestId('join-name').fill('Gus');
  await page.getByTestId('join-submit').click();
  await page.waitForURL(`**/room/${code}`);
  await page.getByTestId('room-name').filter({ hasText: 'Friday at Bea’s' }).waitFor();
  await page.goto(`${server.url}/`);
  const back = page.getByTestId('back-to-room');
  await back.filter({ hasText: 'Back to “Friday at Bea’s”' }).click();
  await page.waitForURL(`**/room/${code}`);
  await page.getByTestId('search-input').waitFor();
  hostClient.socket.disconnect();
  await context.close();
});
