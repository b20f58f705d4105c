// The web app in a real browser: Debian's Chromium driven by playwright-core
// (no browser download). A host creates a room, two guests join on their
// phones, add and vote; every screen shows the same order; a guest's photo
// reaches the big screen; a guest kicked by the host is told. Screenshots at
// phone and TV size land in target/e2e-screenshots/ — look at them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, png, SHOTS, startServer, waitUntil } from './server.mjs';

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


/** The track ids of the waiting queue, in the order the page shows them. */
const queueOrder = (page) =>
  page.getByTestId('queue').getByTestId('entry').evaluateAll((entries) => entries.map((e) => e.dataset.trackId));

async function join(code, name) {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${server.url}/join/${code}`);
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-submit').click();
  await page.waitForURL(`**/room/${code}`);
  await page.getByTestId('search-input').waitFor();
  return page;
}

/** Searches like a guest typing, then adds the result with this track id. */
async function add(page, trackId) {
  const track = await (await fetch(`${server.url}/api/tracks/${trackId}`)).json();
  await page.getByTestId('search-input').fill(track.track.title);
  const result = page.locator(`[data-testid="search-result"][data-track-id="${trackId}"]`);
  await result.getByTestId('add-button').click();
}

test('a host, two guests and the big screen share one party', async () => {
  const hostContext = await browser.newContext(PHONE);
  const host = await hostContext.newPage();
  await host.goto(`${server.url}/`);
  await host.getByTestId('room-name').fill('Web party');
  await host.getByTestId('host-name').fill('Hana');
  await host.getByTestId('create-room').click();
  await host.waitForURL(/\/room\/[A-Z0-9]{6}$/);
  const code = host.url().split('/').pop();
  await host.getByTestId('host-tools').waitFor();

  const ann = await join(code, 'Ann');
  const bob = await join(code, 'Bob');
  const tvContext = await browser.newContext(TV);
  const tv = await tvContext.newPage();
  await tv.goto(`${server.url}/display/${code}`);
  await tv.getByTestId('qr').waitFor();

  // The first track starts playing; the next three wait in the queue.
  await add(ann, 'demo-0001');
  await ann.getByTestId('now-title').filter({ hasText: /\S/ }).waitFor();
  for (const id of ['demo-0002', 'demo-0003', 'demo-0004']) {
    await add(ann, id);
    await ann.locator(`[data-testid="queue"] [data-track-id="${id}"]`).waitFor();
  }
  // Bob and the host push the last one to the top.
  const last = (page) => page.locator('[data-testid="queue"] [data-testid="entry"][data-track-id="demo-0004"]');
  await last(bob).getByTestId('upvote').click();
  await last(host).getByTestId('upvote').click();
  const expected = ['demo-0004', 'demo-0002', 'demo-0003'];
  for (const page of [host, ann, bob]) {
    await waitUntil(page,
      (want) =>
        [...document.querySelectorAll('[data-testid="queue"] [data-testid="entry"]')].map((e) => e.dataset.trackId).join() === want,
      expected.join(),
    );
    assert.deepEqual(await queueOrder(page), expected);
  }
  assert.equal(await last(bob).getAttribute('data-my-vote'), '1');

  // A guest's photo reaches the big screen.
  await ann.getByTestId('photo-input').setInputFiles({ name: 'party.png', mimeType: 'image/png', buffer: png(480, 360) });
  await tv.getByTestId('photo-wall').getByTestId('photo').first().waitFor({ timeout: 15_000 });
  await host.getByTestId('photo-wall').getByTestId('photo').first().waitFor();
  await waitUntil(tv, () => [...document.images].every((img) => img.complete));

  await host.screenshot({ path: `${SHOTS}/host-phone.png`, fullPage: true });
  await ann.screenshot({ path: `${SHOTS}/guest-phone.png` });
  await tv.screenshot({ path: `${SHOTS}/display-tv.png` });

  // The host kicks Bob (confirmed, then sent once the 5 s undo passed): his phone says so.
  const bobRow = host.locator('[data-testid="member"]', { hasText: 'Bob' });
  await bobRow.getByTestId('kick').click();
  await bobRow.locator('[data-testid="member-confirm"][data-armed="true"]').waitFor();
  await bobRow.getByTestId('kick-confirm').click();
  await bob.getByTestId('ended').waitFor({ state: 'visible' });
  const told = await bob.locator('[data-testid="notice"], [data-testid="ended"]').allInnerTexts();
  assert.match(told.join(' '), /removed from this room/i, 'Bob is told he was removed');
  await bob.screenshot({ path: `${SHOTS}/kicked-phone.png` });

  // No horizontal scrolling on a small phone.
  await ann.setViewportSize({ width: 360, height: 740 });
  const overflow = await ann.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'the page fits 360 px');
});

test('a wrong code gets a clear message', async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${server.url}/join/ZZZZZZ`);
  // Said before any name is asked (the join page looks the code up first).
  const missing = page.getByTestId('join-missing');
  await missing.filter({ hasText: /no room with the code ZZZZZZ/i }).waitFor();
  assert.equal(await missing.getByRole('alert').count(), 1, 'announced');
  assert.equal(await page.getByTestId('join-name').isVisible(), false);
  await context.close();
});
