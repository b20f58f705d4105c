// Requests for the staff's approval in a venue's zone (protocol.md §3.18),
// in Debian's Chromium against a real server: the owner turns approval on
// in the zone's schedule and blocks a track after one decline; a staff
// member is in the zone as co-host and answers a guest's requests on the
// Requests card; the guest sees their request waiting, the approval and
// the decline; the declined track is blocked at the venue until the owner
// unblocks it. Screenshots at 390×844 land in
// target/e2e-screenshots/requests-*.png — look at them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, connect, launchChromium, SHOTS, startServer } from './server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const PASSWORD = 'violet kettle 42 orbit';

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
  { id: 'lantern-1', title: 'Quillon Lantern Waltz', artist: 'Night Ferry' },
  { id: 'lantern-2', title: 'Quillon Lantern Reel', artist: 'Night Ferry' },
  { id: 'lantern-3', title: 'Quillon Lantern Hymn', artist: 'Harbour Choir' },
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

test('a guest asks, the staff approve and decline, a declined track is blocked until unblocked', async () => {
  // --- a venue, a zone, a catalogue and a staff member (REST) -------------
  const owner = await account('lantern.owner');
  const venue = await call('POST', '/api/venues', owner.token, { name: 'The Lantern', time_zone: 'UTC' });
  assert.equal(venue.status, 201);
  const venueId = venue.body.venue.id;
  const zoneMade = await call('POST', `/api/venues/${venueId}/zones`, owner.token, { name: 'Deck' });
  assert.equal(zoneMade.status, 201);
  const { code, room_id: roomId } = zoneMade.body.zone;
  const hostToken = zoneMade.body.token;
  const csv = ['id,title,artist,genre,duration', ...TRACKS.map((t) => `${t.id},${t.title},${t.artist},folk,3:30`)].join('\n');
  const uploaded = await fetch(`${server.url}/api/library/tracks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'text/csv' },
    body: csv,
  });
  assert.equal(uploaded.status, 200);
  assert.equal((await call('POST', `/api/venues/${venueId}/catalogue`, owner.token, { track_ids: TRACKS.map((t) => t.id) })).status, 200);
  await searchable('Quillon Lantern', 3);
  const staff = await account('deck.hand');
  const invitation = await call('POST', `/api/venues/${venueId}/invitations`, owner.token, { role: 'staff' });
  assert.equal((await call('POST', `/api/invitations/${invitation.body.invitation.id}/accept`, staff.token)).status, 200);

  // --- the owner's page: names, the zone's link ---------------------------
  const ownerContext = await browser.newContext(PHONE);
  await ownerContext.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), owner.token);
  const ownerPage = await ownerContext.newPage();
  await ownerPage.goto(`${server.url}/venues/${venueId}`);
  const zone = ownerPage.getByTestId('zone').filter({ hasText: 'Deck' });
  await zone.waitFor();
  const read = await call('GET', `/api/venues/${venueId}`, owner.token);
  assert.equal(await zone.getByTestId('zone-join-link').textContent(), read.body.venue.zones[0].join_url, 'the zone shows the server’s join link');
  const hand = ownerPage.locator(`[data-testid="staff-member"][data-user-id="${staff.user.id}"]`);
  await hand.getByTestId('staff-name').filter({ hasText: 'deck.hand' }).waitFor();
  assert.equal(await ownerPage.locator('.account-id').count(), 0, 'nobody is shown by account id');

  // --- the staff member opens the zone as co-host (before any schedule) ---
  const staffContext = await browser.newContext(PHONE);
  await staffContext.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), staff.token);
  const staffPage = await staffContext.newPage();
  await staffPage.goto(`${server.url}/venues/${venueId}`);
  await staffPage.getByTestId('zone-open').first().click();
  await staffPage.waitForURL(`${server.url}/room/${code}`);
  await staffPage.getByTestId('me').filter({ hasText: '(co-host)' }).waitFor();
  const requestsCard = staffPage.getByTestId('requests');
  await requestsCard.getByTestId('requests-empty').waitFor();
  assert.equal(await staffPage.getByTestId('day-part').isVisible(), false, 'no schedule, no day part');

  // --- the owner asks for approval in the schedule's defaults ------------
  await zone.getByTestId('zone-schedule-toggle').click();
  const schedule = zone.getByTestId('schedule');
  await schedule.waitFor(); // read from the server first
  assert.equal(await schedule.getByTestId('defaults-approval').isChecked(), false);
  await schedule.getByTestId('defaults-approval').check();
  await schedule.getByTestId('defaults-requests-per-hour').fill('10');
  await schedule.getByTestId('schedule-save').click();
  await schedule.getByTestId('schedule-status').filter({ hasText: 'Schedule saved.' }).waitFor();
  await schedule.getByTestId('schedule-now').filter({ hasText: 'Staff approve requests.' }).waitFor();
  const saved = await call('GET', `/api/venues/${venueId}/zones/${roomId}/schedule`, owner.token);
  assert.equal(saved.body.schedule.defaults.approval, true);
  assert.equal(saved.body.schedule.defaults.requests_per_hour, 10);
  // The co-host's room page heard it (schedule_updated).
  await staffPage.getByTestId('day-part').filter({ hasText: 'Now: outside the day parts · the staff approve requests' }).waitFor();

  // --- and blocks a track after one decline -------------------------------
  await ownerPage.getByTestId('venue-edit').click();
  await ownerPage.getByTestId('venue-block-after').fill('1');
  await checkLayout(ownerPage, 'details form', '[data-testid="venue-details"]');
  await ownerPage.getByTestId('venue-details').screenshot({ path: `${SHOTS}/requests-details-390.png` });
  await ownerPage.getByTestId('venue-save').click();
  await ownerPage.getByTestId('venue-status').filter({ hasText: 'Details saved.' }).waitFor();
  await ownerPage.getByTestId('venue-facts').filter({ hasText: 'Blocked after 1 decline within 30 days' }).waitFor();
  assert.equal((await call('GET', `/api/venues/${venueId}`, owner.token)).body.venue.block_after_declines, 1);
  // The editor opens again on the server's schedule (not this device's memory).
  // (The init script puts the account back after the clear.)
  await ownerPage.evaluate(() => localStorage.clear());
  await ownerPage.reload();
  await zone.getByTestId('zone-schedule-toggle').click();
  await zone.getByTestId('schedule').waitFor();
  assert.equal(await zone.getByTestId('defaults-approval').isChecked(), true);
  assert.equal(await zone.getByTestId('defaults-requests-per-hour').inputValue(), '10');
  assert.equal(await ownerPage.getByTestId('venue-block-after').count(), 0, 'the edit form is closed');
  await checkLayout(ownerPage, 'schedule editor', '[data-testid="schedule"]');
  await zone.getByTestId('schedule').locator('fieldset.limits').screenshot({ path: `${SHOTS}/requests-schedule-defaults-390.png` });
  await ownerPage.getByTestId('venue-staff').screenshot({ path: `${SHOTS}/requests-staff-names-390.png` });

  // Something plays already, so an approved track waits in the queue (staff adds are not held).
  const host = connect(server.url, hostToken);
  await host.ready;
  const direct = await host.ok('queue:add', { track_id: 'lantern-3' });
  assert.equal(direct.pending, undefined, 'a staff add goes straight in');

  // --- a guest asks for a track -------------------------------------------
  const guestContext = await browser.newContext(PHONE);
  const guest = await guestContext.newPage();
  await guest.goto(`${server.url}/join/${code}`);
  await guest.getByTestId('join-name').fill('Gus');
  await guest.getByTestId('join-submit').click();
  await guest.waitForURL(`${server.url}/room/${code}`);
  await guest.getByTestId('day-part').filter({ hasText: 'the staff approve requests' }).waitFor();
  await guest.getByTestId('room-rule').filter({ hasText: 'The staff approve each track guests ask for' }).waitFor();

  // --- quick picks: the zone's genres, optional --------------------------
  const picks = guest.getByTestId('picks');
  await picks.getByTestId('pick').first().waitFor();
  assert.deepEqual(await picks.getByTestId('pick').allTextContents(), ['folk'], 'the catalogue’s genres');
  await picks.screenshot({ path: `${SHOTS}/requests-picks-390.png` });
  await picks.locator('[data-genre="folk"]').click();
  assert.equal(await picks.locator('[data-genre="folk"]').getAttribute('aria-pressed'), 'true');
  await picks.getByTestId('picks-save').click();
  await picks.getByTestId('picks-summary').filter({ hasText: 'Your picks: folk' }).waitFor();
  assert.equal(await picks.getByTestId('picks-save').isVisible(), false, 'saved: folded to one line');
  await checkLayout(guest, 'quick picks', '[data-testid="picks"]');
  await picks.screenshot({ path: `${SHOTS}/requests-picks-saved-390.png` });
  await guest.getByTestId('search-input').fill('Quillon Lantern');
  const result = (id) => guest.locator(`[data-testid="search-result"][data-track-id="${id}"]`);
  await result('lantern-1').getByTestId('add-button').filter({ hasText: 'Request' }).click();
  await guest.getByTestId('notice').filter({ hasText: 'Sent to the staff for approval' }).waitFor();
  const mine = guest.getByTestId('requests');
  const myRequest = mine.locator('[data-testid="request"][data-track-id="lantern-1"]');
  await myRequest.getByTestId('request-who').filter({ hasText: 'Waiting for approval' }).waitFor();
  await result('lantern-1').getByTestId('add-button').filter({ hasText: 'Requested' }).waitFor();
  assert.equal(await result('lantern-1').getByTestId('add-button').isDisabled(), true);
  // Not in the queue: waiting beside it.
  const sync1 = await host.ok('room:sync', {});
  assert.deepEqual(sync1.queue.map((e) => e.track.id), []);
  assert.equal(sync1.now_playing.track.id, 'lantern-3');
  assert.deepEqual(sync1.requests.map((r) => [r.track.id, r.requested_by_name]), [['lantern-1', 'Gus']]);
  assert.equal(await guest.locator('[data-testid="entry"][data-track-id="lantern-1"]').count(), 0);
  await mine.scrollIntoViewIfNeeded();
  await checkLayout(guest, 'guest’s requests', '[data-testid="requests"]');
  await guest.screenshot({ path: `${SHOTS}/requests-guest-390.png` });
  await mine.screenshot({ path: `${SHOTS}/requests-guest-card-390.png` });

  // --- the co-host sees it live and approves it ---------------------------
  const asked = requestsCard.locator('[data-testid="request"][data-track-id="lantern-1"]');
  await asked.getByTestId('request-who').filter({ hasText: 'Asked by Gus' }).waitFor();
  await requestsCard.getByTestId('requests-count').filter({ hasText: '(1)' }).waitFor();
  await requestsCard.scrollIntoViewIfNeeded();
  await checkLayout(staffPage, 'staff’s requests', '[data-testid="requests"]');
  await staffPage.screenshot({ path: `${SHOTS}/requests-staff-390.png` });
  await staffPage.evaluate(() => window.scrollTo(0, 0));
  await staffPage.screenshot({ path: `${SHOTS}/requests-staff-top-390.png` });
  await requestsCard.screenshot({ path: `${SHOTS}/requests-staff-card-390.png` });
  await asked.getByTestId('request-approve').click();
  await staffPage.getByTestId('notice').filter({ hasText: 'Approved “Quillon Lantern Waltz”' }).waitFor();
  await requestsCard.getByTestId('requests-empty').waitFor();
  // In the guest's queue, as the guest's own track (their up-vote counts).
  const entry = guest.locator('[data-testid="entry"][data-track-id="lantern-1"]');
  await entry.waitFor();
  assert.equal(await entry.getAttribute('data-my-vote'), '1');
  await guest.getByTestId('notice').filter({ hasText: '“Quillon Lantern Waltz” was approved' }).waitFor();
  assert.equal(await mine.isVisible(), false, 'nothing of theirs waits any more');
  const sync2 = await host.ok('room:sync', {});
  assert.deepEqual(sync2.queue.map((e) => [e.track.id, e.added_by_name]), [['lantern-1', 'Gus']]);
  assert.deepEqual(sync2.requests, []);

  // --- another request, declined (after an undo) --------------------------
  await result('lantern-2').getByTestId('add-button').filter({ hasText: 'Request' }).click();
  await mine.locator('[data-testid="request"][data-track-id="lantern-2"]').waitFor();
  const second = requestsCard.locator('[data-testid="request"][data-track-id="lantern-2"]');
  await second.getByTestId('request-decline').click();
  await second.getByTestId('request-undo').click();
  await second.getByTestId('request-status').filter({ hasText: 'still waiting' }).waitFor();
  await second.getByTestId('request-decline').click();
  await guest.getByTestId('notice').filter({ hasText: 'The staff declined “Quillon Lantern Reel”.' }).waitFor();
  await staffPage.getByTestId('notice').filter({ hasText: 'guests can no longer ask for it' }).waitFor();
  await mine.waitFor({ state: 'hidden' });
  assert.deepEqual((await host.ok('room:sync', {})).requests, []);

  // --- blocked at the venue: refused, listed, unblocked -------------------
  const again = await guest.evaluate(() => document.querySelector('[data-testid="search-result"][data-track-id="lantern-2"] [data-testid="add-button"]').textContent);
  assert.equal(again, 'Request');
  await result('lantern-2').getByTestId('add-button').click();
  await guest.getByTestId('notice').filter({ hasText: 'The staff blocked this track here' }).waitFor();
  const refused = await host.ack('queue:add', { track_id: 'lantern-2' });
  assert.equal(refused.ok, false);
  assert.equal(refused.error.code, 'track_banned');
  const blockedNow = await call('GET', `/api/venues/${venueId}`, owner.token);
  assert.deepEqual(blockedNow.body.venue.blocked.map((b) => [b.track_id, b.title, b.artist]), [['lantern-2', 'Quillon Lantern Reel', 'Night Ferry']]);
  await ownerPage.reload();
  const blockedRow = ownerPage.locator('[data-testid="blocked-track"][data-track-id="lantern-2"]');
  await blockedRow.filter({ hasText: 'Quillon Lantern Reel' }).waitFor();
  await ownerPage.getByTestId('venue-blocked').scrollIntoViewIfNeeded();
  await checkLayout(ownerPage, 'blocked tracks', '[data-testid="venue-blocked"]');
  await ownerPage.getByTestId('venue-blocked').screenshot({ path: `${SHOTS}/requests-blocked-390.png` });
  await blockedRow.getByTestId('unblock-track').click();
  await ownerPage.getByTestId('blocked-empty').waitFor();
  await ownerPage.getByTestId('blocked-status').filter({ hasText: 'is unblocked' }).waitFor();
  assert.deepEqual((await call('GET', `/api/venues/${venueId}`, owner.token)).body.venue.blocked, []);

  // --- asked for again, then withdrawn by the guest ----------------------
  await result('lantern-2').getByTestId('add-button').click();
  await guest.getByTestId('notice').filter({ hasText: 'Sent to the staff for approval' }).waitFor();
  await requestsCard.locator('[data-testid="request"][data-track-id="lantern-2"]').waitFor();
  await mine.locator('[data-testid="request"][data-track-id="lantern-2"]').getByTestId('request-withdraw').click();
  await guest.getByTestId('notice').filter({ hasText: 'Withdrawing “Quillon Lantern Reel”' }).waitFor();
  await requestsCard.getByTestId('requests-empty').waitFor({ timeout: 15_000 });
  await mine.waitFor({ state: 'hidden' });
  assert.deepEqual((await host.ok('room:sync', {})).requests, []);

  host.socket.disconnect();
  await Promise.all([ownerContext.close(), staffContext.close(), guestContext.close()]);
});
