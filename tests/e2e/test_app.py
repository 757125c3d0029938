"""The app as a user meets it, in headless Chromium, through the CONTRACT's data-testids."""
import json
import re

from playwright.sync_api import expect

from pages import ShopPage
from reference import make_log, replay


def starter(shop):
    shop.add_item("apple", 30, 10)
    shop.top_up("alice", 500)
    shop.order("alice", "apple", 2)


def test_each_command_is_stored_and_shown(shop):
    expect(shop.page.get_by_text("Your shop has no history yet")).to_be_visible()
    starter(shop)
    assert shop.event_count() == 3
    assert shop.users() == {"alice": 440}
    assert shop.items() == {"apple": [30, 8]}
    assert shop.view_mode() == "live"
    assert shop.cursor() == 3
    expect(shop.error()).to_have_count(0)
    expect(shop.page.get_by_test_id("storage-backend")).to_have_text("indexeddb")


def test_each_kind_of_refusal_is_explained_and_writes_nothing(shop):
    starter(shop)
    cases = [
        (lambda: shop.order("bob", "apple", 1), "there is no user bob"),
        (lambda: shop.order("alice", "pear", 1), "there is no item pear"),
        (lambda: shop.order("alice", "apple", 9), "apple has 8 in stock, the order wants 9"),
        (lambda: shop.order("alice", "apple", 0), "the quantity must be at least 1"),
        (lambda: shop.top_up("carol", 0), "the amount must be at least 1"),
        (lambda: shop.top_up("carol", 2**53), "more than the maximum"),
        (lambda: shop.top_up("al ice", 5), "user id \"al ice\" contains ' '"),
        (lambda: shop.top_up("carol", "12.50"), "whole number"),
        (lambda: shop.add_item("pear", 0, 1), "the price must be between 1 and"),
        (lambda: shop.add_item("pear", 5, 0), "the quantity must be at least 1"),
    ]
    for act, message in cases:
        act()
        expect(shop.error()).to_contain_text(message)
        expect(shop.error()).to_have_attribute("role", "alert")
        assert shop.event_count() == 3
        assert shop.users() == {"alice": 440}
        assert shop.items() == {"apple": [30, 8]}
    shop.top_up("alice", 40)
    shop.add_item("pear", 100, 1)
    shop.order("alice", "pear", 1)
    shop.top_up("dave", 40)
    shop.order("dave", "apple", 2)
    expect(shop.error()).to_contain_text("dave has 40, the order costs 60")
    assert shop.event_count() == 7


def test_reload_keeps_the_log(shop):
    starter(shop)
    shop.reload()
    assert shop.event_count() == 3
    assert shop.users() == {"alice": 440}
    assert shop.items() == {"apple": [30, 8]}
    info = shop.page.get_by_test_id("restore-info")
    expect(info).to_have_attribute("data-snapshot-seq", "0")
    expect(info).to_have_attribute("data-tail", "3")
    assert int(info.get_attribute("data-ms")) >= 0


def test_scrubbing_shows_the_state_after_k_events(shop):
    starter(shop)
    shop.scrub(0)
    assert shop.users() == {} and shop.items() == {}
    assert shop.view_mode() == "history"
    assert shop.changes() == []
    shop.scrub(1)
    assert shop.items() == {"apple": [30, 10]} and shop.users() == {}
    assert shop.changes() == [
        {"kind": "item", "id": "apple", "field": "price", "before": None, "after": 30},
        {"kind": "item", "id": "apple", "field": "stock", "before": None, "after": 10},
    ]
    shop.scrub(2)
    assert shop.users() == {"alice": 500}
    apple = shop.page.locator("[data-testid=item-row][data-item=apple]")
    alice = shop.page.locator("[data-testid=user-row][data-user=alice]")
    # What a reader sees follows too: the cells' text, and which rows the event at the cursor changed.
    expect(apple.locator("td")).to_have_text(["0.30", "10"])
    expect(alice.locator("td")).to_have_text(["5.00"])
    expect(alice).to_have_class(re.compile(r"\bchanged\b"))
    expect(apple).not_to_have_class(re.compile(r"\bchanged\b"))
    shop.scrub(3)
    assert shop.users() == {"alice": 440} and shop.items() == {"apple": [30, 8]}
    expect(apple.locator("td")).to_have_text(["0.30", "8"])
    expect(alice.locator("td")).to_have_text(["4.40"])
    expect(apple).to_have_class(re.compile(r"\bchanged\b"))
    shop.scrub(2)
    expect(apple.locator("td")).to_have_text(["0.30", "10"])
    expect(apple).not_to_have_class(re.compile(r"\bchanged\b"))
    shop.scrub(3)
    assert shop.view_mode() == "live"
    assert shop.changes() == [
        {"kind": "user", "id": "alice", "field": "balance", "before": 500, "after": 440},
        {"kind": "item", "id": "apple", "field": "stock", "before": 10, "after": 8},
    ]


def test_the_slider_answers_the_keyboard(shop):
    starter(shop)
    slider = shop.timeline()
    slider.focus()
    shop.page.keyboard.press("Home")
    expect(slider).to_have_value("0")
    assert shop.view_mode() == "history"
    shop.page.keyboard.press("ArrowRight")
    expect(slider).to_have_value("1")
    assert shop.items() == {"apple": [30, 10]}
    shop.page.keyboard.press("End")
    expect(slider).to_have_value("3")
    assert shop.view_mode() == "live"
    shop.page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("2")
    assert shop.users() == {"alice": 500}


def test_a_command_in_history_applies_to_the_live_state_and_returns_to_live(shop):
    starter(shop)
    shop.scrub(1)
    assert shop.view_mode() == "history"
    shop.top_up("alice", 60)
    expect(shop.page.get_by_test_id("view-mode")).to_have_text("live")
    assert shop.cursor() == 4
    assert shop.users() == {"alice": 500}
    shop.page.get_by_role("button", name="Jump to the start").click()
    assert shop.cursor() == 0


def test_import_of_a_few_thousand_events_gives_the_known_balances(shop, tmp_path):
    lines, users, items = make_log(4000, seed=7)
    path = tmp_path / "shop.jsonl"
    path.write_text("\n".join(lines) + "\n")
    shop.import_file(path)
    expect(shop.page.get_by_test_id("event-count")).to_have_text("4000", timeout=30_000)
    assert shop.users() == users
    assert shop.items() == items
    assert shop.user_order() == sorted(users)


def test_a_bad_file_changes_nothing_and_names_the_line(shop, tmp_path):
    starter(shop)
    lines, _, _ = make_log(100, seed=3)
    lines[36] = lines[36].replace('"v":1', '"v":1,"note":"x"')
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines))
    shop.import_file(path, confirm=None)
    expect(shop.error()).to_contain_text("line 37:")
    assert shop.event_count() == 3
    assert shop.users() == {"alice": 440}
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    shop.import_file(empty, confirm=None)
    expect(shop.error()).to_contain_text("empty")
    assert shop.event_count() == 3


def test_declining_the_confirmation_keeps_the_log(shop, tmp_path):
    starter(shop)
    lines, _, _ = make_log(50)
    path = tmp_path / "other.jsonl"
    path.write_text("\n".join(lines))
    shop.import_file(path, confirm=False)
    expect(shop.page.get_by_text("Import cancelled")).to_be_visible()
    assert shop.event_count() == 3


def test_export_then_import_is_identical(shop, tmp_path):
    shop.generate(2500)
    first = shop.export(tmp_path / "a.jsonl").read_text()
    before = (shop.users(), shop.items())
    shop.import_file(tmp_path / "a.jsonl")
    expect(shop.page.get_by_text("Imported 2500 events")).to_be_visible(timeout=30_000)
    second = shop.export(tmp_path / "b.jsonl").read_text()
    assert first == second
    assert (shop.users(), shop.items()) == before


def test_generated_events_export_and_replay_cleanly(shop, tmp_path):
    shop.top_up("zed", 100)
    shop.generate(5000)
    text = shop.export(tmp_path / "g.jsonl").read_text()
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 5001
    users, items = replay(lines)
    assert shop.users() == users
    assert shop.items() == items


def test_generate_spreads_events_over_the_users_and_items_asked_for(shop):
    form = shop.page.get_by_test_id("generate-form")
    assert form.locator("[name=users]").input_value() == "1000"
    assert form.locator("[name=items]").input_value() == "300"
    form.locator("[name=users]").fill("6")
    form.locator("[name=items]").fill("4")
    shop.generate(2000)
    assert 1 <= len(shop.users()) <= 6
    assert 1 <= len(shop.items()) <= 4
    form.locator("[name=users]").fill("0")
    form.locator("button[type=submit]").click()
    expect(shop.error()).to_contain_text("how many users: a whole number from 1 to")
    assert shop.event_count() == 2000


def test_a_v1_file_imports_upcast_and_exports_as_v2(shop, tmp_path):
    lines, users, items = make_log(400, seed=7)
    assert all(json.loads(l)["v"] == 1 for l in lines)
    (tmp_path / "v1.jsonl").write_text("\n".join(lines) + "\n")
    shop.import_file(tmp_path / "v1.jsonl", confirm=None)
    expect(shop.page.get_by_test_id("event-count")).to_have_text("400")
    exported = shop.export(tmp_path / "v2.jsonl").read_text().splitlines()
    assert len(exported) == 400
    for old, new in zip(lines, exported):
        o, n = json.loads(old), json.loads(new)
        assert n["v"] == 2 and n["seq"] == o["seq"] and n["type"] == o["type"]
        if n["type"] == "OrderPlaced":
            assert n["price"] * n["qty"] == n["total"] == o["total"]
    assert replay(exported) == (users, items)
    assert shop.users() == users


def test_two_pages_of_one_browser_stay_in_sync(context, base_url):
    a = ShopPage(context.new_page(), base_url).open()
    b = ShopPage(context.new_page(), base_url).open()
    a.add_item("apple", 30, 10)
    expect(b.page.get_by_test_id("event-count")).to_have_text("1", timeout=1_000)
    b.top_up("bob", 70)
    expect(a.page.get_by_test_id("event-count")).to_have_text("2", timeout=1_000)
    assert a.users() == {"bob": 70}
    a.order("bob", "apple", 2)
    expect(b.page.locator("[data-testid=user-row][data-user=bob]")).to_have_attribute("data-balance", "10", timeout=1_000)


def test_an_import_in_one_page_replaces_the_log_in_the_other(context, base_url, tmp_path):
    a = ShopPage(context.new_page(), base_url).open()
    b = ShopPage(context.new_page(), base_url).open()
    starter(a)
    expect(b.page.get_by_test_id("event-count")).to_have_text("3", timeout=2_000)
    lines, users, items = make_log(3, seed=11)
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(lines))
    a.import_file(path)
    expect(a.page.get_by_text("Imported 3 events")).to_be_visible()
    # Same length, another history: the other page must show the new one, not a mix.
    b.page.wait_for_function(
        "names => [...document.querySelectorAll('[data-testid=user-row]')].map(r => r.dataset.user).join() === names",
        arg=",".join(sorted(users)), timeout=2_000)
    assert b.users() == users and b.items() == items
    # A command in the other page applies to the new log.
    b.top_up("zed", 5)
    expect(a.page.get_by_test_id("event-count")).to_have_text("4", timeout=2_000)
    assert a.users() == {**users, "zed": 5}


def test_the_shop_shows_without_its_later_parts_says_so_and_takes_them_when_asked_again(browser, base_url):
    """The first WebAssembly module holds what shows the shop; the forms, the timeline and the history tools come
    in a module of their own, fetched once the shop is on screen. While it cannot be fetched the shop's state is
    still shown, and each of those parts says it is missing instead of leaving a hole; asked again, they come and
    the shop takes commands."""
    # No service worker: it would serve the later module from its cache, past the blocked route.
    context = browser.new_context(service_workers="block")
    try:
        first = ShopPage(context.new_page(), base_url).open()
        first.top_up("alice", 500)
        first.page.close()

        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        later = re.compile(r".*/split_[^/]*\.wasm$")
        page.route(later, lambda route: route.abort())
        page.goto(base_url)
        missing = page.get_by_role("alert").filter(has_text="could not be loaded")
        expect(missing).to_have_count(7)
        expect(page.get_by_test_id("event-count")).to_have_text("1")
        expect(page.get_by_test_id("user-row")).to_have_count(1)
        expect(page.get_by_test_id("topup-form")).to_have_count(0)
        expect(page.get_by_test_id("timeline")).to_have_count(0)

        page.unroute(later)
        missing.first.get_by_role("button", name="Try again").click()
        expect(missing).to_have_count(0)
        shop = ShopPage(page, base_url)
        shop.wait_ready()
        shop.top_up("bob", 300)
        expect(page.get_by_test_id("event-count")).to_have_text("2")
        expect(page.get_by_test_id("log-row")).to_have_count(2)
        assert not errors, f"the page threw: {errors}"
    finally:
        context.close()


def test_the_later_parts_arrive_and_work(shop, tmp_path):
    starter(shop)
    expect(shop.page.get_by_test_id("diff-from")).to_be_visible()
    expect(shop.page.get_by_test_id("import-file")).to_be_attached()
    expect(shop.page.get_by_text("Loading…")).to_have_count(0)
