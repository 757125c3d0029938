"""The shared log (CONTRACT §7): pages served by rewind-server, in separate browser profiles (two people), share
one log in a real Redis. Each sees the other's events within a second; with the server gone, nothing
unacknowledged is counted; when it is back, every page catches up by itself."""
import json
import re
import time

from playwright.sync_api import expect

from pages import ShopPage


def person(browser, url):
    """One person: a fresh browser profile (its own IndexedDB cache) with the shop open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    shop = ShopPage(page, url).open()
    expect(page.get_by_test_id("sync-status")).to_have_text("connected")
    return shop, context, errors


def wait_count(shop, n, timeout=10_000):
    expect(shop.page.get_by_test_id("event-count")).to_have_text(str(n), timeout=timeout)


def test_a_page_served_by_trunk_or_any_static_server_keeps_its_log_local(context, base_url):
    page = context.new_page()
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    shop = ShopPage(page, base_url).open()
    expect(shop.page.get_by_test_id("sync-status")).to_have_text("local")
    shop.top_up("alice", 5)
    # The browser's own log never needs the shared log's module.
    assert not [url for url in fetched if "split_shared_log" in url], fetched


def test_a_page_whose_shared_log_module_cannot_be_fetched_opens_nothing_says_so_and_opens_when_asked_again(
        browser, shared_log):
    """A page on a sync server fetches the shared log's module before it opens the log. While that fails, the
    page says so and opens nothing: a log in this browser instead would be a fork of the server's. Asked again
    once the module can be fetched, it opens the shop on the server's log."""
    # No service worker: it would serve the module from its cache, past the blocked route.
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        module = re.compile(r".*/split_shared_log[^/]*\.wasm$")
        page.route(module, lambda route: route.abort())
        page.goto(shared_log.url)
        problem = page.get_by_test_id("cannot-open")
        expect(problem).to_contain_text("could not be loaded")
        expect(page.get_by_test_id("event-count")).to_have_count(0)
        expect(page.get_by_test_id("topup-form")).to_have_count(0)
        opened = page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
        assert opened == [] and page.evaluate("localStorage.length") == 0, f"nothing is opened, yet: {opened}"

        page.unroute(module)
        problem.get_by_role("button", name="Try again").click()
        shop = ShopPage(page, shared_log.url)
        shop.wait_ready()
        expect(page.get_by_test_id("sync-status")).to_have_text("connected")
        shop.top_up("alice", 500)
        assert json.loads(shared_log.get("api/version")[2])["head"] == 1
        assert not errors, f"the page threw: {errors}"
    finally:
        context.close()


def test_two_people_see_each_others_events_within_a_second(browser, shared_log):
    ann, ann_ctx, ann_errors = person(browser, shared_log.url)
    bob, bob_ctx, bob_errors = person(browser, shared_log.url)
    try:
        ann.top_up("alice", 500)
        assert ann.event_count() == 1
        expect(bob.page.locator("[data-testid=user-row][data-user=alice]")).to_have_attribute(
            "data-balance", "500", timeout=1_000)
        bob.add_item("apple", 30, 10)
        expect(ann.page.locator("[data-testid=item-row][data-item=apple]")).to_have_attribute(
            "data-stock", "10", timeout=1_000)
        ann.order("alice", "apple", 2)
        expect(bob.page.locator("[data-testid=user-row][data-user=alice]")).to_have_attribute(
            "data-balance", "440", timeout=1_000)
        wait_count(bob, 3, timeout=1_000)
        # The stream holds what both pages show, in the order they were acknowledged.
        assert json.loads(shared_log.get("api/version")[2])["head"] == 3
        # Both order 5 of the 8 apples left at the same moment: one is stored; the other, decided on a log
        # that moved (or decided again after the server said so), is refused in the shop's own words.
        for shop in (ann, bob):
            form = shop.page.get_by_test_id("order-form")
            for name, value in (("user", "alice"), ("item", "apple"), ("qty", "5")):
                form.locator(f"[name={name}]").fill(value)
        for shop in (ann, bob):
            shop.page.get_by_test_id("order-form").locator("button[type=submit]").click()
        for shop in (ann, bob):
            wait_count(shop, 4)
            expect(shop.page.get_by_test_id("saving")).to_have_count(0)
        refused = [s for s in (ann, bob) if s.error().count() > 0]
        assert len(refused) == 1, "exactly one of the two orders is stored"
        expect(refused[0].error()).to_contain_text("in stock")
        for shop in (ann, bob):
            expect(shop.page.locator("[data-testid=item-row][data-item=apple]")).to_have_attribute("data-stock", "3")
        assert not ann_errors and not bob_errors
    finally:
        ann_ctx.close()
        bob_ctx.close()


def test_with_the_server_gone_nothing_unacknowledged_counts_and_both_pages_catch_up_when_it_is_back(
        browser, shared_log):
    ann, ann_ctx, _ = person(browser, shared_log.url)
    bob, bob_ctx, _ = person(browser, shared_log.url)
    try:
        ann.top_up("alice", 100)
        wait_count(bob, 1)

        shared_log.stop_server()
        for shop in (ann, bob):
            expect(shop.page.get_by_test_id("sync-status")).to_have_text("offline", timeout=5_000)
            expect(shop.page.get_by_test_id("offline")).to_be_visible()
        form = ann.page.get_by_test_id("topup-form")
        form.locator("[name=user]").fill("alice")
        form.locator("[name=amount]").fill("5")
        form.locator("button[type=submit]").click()
        expect(ann.page.get_by_test_id("pending-count")).to_have_text("1", timeout=10_000)
        assert ann.event_count() == 1
        assert ann.users() == {"alice": 100}, "a kept command changes nothing shown"

        # Others go on writing to Redis meanwhile (the producer appends through the same checked script).
        shared_log.produce(50)
        shared_log.start_server()
        for shop in (ann, bob):
            expect(shop.page.get_by_test_id("sync-status")).to_have_text("connected", timeout=5_000)
            wait_count(shop, 52, timeout=40_000)
        expect(ann.page.get_by_test_id("pending-count")).to_have_text("0")
        ann.top_up("alice", 5)
        wait_count(bob, 53)
        assert bob.users()["alice"] == ann.users()["alice"]
    finally:
        ann_ctx.close()
        bob_ctx.close()


def test_a_new_page_restores_from_the_server_snapshot_and_the_tail(browser, shared_log):
    shared_log.stop_server()
    shared_log.produce(12_345)
    shared_log.snapshot_every = 5_000
    shared_log.start_server()
    deadline = time.monotonic() + 20
    while shared_log.get("api/snapshot")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, headers, _ = shared_log.get("api/snapshot")
    assert status == 200, "the server keeps a snapshot in Redis"
    seq = int(headers["x-rewind-seq"])
    assert 0 < seq <= 12_345

    carol, carol_ctx, errors = person(browser, shared_log.url)
    try:
        info = carol.page.get_by_test_id("restore-info")
        expect(info).to_have_attribute("data-snapshot-seq", str(seq))
        expect(info).to_have_attribute("data-tail", str(12_345 - seq))
        wait_count(carol, 12_345)
        # The history arrives after the live state: the timeline reaches every event.
        expect(carol.page.get_by_test_id("timeline")).to_have_attribute("max", "12345")
        # A reload restores from this browser's own cache, whole.
        carol.reload()
        wait_count(carol, 12_345)
        restored = int(info.get_attribute("data-snapshot-seq")) + int(info.get_attribute("data-tail"))
        assert restored == 12_345
        assert not errors
    finally:
        carol_ctx.close()


def test_import_and_clear_are_refused_on_a_shared_log(browser, shared_log, tmp_path):
    ann, ann_ctx, _ = person(browser, shared_log.url)
    try:
        ann.top_up("alice", 100)
        path = tmp_path / "other.jsonl"
        path.write_text('{"v":2,"seq":1,"ts":1,"type":"ToppedUp","user":"zed","amount":1}\n')
        ann.import_file(path, confirm=None)
        expect(ann.error()).to_contain_text("shared log")
        assert ann.event_count() == 1
        assert ann.users() == {"alice": 100}
    finally:
        ann_ctx.close()


def test_each_shop_is_its_own_log_and_pages_of_two_shops_never_see_each_other(browser, shared_log):
    """CONTRACT §9: /shop/NAME/ is the app on shop NAME, / is shop main; a page never shows another shop's events."""
    base = shared_log.url.rstrip("/")
    ann, ann_ctx, ann_errors = person(browser, f"{base}/shop/north/")
    bob, bob_ctx, bob_errors = person(browser, f"{base}/shop/north/")
    cat, cat_ctx, cat_errors = person(browser, f"{base}/shop/south/")
    dan, dan_ctx, dan_errors = person(browser, shared_log.url)
    try:
        for shop, name in ((ann, "north"), (bob, "north"), (cat, "south"), (dan, "main")):
            expect(shop.page.get_by_test_id("shop-name")).to_have_text(name)
        ann.top_up("alice", 500)
        # The same shop: within a second.
        expect(bob.page.locator("[data-testid=user-row][data-user=alice]")).to_have_attribute(
            "data-balance", "500", timeout=1_000)
        cat.top_up("carol", 70)
        dan.add_item("apple", 30, 10)
        bob.order("alice", "apple", 1)
        expect(bob.error()).to_contain_text("apple")  # north has no apple: main's item is main's
        time.sleep(1.5)  # well past the second in which another page's event shows
        for shop, count in ((ann, 1), (bob, 1), (cat, 1), (dan, 1)):
            wait_count(shop, count)
        for shop in (cat, dan):
            expect(shop.page.locator("[data-testid=user-row][data-user=alice]")).to_have_count(0)
        for shop in (ann, bob, dan):
            expect(shop.page.locator("[data-testid=user-row][data-user=carol]")).to_have_count(0)
        for shop in (ann, bob, cat):
            expect(shop.page.locator("[data-testid=item-row][data-item=apple]")).to_have_count(0)
        # Each shop's log on the server, and again after a reload (each shop has its own cache).
        for path, head in (("shop/north/api/version", 1), ("shop/south/api/version", 1), ("api/version", 1)):
            assert json.loads(shared_log.get(path)[2])["head"] == head, path
        bob.reload()
        wait_count(bob, 1)
        expect(bob.page.locator("[data-testid=user-row][data-user=alice]")).to_have_attribute("data-balance", "500")
        expect(bob.page.get_by_test_id("shop-name")).to_have_text("north")
        assert not (ann_errors or bob_errors or cat_errors or dan_errors)
    finally:
        for context in (ann_ctx, bob_ctx, cat_ctx, dan_ctx):
            context.close()
