#!/usr/bin/env python3
"""App figures in headless Chromium (prints numbers, asserts nothing): slider latency at 100,000 and
1,000,000 events, page load to the live state, and import of a 1,000,000-event file. Run by
`cargo xtask bench app` after a release trunk build."""
import json
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import conftest  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from pages import ShopPage  # noqa: E402

# Moves the slider to random positions; per move, the time from the input event until the DOM shows the new
# state: the last DOM change the move caused, seen by a MutationObserver (microtask timing), once every
# microtask the move queued has run. The next frame's style, layout and paint are not counted.
SLIDER_JS = """
async ([moves, seed, drag]) => {
  const channel = new MessageChannel();
  const tick = () => new Promise(r => { channel.port1.onmessage = () => r(); channel.port2.postMessage(0); });
  const el = document.querySelector('[data-testid=timeline]');
  const max = Number(el.max);
  let x = seed; const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const times = [];
  let at = Math.floor(max / 3);
  for (let i = 0; i < moves; i++) {
    // Random jumps anywhere (the worst case: nearly every row changes), or a drag: small steps forward.
    const k = drag ? (at = Math.min(max, at + 1 + Math.floor(rnd() * 200))) : 1 + Math.floor(rnd() * (max - 1));
    let last = 0;
    const observer = new MutationObserver(() => { last = performance.now(); });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    const t0 = performance.now();
    el.value = String(k);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    await tick();
    while (document.querySelector('.event-line .seq')?.textContent !== '#' + k) await tick();
    observer.disconnect();
    times.push(Math.max(last, t0) - t0);
    // A dragging hand produces at most one input per frame: let the frame render before the next move.
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  times.sort((a, b) => a - b);
  const p = q => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { moves, p50_ms: p(0.5), p95_ms: p(0.95), max_ms: times[times.length - 1] };
}
"""

CHART_JS = """
async () => {
  const channel = new MessageChannel();
  const tick = () => new Promise(r => { channel.port1.onmessage = () => r(); channel.port2.postMessage(0); });
  const row = document.querySelectorAll('[data-testid=user-row]')[3];
  const t0 = performance.now();
  row.click();
  while (!document.querySelector('[data-testid=entity-chart]')) await tick();
  return performance.now() - t0;
}
"""

ROW_CLICK_JS = """
async () => {
  const channel = new MessageChannel();
  const tick = () => new Promise(r => { channel.port1.onmessage = () => r(); channel.port2.postMessage(0); });
  const viewport = document.querySelector('.log-viewport');
  const times = [];
  for (const f of [0.1, 0.35, 0.6, 0.85]) {
    viewport.scrollTop = f * (viewport.scrollHeight - viewport.clientHeight);
    viewport.dispatchEvent(new Event('scroll'));
    await tick(); await tick();
    const rows = document.querySelectorAll('[data-testid=log-row]');
    const row = rows[Math.floor(rows.length / 2)];
    const seq = row.dataset.seq;
    const t0 = performance.now();
    row.click();
    while (document.querySelector('[data-testid=timeline]').value !== seq
           || document.querySelector('.event-line .seq')?.textContent !== '#' + seq) await tick();
    times.push(performance.now() - t0);
  }
  return times;
}
"""

LIVE_ON_SCREEN_JS = """
() => new Promise(resolve => {
  const seen = () => document.querySelector('[data-testid=restore-info][data-ms]');
  if (seen()) return resolve(performance.now());
  new MutationObserver((_, obs) => { if (seen()) { obs.disconnect(); resolve(performance.now()); } })
    .observe(document, { subtree: true, childList: true, attributes: true });
})
"""


def main():
    server, url = conftest.serve_dist()
    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.ARGS)
        out["browser"] = browser.version
        ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.set_default_timeout(900_000)
        shop = ShopPage(page, url).open()
        sizes = [int(x) for x in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
        for n in sizes:
            t = time.perf_counter()
            shop.generate(n - shop.event_count())
            out[f"generate_to_{n}_s"] = round(time.perf_counter() - t, 2)
            out[f"slider_jump_{n}"] = page.evaluate(SLIDER_JS, [300, 7, False])
            out[f"slider_drag_{n}"] = page.evaluate(SLIDER_JS, [300, 7, True])
        # With a chart on screen too: select a user (time until its chart is drawn), then move the slider.
        out["select_user_to_chart_ms"] = page.evaluate(CHART_JS)
        out["slider_jump_with_chart"] = page.evaluate(SLIDER_JS, [300, 11, False])
        out["slider_drag_with_chart"] = page.evaluate(SLIDER_JS, [300, 11, True])
        out["log_row_click_ms"] = page.evaluate(ROW_CLICK_JS)
        if os.environ.get("BENCH_QUICK"):
            browser.close()
            print("APP-BENCH " + json.dumps(out))
            return
        # Load to live state, with 1,000,000 events stored (the policy keeps a snapshot within 10,000).
        loads = []
        for _ in range(3):
            page.goto("about:blank")
            page.goto(url)
            loads.append(page.evaluate(LIVE_ON_SCREEN_JS))
            shop.wait_ready()
        info = page.get_by_test_id("restore-info")
        out["load_to_live_ms"] = sorted(loads)[1]
        out["restore_info"] = {k: info.get_attribute(k) for k in ("data-snapshot-seq", "data-tail", "data-ms")}
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "million.jsonl"
            shop.export(path)
            out["export_mb"] = round(path.stat().st_size / 1e6, 1)
            fresh = ctx.browser.new_context().new_page()
            fresh.set_default_timeout(900_000)
            other = ShopPage(fresh, url).open()
            t = time.perf_counter()
            other.page.get_by_test_id("import-file").set_input_files(str(path))
            other.page.get_by_text("Imported 1000000 events").wait_for()
            out["import_1m_s"] = round(time.perf_counter() - t, 2)
        browser.close()
    server.shutdown()
    print("APP-BENCH " + json.dumps(out))


if __name__ == "__main__":
    main()
