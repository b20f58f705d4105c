// A venue's dashboard (/venues/{id}/dashboard), in Debian's Chromium
// against a real server, following the owner's story: the owner opens a
// venue and a zone and prints its table cards; a guest scans in (the join
// link) and asks for a track; a staff member approves it in the zone; it
// plays and the staff skip it; then the owner opens the dashboard from the
// venue page and finds the play, the approved request and the guest. Also:
// a refused range says why, the tracks' CSV downloads with the track in
// it, and the staff member is told the dashboard is not for their role.
// Screenshots at 1280 and 360 px wide land in target/e2e-screenshots/
// dashboard-*.png (and in $DASHBOARD_SHOTS when set) — look at them.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { api, launchChromium, SHOTS, startServer, waitUntil } from './server.mjs';

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PASSWORD = 'violet kettle 42 orbit';
/** Extra copies of the screenshots, e.g. /tmp/somewhere. */
const EXTRA_SHOTS = process.env.DASHBOARD_SHOTS;

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

/** Library tracks with words no demo track has, so a search finds them alone. */
const TRACKS = [
  { id: 'brasswick-1', title: 'Brasswick Tidal Polka', artist: 'Copper Gulls', genre: 'folk' },
  { id: 'brasswick-2', title: 'Brasswick Tidal Shanty', artist: 'Copper Gulls', genre: 'folk' },
];

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

/** Until the search index has the uploaded tracks (it is fed in the background, §8.6). */
async function searchable(q, n) {
  for (let i = 0; i < 100; i++) {
    const found = await api(server.url, 'GET', `/api/tracks?q=${encodeURIComponent(q)}`);
    if (found.body.tracks.length >= n) return;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail(`the search never found ${n} tracks for ${q}`);
}

/** Everything under `root` fits the viewport's width, and every control takes a thumb. */
async function checkLayout(page, label, root = 'body') {
  const problems = await page.evaluate((sel) => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page is ${document.documentElement.scrollWidth}px wide`);
    for (const el of document.querySelector(sel).querySelectorAll('button, a.button, input, select, summary')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue; // hidden
      if (r.right > window.innerWidth + 1) out.push(`${el.outerHTML.slice(0, 80)} sticks out`);
      if (r.height < 44 && !el.matches('input[type=checkbox], .notice-close')) out.push(`${el.outerHTML.slice(0, 80)} is ${Math.round(r.height)}px tall`);
      if (el.matches('input, select') && !el.labels?.length && !el.getAttribute('aria-label')) out.push(`${el.outerHTML.slice(0, 80)} has no label`);
    }
    return out;
  }, root);
  assert.deepEqual(problems, [], `${label}: ${problems.join('; ')}`);
}

async function shot(page, name, options = {}) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, ...options });
  if (EXTRA_SHOTS) {
    mkdirSync(EXTRA_SHOTS, { recursive: true });
    await page.screenshot({ path: `${EXTRA_SHOTS}/${name}.png`, ...options });
  }
}

/** Events are recorded just after the room's commit: Apply again until the tiles show them. */
async function applyUntil(page, what, ok, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const totals = await page.evaluate(() =>
      Object.fromEntries([...document.querySelectorAll('[data-testid^="total-"]')].map((el) => [el.dataset.testid.slice(6), el.textContent])),
    );
    if (ok(totals)) return totals;
    if (Date.now() > deadline) assert.fail(`the dashboard never showed ${what}: ${JSON.stringify(totals)}`);
    await new Promise((done) => setTimeout(done, 300));
    await page.getByTestId('dashboard-apply').click();
    await waitUntil(page, () => !document.querySelector('[data-testid="dashboard-apply"]').disabled);
  }
}

test('the owner’s dashboard shows a guest’s approved request that played', async () => {
  // --- a venue, a zone, a catalogue and a staff member ---------------------
  const owner = await account('brasswick.owner');
  const venue = await call('POST', '/api/venues', owner.token, { name: 'The Brasswick Arms', time_zone: 'UTC' });
  assert.equal(venue.status, 201);
  const venueId = venue.body.venue.id;
  const zoneMade = await call('POST', `/api/venues/${venueId}/zones`, owner.token, { name: 'Snug' });
  assert.equal(zoneMade.status, 201);
  const { code, room_id: roomId } = zoneMade.body.zone;
  const hostToken = zoneMade.body.token;
  const csv = ['id,title,artist,genre,duration', ...TRACKS.map((t) => `${t.id},${t.title},${t.artist},${t.genre},3:30`)].join('\n');
  const uploaded = await fetch(`${server.url}/api/library/tracks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'text/csv' },
    body: csv,
  });
  assert.equal(uploaded.status, 200);
  assert.equal((await call('POST', `/api/venues/${venueId}/catalogue`, owner.token, { track_ids: TRACKS.map((t) => t.id) })).status, 200);
  await searchable('Brasswick Tidal', 2);
  // Guests' requests wait for the staff (the schedule's defaults).
  const schedule = await call('PUT', `/api/venues/${venueId}/zones/${roomId}/schedule`, owner.token, { defaults: { approval: true }, day_parts: [] });
  assert.equal(schedule.status, 200, JSON.stringify(schedule.body));
  const staff = await account('snug.hand');
  const invitation = await call('POST', `/api/venues/${venueId}/invitations`, owner.token, { role: 'staff' });
  assert.equal((await call('POST', `/api/invitations/${invitation.body.invitation.id}/accept`, staff.token)).status, 200);

  // Nothing yet: the dashboard answers zeros over the default 30 days.
  const empty = await call('GET', `/api/venues/${venueId}/analytics`, owner.token);
  assert.equal(empty.status, 200);
  assert.equal(empty.body.totals.plays, 0);

  // --- the owner prints the zone's table cards -----------------------------
  const ownerContext = await browser.newContext(DESKTOP);
  await ownerContext.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), owner.token);
  const ownerPage = await ownerContext.newPage();
  await ownerPage.goto(`${server.url}/venues/${venueId}`);
  const zone = ownerPage.getByTestId('zone').filter({ hasText: 'Snug' });
  await zone.getByTestId('zone-cards').click();
  const preview = zone.getByTestId('cards-preview');
  await preview.waitFor();
  const svg = await preview.evaluate(async (img) => (await fetch(img.src)).text());
  assert.ok(svg.includes(code), 'the cards show the zone’s code');
  const joinLink = await zone.getByTestId('zone-join-link').textContent();
  assert.ok(joinLink.endsWith(`/join/${code}`), joinLink);

  // --- the staff member opens the zone (co-host) ---------------------------
  const staffContext = await browser.newContext(PHONE);
  await staffContext.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), staff.token);
  const staffPage = await staffContext.newPage();
  await staffPage.goto(`${server.url}/venues/${venueId}`);
  assert.equal(await staffPage.getByTestId('venue-dashboard-link').isVisible(), false, 'staff get no dashboard link');
  await staffPage.getByTestId('zone-open').first().click();
  await staffPage.waitForURL(`${server.url}/room/${code}`);
  await staffPage.getByTestId('me').filter({ hasText: '(co-host)' }).waitFor();
  const requestsCard = staffPage.getByTestId('requests');

  // --- a guest scans the card (its join link) and asks for a track --------
  const guestContext = await browser.newContext(PHONE);
  const guest = await guestContext.newPage();
  await guest.goto(`${server.url}/join/${code}`);
  await guest.getByTestId('join-name').fill('Bea');
  await guest.getByTestId('join-submit').click();
  await guest.waitForURL(`${server.url}/room/${code}`);
  await guest.getByTestId('search-input').fill('Brasswick Tidal');
  const result = guest.locator('[data-testid="search-result"][data-track-id="brasswick-1"]');
  await result.getByTestId('add-button').filter({ hasText: 'Request' }).click();
  await guest.getByTestId('notice').filter({ hasText: 'Sent to the staff for approval' }).waitFor();

  // --- the staff approve it: it plays, then they skip it -------------------
  const asked = requestsCard.locator('[data-testid="request"][data-track-id="brasswick-1"]');
  await asked.getByTestId('request-who').filter({ hasText: 'Asked by Bea' }).waitFor();
  await asked.getByTestId('request-approve').click();
  await staffPage.getByTestId('notice').filter({ hasText: 'Approved “Brasswick Tidal Polka”' }).waitFor();
  await staffPage.getByTestId('now-title').filter({ hasText: 'Brasswick Tidal Polka' }).waitFor();
  await guest.getByTestId('now-title').filter({ hasText: 'Brasswick Tidal Polka' }).waitFor();
  await staffPage.getByTestId('skip').click(); // waits 5 s for an undo, then skips
  await staffPage.getByTestId('notice').filter({ hasText: 'Skipped “Brasswick Tidal Polka”' }).waitFor({ timeout: 15_000 });

  // --- the owner's dashboard, from the venue page --------------------------
  const link = ownerPage.getByTestId('venue-dashboard-link');
  await ownerPage.evaluate(() => window.scrollTo(0, 0));
  await ownerPage.locator('header.venue-header').screenshot({ path: `${SHOTS}/dashboard-venue-link-1280.png` });
  await link.click();
  await ownerPage.waitForURL(`${server.url}/venues/${venueId}/dashboard`);
  await ownerPage.getByTestId('dashboard-title').filter({ hasText: 'The Brasswick Arms' }).waitFor();
  // The server's default range fills the dates.
  await waitUntil(ownerPage, () => document.querySelector('[data-testid="dashboard-from"]').value !== '');
  assert.equal(await ownerPage.getByTestId('dashboard-from').inputValue(), empty.body.from);
  assert.equal(await ownerPage.getByTestId('dashboard-to').inputValue(), empty.body.to);
  const totals = await applyUntil(ownerPage, 'the play, the request and the guest', (t) => t.plays === '1' && t['requests-approved'] === '1' && Number(t.guests) >= 1);
  assert.equal(totals.skips, '1', 'the staff skipped it');
  assert.equal(totals['skip-rate'], '100 %');
  const row = ownerPage.locator('[data-testid="top-track"][data-track-id="brasswick-1"]');
  await row.filter({ hasText: 'Brasswick Tidal Polka' }).waitFor();
  assert.deepEqual(
    await row.evaluate((tr) => [...tr.cells].map((td) => td.firstChild.textContent)),
    ['Brasswick Tidal Polka', 'Copper Gulls', '1', '1', '100 %', '1 / 0'],
    'title, artist, plays, skips, skip rate, votes (the guest’s own up-vote)',
  );
  await ownerPage.getByTestId('top-artist').filter({ hasText: 'Copper Gulls' }).waitFor();
  assert.equal(await ownerPage.getByTestId('genres-empty').isVisible(), false, 'the genres’ chart has a bar');
  // The charts are drawn (Chart.js, its own bundle).
  await waitUntil(ownerPage, () => window.crowdjukeCharts && [...document.querySelectorAll('canvas')].every((c) => c.width > 0 && c.getAttribute('aria-label')));
  assert.match(await ownerPage.getByTestId('chart-days').getAttribute('aria-label'), /1 plays/);

  // One zone: the same figures (it is the only one).
  await ownerPage.getByTestId('dashboard-zone').selectOption(roomId);
  await ownerPage.getByTestId('dashboard-apply').click();
  await ownerPage.waitForURL((url) => url.searchParams.get('zone') === roomId);
  await ownerPage.getByTestId('dashboard-meta').filter({ hasText: 'Snug' }).waitFor();
  assert.equal(await ownerPage.getByTestId('total-plays').textContent(), '1');

  await checkLayout(ownerPage, 'dashboard at 1280 px', 'main');
  await shot(ownerPage, 'dashboard-1280', { fullPage: true });

  // --- the tracks as CSV: fetched with the token, saved from a Blob --------
  const [download] = await Promise.all([ownerPage.waitForEvent('download'), ownerPage.getByTestId('export-tracks').click()]);
  assert.match(download.suggestedFilename(), /^tracks-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const file = readFileSync(await download.path(), 'utf8');
  assert.match(file, /^track_id,title,artist,plays,skips,skip_rate,votes_up,votes_down/);
  assert.ok(file.includes('Brasswick Tidal Polka'), file);
  const [days] = await Promise.all([ownerPage.waitForEvent('download'), ownerPage.getByTestId('export-days').click()]);
  assert.match(readFileSync(await days.path(), 'utf8'), /^day,plays,skips/);

  // --- a range the server refuses: its reason, in place ---------------------
  const shown = { from: await ownerPage.getByTestId('dashboard-from').inputValue(), to: await ownerPage.getByTestId('dashboard-to').inputValue() };
  await ownerPage.getByTestId('dashboard-from').fill(shown.to);
  await ownerPage.getByTestId('dashboard-to').fill(shown.from);
  await ownerPage.getByTestId('dashboard-apply').click();
  await ownerPage.getByTestId('dashboard-error').filter({ hasText: 'from is after to' }).waitFor();
  assert.equal(await ownerPage.getByTestId('total-plays').textContent(), '1', 'the last figures stay');
  await ownerPage.getByTestId('dashboard-filters').screenshot({ path: `${SHOTS}/dashboard-error-1280.png` });

  // --- the same dashboard on a phone -----------------------------------------
  const phoneContext = await browser.newContext(PHONE);
  await phoneContext.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), owner.token);
  const phone = await phoneContext.newPage();
  await phone.goto(`${server.url}/venues/${venueId}/dashboard`);
  await phone.getByTestId('total-plays').filter({ hasText: '1' }).waitFor();
  await phone.locator('[data-testid="top-track"][data-track-id="brasswick-1"]').waitFor();
  await waitUntil(phone, () => window.crowdjukeCharts && [...document.querySelectorAll('canvas')].every((c) => c.width > 0));
  await checkLayout(phone, 'dashboard at 360 px', 'main');
  await shot(phone, 'dashboard-360', { fullPage: true });
  await phone.getByTestId('dashboard-tracks').screenshot({ path: `${SHOTS}/dashboard-tracks-360.png` });
  assert.equal(await phone.getByTestId('top-tracks').evaluate((t) => t.parentElement.scrollWidth <= t.parentElement.clientWidth), true, 'the top tracks fit a phone');

  // --- not for the staff's role ----------------------------------------------
  await staffPage.goto(`${server.url}/venues/${venueId}/dashboard`);
  await staffPage.getByTestId('dashboard-refused').filter({ hasText: 'for the venue’s owner and managers' }).waitFor();
  assert.equal(await staffPage.getByTestId('dashboard-totals').isVisible(), false);
  const refused = await call('GET', `/api/venues/${venueId}/analytics`, staff.token);
  assert.equal(refused.status, 403);
  await shot(staffPage, 'dashboard-staff-360');

  await Promise.all([ownerContext.close(), staffContext.close(), guestContext.close(), phoneContext.close()]);
});
