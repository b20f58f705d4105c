// The service worker (scope `/`): keeps the app shell so the page opens on
// flaky venue Wi-Fi. Network first, the cached copy when offline or when the
// network has not answered within 3 s (a hanging connection is worse than
// none: the page would stay blank). Live data is never cached: `/api/` and
// `/socket.io/` go straight to the network.

// A module, so `self` can be typed as the worker's own global scope.
export {};
declare const self: ServiceWorkerGlobalScope;
/** Set by build.mjs: a new build gets a new cache and drops the old one. */
declare const BUILD_ID: string;

const CACHE = `crowdjuke-shell-${BUILD_ID}`;
const SHELL = ['/', '/app/app.js', '/app/app.css', '/app/icon.svg', '/app/manifest.webmanifest'];
const APP_PAGE = /^\/(join|room|display)\/[^/]+\/?$/;
/** How long the network has before the cached copy answers instead. */
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('crowdjuke-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/socket.io/')) return;
  if (request.mode === 'navigate' && (url.pathname === '/' || APP_PAGE.test(url.pathname))) {
    // Every app path is the same page: fall back to the cached `/`.
    event.respondWith(networkFirst(event, '/'));
  } else if (url.pathname.startsWith('/app/')) {
    event.respondWith(networkFirst(event, url.pathname));
  }
});

/**
 * The network's answer if it comes within NETWORK_TIMEOUT_MS (and is
 * stored for next time); else the cached copy, while the network keeps
 * going and refreshes the cache when it does answer. With nothing cached
 * the network gets all the time it needs; a network error answers from
 * the cache at once.
 */
async function networkFirst(event: FetchEvent, key: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  const network = fetch(event.request).then((response) => {
    if (response.ok && response.type === 'basic') {
      event.waitUntil(cache.put(key, response.clone()).catch(() => undefined));
    }
    return response;
  });
  // Keeps the worker alive until the network is done, even after the cache
  // answered; its failure is handled below or does not matter any more.
  event.waitUntil(network.then(() => undefined, () => undefined));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<Response | undefined>((resolve) => {
    timer = setTimeout(() => cache.match(key).then(resolve, () => resolve(undefined)), NETWORK_TIMEOUT_MS);
  });
  try {
    const first = await Promise.race([network, slow]);
    return first ?? (await network);
  } catch (err) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
