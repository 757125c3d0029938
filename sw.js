// Rewind's service worker, registered by pages of a shared log only: it keeps the app's own files (the
// page, its JavaScript, WebAssembly and CSS), so that a till that reloads, or whose browser restarts, while the
// network or the sync server is down still opens its shop from the cached log and outbox.
//
// One version of the app at a time, whole: a version is the page and every file it names, kept together in a
// cache named after the page's digest, and only a version all of whose files were fetched becomes current.
// The page itself is asked of the network first (a new version is picked up as soon as the server is back),
// and so is every file whose name carries no content hash (wasm-bindgen's snippets keep their names from
// release to release); a file named by its content hash is taken from the cache, where it is never stale. The API, the feed and the metrics
// always go to the network: this worker never answers for the log.

const PREFIX = 'rewind-app-';
const POINTER = 'rewind-app';
const CURRENT = '/__rewind_current';

const isApi = (path) => /^\/(api|metrics)(\/|$)/.test(path) || /^\/shop\/[^/]+\/api(\/|$)/.test(path);

async function digest(text) {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(bytes).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The files a page names: its styles, the script and WebAssembly it starts with and the snippets that script
// imports, and the modules it fetches later (listed in the page for this worker by `cargo xtask page`), each
// named by its hash.
function filesOf(html) {
  const found = new Set();
  for (const m of html.matchAll(/["'](\/[^"'\s?#]+\.(?:js|wasm|css))["']/g)) found.add(m[1]);
  return [...found];
}

async function currentName() {
  const pointer = await caches.open(POINTER);
  const answer = await pointer.match(CURRENT);
  return answer ? answer.text() : null;
}

// One keep at a time: two pages of two versions must not make the older current after the newer.
let keeping = Promise.resolve();
function keepInTurn(html) {
  keeping = keeping.then(() => keep(html)).catch(() => {});
  return keeping;
}

// Keeps the version whose page is `html`, whole, and makes it current; the versions before it go.
async function keep(html) {
  const name = PREFIX + await digest(html);
  if ((await currentName()) === name) return;
  // Every file fetched first, and only if each one is what the page names (the server answers a file it
  // does not have with the page itself, for the app's routes), any of it kept.
  const files = await Promise.all(filesOf(html).map(async (path) => {
    const answer = await fetch(new Request(path, { cache: 'no-cache' }));
    const type = answer.headers.get('content-type') || '';
    if (!answer.ok || type.includes('text/html')) throw new Error(`${path} is not there (${answer.status} ${type})`);
    return [path, answer];
  }));
  const cache = await caches.open(name);
  for (const [path, answer] of files) await cache.put(path, answer);
  await cache.put('/', new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
  const pointer = await caches.open(POINTER);
  await pointer.put(CURRENT, new Response(name));
  for (const old of await caches.keys()) {
    if (old.startsWith(PREFIX) && old !== name) await caches.delete(old);
  }
}

async function refresh() {
  try {
    const answer = await fetch('/', { cache: 'no-cache' });
    if (answer.ok) await keepInTurn(await answer.text());
  } catch (_) {
    // The server is away: the current version stays.
  }
}

// The API, the feed and the metrics skip this worker altogether where the browser can route by itself (the
// static routing API): a request the worker would only pass on costs a hop through it.
const NETWORK_ONLY = [{ pathname: '/api/*' }, { pathname: '/shop/:shop/api/*' }, { pathname: '/metrics' }];

self.addEventListener('install', (event) => {
  const routed = typeof event.addRoutes === 'function' && typeof URLPattern === 'function'
    ? event.addRoutes(NETWORK_ONLY.map((p) => ({ condition: { urlPattern: new URLPattern(p) }, source: 'network' })))
      .catch(() => {})
    : Promise.resolve();
  event.waitUntil(routed.then(() => self.skipWaiting()));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim().then(refresh)));

// How long a page waits for the network before it opens the version kept here (a connection that hangs
// rather than fails, as on a dead network): the version kept is whole, and the page catches up by itself.
const PAGE_WAIT_MS = 4000;

async function cachedPage() {
  const name = await currentName();
  return name ? (await caches.open(name)).match('/') : undefined;
}

async function page(request, event) {
  let timer;
  const network = fetch(request);
  network.catch(() => {});
  const kept = await cachedPage();
  try {
    // Without a version kept here, the network is waited for as long as it takes.
    const answer = !kept ? await network : await Promise.race([network, new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error('no answer in time')), PAGE_WAIT_MS);
    })]);
    if (answer.ok && (answer.headers.get('content-type') || '').includes('text/html')) {
      const html = await answer.clone().text();
      event.waitUntil(keepInTurn(html));
      return answer;
    }
    // A proxy's 502 or 504 while the server is down: the version kept here, if there is one.
    if (answer.status >= 500) return kept || answer;
    return answer;
  } catch (offline) {
    if (kept) return kept;
    throw offline;
  } finally {
    clearTimeout(timer);
  }
}

// trunk's hashes are hex without leading zeros, `cargo xtask page`'s 16 digits with them.
const HASHED = /-[0-9a-f]{1,16}(_bg)?\.(js|wasm|css)$/;

async function file(request) {
  if (!HASHED.test(new URL(request.url).pathname)) {
    try {
      const answer = await fetch(request);
      // The server answers a file it does not have with the page: that is no script.
      if (answer.ok && !(answer.headers.get('content-type') || '').includes('text/html')) return answer;
    } catch (_) {
      // Offline: the current version's copy below.
    }
  }
  const name = await currentName();
  const cached = name && await (await caches.open(name)).match(request, { ignoreSearch: true });
  if (cached) return cached;
  // Another version's file (a page of a newer version, kept before its files were all fetched): any cache.
  const elsewhere = await caches.match(request, { ignoreSearch: true });
  if (elsewhere) return elsewhere;
  // The server answers a file it no longer has (an older version's, asked by a page still open) with the page:
  // that is no script nor module, and is said as missing, for the page to report.
  const answer = await fetch(request);
  if ((answer.headers.get('content-type') || '').includes('text/html')) return new Response(null, { status: 404 });
  return answer;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || isApi(url.pathname)) return;
  if (request.mode === 'navigate') {
    event.respondWith(page(request, event));
  } else if (/\.(js|wasm|css)$/.test(url.pathname) && url.pathname !== '/sw.js') {
    event.respondWith(file(request));
  }
});
