#!/usr/bin/env python3
"""Shared-log figures in headless Chromium (prints numbers, asserts nothing): the time from one page's append
until another page (another browser profile) shows it, and a new page's restore with 1,000,000 events in the
stream (the server's snapshot plus the tail, then the whole history). Run by `cargo xtask bench shared`
after a release trunk build and `cargo build --release -p rewind-server`."""
import json
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import conftest  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from pages import ShopPage  # noqa: E402

# On the writer's page: stamps the moment of the click, in the shared clock of both pages (performance.timeOrigin + now).
CLICK_JS = """([user, amount]) => {
  const form = document.querySelector('[data-testid=topup-form]');
  for (const [name, value] of [['user', user], ['amount', String(amount)]]) {
    const input = form.querySelector(`[name=${name}]`);
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }
  const t = performance.timeOrigin + performance.now();
  form.querySelector('button[type=submit]').click();
  return t;
}"""

# On the reader's page: keeps a promise (not returned, or evaluating would wait for it) of the moment the
# event count reaches `n`.
SEEN_JS = """(n) => { window.__seen = new Promise(resolve => {
  const el = document.querySelector('[data-testid=event-count]');
  const check = () => {
    if (Number(el.textContent) >= n) { observer.disconnect(); resolve(performance.timeOrigin + performance.now()); }
  };
  const observer = new MutationObserver(check);
  observer.observe(el, { subtree: true, childList: true, characterData: true });
  check();
}); }"""


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def open_person(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    return ShopPage(page, url).open(), context


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    big = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.ARGS, headless=True)
        log = conftest.SharedLog(pathlib.Path(tmp))
        log.start_redis()
        log.start_server()
        try:
            writer, writer_ctx = open_person(browser, log.url)
            reader, reader_ctx = open_person(browser, log.url)
            delays = []
            for i in range(rounds):
                n = writer.event_count() + 1
                reader.page.evaluate(SEEN_JS, n)
                t0 = writer.page.evaluate(CLICK_JS, [f"u{i % 7}", 1 + i])
                t1 = reader.page.evaluate("window.__seen")
                delays.append(t1 - t0)
                expect(writer.page.get_by_test_id("event-count")).to_have_text(str(n))
            print(f"append on one page until another page shows it ({rounds} appends): "
                  f"p50 {statistics.median(delays):.1f} ms, p95 {pct(delays, 0.95):.1f} ms, max {max(delays):.1f} ms")
            writer_ctx.close()
            reader_ctx.close()

            log.stop_server()
            started = time.monotonic()
            log.produce(big)
            print(f"producer: {big:,} events through the checked append in {time.monotonic() - started:.1f} s")
            started = time.monotonic()
            log.start_server()
            print(f"server start with {log.get('api/version')[2].decode()} in the stream: "
                  f"{time.monotonic() - started:.1f} s")
            deadline = time.monotonic() + 120
            while log.get("api/snapshot")[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
            seq = log.get("api/snapshot")[1].get("x-rewind-seq")
            head = json.loads(log.get("api/version")[2])["head"]

            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            t0 = time.monotonic()
            page.goto(log.url)
            expect(page.get_by_test_id("event-count")).to_have_text(str(head), timeout=300_000)
            live_s = time.monotonic() - t0
            info = page.get_by_test_id("restore-info")
            restore_ms = info.get_attribute("data-ms")
            tail = info.get_attribute("data-tail")
            expect(page.get_by_test_id("timeline")).to_be_enabled(timeout=600_000)
            full_s = time.monotonic() - t0
            print(f"new page, {head:,} events in the stream, server snapshot at {seq}: live state shown after "
                  f"{live_s:.2f} s (restore-info: {restore_ms} ms, {tail} tail events); whole history after {full_s:.1f} s")
            t0 = time.monotonic()
            page.reload()
            expect(page.get_by_test_id("timeline")).to_be_enabled(timeout=600_000)
            info = page.get_by_test_id("restore-info")
            print(f"the same page reloaded (from its IndexedDB cache): restore-info {info.get_attribute('data-ms')} ms, "
                  f"whole history after {time.monotonic() - t0:.1f} s")
            context.close()
        finally:
            log.stop()
            browser.close()


if __name__ == "__main__":
    main()
