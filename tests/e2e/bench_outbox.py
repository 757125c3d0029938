#!/usr/bin/env python3
"""Outbox figures in headless Chromium (prints numbers, asserts nothing): a page (a shop of 2,000 events) whose outbox
holds N commands made while the sync server was down (1,000 by default); the server comes back. The time from the server answering
until every command is decided and on screen, and meanwhile the page's timeline moves (input until the event
line shows the point: its last DOM change, as bench_app measures, and when a later task sees it) and its frame
intervals. Run by `cargo xtask bench outbox` after a release trunk build and
`cargo build --release -p rewind-server`."""
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import conftest  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from pages import ShopPage  # noqa: E402
from test_outbox import keeps_app_files  # noqa: E402

# Keeps `n` top-ups in the outbox as the page keeps them (one JSON line per entry, in order), as if they had
# been made while the server was down.
FILL_JS = """async (n) => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('rewind-shared-outbox', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('entries');
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
  });
  const tx = db.transaction('entries', 'readwrite', { durability: 'strict' });
  const store = tx.objectStore('entries');
  const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join('');
  for (let i = 1; i <= n; i++) {
    store.put(JSON.stringify({ key: hex(), command: { kind: 'TopUp', user: 'u' + (i % 50), amount: i }, made_at: Date.now() }), i);
  }
  await new Promise((ok, no) => { tx.oncomplete = ok; tx.onerror = () => no(tx.error); });
  db.close();
}"""

# From now until the outbox is empty and the log holds `target` events: timeline jumps (input until the event
# line shows the point), frame intervals, and when it was all on screen.
DRAIN_JS = """async ([target, moving]) => {
  const t0 = performance.now();
  const channel = new MessageChannel();
  const tick = () => new Promise(r => { channel.port1.onmessage = () => r(); channel.port2.postMessage(0); });
  const frames = []; let last = performance.now(); let drawing = true;
  const frame = (t) => { frames.push(t - last); last = t; if (drawing) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  const el = document.querySelector('[data-testid=timeline]');
  const count = () => Number(document.querySelector('[data-testid=event-count]').textContent);
  const pending = () => Number(document.querySelector('[data-testid=pending-count]')?.textContent ?? '0');
  // A move: input until the DOM shows the point (its last DOM change before the event line shows it, seen by a
  // MutationObserver, as bench_app measures), and until a later task sees it (a frame drawn meanwhile counts).
  const move = async (k) => {
    let last = 0;
    const observer = new MutationObserver(() => { last = performance.now(); });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    const m0 = performance.now();
    el.value = String(k);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    await tick();
    while (document.querySelector('.event-line .seq')?.textContent !== '#' + k && performance.now() - m0 < 2000) await tick();
    const seen = performance.now() - m0;
    observer.disconnect();
    return [Math.max(last, m0) - m0, seen];
  };
  const moves = []; const seenMoves = []; const seenIdle = [];
  const base = count(); let first = null;
  let x = 7; const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  while (!(count() >= target && pending() === 0)) {
    if (performance.now() - t0 > 300000) break;
    if (first === null && count() > base) first = performance.now() - t0;
    const max = Number(el.max);
    if (moving && max > 2 && !el.disabled) {
      const k = 1 + Math.floor(rnd() * (max - 1));
      const [shown, seen] = await move(k);
      moves.push(shown); seenMoves.push(seen);
    }
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  const done = performance.now() - t0;
  // The same moves on the same page with nothing to send, for comparison (once what the drain left, a
  // snapshot perhaps, is done).
  await new Promise(r => setTimeout(r, 2000));
  const idle = [];
  for (let i = 0; moving && i < 200; i++) {
    const k = 1 + Math.floor(rnd() * (Number(el.max) - 1));
    const [shown, seen] = await move(k);
    idle.push(shown); seenIdle.push(seen);
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  drawing = false;
  const p = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0; };
  return { done_ms: done, first_ms: first ?? done, moves: moves.length, move_p50: p(moves, 0.5), move_p95: p(moves, 0.95), move_max: p(moves, 1),
           idle_p50: p(idle, 0.5), idle_p95: p(idle, 0.95),
           seen_p50: p(seenMoves, 0.5), seen_p95: p(seenMoves, 0.95), seen_idle_p50: p(seenIdle, 0.5), seen_idle_p95: p(seenIdle, 0.95),
           frames: frames.length, frame_p50: p(frames, 0.5), frame_p95: p(frames, 0.95), frame_max: p(frames, 1) };
}"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.ARGS, headless=True)
        log = conftest.SharedLog(pathlib.Path(tmp))
        log.start_redis()
        log.start_server()
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            shop = ShopPage(context.new_page(), log.url).open()
            # A shop with some history, so that the timeline has room to move from the first moment.
            shop.generate(int(os.environ.get("HISTORY", "2000")))
            keeps_app_files(shop.page)
            log.stop_server()
            expect(shop.page.get_by_test_id("sync-status")).to_have_text("offline", timeout=10_000)
            shop.page.evaluate(FILL_JS, n)
            shop.reload()
            expect(shop.page.get_by_test_id("pending-count")).to_have_text(str(n), timeout=60_000)
            base = shop.event_count()
            log.start_server()
            t_back = time.monotonic()
            result = shop.page.evaluate(DRAIN_JS, [base + n, os.environ.get('MOVES', '1') == '1'])
            waited = time.monotonic() - t_back
            print(f"{n:,} commands kept offline, server back: the first on screen after {result['first_ms'] / 1000:.2f} s, "
                  f"all decided and on screen after {result['done_ms'] / 1000:.2f} s "
                  f"({n / max(result['done_ms'] / 1000, 1e-9):,.0f} commands/s; {waited:.2f} s as the test saw it)")
            print(f"meanwhile {result['moves']} timeline moves: p50 {result['move_p50']:.1f} ms, p95 {result['move_p95']:.1f} ms, "
                  f"max {result['move_max']:.1f} ms; {result['frames']} frames: interval p50 {result['frame_p50']:.1f} ms, "
                  f"p95 {result['frame_p95']:.1f} ms, max {result['frame_max']:.1f} ms (frames counted until the idle moves end)")
            print(f"the same moves afterwards, nothing to send: p50 {result['idle_p50']:.1f} ms, p95 {result['idle_p95']:.1f} ms")
            print(f"until a later task sees the point (a frame drawn meanwhile counts): meanwhile p50 {result['seen_p50']:.1f} ms, "
                  f"p95 {result['seen_p95']:.1f} ms; afterwards p50 {result['seen_idle_p50']:.1f} ms, p95 {result['seen_idle_p95']:.1f} ms")
            print(f"events in the log: {shop.event_count():,} (expected {base + n:,}); pending: "
                  f"{shop.page.get_by_test_id('pending-count').text_content()}")
            context.close()
        finally:
            log.stop()
            browser.close()


if __name__ == "__main__":
    main()
