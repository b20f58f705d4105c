// The venue owner's pages (protocol.md §3.18) in Debian's Chromium against
// a real server: an owner registers on /venues, creates a venue and a zone,
// fills the catalogue from the library, prints table cards, sets a schedule
// (an invalid one first), invites a staff member who accepts the link in a
// second browser, and a guest in a third joins the zone and adds catalogue
// tracks. Screenshots at 390×844 and 1280×800 land in
// target/e2e-screenshots/venue-*.png — look at them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, connect, launchChromium, SHOTS, startServer } from './server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const LAPTOP = { viewport: { width: 1280, height: 800 } };
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
  { id: 'harbour-1', title: 'Zephyr Quay Lights', artist: 'The Moorings', genre: 'indie' },
  { id: 'harbour-2', title: 'Zephyr Quay Tide', artist: 'The Moorings', genre: 'indie' },
  { id: 'harbour-3', title: 'Zephyr Quay Disco', artist: 'Glitter Dock', genre: 'disco' },
];

async function upload(memberToken) {
  const csv = ['id,title,artist,genre,duration', ...TRACKS.map((t) => `${t.id},${t.title},${t.artist},${t.genre},3:30`)].join('\n');
  const res = await fetch(`${server.url}/api/library/tracks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${memberToken}`, 'content-type': 'text/csv' },
    body: csv,
  });
  return { status: res.status, body: await res.json() };
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

async function authed(path, token) {
  const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** Registers on the page's account form. */
async function register(page, username) {
  await page.getByTestId('account-username').fill(username);
  await page.getByTestId('account-password').fill(PASSWORD);
  await page.getByTestId('account-create').click();
  await page.getByTestId('account-name').filter({ hasText: username }).waitFor();
}

/** "HH:MM" hours from now in a time zone, for a day part that holds now. */
async function localHour(page, timeZone, offset) {
  return page.evaluate(
    ([tz, off]) => {
      const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
      return `${String((hour + off + 24) % 24).padStart(2, '0')}:00`;
    },
    [timeZone, offset],
  );
}

/** The whole page, and slices of it one screen high (a long phone page is too thin to read whole). */
async function shoot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  const { width, height } = page.viewportSize();
  const total = await page.evaluate(() => document.documentElement.scrollHeight);
  for (let i = 0, y = 0; y < total; i++, y += height) {
    await page.screenshot({ path: `${SHOTS}/${name}-${i + 1}.png`, fullPage: true, clip: { x: 0, y, width, height: Math.min(height, total - y) } });
  }
}

/** Everything on the page fits the viewport's width, and every control takes a thumb. */
async function checkLayout(page, label) {
  const problems = await page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page is ${document.documentElement.scrollWidth}px wide`);
    for (const el of document.querySelectorAll('button, a.button, input, select, summary, .day-chip label')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue; // hidden
      if (el.matches('input[type=checkbox]') && el.closest('.day-chip')) continue; // the chip's label is the target
      if (r.right > window.innerWidth + 1) out.push(`${el.outerHTML.slice(0, 80)} sticks out`);
      if (r.height < 44 && !el.matches('input[type=checkbox], .notice-close')) out.push(`${el.outerHTML.slice(0, 80)} is ${Math.round(r.height)}px tall`);
      if (el.matches('input, select') && !el.labels?.length && !el.getAttribute('aria-label')) out.push(`${el.outerHTML.slice(0, 80)} has no label`);
    }
    return out;
  });
  assert.deepEqual(problems, [], `${label}: ${problems.join('; ')}`);
}

test('an owner sets up a venue, a staff member joins it and a guest adds catalogue tracks', async () => {
  // --- the owner registers and creates a venue ---------------------------
  const owner = await browser.newContext(LAPTOP);
  const page = await owner.newPage();
  await page.goto(`${server.url}/`);
  await page.getByTestId('venues-link').click();
  await page.waitForURL(`${server.url}/venues`);
  await register(page, 'harbour.owner');
  await page.getByTestId('venue-create-form').waitFor();
  await page.getByTestId('venues-empty').filter({ hasText: 'None yet' }).waitFor();
  const browserZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(await page.getByTestId('venue-time-zone').inputValue(), browserZone, 'the time zone defaults to the browser’s');
  await page.getByTestId('venue-name').fill('The Harbour Club');
  await page.getByTestId('venue-address').fill('1 Quay Street');
  await page.getByTestId('venue-city').fill('Brest');
  await page.getByText('Opening hours (optional)').click();
  await page.getByTestId('venue-open-5').check();
  await page.getByTestId('venue-opens-5').fill('17:00');
  await page.getByTestId('venue-closes-5').fill('02:00');
  await page.getByTestId('venue-create').click();
  await page.waitForURL(/\/venues\/[^/]+$/);
  const venueId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
  await page.getByTestId('venue-title').filter({ hasText: 'The Harbour Club' }).waitFor();
  const accountToken = await page.evaluate(() => localStorage.getItem('crowdjuke:account'));
  const created = await authed(`/api/venues/${venueId}`, accountToken);
  assert.equal(created.status, 200);
  assert.equal(created.body.role, 'owner');
  assert.equal(created.body.venue.city, 'Brest');
  assert.deepEqual(created.body.venue.opening_hours, [{ day: 5, opens: '17:00', closes: '02:00' }]);
  assert.equal(created.body.venue.time_zone, browserZone);

  // --- a zone ------------------------------------------------------------
  await page.getByTestId('zone-name').fill('Terrace');
  await page.getByTestId('zone-create').click();
  const zone = page.getByTestId('zone').filter({ hasText: 'Terrace' });
  await zone.waitFor();
  const code = await zone.getByTestId('zone-code').textContent();
  assert.match(code, /^[A-Z2-9]{6}$/);
  assert.match(await zone.getByTestId('zone-join-link').textContent(), new RegExp(`/join/${code}$`));
  // The zone's host token is stored the way room pages look for it.
  const hostToken = await page.evaluate((c) => localStorage.getItem(`crowdjuke:token:${c}`), code);
  assert.ok(hostToken, 'the zone’s host token is stored');

  // --- the catalogue: library tracks found and added through the page ----
  // Library uploads take a host's member token (§3.11), not the account's.
  const uploaded = await upload(hostToken);
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
  assert.equal(uploaded.body.imported, 3);
  await searchable('Zephyr Quay', 3);
  await page.getByTestId('library-search').fill('Zephyr Quay');
  for (const t of TRACKS) {
    const hit = page.locator(`[data-testid="library-result"][data-track-id="${t.id}"]`);
    await hit.getByTestId('catalogue-add').click();
    await page.locator(`[data-testid="catalogue-track"][data-track-id="${t.id}"]`).waitFor();
    await hit.getByTestId('catalogue-add').filter({ hasText: 'In the catalogue' }).waitFor();
  }
  const catalogue = await authed(`/api/venues/${venueId}/catalogue`, accountToken);
  assert.deepEqual(catalogue.body.tracks.map((t) => t.id).sort(), TRACKS.map((t) => t.id));

  // --- table cards -------------------------------------------------------
  await zone.getByTestId('zone-cards').click();
  const preview = zone.getByTestId('cards-preview');
  await preview.waitFor();
  const svg = await preview.evaluate(async (img) => (await fetch(img.src)).text());
  assert.match(svg, /^(<\?xml[^>]*>\s*)?<svg/);
  assert.ok(svg.includes(code), 'the cards show the zone’s code');
  assert.ok(await preview.evaluate((img) => img.complete && img.naturalWidth > 0), 'the preview is drawn');

  // --- a schedule: an overlap is refused in plain words, then one day part
  await zone.getByTestId('zone-schedule-toggle').click();
  const schedule = zone.getByTestId('schedule');
  const starts = await localHour(page, browserZone, -1);
  const ends = await localHour(page, browserZone, 2);
  const fillPart = async (partLocator, name) => {
    await partLocator.getByTestId('part-name').fill(name);
    for (let d = 1; d <= 7; d++) await partLocator.getByTestId(`part-day-${d}`).check();
    await partLocator.getByTestId('part-starts').fill(starts);
    await partLocator.getByTestId('part-ends').fill(ends);
  };
  await schedule.getByTestId('part-add').click();
  const first = schedule.getByTestId('day-part').nth(0);
  await fillPart(first, 'Happy hour');
  await first.getByTestId('part-genres-allowed').fill('indie');
  await first.getByTestId('part-explicit').uncheck();
  await schedule.getByTestId('part-add').click();
  await fillPart(schedule.getByTestId('day-part').nth(1), 'Second');
  await schedule.getByTestId('schedule-save').click();
  const status = schedule.getByTestId('schedule-status');
  await status.filter({ hasText: /overlap/ }).waitFor();
  assert.equal(await status.getAttribute('data-kind'), 'error');
  assert.match(await status.textContent(), /^Not saved: Happy hour and Second overlap\.$/);
  await schedule.getByTestId('day-part').nth(1).getByTestId('part-remove').click();
  await schedule.getByTestId('schedule-save').click();
  await status.filter({ hasText: 'Schedule saved.' }).waitFor();
  await schedule.getByTestId('schedule-now').filter({ hasText: 'Now: Happy hour, until' }).waitFor();
  // The zone's snapshot has the day part in force, with its limits.
  const host = connect(server.url, hostToken);
  await host.ready;
  assert.equal(host.snapshot.day_part?.name, 'Happy hour');
  assert.deepEqual(host.snapshot.day_part.limits.genres_allowed, ['indie']);
  assert.equal(host.snapshot.day_part.limits.explicit, false);
  host.socket.disconnect();

  // --- editing the details: a wrong time zone is said beside Save -------
  await page.getByTestId('venue-edit').click();
  const editForm = page.locator('form.edit-details');
  await editForm.getByTestId('venue-time-zone').fill('Mars/Olympus');
  await page.getByTestId('venue-save').click();
  const detailsStatus = page.getByTestId('venue-status');
  await detailsStatus.filter({ hasText: 'Unknown time zone' }).waitFor();
  assert.equal(await detailsStatus.getAttribute('data-kind'), 'error');
  await editForm.getByTestId('venue-time-zone').fill(browserZone);
  await editForm.getByTestId('venue-city').fill('Brest, Finistère');
  await page.getByTestId('venue-save').click();
  await detailsStatus.filter({ hasText: 'Details saved.' }).waitFor();
  await page.getByTestId('venue-facts').filter({ hasText: '1 Quay Street, Brest, Finistère' }).waitFor();
  const edited = await authed(`/api/venues/${venueId}`, accountToken);
  assert.equal(edited.body.venue.city, 'Brest, Finistère');
  assert.deepEqual(edited.body.venue.opening_hours, [{ day: 5, opens: '17:00', closes: '02:00' }], 'the hours are kept');

  // --- inviting a staff member -------------------------------------------
  await page.getByTestId('invite-role').selectOption('staff');
  await page.getByTestId('invite').click();
  const link = page.getByTestId('invite-link');
  await page.getByTestId('invite-status').filter({ hasText: 'Send this link' }).waitFor();
  const inviteUrl = await link.inputValue();
  assert.match(inviteUrl, /\/invitations\/[^/]+$/);

  const staffContext = await browser.newContext(PHONE);
  const staffPage = await staffContext.newPage();
  await staffPage.goto(inviteUrl);
  await register(staffPage, 'deck.hand');
  await staffPage.getByTestId('invitation-accept').click();
  await staffPage.waitForURL(`${server.url}/venues/${venueId}`);
  await staffPage.getByTestId('venue-title').filter({ hasText: 'The Harbour Club' }).waitFor();
  await staffPage.getByTestId('venue-meta').filter({ hasText: 'You are staff' }).waitFor();
  await staffPage.getByTestId('notice').filter({ hasText: 'Welcome to the staff of The Harbour Club.' }).waitFor();
  const staffZone = staffPage.getByTestId('zone').filter({ hasText: 'Terrace' });
  await staffZone.waitFor();
  // Staff see and print, but neither remove zones nor edit the catalogue.
  assert.equal(await staffZone.getByTestId('zone-remove').isVisible(), false);
  assert.equal(await staffPage.getByTestId('library-search').isVisible(), false);
  assert.equal(await staffPage.getByTestId('invite').isVisible(), false);
  await staffPage.locator('[data-testid="catalogue-track"][data-track-id="harbour-1"]').waitFor();
  // The link is used up: a second accept says so.
  const again = await fetch(`${server.url}/api/invitations/${inviteUrl.split('/').pop()}/accept`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accountToken}` },
  });
  assert.equal(again.status, 404);
  // On the owner's page the staff list now has two people.
  await page.reload();
  await page.getByTestId('staff-member').nth(1).waitFor();
  assert.deepEqual(await page.getByTestId('staff-badge').allTextContents(), ['Owner', 'Staff']);
  // The owner makes them a manager, and back.
  const hand = page.locator('[data-testid="staff-member"][data-role="staff"]');
  const handId = await hand.getAttribute('data-user-id');
  await hand.getByTestId('staff-role').selectOption('manager');
  await page.locator(`[data-testid="staff-member"][data-user-id="${handId}"][data-role="manager"]`).waitFor();
  const promoted = await authed(`/api/venues/${venueId}`, accountToken);
  assert.equal(promoted.body.venue.staff.find((m) => m.user_id === handId).role, 'manager');
  await page.locator(`[data-testid="staff-member"][data-user-id="${handId}"]`).getByTestId('staff-role').selectOption('staff');
  await page.locator(`[data-testid="staff-member"][data-user-id="${handId}"][data-role="staff"]`).waitFor();

  // --- a guest joins the zone and adds catalogue tracks -------------------
  const guestContext = await browser.newContext(PHONE);
  const guest = await guestContext.newPage();
  await guest.goto(`${server.url}/join/${code}`);
  await guest.getByTestId('join-name').fill('Gus');
  await guest.getByTestId('join-submit').click();
  await guest.waitForURL(`${server.url}/room/${code}`);
  await guest.getByTestId('search-input').fill('Zephyr Quay');
  const addTrack = (id) => guest.locator(`[data-testid="search-result"][data-track-id="${id}"]`).getByTestId('add-button').click();
  await addTrack('harbour-1');
  await guest.getByTestId('now-title').filter({ hasText: 'Zephyr Quay Lights' }).waitFor();
  await addTrack('harbour-2');
  await guest.locator('[data-testid="entry"][data-track-id="harbour-2"]').waitFor();
  // The day part allows indie only: the disco track is refused, in words.
  await addTrack('harbour-3');
  await guest.getByTestId('notice').filter({ hasText: 'only indie is played right now' }).waitFor();
  // A library track outside the catalogue is refused too.
  await guest.getByTestId('search-input').fill('On My Way Machine Machines');
  const outside = guest.locator('[data-testid="search-result"][data-track-id="demo-0001"]');
  await outside.waitFor();
  await outside.getByTestId('add-button').click();
  await guest.getByTestId('notice').filter({ hasText: 'plays its own catalogue' }).waitFor();
  const hostAgain = connect(server.url, hostToken);
  await hostAgain.ready;
  assert.deepEqual(hostAgain.snapshot.queue.map((e) => e.track.id), ['harbour-2']);
  assert.equal(hostAgain.snapshot.now_playing?.track.id, 'harbour-1');
  hostAgain.socket.disconnect();

  // --- the page on a laptop and on a phone --------------------------------
  await page.getByTestId('zone').first().getByTestId('zone-cards').click();
  await page.getByTestId('cards-preview').waitFor();
  await checkLayout(page, 'laptop');
  await shoot(page, 'venue-1280');

  const phone = await browser.newContext(PHONE);
  await phone.addInitScript((t) => localStorage.setItem('crowdjuke:account', t), accountToken);
  const phonePage = await phone.newPage();
  await phonePage.goto(`${server.url}/venues/${venueId}`);
  await phonePage.getByTestId('zone').first().waitFor();
  await phonePage.locator('[data-testid="catalogue-track"]').first().waitFor();
  await phonePage.getByTestId('zone-schedule-toggle').click();
  await phonePage.getByTestId('part-add').click();
  await phonePage.getByTestId('invite').click();
  await phonePage.getByTestId('invite-link').waitFor();
  await checkLayout(phonePage, 'phone');
  await shoot(phonePage, 'venue-390');
  // The narrowest phone the app is made for.
  await phonePage.setViewportSize({ width: 360, height: 740 });
  await checkLayout(phonePage, 'phone at 360 px');
  await phonePage.screenshot({ path: `${SHOTS}/venue-360-top.png` });
  await phonePage.goto(`${server.url}/venues`);
  await phonePage.getByTestId('venue-item').first().waitFor();
  await checkLayout(phonePage, 'venues list on a phone');
  await shoot(phonePage, 'venues-390');

  await shoot(staffPage, 'venue-staff-390');

  // "Open the zone": the owner with the host token stored at creation, the
  // staff member by joining with the account (a co-host there).
  await page.getByTestId('zone-open').first().click();
  await page.waitForURL(`${server.url}/room/${code}`);
  await page.getByTestId('me').filter({ hasText: '(host)' }).waitFor();
  await staffPage.getByTestId('zone-open').first().click();
  await staffPage.waitForURL(`${server.url}/room/${code}`);
  await staffPage.getByTestId('me').filter({ hasText: 'deck.hand (co-host)' }).waitFor();
  await Promise.all([owner.close(), staffContext.close(), guestContext.close(), phone.close()]);
});
