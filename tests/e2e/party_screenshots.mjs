// Screenshots of one party as people see it: the host's page and a guest's
// page on a phone, the big screen on a phone and on a TV. Not a test (it
// asserts nothing): it shows a change side by side, e.g. before and after
// a round of app work:
//
//   node party_screenshots.mjs OUT_DIR            # this checkout's server and app
//   TEST_SERVER_BIN=/old/crowdjuke CROWDJUKE_WEB_DIR=/old/frontend/dist \
//     node party_screenshots.mjs OUT_DIR          # another build
//
// Files: OUT_DIR/{host-phone,guest-phone,screen-phone,screen-tv}.png.
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { api, connect, launchChromium, png, startServer, waitUntil } from './server.mjs';

const out = process.argv[2];
if (!out) {
  console.error('usage: node party_screenshots.mjs OUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
const TV = { viewport: { width: 1920, height: 1080 } };

const server = await startServer();
const browser = await launchChromium();
try {
  const created = await api(server.url, 'POST', '/api/rooms', { name: 'Friday at Bea’s', host_name: 'Hana' });
  const code = created.body.room.code;
  const host = await connect(server.url, created.body.token, { transports: ['websocket'] }).ready;
  const joinAs = async (name) => {
    const joined = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name });
    return { token: joined.body.token, client: await connect(server.url, joined.body.token, { transports: ['websocket'] }).ready };
  };
  const ann = await joinAs('Annabelle');
  const bob = await joinAs('Bob');
  await ann.client.ok('queue:add', { track_id: 'demo-0903' });
  const first = await ann.client.ok('queue:add', { track_id: 'demo-1018' });
  const second = await ann.client.ok('queue:add', { track_id: 'demo-0459' });
  await bob.client.ok('queue:add', { track_id: 'demo-0483' });
  await bob.client.ok('queue:vote', { entry_id: first.entry.id, value: 1 });
  await host.ok('queue:vote', { entry_id: second.entry.id, value: 1 });
  const pinned = await host.ok('queue:add', { track_id: 'demo-0125' });
  await host.ok('queue:vote', { entry_id: pinned.entry.id, value: 0 });
  await host.ok('queue:pin', { entry_id: pinned.entry.id });
  const share = async (who, image, comment) => {
    const form = new FormData();
    form.append('photo', new Blob([image], { type: 'image/png' }), 'photo.png');
    form.append('comment', comment);
    const ready = once(host.socket, 'photo:new');
    const res = await fetch(`${server.url}/api/rooms/${code}/photos`, { method: 'POST', headers: { authorization: `Bearer ${who.token}` }, body: form });
    const { photo } = await res.json();
    await ready;
    return photo;
  };
  const wide = await share(ann, png(1200, 400), 'The whole dance floor at midnight, from the balcony');
  await bob.client.ok('photo:like', { photo_id: wide.id });
  await share(bob, png(400, 640), 'Us!');

  const settle = async (page) => {
    // Lazy images below the fold load only when scrolled to: not waited for.
    await waitUntil(page, () => [...document.images].every((img) => img.complete || img.loading === 'lazy'));
    // Fades and slides done (long ones, like a track's progress bar, excepted).
    await waitUntil(page, () =>
      document.getAnimations().every((a) => a.playState !== 'running' || Number(a.effect?.getComputedTiming().endTime ?? 0) > 5000),
    );
  };
  const shoot = async (device, path, token, file) => {
    const context = await browser.newContext(device);
    if (token) await context.addInitScript(([c, t]) => localStorage.setItem(`crowdjuke:token:${c}`, t), [code, token]);
    const page = await context.newPage();
    await page.goto(`${server.url}${path}`);
    await page.getByTestId('room-name').filter({ hasText: 'Friday' }).waitFor();
    await waitUntil(page, () => document.querySelectorAll('[data-testid="queue"] [data-testid="entry"]').length >= 4);
    await settle(page);
    await page.screenshot({ path: join(out, file), fullPage: true });
    await context.close();
  };
  await shoot(PHONE, `/room/${code}`, created.body.token, 'host-phone.png');
  await shoot(PHONE, `/room/${code}`, bob.token, 'guest-phone.png');
  await shoot(PHONE, `/display/${code}`, null, 'screen-phone.png');
  await shoot(TV, `/display/${code}`, null, 'screen-tv.png');
  for (const c of [host, ann.client, bob.client]) c.socket.disconnect();
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
