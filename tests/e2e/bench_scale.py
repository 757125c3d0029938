#!/usr/bin/env python3
"""Scale figures in headless Chromium (prints numbers, asserts nothing), at 1,000,000 events and 100,000 users:
far timeline jumps with the event log, the changes and a user's chart on screen; a click on a user until its
chart shows and on a log row until the timeline is there; then, in a fresh profile, import of the exported
file, reload to the live state and to the full timeline, the first far jumps after that reload against the next
ones, WebAssembly memory and DOM nodes after each.
Run by `cargo xtask bench scale` after a release trunk build. BENCH_EVENTS and BENCH_USERS change the size."""
import json
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import conftest  # noqa: E402
from bench_app import CHART_JS, LIVE_ON_SCREEN_JS, ROW_CLICK_JS, SLIDER_JS  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from pages import ShopPage  # noqa: E402

def main():
    events, users = conftest.crowd_size()
    server, url = conftest.serve_dist()
    out = {"events": events, "users": users}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = pw.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.ARGS)
        ctx, shop, out["generate_s"] = conftest.crowded_shop(browser, url, events, users)
        page = shop.page
        out["user_count"] = int(page.get_by_test_id("user-count").text_content())
        out["after_generate"] = page.evaluate(conftest.PAGE_SIZE_JS)
        out["select_user_to_chart_ms"] = sorted(page.evaluate(CHART_JS) for _ in range(1))
        out["slider_jump_with_log_changes_chart"] = page.evaluate(SLIDER_JS, [300, 11, False])
        out["slider_drag_with_log_changes_chart"] = page.evaluate(SLIDER_JS, [300, 11, True])
        out["log_row_click_ms"] = page.evaluate(ROW_CLICK_JS)
        out["after_moves"] = page.evaluate(conftest.PAGE_SIZE_JS)
        path = shop.export(pathlib.Path(tmp) / "log.jsonl")
        out["export_mb"] = round(path.stat().st_size / 1e6, 1)
        ctx.close()

        # A fresh profile imports the file, then reloads.
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.set_default_timeout(1_800_000)
        other = ShopPage(page, url).open()
        t = time.perf_counter()
        page.get_by_test_id("import-file").set_input_files(str(path))
        page.get_by_text(f"Imported {events} events").wait_for()
        expect(page.get_by_test_id("timeline")).to_be_enabled()
        out["import_s"] = round(time.perf_counter() - t, 2)
        out["after_import"] = page.evaluate(conftest.PAGE_SIZE_JS)
        live, full = [], []
        for _ in range(3):
            page.goto("about:blank")
            t0 = time.perf_counter()
            page.goto(url)
            page.evaluate(LIVE_ON_SCREEN_JS)
            live.append(round((time.perf_counter() - t0) * 1000))
            other.wait_ready()
            full.append(round((time.perf_counter() - t0) * 1000))
        out["reload_to_live_ms"] = sorted(live)
        out["reload_to_full_timeline_ms"] = sorted(full)
        # The first far jumps right after that reload, then as many more: the first must meet the same target.
        out["first_60_jumps_after_reload"] = page.evaluate(SLIDER_JS, [60, 5, False])
        out["next_60_jumps"] = page.evaluate(SLIDER_JS, [60, 6, False])
        out["after_reload"] = page.evaluate(conftest.PAGE_SIZE_JS)
        browser.close()
    server.shutdown()
    print("SCALE-BENCH " + json.dumps(out))


if __name__ == "__main__":
    main()
