#!/usr/bin/env python3
"""History-tool figures in headless Chromium (prints numbers, asserts nothing), at 1,000,000 events and
100,000 users: a diff between two far points until it is on screen, blame for the busiest user until it is on
screen, and starting a branch at the middle of the log until it is shown. Also the page's WebAssembly memory
and DOM size after each. Run by `cargo xtask bench history` after a release trunk build.
BENCH_EVENTS and BENCH_USERS change the size."""
import collections
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import conftest  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

# Runs `act` (JS source of a function) and resolves with the ms until `done` (JS source of a predicate)
# holds, checked after every DOM change and every frame: the time until the page shows the answer.
UNTIL_SHOWN_JS = """async ([act, done]) => {
  const doneFn = new Function('return (' + done + ')()');
  const t0 = performance.now();
  new Function('return (' + act + ')()')();
  while (!doneFn()) await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""

SET_DIFF = """() => {
  window.__old = document.querySelector('[data-testid=diff-row]');
  for (const [id, v] of [['diff-from', '%d'], ['diff-to', '%d']]) {
    const el = document.querySelector(`[data-testid=${id}]`);
    el.value = v;
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }
}"""

def busiest_user(path):
    counts = collections.Counter()
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if "user" in e:
                counts[e["user"]] += 1
    return counts.most_common(1)[0]


def main():
    events, users = conftest.crowd_size()
    server, url = conftest.serve_dist()
    out = {"events": events, "users": users}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = pw.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.ARGS)
        ctx, shop, out["generate_s"] = conftest.crowded_shop(browser, url, events, users)
        page = shop.page
        path = shop.export(pathlib.Path(tmp) / "log.jsonl")
        name, n = busiest_user(path)
        out["busiest_user"] = [name, n]
        out["user_count"] = int(page.get_by_test_id("user-count").text_content())

        far = (events // 10, events * 9 // 10)
        times = []
        for i in range(5):
            a, b = far[0] + i, far[1] - i
            times.append(page.evaluate(UNTIL_SHOWN_JS, [
                SET_DIFF % (a, b),
                "() => { const r = document.querySelector('.diff [data-testid=diff-row]'); return r !== null && r !== window.__old; }"]))
        out["diff_far_points_ms"] = sorted(times)
        out["diff_count"] = page.get_by_test_id("diff-count").text_content()
        out["after_diff"] = page.evaluate(conftest.PAGE_SIZE_JS)

        page.get_by_test_id("entity-filter").fill(name)
        row = page.locator(f"[data-testid=user-row][data-user='{name}']")
        expect(row).to_have_count(1)
        times = []
        for _ in range(5):
            page.get_by_test_id("entity-filter").fill("")
            page.locator("[data-testid=item-row]").first.click()
            expect(page.locator("#blame-title")).not_to_contain_text(name)
            page.get_by_test_id("entity-filter").fill(name)
            expect(row).to_have_count(1)
            times.append(page.evaluate(UNTIL_SHOWN_JS, [
                f"() => {{ window.__old = document.querySelector('[data-testid=blame-row]'); "
                f"document.querySelector(\"[data-testid=user-row][data-user='{name}']\").click(); }}",
                f"() => {{ const r = document.querySelector('[data-testid=blame-row]'); "
                f"return r !== null && r !== window.__old && document.querySelector('#blame-title').textContent.includes('{name}'); }}"]))
        out["blame_busiest_user_ms"] = sorted(times)
        out["blame_rows"] = page.locator("[data-testid=blame-row]").count()
        out["after_blame"] = page.evaluate(conftest.PAGE_SIZE_JS)

        times = []
        for i in range(5):
            # Each start from main, a little further along, so no run reuses the last one's work.
            base = events // 2 + i
            shop.scrub(base)
            page.wait_for_timeout(300)
            times.append(page.evaluate(UNTIL_SHOWN_JS, [
                "() => document.querySelector('[data-testid=branch]').click()",
                f"() => document.querySelector('[data-testid=branch-name]').textContent.trim() !== 'main' && "
                f"document.querySelector('[data-testid=event-count]').textContent === '{base}'"]))
            if i == 0:
                out["after_first_branch"] = page.evaluate(conftest.PAGE_SIZE_JS)
            if i < 4:
                page.get_by_test_id("to-main").click()
                expect(page.get_by_test_id("branch-name")).to_have_text("main")
        out["branch_start_ms"] = sorted(times)
        out["after_five_branches"] = page.evaluate(conftest.PAGE_SIZE_JS)
        browser.close()
    server.shutdown()
    print("HISTORY-BENCH " + json.dumps(out))


if __name__ == "__main__":
    main()
