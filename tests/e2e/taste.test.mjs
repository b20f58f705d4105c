// The taste profile page (/me/taste, protocol.md §3.15) in Debian's
// Chromium against a real server: someone with an account hosts a party
// and adds two tracks; on /me/taste (found from /venues) they see what a
// venue's autopilot knows — the tracks, the artist, the genre —, turn it
// off (it stays off after a reload) and delete it behind a confirmation,
// leaving the empty profile "counting from" today. Signed out, the page
// shows the sign-in gate and, once signed in, an empty profile.
// Screenshots at 1280 and 360 px wide land in target/e2e-screenshots/
// taste-*.png (and in $TASTE_SHOTS when set) — look at them.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { connect, launchChromium, SHOTS, startServer } from './server.mjs';

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PASSWORD = 'violet kettle 42 orbit';
/** Extra copies of the screenshots, e.g. /tmp/somewhere. */
const EXTRA_SHOTS = process.env.TASTE_SHOTS;

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

async function call(method, path, token, body) {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function account(username) {
  const made = await call('POST', '/api/accounts', null, { username, password: PASSWORD });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return made.body;
}

/** The profile once it counts `n` tracks (activities are recorded in the background). */
async function tasteWith(token, n) {
  for (let i = 0; i < 100; i++) {
    const got = await call('GET', '/api/me/taste', token);
    assert.equal(got.status, 200);
    if (got.body.taste.tracks >= n) return got.body.taste;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail(`the taste profile never reached ${n} tracks`);
}

/** A page that is signed in as `token` the way the app remembers it. */
async function signedInPage(options, token) {
  const context = await browser.newContext(options);
  await context.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), token);
  return { context, page: await context.newPage() };
}

async function shoot(page, name) {
  const path = `${SHOTS}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  if (EXTRA_SHOTS) {
    mkdirSync(EXTRA_SHOTS, { recursive: true });
    copyFileSync(path, `${EXTRA_SHOTS}/${name}.png`);
  }
}

/** Everything fits the viewport's width, and every control takes a thumb. */
async function checkLayout(page, label) {
  const problems = await page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page is ${document.documentElement.scrollWidth}px wide`);
    for (const el of document.querySelectorAll('main button, main a, main input')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue; // hidden
      if (r.right > window.innerWidth + 1) out.push(`${el.outerHTML.slice(0, 80)} sticks out`);
      if (r.height < 44) out.push(`${el.outerHTML.slice(0, 80)} is ${Math.round(r.height)}px tall`);
    }
    return out;
  });
  assert.deepEqual(problems, [], `${label}: ${problems.join('; ')}`);
}

test('a party guest sees their taste profile, turns it off and deletes it', async () => {
  // --- a party with two added tracks -------------------------------------
  const me = await account('taste.owner');
  const room = await call('POST', '/api/rooms', null, { name: 'Taste party', host_name: 'Tia', account_token: me.token });
  assert.equal(room.status, 201, JSON.stringify(room.body));
  const host = await connect(server.url, room.body.token).ready;
  const ids = ['demo-0004', 'demo-0903'];
  for (const id of ids) await host.ok('queue:add', { track_id: id });
  host.socket.close();
  const tracks = await Promise.all(ids.map(async (id) => (await call('GET', `/api/tracks/${id}`)).body.track));
  const artists = [...new Set(tracks.flatMap((t) => t.artists.map((a) => a.toLowerCase())))];
  const genres = [...new Set(tracks.flatMap((t) => t.genres.map((g) => g.toLowerCase())))];
  const before = await tasteWith(me.token, 2);
  assert.equal(before.tracks, 2);
  assert.equal(before.enabled, true);

  // --- found from /venues ------------------------------------------------
  const { context, page } = await signedInPage(DESKTOP, me.token);
  await page.goto(`${server.url}/venues`);
  await page.getByTestId('account-name').filter({ hasText: 'taste.owner' }).waitFor();
  await page.getByTestId('taste-link').click();
  await page.waitForURL(`${server.url}/me/taste`);
  assert.equal(await page.title(), 'Your taste profile · crowdjuke');

  // --- the profile -------------------------------------------------------
  await page.getByTestId('taste-tracks').filter({ hasText: '2 tracks' }).waitFor();
  assert.match(await page.getByTestId('taste-intro').innerText(), /autopilot picks music for the guests there/);
  assert.equal(await page.getByTestId('account-form').isVisible(), false);
  assert.equal(await page.getByTestId('taste-empty').isVisible(), false);
  assert.equal(await page.getByTestId('taste-since').isVisible(), false, 'never deleted: no "counting from"');
  const named = (testid) => page.getByTestId(testid).evaluateAll((rows) => rows.map((r) => r.dataset.name).sort());
  assert.deepEqual(await named('taste-artist'), [...artists].sort());
  assert.deepEqual(await named('taste-genre'), [...genres].sort());
  await page.getByTestId('taste-artist').filter({ hasText: artists[0] }).waitFor();
  assert.equal(await page.getByTestId('taste-enabled').getAttribute('aria-checked'), 'true');
  assert.equal(await page.getByTestId('taste-state').textContent(), 'On');
  await checkLayout(page, 'desktop');
  await shoot(page, 'taste-desktop');

  // The same on a phone, found from /venues too.
  const phone = await signedInPage(PHONE, me.token);
  await phone.page.goto(`${server.url}/venues`);
  const link = phone.page.getByTestId('taste-link');
  await link.waitFor();
  const box = await link.boundingBox();
  assert.ok(box.height >= 44 && box.x + box.width <= 361, `the link takes a thumb and fits: ${JSON.stringify(box)}`);
  await shoot(phone.page, 'taste-venues-phone');
  await phone.page.goto(`${server.url}/me/taste`);
  await phone.page.getByTestId('taste-tracks').filter({ hasText: '2 tracks' }).waitFor();
  await checkLayout(phone.page, 'phone');
  await shoot(phone.page, 'taste-phone');

  // --- turned off --------------------------------------------------------
  await page.getByTestId('taste-enabled').click();
  await page.getByTestId('taste-status').filter({ hasText: 'Turned off' }).waitFor();
  assert.equal(await page.getByTestId('taste-enabled').getAttribute('aria-checked'), 'false');
  const off = await call('GET', '/api/me/taste', me.token);
  assert.equal(off.body.taste.enabled, false);
  assert.equal(off.body.taste.tracks, 2, 'turned off, it is still kept');
  await page.reload();
  await page.getByTestId('taste-tracks').filter({ hasText: '2 tracks' }).waitFor();
  assert.equal(await page.getByTestId('taste-enabled').getAttribute('aria-checked'), 'false', 'still off after a reload');
  assert.equal(await page.getByTestId('taste-state').textContent(), 'Off');
  await shoot(page, 'taste-desktop-off');

  // --- deleted, after a confirmation ------------------------------------
  await page.getByTestId('taste-delete').click();
  const confirm = page.getByTestId('taste-delete-confirm');
  await confirm.waitFor();
  assert.match(await confirm.innerText(), /2 tracks/);
  await page.getByTestId('taste-delete-confirm-no').click();
  await confirm.waitFor({ state: 'hidden' });
  assert.equal((await call('GET', '/api/me/taste', me.token)).body.taste.tracks, 2, 'Keep keeps it');

  await phone.page.getByTestId('taste-delete').click();
  await phone.page.getByTestId('taste-delete-confirm').waitFor();
  await shoot(phone.page, 'taste-phone-confirm');
  await phone.context.close();

  await page.getByTestId('taste-delete').click();
  await page.getByTestId('taste-delete-confirm-yes').click();
  await page.getByTestId('taste-empty').waitFor();
  await confirm.waitFor({ state: 'hidden' });
  await page.getByTestId('taste-delete-status').filter({ hasText: 'Deleted' }).waitFor();
  assert.equal(await page.getByTestId('taste-tracks').isVisible(), false, 'the empty state says it');
  await page.getByTestId('taste-since').filter({ hasText: 'Counting from' }).waitFor();
  assert.equal(await page.getByTestId('taste-artist').count(), 0);
  assert.equal(await page.getByTestId('taste-delete').isDisabled(), true, 'nothing left to delete');
  const gone = await call('GET', '/api/me/taste', me.token);
  assert.equal(gone.body.taste.tracks, 0);
  assert.deepEqual(gone.body.taste.artists, []);
  assert.equal(typeof gone.body.taste.since, 'number');
  const shown = await page.getByTestId('taste-since').innerText();
  const today = await page.evaluate((ms) => new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' }), gone.body.taste.since);
  assert.ok(shown.includes(today), `${shown} names ${today}`);
  await shoot(page, 'taste-desktop-deleted');
  await context.close();
});

test('signed out, /me/taste asks for an account first', async () => {
  await account('taste.newcomer');
  assert.equal((await call('GET', '/api/me/taste', null)).status, 401, 'no token, no profile');
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${server.url}/me/taste`);
  await page.getByTestId('account-form').waitFor();
  assert.equal(await page.getByTestId('taste-profile').isVisible(), false);
  assert.equal(await page.getByTestId('taste-settings').isVisible(), false);
  await checkLayout(page, 'phone, signed out');
  await shoot(page, 'taste-phone-signed-out');

  // Signs in through the gate: an account with no tracks has an empty profile.
  await page.getByTestId('account-username').fill('taste.newcomer');
  await page.getByTestId('account-password').fill(PASSWORD);
  await page.getByTestId('account-sign-in').click();
  await page.getByTestId('account-name').filter({ hasText: 'taste.newcomer' }).waitFor();
  await page.getByTestId('taste-empty').filter({ hasText: 'Nothing here yet' }).waitFor();
  assert.equal(await page.getByTestId('taste-since').isVisible(), false);
  assert.equal(await page.getByTestId('taste-enabled').getAttribute('aria-checked'), 'true');
  assert.equal(await page.evaluate(() => localStorage.getItem('crowdjuke:account')) !== null, true, 'signed in on this device');
  await checkLayout(page, 'phone, empty');
  await shoot(page, 'taste-phone-empty');

  // Signing out hides the profile again.
  await page.getByTestId('account-sign-out').click();
  await page.getByTestId('account-form').waitFor();
  assert.equal(await page.getByTestId('taste-profile').isVisible(), false);
  await context.close();
});
