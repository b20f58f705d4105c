// The room page, round two (issue 21): feedback where the finger is, every
// rule settable by the host and readable by guests, safer kicks with undo,
// one vote per double tap, right plurals, "Reported", touch targets. Real
// server, Debian's Chromium; screenshots at 390×844 and 360×740 land in
// target/e2e-screenshots/room-*.png — look at them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, connect, launchChromium, png, SHOTS, startServer, waitUntil } from './server.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const SMALL_PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };

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

/** A room made over REST: its code and the host's token. */
async function room(name = 'Round two', rules = undefined) {
  const created = await api(server.url, 'POST', '/api/rooms', { name, host_name: 'Hana', ...(rules ? { rules } : {}) });
  assert.equal(created.status, 201);
  return { code: created.body.room.code, token: created.body.token };
}

async function joinRest(code, name) {
  const joined = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name });
  assert.equal(joined.status, 200);
  return { token: joined.body.token, id: joined.body.member.id };
}

/** A phone showing the room page with this member token. */
async function open(code, token, device = PHONE, watch = () => {}) {
  const context = await browser.newContext(device);
  await context.addInitScript(([c, t]) => localStorage.setItem(`crowdjuke:token:${c}`, t), [code, token]);
  const page = await context.newPage();
  watch(page);
  await page.goto(`${server.url}/room/${code}`);
  await page.locator('#queue').waitFor();
  return page;
}

const inViewport = (page, locator) =>
  locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth;
  });

const overlap = (a, b) => !(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y);

test('a refused photo upload says why beside the button and in view on a phone', async () => {
  const { code } = await room();
  const guest = await joinRest(code, 'Gus');
  const page = await open(code, guest.token);
  await page.locator('#photos').scrollIntoViewIfNeeded();
  await page.getByTestId('photo-input').setInputFiles({ name: 'party.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('<html>not a photo</html>') });
  const inline = page.getByTestId('photo-status');
  await inline.filter({ hasText: /not a photo/i }).waitFor();
  assert.equal(await inline.getAttribute('data-kind'), 'error');
  const toast = page.getByTestId('notice');
  await toast.filter({ hasText: /not a photo/i }).waitFor();
  assert.equal(await toast.getAttribute('data-kind'), 'error');
  assert.ok(await inViewport(page, toast), 'the error toast is inside the viewport');
  assert.ok(await inViewport(page, inline), 'the status beside the button is inside the viewport');
  // Announced as an alert: the message sits in the role=alert region.
  assert.equal(await toast.evaluate((el) => el.parentElement.getAttribute('role')), 'alert');
  await page.screenshot({ path: `${SHOTS}/room-photo-refused-390.png` });

  // Success lands in the same two places, politely.
  await page.getByTestId('photo-input').setInputFiles({ name: 'party.png', mimeType: 'image/png', buffer: png(64, 48) });
  await inline.filter({ hasText: 'Photo shared!' }).waitFor();
  await toast.filter({ hasText: 'Photo shared!' }).waitFor();
  assert.equal(await toast.evaluate((el) => el.parentElement.getAttribute('role')), 'status');
  await page.context().close();
});

test('the host sets every rule and a guest reads each one in plain words', async () => {
  const { code, token } = await room('Rules night');
  const guest = await joinRest(code, 'Gus');
  const host = await open(code, token);
  const page = await open(code, guest.token);
  await host.getByTestId('host-tools').waitFor();

  const saved = async (rule) => host.getByTestId(`rule-status-${rule}`).filter({ hasText: 'Saved' }).waitFor();
  const setNumber = async (rule, value) => {
    const input = host.getByTestId(`rule-${rule}`);
    await input.fill(String(value));
    await input.press('Enter');
    await input.blur();
    await saved(rule);
  };
  // Out of range is refused beside the field and nothing is sent.
  await host.getByTestId('rule-max_queued_per_guest').fill('99');
  await host.getByTestId('rule-max_queued_per_guest').blur();
  await host.getByTestId('rule-status-max_queued_per_guest').filter({ hasText: 'from 1 to 50' }).waitFor();

  await setNumber('max_queued_per_guest', 2);
  await setNumber('add_cooldown_secs', 90);
  await setNumber('max_track_secs', 6);
  await setNumber('no_replay_hours', 3);
  await setNumber('downvote_removal', 4);
  await host.getByTestId('rule-fair_mode').check();
  await saved('fair_mode');
  await host.getByTestId('rule-allow_explicit').uncheck();
  await saved('allow_explicit');
  await host.getByTestId('rule-allow_downvotes').uncheck();
  await saved('allow_downvotes');
  await host.getByTestId('rule-only_playable').check();
  await saved('only_playable');
  await host.getByTestId('rule-skip_threshold').selectOption({ label: 'Half of the people here' });
  await saved('skip_threshold');
  await host.getByTestId('rule-crossfade_secs').selectOption('4');
  await saved('crossfade_secs');
  await host.getByTestId('ban-artist-name').fill('The Velvet Engines');
  await host.getByTestId('ban-artist').click();
  await host.getByTestId('bans-status').filter({ hasText: 'is banned' }).waitFor();

  // A track banned from the queue's staff actions, and the house playlist from search.
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  await hostClient.ok('queue:add', { track_id: 'demo-0001' }); // plays at once
  const e2 = (await hostClient.ok('queue:add', { track_id: 'demo-0002' })).entry;
  const entry = host.locator(`[data-testid="entry"][data-entry-id="${e2.id}"]`);
  await entry.getByTestId('ban-track').click();
  await host.getByTestId('banned-tracks').filter({ hasText: e2.track.title }).waitFor();
  await entry.waitFor({ state: 'detached' });
  const t3 = (await (await fetch(`${server.url}/api/tracks/demo-0003`)).json()).track;
  await host.getByTestId('search-input').fill(t3.title);
  await host.locator('[data-testid="search-result"][data-track-id="demo-0003"]').getByTestId('pick-fallback').click();
  await host.getByTestId('fallback-save').click();
  await host.getByTestId('fallback-count').filter({ hasText: 'has 1 track.' }).waitFor();

  const expected = {
    max_queued_per_guest: 'Each guest may have at most 2 tracks waiting.',
    add_cooldown_secs: 'Guests wait 1 min 30 s between adding two tracks.',
    max_track_secs: 'Tracks may last at most 6 min.',
    no_replay_hours: 'A track played in the last 3 hours cannot be added again.',
    downvote_removal: 'A track is removed when its score reaches −4.',
    fair_mode: 'Fair mode: the queue takes turns between the people who add tracks.',
    allow_explicit: 'No explicit tracks.',
    allow_downvotes: 'Down-votes are off in this room: up-votes only.',
    only_playable: 'Only tracks the room’s speaker can play are accepted.',
    skip_threshold: 'A track is skipped when half of the people here vote to skip it.',
    crossfade_secs: 'Tracks fade into each other over 4 s.',
    banned_artists: 'Banned artists: The Velvet Engines.',
    banned_tracks: '1 track is banned.',
    fallback: 'When the queue runs dry, the house playlist plays (1 track).',
    guests_can_add: 'Everyone may add tracks.',
  };
  for (const [rule, text] of Object.entries(expected)) {
    const line = page.locator(`[data-testid="room-rule"][data-rule="${rule}"]`);
    await line.filter({ hasText: text }).waitFor();
  }
  await page.locator('#room-rules').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/room-rules-guest-390.png` });
  await host.locator('[data-testid="rules"]').scrollIntoViewIfNeeded();
  await host.screenshot({ path: `${SHOTS}/room-rules-host-390.png` });

  // Down-votes off: the guest's ▼ is there, disabled, and says why.
  const e4 = (await hostClient.ok('queue:add', { track_id: 'demo-0004' })).entry;
  const down = page.locator(`[data-entry-id="${e4.id}"]`).getByTestId('downvote');
  await down.waitFor();
  assert.equal(await down.getAttribute('aria-disabled'), 'true');
  assert.match(await down.getAttribute('title'), /Down-votes are off/);
  assert.equal(await down.getAttribute('aria-describedby'), 'downvotes-off');
  assert.equal(await page.locator('#downvotes-off').textContent(), 'Down-votes are off in this room.');

  // Guests may not add: the guest is told, and the rule card says so.
  await host.getByTestId('rule-guests_can_add').uncheck();
  await saved('guests_can_add');
  await page.getByTestId('adds-disabled').waitFor();
  await page.locator('[data-testid="room-rule"][data-rule="guests_can_add"]').filter({ hasText: 'only the hosts add' }).waitFor();
  hostClient.socket.disconnect();
  await host.context().close();
  await page.context().close();
});

test('the queue limit is told with the guest’s own count and a right plural', async () => {
  const { code, token } = await room('Limits', { max_queued_per_guest: 2 });
  const guest = await joinRest(code, 'Gus');
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  await hostClient.ok('queue:add', { track_id: 'demo-0001' }); // plays at once
  const page = await open(code, guest.token);
  for (const id of ['demo-0002', 'demo-0003', 'demo-0004']) {
    const track = (await (await fetch(`${server.url}/api/tracks/${id}`)).json()).track;
    await page.getByTestId('search-input').fill(track.title);
    const result = page.locator(`[data-testid="search-result"][data-track-id="${id}"]`);
    await result.getByTestId('add-button').click();
    await result.getByTestId('result-status').filter({ hasText: /\S/ }).waitFor();
  }
  const refused = page.locator('[data-testid="search-result"][data-track-id="demo-0004"]').getByTestId('result-status');
  assert.equal(await refused.innerText(), 'You already have 2 tracks waiting. This room allows 2 waiting tracks per guest. Add another when one of yours has played.');
  hostClient.socket.disconnect();
  await page.context().close();
});

test('kick asks away from the finger, a double tap does not kick, and undo keeps the member', async () => {
  const { code, token } = await room('Moderation');
  const bea = await joinRest(code, 'Bea');
  const cy = await joinRest(code, 'Cy');
  const host = await open(code, token);
  const beaRow = host.locator('[data-testid="member"]', { hasText: 'Bea' });
  const kick = beaRow.getByTestId('kick');
  await kick.scrollIntoViewIfNeeded();
  const kickBox = await kick.boundingBox();

  // A double tap on Kick only opens the confirmation.
  await kick.dblclick();
  const panel = beaRow.getByTestId('member-confirm');
  await panel.waitFor();
  assert.deepEqual(await kick.boundingBox(), kickBox, 'Kick did not move');
  const confirm = beaRow.getByTestId('kick-confirm');
  const confirmBox = await confirm.boundingBox();
  assert.ok(!overlap(kickBox, confirmBox), `the confirm button ${JSON.stringify(confirmBox)} is away from Kick ${JSON.stringify(kickBox)}`);
  assert.ok(confirmBox.y >= kickBox.y + kickBox.height, 'the confirmation opens below the row');
  const asking = 'Kick Bea? They can join again as a new guest.';
  assert.equal(await panel.locator('p').innerText(), asking, 'nothing is being kicked');
  await host.screenshot({ path: `${SHOTS}/room-kick-confirm-390.png` });
  // Kick then the confirmation at once (one gesture, in one task so a busy
  // machine cannot stretch it past 400 ms): the confirmation ignores it.
  await beaRow.locator('[data-testid="member-confirm"][data-armed="true"]').waitFor();
  await beaRow.getByTestId('kick-cancel').click();
  await panel.waitFor({ state: 'hidden' });
  const text = await beaRow.evaluate((row) => {
    row.querySelector('[data-testid="kick"]').click();
    row.querySelector('[data-testid="kick-confirm"]').click();
    return row.querySelector('[data-testid="member-confirm"] p').textContent;
  });
  assert.equal(text, asking, 'an unarmed confirmation ignores the tap');
  assert.equal(await panel.locator('p').innerText(), asking, 'still asking');

  // Confirmed, then undone within 5 s: Bea stays.
  await beaRow.locator('[data-testid="member-confirm"][data-armed="true"]').waitFor();
  await confirm.click();
  await panel.filter({ hasText: 'Kicking Bea…' }).waitFor();
  // The undo is not where the confirm button was: a second tap there undoes nothing by chance.
  assert.ok(!overlap(await beaRow.getByTestId('undo').boundingBox(), confirmBox), 'Undo is away from the confirm button');
  await host.getByTestId('notice').filter({ hasText: 'Kicking Bea' }).waitFor();
  await host.screenshot({ path: `${SHOTS}/room-kick-undo-390.png` });
  await beaRow.getByTestId('undo').click();
  await host.getByTestId('members-status').filter({ hasText: 'Bea stays in the room.' }).waitFor();

  // Cy is kicked for real after Bea's undo; by the time he is gone, Bea's
  // kick would have been sent long ago if the undo had not held.
  const cyRow = host.locator('[data-testid="member"]', { hasText: 'Cy' });
  await cyRow.getByTestId('kick').click();
  await cyRow.locator('[data-testid="member-confirm"][data-armed="true"]').waitFor();
  await cyRow.getByTestId('kick-confirm').click();
  await cyRow.waitFor({ state: 'detached', timeout: 15_000 });
  await host.getByTestId('members-status').filter({ hasText: 'Cy was removed from the room.' }).waitFor();
  const still = await connect(server.url, bea.token, { transports: ['websocket'] }).ready;
  assert.equal(still.snapshot.me.name, 'Bea', 'Bea is still a member');
  const gone = connect(server.url, cy.token, { transports: ['websocket'] });
  await assert.rejects(gone.ready, (err) => err.message === 'unauthorized');
  still.socket.disconnect();
  gone.socket.disconnect();
  assert.equal(await beaRow.isVisible(), true);
  await host.context().close();
});

test('a double tap on ▲ is one vote; my own ▲ says my up-vote counts', async () => {
  const { code, token } = await room('Votes');
  const guest = await joinRest(code, 'Gus');
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  await hostClient.ok('queue:add', { track_id: 'demo-0001' }); // plays at once
  const e2 = (await hostClient.ok('queue:add', { track_id: 'demo-0002' })).entry;
  // Every queue:vote the page sends, over the websocket or long-polling.
  let votes = 0;
  const page = await open(code, guest.token, PHONE, (p) => {
    p.on('websocket', (ws) => ws.on('framesent', (f) => (votes += String(f.payload).includes('"queue:vote"') ? 1 : 0)));
    p.on('request', (r) => (votes += (r.postData() ?? '').includes('"queue:vote"') ? 1 : 0));
  });
  const entry = page.locator(`[data-entry-id="${e2.id}"]`);
  await entry.getByTestId('upvote').dblclick();
  await waitUntil(page, (id) => {
    const li = document.querySelector(`[data-entry-id="${id}"]`);
    return li?.dataset.myVote === '1' && li.dataset.voting === 'false';
  }, e2.id);
  assert.equal(await entry.getByTestId('score').innerText(), '2');
  const snap = await hostClient.ok('room:sync', {});
  assert.equal(snap.queue.find((e) => e.id === e2.id).score, 2, 'the server counted one up-vote');
  assert.equal(votes, 1, 'one queue:vote left the page');
  hostClient.socket.disconnect();

  // My own track: ▲ is pressed and labelled; tapping it says what happened.
  const track = (await (await fetch(`${server.url}/api/tracks/demo-0005`)).json()).track;
  await page.getByTestId('search-input').fill(track.title);
  await page.locator('[data-testid="search-result"][data-track-id="demo-0005"]').getByTestId('add-button').click();
  const mine = page.locator('[data-testid="entry"][data-track-id="demo-0005"]');
  const up = mine.getByTestId('upvote');
  // The entry may first be drawn from room:changed (which carries nobody's
  // vote), then from the add's answer: wait for the pressed ▲, do not race it.
  await mine.locator('[data-testid="upvote"][aria-pressed="true"]').waitFor();
  assert.match(await up.getAttribute('aria-label'), /^Your track: your up-vote counts/);
  await up.click();
  await mine.getByTestId('entry-status').filter({ hasText: 'You took back your up-vote for your own track.' }).waitFor();
  // The status is written at once, the row on the next frame.
  await mine.locator('[data-testid="upvote"][aria-pressed="false"]').waitFor();
  await page.context().close();
});

test('search says “1 track found” for a single result', async () => {
  const { code } = await room('Search');
  const guest = await joinRest(code, 'Gus');
  // A title that finds exactly one track in the demo library.
  let query = null;
  for (let i = 1; i <= 60 && !query; i++) {
    const id = `demo-${String(i).padStart(4, '0')}`;
    const title = (await (await fetch(`${server.url}/api/tracks/${id}`)).json()).track.title;
    const found = await (await fetch(`${server.url}/api/tracks?q=${encodeURIComponent(title)}&limit=20`)).json();
    if (found.tracks.length === 1) query = title;
  }
  assert.ok(query, 'the demo library has a title found alone');
  const page = await open(code, guest.token);
  await page.getByTestId('search-input').fill(query);
  await page.getByTestId('search-status').filter({ hasText: 'found' }).waitFor();
  assert.equal(await page.getByTestId('search-status').innerText(), '1 track found.');
  await page.context().close();
});

test('a reported photo shows “Reported”, and the host is told where they look', async () => {
  const { code, token } = await room('Photos');
  const ana = await joinRest(code, 'Ana');
  const gus = await joinRest(code, 'Gus');
  const host = await open(code, token);
  const page = await open(code, gus.token);
  const form = new FormData();
  form.append('photo', new Blob([png(64, 48)], { type: 'image/png' }), 'party.png');
  const shared = await fetch(`${server.url}/api/rooms/${code}/photos`, { method: 'POST', headers: { authorization: `Bearer ${ana.token}` }, body: form });
  assert.equal(shared.status, 202);
  const photo = page.getByTestId('photo-wall').getByTestId('photo').first();
  await photo.waitFor({ timeout: 15_000 });
  const report = photo.getByTestId('report-photo');
  await report.click();
  await report.filter({ hasText: 'Reported' }).waitFor();
  assert.equal(await report.isDisabled(), true);
  await photo.getByTestId('photo-row-status').filter({ hasText: 'Thanks, the hosts were told.' }).waitFor();
  const told = host.getByTestId('notice').filter({ hasText: 'A photo by Ana was reported once.' });
  await told.waitFor();
  assert.ok(await inViewport(host, told));
  await photo.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/room-reported-390.png` });
  await host.context().close();
  await page.context().close();
});

test('unpin puts a pinned track back in its place by score and says so beside it', async () => {
  const { code, token } = await room('Pins');
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  await hostClient.ok('queue:add', { track_id: 'demo-0001' });
  await hostClient.ok('queue:add', { track_id: 'demo-0002' });
  // The later of two equal entries, pinned: first until unpinned.
  const e2 = (await hostClient.ok('queue:add', { track_id: 'demo-0003' })).entry;
  await hostClient.ok('queue:pin', { entry_id: e2.id });
  const host = await open(code, token);
  const entry = host.locator(`[data-entry-id="${e2.id}"]`);
  await entry.getByTestId('pinned').waitFor();
  await entry.getByTestId('unpin').click();
  const status = entry.getByTestId('entry-status');
  await status.filter({ hasText: /no longer pinned/i }).waitFor();
  await entry.getByTestId('pinned').waitFor({ state: 'hidden' });
  // Equal scores: back behind the entry added before it.
  const order = () => host.getByTestId('queue').getByTestId('entry').evaluateAll((els) => els.map((e) => e.dataset.entryId));
  await waitUntil(host, (id) => document.querySelector('[data-testid="queue"] [data-testid="entry"]')?.dataset.entryId !== id, e2.id);
  assert.equal((await order()).indexOf(e2.id), 1, 'second, by time added');
  hostClient.socket.disconnect();
  await host.context().close();
});

test('every control of the room page is a 44 px touch target and the page fits 360 px', async () => {
  const { code, token } = await room('Touch');
  const hostClient = await connect(server.url, token, { transports: ['websocket'] }).ready;
  await hostClient.ok('queue:add', { track_id: 'demo-0001' });
  await hostClient.ok('queue:add', { track_id: 'demo-0002' });
  await joinRest(code, 'Bea');
  for (const [device, name] of [
    [SMALL_PHONE, '360'],
    [PHONE, '390'],
  ]) {
    const page = await open(code, token, device);
    await page.getByTestId('host-tools').waitFor();
    await page.locator('[data-testid="member"]', { hasText: 'Bea' }).waitFor();
    const small = await page.evaluate(() =>
      [...document.querySelectorAll('.room button, .room a, .room input, .room select, .room label.button')]
        .filter((el) => el.getClientRects().length > 0 && !el.classList.contains('visually-hidden') && getComputedStyle(el).visibility !== 'hidden')
        .map((el) => ({ el, r: el.getBoundingClientRect() }))
        .filter(({ r }) => r.width < 44 - 0.5 || r.height < 44 - 0.5)
        .map(({ el, r }) => `${el.tagName.toLowerCase()}[${el.dataset.testid ?? el.textContent.trim().slice(0, 20)}] ${Math.round(r.width)}×${Math.round(r.height)}`),
    );
    assert.deepEqual(small, [], `controls under 44×44 px at ${name} px`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, `the page fits ${name} px`);
    // The in-page nav stays at the top while scrolling.
    await page.locator('#people').scrollIntoViewIfNeeded();
    assert.ok(await inViewport(page, page.getByTestId('jump')), 'the nav stays in view');
    await page.screenshot({ path: `${SHOTS}/room-people-${name}.png` });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${SHOTS}/room-top-${name}.png` });
    await page.context().close();
  }
  hostClient.socket.disconnect();
});
