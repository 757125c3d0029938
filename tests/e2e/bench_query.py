#!/usr/bin/env python3
"""Query bar and read-model figures in headless Chromium (prints numbers, asserts nothing), at 1,000,000
events and 100,000 users: a query over the whole log until its count and rows are on screen; building a read
model of up to 100,000 groups (with its progress); far timeline jumps with that model on screen. Run by
`cargo xtask bench query`, which runs the plain-JavaScript yardstick (`query_ms`, `model_ms` of
../shared/bench/run-js-baseline.py) in the same run. BENCH_EVENTS and BENCH_USERS change the size."""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import conftest  # noqa: E402
from bench_app import SLIDER_JS  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

# Types a query and presses Enter; the time until the count says the new number and the log's rows are the
# matches (the last mutation of the page, as in the slider bench).
QUERY_JS = """
async (query) => {
  const channel = new MessageChannel();
  const tick = () => new Promise(r => { channel.port1.onmessage = () => r(); channel.port2.postMessage(0); });
  const box = document.querySelector('[data-testid=query]');
  const count = document.querySelector('[data-testid=query-count]');
  const before = count.dataset.count;
  let last = 0;
  const observer = new MutationObserver(() => { last = performance.now(); });
  observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  box.value = query;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  const t0 = performance.now();
  box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  // The count changes (every query here has another count than the one before it), then a frame renders.
  while (count.dataset.count === before) await tick();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  observer.disconnect();
  const rows = document.querySelectorAll('[data-testid=log-row]').length;
  return { query, ms: Math.round((Math.max(last, t0) - t0) * 10) / 10, matches: Number(count.dataset.count), rows };
}
"""

# Submits the model form; the time until the first rows are on screen with the progress gone, and whether
# progress was shown meanwhile.
MODEL_JS = """
async ([group, measure, field, query]) => {
  const channel = new MessageChannel();
  const tick = () => new Promise(r => { channel.port1.onmessage = () => r(); channel.port2.postMessage(0); });
  const form = document.querySelector('[data-testid=model-new]');
  form.querySelector('[name=group]').value = group;
  form.querySelector('[name=measure]').value = measure;
  form.querySelector('[name=field]').value = field;
  form.querySelector('[name=query]').value = query;
  const t0 = performance.now();
  form.requestSubmit();
  let progress = 0;
  const shown = () => document.querySelector('[aria-label="Building read models"]');
  while (true) {
    if (shown()) progress++;
    if (!shown() && document.querySelector('[data-testid=model-row]')) break;
    await tick();
  }
  const ms = performance.now() - t0;
  const groups = Number((document.querySelector('.model-card .model-head .muted').textContent.match(/^[\\d\\u202f]+/) || ['0'])[0].replace(/\\u202f/g, ''));
  return { ms: Math.round(ms), progress_frames_seen: progress, groups };
}
"""


def main():
    events, users = conftest.crowd_size()
    server, url = conftest.serve_dist()
    out = {"events": events, "users": users}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.ARGS)
        ctx, shop, out["generate_s"] = conftest.crowded_shop(browser, url, events, users)
        page = shop.page
        user = page.locator("[data-testid=user-row]").nth(3).get_attribute("data-user")
        out["queries"] = [
            page.evaluate(QUERY_JS, f"type:OrderPlaced user:{user} total>=500"),  # the yardstick's question
            page.evaluate(QUERY_JS, "type:OrderPlaced"),
            page.evaluate(QUERY_JS, f"type:OrderPlaced total>=500 user:{user}"),  # the first, asked again
            page.evaluate(QUERY_JS, "qty>=3 -type:ItemAdded after:2020-01-01"),
            page.evaluate(QUERY_JS, "user-42"),
            page.evaluate(QUERY_JS, ""),
        ]
        out["slider_jump_without_model"] = page.evaluate(SLIDER_JS, [300, 11, False])
        out["model_by_user_sum_total"] = page.evaluate(MODEL_JS, ["user", "sum", "total", "type:OrderPlaced"])
        out["slider_jump_with_model"] = page.evaluate(SLIDER_JS, [300, 11, False])
        out["slider_drag_with_model"] = page.evaluate(SLIDER_JS, [300, 11, True])
        out["after"] = page.evaluate(conftest.PAGE_SIZE_JS)
        ctx.close()
        browser.close()
    server.shutdown()
    print("QUERY-BENCH " + json.dumps(out))


if __name__ == "__main__":
    main()
