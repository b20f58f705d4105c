// The service worker (scope `/`): keeps the app shell so the page opens on
// flaky venue Wi-Fi. Network first, the cached copy when offline. Live data
// is never cached: `/api/` and `/socket.io/` go straight to the network.

// A module, so `self` can be typed as the worker's own global scope.
export {};
declare const self: ServiceWorkerGlobalScope;
/** Set by build.mjs: a new build gets a new cache and drops the old one. */
declare const BUILD_ID: string;

const CACHE = `crowdjuke-shell-${BUILD_ID}`;
const SHELL = ['/', '/app/app.js', '/app/app.css', '/app/icon.svg', '/app/manifest.webmanifest'];
const APP_PAGE = /^\/(join|room|display)\/[^/]+\/?$/;

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
    event.respondWith(networkFirst(request, '/'));
  } else if (url.pathname.startsWith('/app/')) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});

async function networkFirst(request: Request, key: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') await cache.put(key, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw err;
  }
}
