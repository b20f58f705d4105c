// Starts a real crowdjuke binary on 127.0.0.1:0 with a fresh data directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { deflateSync } from 'node:zlib';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';
import { CLIENT_ID, CLIENT_SECRET } from './spotify_fake.mjs';

const BIN = process.env.TEST_SERVER_BIN ?? resolve(fileURLToPath(new URL('.', import.meta.url)), '../../target/debug/crowdjuke');

/**
 * `music`: folders to play (`serve --music DIR`). `spotify`: a fake from
 * `startSpotifyFake()` (spotify_fake.mjs) the server uses as Spotify.
 */
export async function startServer({ music = [], spotify = null, env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'crowdjuke-e2e-'));
  const folders = music.flatMap((dir) => ['--music', dir]);
  const spotifyEnv = spotify
    ? {
        CROWDJUKE_SPOTIFY_CLIENT_ID: spotify.clientId ?? CLIENT_ID,
        CROWDJUKE_SPOTIFY_CLIENT_SECRET: spotify.clientSecret ?? CLIENT_SECRET,
        CROWDJUKE_SPOTIFY_API_URL: spotify.apiUrl,
        CROWDJUKE_SPOTIFY_ACCOUNTS_URL: spotify.accountsUrl,
      }
    : {};
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--no-default-room', ...folders], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'TEST_SERVER_BIN')), RUST_LOG: process.env.RUST_LOG ?? 'warn', CROWDJUKE_JOIN_ATTEMPTS_PER_MINUTE: '100000', CROWDJUKE_ROOM_REQUESTS_PER_MINUTE: '100000', ...spotifyEnv, ...env },
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const m = line.match(/listening on (http:\/\/\S+)/);
      if (m) ok(m[1]);
    });
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export async function api(url, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A party app client: keeps the room state in sync from room:changed, resyncs on gaps. */
export function connect(url, token, opts = {}) {
  const socket = io(url, { auth: { token }, reconnection: false, forceNew: true, ...opts });
  const client = { socket, version: 0, snapshot: null, versionsSeen: [], resyncs: 0, changes: [] };
  const ready = new Promise((ok, fail) => {
    socket.once('room:snapshot', (snap) => {
      client.snapshot = snap;
      client.version = snap.version;
      ok(client);
    });
    socket.once('connect_error', (err) => fail(err));
  });
  socket.on('room:changed', async (change) => {
    client.changes.push(change);
    if (change.version <= client.version) return;
    client.versionsSeen.push(change.version);
    if (change.version !== client.version + 1) {
      client.resyncs += 1;
      const reply = await socket.emitWithAck('room:sync', {});
      client.snapshot = reply.data;
      client.version = reply.data.version;
      return;
    }
    client.version = change.version;
  });
  client.ready = ready;
  client.ack = (event, data) => socket.timeout(10_000).emitWithAck(event, data);
  client.ok = async (event, data) => {
    const reply = await client.ack(event, data);
    if (!reply.ok) throw new Error(`${event} refused: ${JSON.stringify(reply.error)}`);
    return reply.data;
  };
  client.waitVersion = (version) =>
    new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`version ${version} never arrived (at ${client.version})`)), 10_000);
      const check = () => {
        if (client.version >= version) {
          clearTimeout(timer);
          socket.off('room:changed', check);
          ok();
        }
      };
      socket.on('room:changed', check);
      check();
    });
  return client;
}

/** A small RGB PNG (a gradient), built by hand: no image library needed. */
export function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(typed));
    return Buffer.concat([len, typed, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set([x % 256, y % 256, 128], 1 + x * 3);
    rows.push(row);
  }
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/** Where browser tests write their screenshots (look at them). */
export const SHOTS = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../target/e2e-screenshots');

/**
 * Debian's Chromium, headless, never a downloaded browser; `extraArgs` e.g.
 * `--autoplay-policy=no-user-gesture-required` for the speaker.
 */
/**
 * Polls `fn(arg)` in the page until it returns something truthy, and returns
 * that (JSON) value: `page.waitForFunction` evaluates its predicate from a
 * string, which the app's Content-Security-Policy (no `unsafe-eval`)
 * forbids; `page.evaluate` does not. A page navigating meanwhile is polled
 * again. Options: `timeout` (ms, 30 s), `polling` (ms between tries, 50).
 */
export async function waitUntil(page, fn, arg, { timeout = 30_000, polling = 50 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    let value;
    try {
      value = await page.evaluate(fn, arg);
    } catch (err) {
      if (!/Execution context was destroyed|navigat/i.test(String(err))) throw err;
    }
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waitUntil: not true within ${timeout} ms: ${fn}`);
    await new Promise((ok) => setTimeout(ok, typeof polling === 'number' ? polling : 50));
  }
}

export async function launchChromium(extraArgs = []) {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', ...extraArgs],
  });
  // Every page of every test runs under the server's Content-Security-Policy:
  // what it blocked (Chromium says so on the console) fails the file when its
  // browser closes, so a policy too tight for the app cannot slip in.
  const violations = [];
  const watch = (context) => {
    context.on('page', (page) =>
      page.on('console', (message) => {
        if (message.text().includes('Content Security Policy')) violations.push(`${page.url()}: ${message.text()}`);
      }),
    );
    return context;
  };
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => watch(await newContext(...args));
  const close = browser.close.bind(browser);
  browser.close = async (...args) => {
    await close(...args);
    if (violations.length > 0) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
  };
  return browser;
}
