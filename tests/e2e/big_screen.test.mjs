// The big screen (`/display/{code}`) from a 360 px phone to a 4K TV, in a
// real browser (Debian's Chromium driven by playwright-core). One party is
// set up over the API (a pinned track at score 0 above +2 tracks, tracks
// with two artists, a wide and a tall photo, likes), then the screen is
// opened at each size and measured: nothing overflows, the room code shows
// whole inside its card, the title does not wrap letter by letter, the
// pinned entry is labelled, adders are named, a wide photo gets a wide tile
// and the ♥ count shows. Also: the join link of the snapshot, the install
// icons, and the service worker's answer from its cache when the network
// hangs. Screenshots land in target/e2e-screenshots/big-screen-*.png.

// Set before the browser starts: lets context.route() see the requests the
// service worker makes (playwright reads it when it meets the worker).
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = '1';

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { api, connect, launchChromium, png, SHOTS, startServer, waitUntil } from './server.mjs';

const SIZES = [
  { name: 'phone-360', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
  { name: 'phone-390', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  { name: 'xga-1024', viewport: { width: 1024, height: 768 } },
  { name: 'tv-1920', viewport: { width: 1920, height: 1080 } },
  { name: 'tv-4k', viewport: { width: 3840, height: 2160 } },
];
const ROOM_NAME = 'Friday night at the Harbour Club';
const WIDE_COMMENT = 'Sunset over the harbour, the whole crew dancing on the pier';

let server;
let browser;
/** The party every size looks at. */
let party;

before(async () => {
  server = await startServer();
  browser = await launchChromium();
  party = await setUpParty();
});
after(async () => {
  for (const c of party?.clients ?? []) c.socket.close();
  await browser?.close();
  assert.equal(await server.stop(), 0);
});

/** Joins over REST and connects a socket: `{token, member, client}`. */
async function guest(code, name) {
  const joined = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  const client = await connect(server.url, joined.body.token, { transports: ['websocket'] }).ready;
  return { token: joined.body.token, member: joined.body.member, client };
}

/** Shares a photo and waits until the room is told it is ready. */
async function share(code, who, watcher, image, comment) {
  const form = new FormData();
  form.append('photo', new Blob([image], { type: 'image/png' }), 'photo.png');
  if (comment) form.append('comment', comment);
  const ready = once(watcher.socket, 'photo:new');
  const res = await fetch(`${server.url}/api/rooms/${code}/photos`, { method: 'POST', headers: { authorization: `Bearer ${who.token}` }, body: form });
  assert.equal(res.status, 202, await res.clone().text());
  const { photo } = await res.json();
  for (;;) {
    const [event] = await ready;
    if (event.photo.id === photo.id) return photo;
  }
}

async function setUpParty() {
  const created = await api(server.url, 'POST', '/api/rooms', { name: ROOM_NAME, host_name: 'Hana' });
  assert.equal(created.status, 201);
  const code = created.body.room.code;
  const host = { token: created.body.token, member: created.body.member, client: await connect(server.url, created.body.token, { transports: ['websocket'] }).ready };
  const ann = await guest(code, 'Annabelle');
  const bob = await guest(code, 'Bob');

  // Something plays; then three waiting tracks by two artists each.
  await ann.client.ok('queue:add', { track_id: 'demo-0903' });
  const first = await ann.client.ok('queue:add', { track_id: 'demo-1018' });
  const second = await ann.client.ok('queue:add', { track_id: 'demo-0459' });
  await bob.client.ok('queue:add', { track_id: 'demo-0483' });
  await bob.client.ok('queue:vote', { entry_id: first.entry.id, value: 1 });
  await host.client.ok('queue:vote', { entry_id: second.entry.id, value: 1 });
  // The host's own track, vote cleared (score 0), pinned: it plays next.
  const pinned = await host.client.ok('queue:add', { track_id: 'demo-0125' });
  await host.client.ok('queue:vote', { entry_id: pinned.entry.id, value: 0 });
  await host.client.ok('queue:pin', { entry_id: pinned.entry.id });

  // A wide photo (liked twice), then a tall one: the newest is the tall one.
  const wide = await share(code, ann, host.client, png(1200, 400), WIDE_COMMENT);
  await bob.client.ok('photo:like', { photo_id: wide.id });
  await host.client.ok('photo:like', { photo_id: wide.id });
  const tall = await share(code, bob, host.client, png(400, 640), 'Us!');
  return { code, clients: [host.client, ann.client, bob.client], wide, tall, pinnedTrack: 'demo-0125' };
}

/** Opens the big screen and waits until the queue and both photos are drawn. */
async function openScreen(size, options = {}) {
  const { name: _name, ...contextOptions } = size;
  const context = await browser.newContext({ ...contextOptions, ...options });
  const page = await context.newPage();
  await page.goto(`${server.url}/display/${party.code}`);
  await page.getByTestId('room-name').filter({ hasText: ROOM_NAME }).waitFor();
  await waitUntil(page, () => document.querySelectorAll('[data-testid="queue"] [data-testid="entry"]').length === 4);
  await waitUntil(page,
    (ids) => ids.every((id) => document.querySelector(`[data-testid="photo-wall"] [data-photo-id="${id}"]`)),
    [party.wide.id, party.tall.id],
  );
  await waitUntil(page, () => [...document.images].every((img) => img.complete && img.naturalWidth > 0));
  await page.evaluate(() => document.fonts.ready);
  // Fades and slides done, so the screenshot shows the resting page.
  await waitUntil(page, () => document.getAnimations().every((a) => a.playState !== 'running'));
  return { context, page };
}

for (const size of SIZES) {
  test(`the big screen fits ${size.viewport.width}×${size.viewport.height}`, async () => {
    const { context, page } = await openScreen(size);
    await page.screenshot({ path: `${SHOTS}/big-screen-${size.name}.png`, fullPage: true });
    if (size.isMobile) {
      // The long page in readable pieces: what the phone shows first, then the wall.
      await page.screenshot({ path: `${SHOTS}/big-screen-${size.name}-top.png` });
      await page.locator('.d-photos').screenshot({ path: `${SHOTS}/big-screen-${size.name}-photos.png` });
    }
    const m = await page.evaluate(measure, { code: party.code, wide: party.wide.id });

    assert.ok(m.scrollWidth <= m.innerWidth, `no horizontal overflow (${m.scrollWidth} > ${m.innerWidth})`);
    assert.deepEqual(m.clipped, [], 'no section cuts its content sideways');

    assert.equal(m.code.text, party.code);
    assert.ok(m.code.scrollWidth <= m.code.clientWidth, `the code is not cut (${m.code.scrollWidth} > ${m.code.clientWidth})`);
    const margin = 4;
    assert.ok(
      m.code.box.left >= m.card.left + margin && m.code.box.right <= m.card.right - margin,
      `the code sits inside its card: ${JSON.stringify(m.code.box)} in ${JSON.stringify(m.card)}`,
    );
    assert.ok(m.code.box.right <= m.innerWidth && m.code.box.left >= 0, 'the code is on screen');
    assert.ok(m.code.fontSize >= 24, `the code is big (${m.code.fontSize}px)`);
    assert.ok(m.qr.width <= m.card.contentWidth + 1, `the QR code fits its column (${m.qr.width} > ${m.card.contentWidth})`);

    assert.ok(m.title.height <= 2 * m.title.lineHeight + 2, `the title takes at most two lines (${m.title.height}px, lines of ${m.title.lineHeight}px)`);
    assert.ok(m.title.width >= Math.min(200, m.innerWidth / 3), `the title has room (${m.title.width}px)`);

    assert.equal(m.entries[0].trackId, party.pinnedTrack, 'the pinned track plays next');
    assert.match(m.entries[0].labels, /Pinned/, 'the pinned entry is labelled');
    assert.match(m.entries[0].score, /^0$/);
    assert.ok(m.entries.some((e) => /Annabelle/.test(e.by)), 'the adder is named');
    assert.ok(m.entries.some((e) => /Hana/.test(e.by)), 'the host is named as the adder of the pinned track');
    // On the wall the list shows the rows that fit whole and counts the rest.
    const shown = m.entries.filter((e) => e.shown);
    assert.ok(shown.length >= 3, `at least three tracks are listed (${shown.length})`);
    assert.deepEqual(m.entries.map((e) => e.shown), m.entries.map((_, i) => i < shown.length), 'the first ones are the ones shown');
    if (shown.length < m.entries.length) assert.equal(m.more, `+ ${m.entries.length - shown.length} more in the queue`);
    else assert.equal(m.more, null, 'no “more” line when all are shown');
    for (const e of shown) {
      assert.ok(e.visible, `entry ${e.trackId} is whole and on screen`);
      assert.ok(!e.artistsCut, `the artists of ${e.trackId} are whole: “${e.artists}”`);
      assert.ok(!e.titleCut, `the title of ${e.trackId} is whole`);
    }

    assert.ok(m.wideTile, 'the wide photo has a tile on the wall');
    assert.ok(m.wideTile.width > m.wideTile.height * 1.5, `the wide photo's tile is wide (${m.wideTile.width}×${m.wideTile.height})`);
    assert.equal(m.wideTile.fit, 'contain', 'photos are shown whole');
    assert.match(m.wideTile.likes, /♥\s*2/, 'the wall shows ♥ 2');
    assert.ok(m.wideTile.likesVisible, 'the ♥ count is inside the tile and on screen');
    assert.ok(m.featured, 'a featured photo is shown');
    assert.ok(m.featured.width >= m.wideTile.width, 'the featured photo is the large one');
    assert.ok(m.featured.likesVisible, 'the featured photo shows its ♥ count');
    await context.close();
  });
}

/** Runs in the page: everything the size test asserts on. */
function measure({ code, wide }) {
  // Page coordinates: a phone's page scrolls.
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left + scrollX, right: r.right + scrollX, top: r.top + scrollY, bottom: r.bottom + scrollY, width: r.width, height: r.height };
  };
  const inside = (inner, outer) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5 && inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
  const screen = { left: 0, top: 0, right: innerWidth, bottom: Math.max(innerHeight, document.documentElement.scrollHeight) };
  const cut = (el) => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
  const codeEl = document.querySelector('[data-testid="room-code"]');
  const card = codeEl.closest('section');
  const cardStyle = getComputedStyle(card);
  const titleEl = document.querySelector('[data-testid="room-name"]');
  const wideTile = document.querySelector(`[data-testid="photo-wall"] [data-photo-id="${wide}"]`);
  const featured = document.querySelector('[data-testid="featured-photo"]');
  const likesVisible = (tile) => {
    const likes = tile.querySelector('[data-testid="likes"]');
    return !!likes && likes.checkVisibility() && inside(box(likes), box(tile)) && inside(box(likes), box(tile.closest('section'))) && inside(box(likes), screen);
  };
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    clipped: [...document.querySelectorAll('.display section, .display header')].filter((s) => s.scrollWidth > s.clientWidth + 1).map((s) => s.className),
    code: { text: codeEl.textContent, scrollWidth: codeEl.scrollWidth, clientWidth: codeEl.clientWidth, box: box(codeEl), fontSize: parseFloat(getComputedStyle(codeEl).fontSize) },
    card: { ...box(card), contentWidth: card.clientWidth - parseFloat(cardStyle.paddingLeft) - parseFloat(cardStyle.paddingRight) },
    qr: box(document.querySelector('[data-testid="qr"]')),
    title: { height: titleEl.getBoundingClientRect().height, width: titleEl.getBoundingClientRect().width, lineHeight: parseFloat(getComputedStyle(titleEl).lineHeight) },
    entries: [...document.querySelectorAll('[data-testid="queue"] [data-testid="entry"]')].map((li) => {
      const part = (name) => li.querySelector(`[data-part="${name}"]`);
      return {
        trackId: li.dataset.trackId,
        labels: [...li.querySelectorAll('.badge')].filter((b) => b.checkVisibility()).map((b) => b.textContent).join(' '),
        score: part('score').textContent,
        by: part('by').checkVisibility() ? part('by').textContent : '',
        artists: part('artists').textContent,
        artistsCut: cut(part('artists')),
        titleCut: cut(part('title')),
        shown: li.checkVisibility(),
        visible: inside(box(li), box(li.closest('section'))) && inside(box(li), screen),
      };
    }),
    more: document.querySelector('[data-testid="queue-more"]')?.checkVisibility() ? document.querySelector('[data-testid="queue-more"]').textContent : null,
    wideTile: wideTile && {
      ...box(wideTile.querySelector('img')),
      fit: getComputedStyle(wideTile.querySelector('img')).objectFit,
      likes: wideTile.querySelector('[data-testid="likes"]')?.textContent ?? '',
      likesVisible: likesVisible(wideTile),
    },
    featured: featured && { ...box(featured.querySelector('img')), likesVisible: likesVisible(featured) },
  };
}

test('the join link is the one the room announces, not the address the screen was opened on', async () => {
  // A server whose public address differs from the one the host opened
  // the page on (a laptop's localhost): the snapshot carries room.join_url.
  const announcing = await startServer({ env: { CROWDJUKE_PUBLIC_URL: 'http://party.example:8080' } });
  try {
    const created = await api(announcing.url, 'POST', '/api/rooms', { name: ROOM_NAME, host_name: 'Hana' });
    const code = created.body.room.code;
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(`${announcing.url}/display/${code}`);
    const link = page.getByTestId('join-link');
    await link.filter({ hasText: `party.example:8080/join/${code}` }).waitFor();
    await page.getByTestId('room-name').filter({ hasText: ROOM_NAME }).waitFor();
    await page.reload();
    await page.getByTestId('room-name').filter({ hasText: ROOM_NAME }).waitFor();
    assert.equal((await link.innerText()).replace(/\s/g, ''), `party.example:8080/join/${code}`);
    await context.close();
  } finally {
    assert.equal(await announcing.stop(), 0);
  }
});

test('phones get PNG icons to install the app', async () => {
  const manifest = await (await fetch(`${server.url}/app/manifest.webmanifest`)).json();
  const wanted = [
    { sizes: '192x192', purpose: 'any' },
    { sizes: '512x512', purpose: 'any' },
    { sizes: '512x512', purpose: 'maskable' },
  ];
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  const apple = await page.locator('link[rel="apple-touch-icon"]').getAttribute('href');
  const icons = [...wanted.map((w) => manifest.icons.find((i) => i.type === 'image/png' && i.sizes === w.sizes && i.purpose === w.purpose)), { src: apple, sizes: '180x180' }];
  for (const [i, icon] of icons.entries()) {
    assert.ok(icon, `the manifest lists a PNG icon ${JSON.stringify(wanted[i])}`);
    const res = await fetch(new URL(icon.src, server.url));
    assert.equal(res.status, 200, icon.src);
    assert.equal(res.headers.get('content-type'), 'image/png', icon.src);
    // The PNG header says how big it really is.
    const bytes = Buffer.from(await res.arrayBuffer());
    const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    assert.equal(`${width}x${height}`, icon.sizes, `${icon.src} is ${icon.sizes}`);
    // And the browser decodes it.
    const decoded = await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      return `${img.naturalWidth}x${img.naturalHeight}`;
    }, icon.src);
    assert.equal(decoded, icon.sizes);
  }
  await context.close();
});

test('on a network that hangs, the service worker answers from its cache after about 3 s', async () => {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/display/${party.code}`);
  await page.getByTestId('room-name').filter({ hasText: ROOM_NAME }).waitFor();
  await waitUntil(page, async () => {
    if (!navigator.serviceWorker.controller) return false;
    const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('crowdjuke-shell-')) ?? 'none');
    return Boolean(await cache.match('/')) && Boolean(await cache.match('/app/app.js'));
  });

  // The worker is awake when the network starts hanging: under load a
  // navigation sometimes went straight to the network, bypassing a worker
  // Chrome had let go idle, and hung (1 run in 5 with two busy cores; none
  // in 8 with this). A fetch it answers wakes it.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    await fetch('/app/icon.svg', { cache: 'no-store' });
  });

  // From now on the app's own files never answer (venue Wi-Fi that hangs);
  // the API and the socket still work. The routes see the worker's requests
  // (PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS, set at the top).
  const held = [];
  await context.route(
    (url) => url.pathname.startsWith('/display/') || url.pathname.startsWith('/app/'),
    (route) => {
      held.push(route);
    },
  );
  const started = Date.now();
  await page.reload({ waitUntil: 'commit' });
  await page.getByTestId('room-name').filter({ hasText: ROOM_NAME }).waitFor({ timeout: 20_000 });
  const elapsed = Date.now() - started;
  const asked = held.map((r) => new URL(r.request().url()).pathname);
  assert.ok(asked.includes(`/display/${party.code}`), `the worker asked the network for the page first (${asked})`);
  assert.ok(elapsed >= 2500, `the page waited for the network first (${elapsed} ms)`);
  assert.ok(elapsed < 12_000, `the cache answered instead of the hanging network (${elapsed} ms)`);
  await waitUntil(page, () => document.querySelectorAll('[data-testid="queue"] [data-testid="entry"]').length > 0);

  // Live data is never cached.
  const cached = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    return urls;
  });
  assert.ok(cached.length > 0 && cached.every((path) => !path.startsWith('/api/') && !path.startsWith('/socket.io/')), `cached: ${cached}`);
  await context.unrouteAll({ behavior: 'ignoreErrors' });
  for (const route of held) await route.abort().catch(() => undefined);
  await context.close();
});
