"""The outbox (CONTRACT §10): on a shared log, a command made while the sync server cannot be reached is kept in
this browser, shown apart from the log and never counted, survives a reload and a closed tab, and is decided once,
in order, when the server is back; one the log no longer allows goes to the conflict inbox."""
import json
import shutil
import time

from playwright.sync_api import expect

from axe import assert_accessible
from pages import ShopPage
from test_shared_log import person, wait_count


def head(shared_log):
    return json.loads(shared_log.get("api/version")[2])["head"]


def pending(page):
    return page.get_by_test_id("pending-count")


def ask_top_up(shop, user, amount):
    """Fills and sends the top-up form without waiting for the log: the command may only be kept."""
    form = shop.page.get_by_test_id("topup-form")
    form.locator("[name=user]").fill(user)
    form.locator("[name=amount]").fill(str(amount))
    form.locator("button[type=submit]").click()


def ask_order(shop, user, item, qty):
    form = shop.page.get_by_test_id("order-form")
    for name, value in (("user", user), ("item", item), ("qty", str(qty))):
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()


def keeps_app_files(page):
    """Waits until the service worker keeps a whole version of the app (page, script, WebAssembly, styles)."""
    page.wait_for_function(
        "caches.open('rewind-app').then(c => c.match('/__rewind_current')).then(r => r ? r.text() : '')"
        ".then(name => name ? caches.open(name).then(c => c.keys()).then(k => k.length >= 4) : false)",
        timeout=30_000)


def exported(shop, path):
    shop.export(path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_commands_made_in_two_tabs_while_the_server_is_down_survive_a_reload_and_a_closed_tab_and_are_stored_once_in_order(
        browser, shared_log, tmp_path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        one = ShopPage(ctx.new_page(), shared_log.url).open()
        two = ShopPage(ctx.new_page(), shared_log.url).open()
        one.top_up("alice", 100)
        wait_count(two, 1)
        for shop in (one, two):
            expect(pending(shop.page)).to_have_text("0")
        keeps_app_files(one.page)
        # Every script and module the page loaded, the later parts' too, is in the version kept for offline use.
        expect(one.page.get_by_test_id("diff-from")).to_be_visible()
        kept = one.page.evaluate(
            "caches.open('rewind-app').then(c => c.match('/__rewind_current')).then(r => r.text())"
            ".then(name => caches.open(name)).then(c => c.keys()).then(ks => ks.map(k => new URL(k.url).pathname))")
        loaded = one.page.evaluate(
            "performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)"
            ".filter(p => /\\.(js|wasm)$/.test(p) && p !== '/sw.js')")
        assert any(p.endswith(".wasm") and "/split_" in p for p in loaded), loaded
        assert set(loaded) <= set(kept), f"loaded but not kept: {set(loaded) - set(kept)}"

        shared_log.stop_server()
        for shop in (one, two):
            expect(shop.page.get_by_test_id("sync-status")).to_have_text("offline", timeout=10_000)
        # Five commands between the two tabs, in this order.
        for n, shop in enumerate((one, two, one, two, one), start=1):
            ask_top_up(shop, "alice", n)
            for each in (one, two):
                expect(pending(each.page)).to_have_text(str(n), timeout=15_000)
                assert each.event_count() == 1, "a pending command is never counted"
        rows = one.page.get_by_test_id("pending-row")
        expect(rows).to_have_count(5)
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.kind)") == ["TopUp"] * 5
        assert one.users() == {"alice": 100}, "nor shown in the tables"
        assert one.cursor() == 1 and one.timeline().get_attribute("max") == "1", "nor on the timeline"
        lines = exported(one, tmp_path / "offline.jsonl")
        assert len(lines) == 1, "nor in an export"

        # One tab reloads while the server is down (the app's files from the service worker, the log and the
        # outbox from this browser); the other is closed.
        one.page.reload()
        one.wait_ready()
        expect(one.page.get_by_test_id("sync-status")).to_have_text("offline")
        expect(pending(one.page)).to_have_text("5")
        expect(one.page.get_by_test_id("pending-row")).to_have_count(5)
        assert one.event_count() == 1
        two.page.close()

        shared_log.start_server()
        expect(pending(one.page)).to_have_text("0", timeout=60_000)
        wait_count(one, 6)
        assert one.users() == {"alice": 115}
        assert head(shared_log) == 6, "each stored once"
        lines = exported(one, tmp_path / "back.jsonl")
        assert [line.get("amount") for line in lines] == [100, 1, 2, 3, 4, 5], "in the order they were made"
        expect(one.page.get_by_test_id("pending-row")).to_have_count(0)
    finally:
        ctx.close()


def test_an_order_made_offline_for_stock_another_browser_bought_meanwhile_goes_to_the_conflict_inbox(
        browser, shared_log):
    ann, ann_ctx, ann_errors = person(browser, shared_log.url)
    bob, bob_ctx, _ = person(browser, shared_log.url)
    try:
        ann.add_item("apple", 30, 1)
        ann.add_item("pear", 20, 5)
        ann.top_up("ann", 100)
        ann.top_up("bob", 100)
        wait_count(bob, 4)

        # Ann's browser loses its network and she orders the last apple, twice; meanwhile Bob buys it.
        ann_ctx.set_offline(True)
        ask_order(ann, "ann", "apple", 1)
        expect(pending(ann.page)).to_have_text("1", timeout=15_000)
        ask_order(ann, "ann", "apple", 1)
        expect(pending(ann.page)).to_have_text("2", timeout=15_000)
        assert ann.event_count() == 4
        expect(ann.page.get_by_test_id("pending-row")).to_have_count(2)
        assert_accessible(ann.page, "the outbox with two pending orders")
        bob.order("bob", "apple", 1)
        wait_count(bob, 5)

        ann_ctx.set_offline(False)
        conflicts = ann.page.get_by_test_id("conflict-row")
        expect(conflicts).to_have_count(2, timeout=60_000)
        expect(pending(ann.page)).to_have_text("0")
        wait_count(ann, 5)
        for row in conflicts.all():
            expect(row).to_have_attribute("data-kind", "PlaceOrder")
            expect(row).to_contain_text("in stock")
        expect(ann.page.get_by_test_id("conflict-count")).to_be_visible()
        assert ann.users() == {"ann": 100, "bob": 70}, "nothing of ann's orders"
        assert_accessible(ann.page, "the conflict inbox with two refused orders")

        # Changed to another item and sent again, one is stored; the other is dropped.
        first = conflicts.first
        first.locator("[data-field=item]").fill("pear")
        first.get_by_test_id("conflict-retry").click()
        expect(conflicts).to_have_count(1)
        wait_count(ann, 6)
        conflicts.first.get_by_test_id("conflict-discard").click()
        expect(conflicts).to_have_count(0)
        expect(ann.page.get_by_test_id("conflict-count")).to_have_count(0)
        time.sleep(1)
        assert head(shared_log) == 6 and ann.event_count() == 6, "nothing else changed"
        assert ann.users() == {"ann": 80, "bob": 70}
        assert ann.items() == {"apple": [30, 0], "pear": [20, 4]}
        assert not ann_errors
    finally:
        ann_ctx.close()
        bob_ctx.close()


def test_a_tab_closed_while_its_command_is_being_sent_leaves_it_stored_once_never_twice_never_lost(
        browser, shared_log):
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        shop = ShopPage(page, shared_log.url).open()
        shop.top_up("alice", 100)
        reached = []

        def stored_then_lost(route):
            # The server stores the command; its answer never reaches the page, which is closed first.
            reached.append(route.fetch().status)

        page.route("**/api/command", stored_then_lost)
        ask_top_up(shop, "alice", 7)
        for _ in range(100):
            if reached:
                break
            page.wait_for_timeout(100)
        assert reached == [200] and head(shared_log) == 2
        page.close()

        # Another tab of the same browser finds the command in the outbox and sends it again, same key.
        other = ShopPage(ctx.new_page(), shared_log.url).open()
        expect(pending(other.page)).to_have_text("0", timeout=30_000)
        wait_count(other, 2)
        time.sleep(1)
        assert head(shared_log) == 2, "stored once"
        assert other.users() == {"alice": 107}
    finally:
        ctx.close()


CURRENT_JS = "caches.open('rewind-app').then(c => c.match('/__rewind_current')).then(r => r ? r.text() : null)"


def test_the_app_opens_offline_in_the_last_whole_version_and_a_new_one_is_picked_up_when_the_server_is_back(
        browser, shared_log, tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(shared_log.dist, dist)
    shared_log.dist = dist
    shared_log.stop_server()
    shared_log.start_server()
    ctx = browser.new_context()
    try:
        shop = ShopPage(ctx.new_page(), shared_log.url).open()
        shop.top_up("alice", 100)
        keeps_app_files(shop.page)
        first = shop.page.evaluate(CURRENT_JS)
        index = dist / "index.html"
        original = index.read_text()

        # A release whose files are not all there yet: its page names a file the server does not have.
        css = next(dist.glob("main-*.css"))
        index.write_text(original.replace(css.name, "main-0000000000000000.css").replace("</body>", "<!-- half --></body>"))
        shop.page.reload()
        shop.wait_ready()
        shop.page.wait_for_timeout(1_000)
        assert shop.page.evaluate(CURRENT_JS) == first, "a version kept only whole"

        # The server goes: the page opens offline, in the whole version it kept.
        shared_log.stop_server()
        shop.page.reload()
        shop.wait_ready()
        expect(shop.page.get_by_test_id("sync-status")).to_have_text("offline", timeout=10_000)
        assert "<!-- half -->" not in shop.page.content()
        expect(shop.page.get_by_test_id("event-count")).to_have_text("1")

        # A whole new release, and the server back: the next load takes it, and it is what opens offline next.
        shutil.copy(css, dist / "main-1111111111111111.css")
        index.write_text(original.replace(css.name, "main-1111111111111111.css").replace("</body>", "<!-- second --></body>"))
        shared_log.start_server()
        shop.page.reload()
        shop.wait_ready()
        shop.page.wait_for_function(f"{CURRENT_JS}.then(name => name && name !== {json.dumps(first)})", timeout=20_000)
        names = shop.page.evaluate("caches.keys()")
        assert len([n for n in names if n.startswith("rewind-app-")]) == 1, f"the older version goes: {names}"
        shared_log.stop_server()
        shop.page.reload()
        shop.wait_ready()
        assert "<!-- second -->" in shop.page.content()
        expect(shop.page.get_by_test_id("event-count")).to_have_text("1")
    finally:
        ctx.close()
