"""History you can question (CONTRACT §6): diff two points, blame a value, what-if branches; and times shown in
local time on both sides of a daylight-saving change."""
import json

from playwright.sync_api import expect

from pages import ShopPage

ROWS = """els => els.map(e => ({kind: e.dataset.kind, id: e.dataset.id, field: e.dataset.field,
  before: e.dataset.before === undefined ? null : Number(e.dataset.before), after: Number(e.dataset.after)}))"""
BLAME = """els => els.map(e => [Number(e.dataset.seq), e.dataset.field,
  e.dataset.before === undefined ? null : Number(e.dataset.before), Number(e.dataset.after)])"""


def a_small_history(shop):
    """Eight events: a sale, a newcomer, a price change, a top-up and a refund."""
    shop.top_up("alice", 500)          # 1
    shop.add_item("apple", 30, 10)     # 2
    shop.order("alice", "apple", 2)    # 3: alice 440, apple stock 8
    shop.top_up("bob", 100)            # 4
    shop.add_item("pear", 5, 3)        # 5
    form = shop.page.get_by_test_id("setprice-form")
    form.locator("[name=item]").fill("apple")
    form.locator("[name=price]").fill("45")
    form.locator("button[type=submit]").click()   # 6
    expect(shop.page.get_by_test_id("event-count")).to_have_text("6")
    shop.top_up("alice", 20)           # 7: 460
    form = shop.page.get_by_test_id("refund-form")
    form.locator("[name=order]").fill("3")
    form.locator("button[type=submit]").click()   # 8: alice 520, apple stock 10
    expect(shop.page.get_by_test_id("event-count")).to_have_text("8")


def diff_rows(scope):
    return scope.locator("[data-testid=diff-row]").evaluate_all(ROWS)


def set_points(shop, a, b):
    shop.page.get_by_test_id("diff-from").fill(str(a))
    shop.page.get_by_test_id("diff-from").dispatch_event("change")
    shop.page.get_by_test_id("diff-to").fill(str(b))
    shop.page.get_by_test_id("diff-to").dispatch_event("change")


def test_diff_lists_every_value_that_differs_including_entities_created_in_between(shop):
    a_small_history(shop)
    set_points(shop, 2, 6)
    expect(shop.page.get_by_test_id("diff-count")).to_have_text("6")
    assert diff_rows(shop.page.locator(".diff")) == [
        {"kind": "user", "id": "alice", "field": "balance", "before": 500, "after": 440},
        {"kind": "user", "id": "bob", "field": "balance", "before": None, "after": 100},
        {"kind": "item", "id": "apple", "field": "price", "before": 30, "after": 45},
        {"kind": "item", "id": "apple", "field": "stock", "before": 10, "after": 8},
        {"kind": "item", "id": "pear", "field": "price", "before": None, "after": 5},
        {"kind": "item", "id": "pear", "field": "stock", "before": None, "after": 3},
    ]
    # The same point twice: nothing differs.
    set_points(shop, 4, 4)
    expect(shop.page.get_by_test_id("diff-count")).to_have_text("0")


def test_points_stay_as_typed_and_a_backward_comparison_can_be_asked(shop):
    a_small_history(shop)
    set_points(shop, 6, 2)
    # Typed left to right, the first point later than the second: neither is swapped.
    expect(shop.page.get_by_test_id("diff-from")).to_have_value("6")
    expect(shop.page.get_by_test_id("diff-to")).to_have_value("2")
    # "before" is the state after diff-from events (6), "after" the state after diff-to events (2); users and
    # items that did not exist yet at 2 have no value there to list.
    expect(shop.page.get_by_test_id("diff-count")).to_have_text("3")
    assert diff_rows(shop.page.locator(".diff")) == [
        {"kind": "user", "id": "alice", "field": "balance", "before": 440, "after": 500},
        {"kind": "item", "id": "apple", "field": "price", "before": 45, "after": 30},
        {"kind": "item", "id": "apple", "field": "stock", "before": 8, "after": 10},
    ]


def test_a_click_and_a_shift_click_in_the_event_log_set_the_two_points(shop):
    a_small_history(shop)
    log = shop.page.locator("[data-testid=log-row]")
    log.locator("xpath=self::*[@data-seq='3']").click()
    log.locator("xpath=self::*[@data-seq='8']").click(modifiers=["Shift"])
    expect(shop.page.get_by_test_id("diff-from")).to_have_value("3")
    expect(shop.page.get_by_test_id("diff-to")).to_have_value("8")
    expect(shop.timeline()).to_have_value("3"), "the shift-click compares, it does not move the timeline"
    assert diff_rows(shop.page.locator(".diff")) == [
        {"kind": "user", "id": "alice", "field": "balance", "before": 440, "after": 520},
        {"kind": "user", "id": "bob", "field": "balance", "before": None, "after": 100},
        {"kind": "item", "id": "apple", "field": "price", "before": 30, "after": 45},
        {"kind": "item", "id": "apple", "field": "stock", "before": 8, "after": 10},
        {"kind": "item", "id": "pear", "field": "price", "before": None, "after": 5},
        {"kind": "item", "id": "pear", "field": "stock", "before": None, "after": 3},
    ]
    # A diff row leads to the entity's history.
    shop.page.locator(".diff [data-testid=diff-row][data-id=alice]").click()
    expect(shop.page.get_by_test_id("entity-chart")).to_have_attribute("data-kind", "user")
    expect(shop.page.locator("[data-testid=blame-row]").first).to_be_visible()


def test_blame_lists_the_events_that_made_a_balance_newest_first_and_moves_the_timeline(shop):
    a_small_history(shop)
    shop.page.locator("[data-testid=user-row][data-user=alice]").click()
    rows = shop.page.locator("[data-testid=blame-row]")
    expect(rows).to_have_count(4)
    assert rows.evaluate_all(BLAME) == [
        [8, "balance", 460, 520],   # the refund
        [7, "balance", 440, 460],   # a top-up
        [3, "balance", 500, 440],   # the order
        [1, "balance", None, 500],  # created by the first top-up
    ]
    rows.first.click()
    expect(shop.timeline()).to_have_value("8")
    shop.page.locator("[data-testid=blame-row][data-seq='3']").click()
    expect(shop.timeline()).to_have_value("3")
    # Up to the timeline's value only.
    expect(rows).to_have_count(2)
    assert [r[0] for r in rows.evaluate_all(BLAME)] == [3, 1]
    # Forward again: the newer lines come back on top, in order.
    shop.scrub(7)
    expect(rows).to_have_count(3)
    assert [r[0] for r in rows.evaluate_all(BLAME)] == [7, 3, 1]
    # An item: its price change and its stock moves.
    shop.scrub(8)
    shop.page.locator("[data-testid=item-row][data-item=apple]").click()
    expect(rows).to_have_count(5)
    assert rows.evaluate_all(BLAME) == [
        [8, "stock", 8, 10],
        [6, "price", 30, 45],
        [3, "stock", 10, 8],
        [2, "price", None, 30],
        [2, "stock", None, 10],
    ]


def test_a_branch_has_its_own_events_the_real_log_never_sees_and_survives_a_reload(shop, context, tmp_path):
    a_small_history(shop)
    page = shop.page
    expect(page.get_by_test_id("branch-name")).to_have_text("main")
    shop.scrub(4)
    page.get_by_test_id("branch").click()
    expect(page.get_by_test_id("branch-name")).to_have_text("what-if-1")
    expect(page.get_by_test_id("event-count")).to_have_text("4")
    assert shop.users() == {"alice": 440, "bob": 100}
    # What if carol had come, and apples had been restocked before the price change?
    shop.top_up("carol", 50)
    shop.add_item("apple", 30, 90)
    expect(page.get_by_test_id("event-count")).to_have_text("6")
    assert shop.users() == {"alice": 440, "bob": 100, "carol": 50}
    compare = page.get_by_test_id("branch-compare")
    assert diff_rows(compare) == [
        {"kind": "user", "id": "alice", "field": "balance", "before": 520, "after": 440},
        {"kind": "user", "id": "carol", "field": "balance", "before": None, "after": 50},
        {"kind": "item", "id": "apple", "field": "price", "before": 45, "after": 30},
        {"kind": "item", "id": "apple", "field": "stock", "before": 10, "after": 98},
    ]
    # Export on a branch writes the branch's log: a valid log of its own.
    lines = shop.export(tmp_path / "branch.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert json.loads(lines[4])["user"] == "carol"
    # Import is for the real log only.
    shop.import_file(tmp_path / "branch.jsonl", confirm=None)
    expect(shop.error()).to_contain_text("real log")

    # The real log is untouched, here and in another tab.
    other = ShopPage(context.new_page(), shop.base_url).open()
    expect(other.page.get_by_test_id("event-count")).to_have_text("8")
    assert "carol" not in other.users()
    page.get_by_test_id("to-main").click()
    expect(page.get_by_test_id("branch-name")).to_have_text("main")
    expect(page.get_by_test_id("event-count")).to_have_text("8")
    assert "carol" not in shop.users()

    # Kept in this browser: after a reload, the branch is there with its own events.
    shop.reload()
    item = page.locator("[data-testid=branch-item][data-name=what-if-1]")
    expect(item).to_have_count(1)
    item.click()
    expect(page.get_by_test_id("event-count")).to_have_text("6")
    assert shop.users()["carol"] == 50

    # Deleted only after confirmation.
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_test_id("delete-branch").click()
    expect(page.get_by_test_id("branch-name")).to_have_text("what-if-1")
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("delete-branch").click()
    expect(page.get_by_test_id("branch-name")).to_have_text("main")
    expect(page.locator("[data-testid=branch-item]")).to_have_count(0)
    expect(page.get_by_test_id("event-count")).to_have_text("8")


def test_times_are_local_on_both_sides_of_a_daylight_saving_change(browser, base_url, tmp_path):
    context = browser.new_context(timezone_id="Europe/Berlin")
    try:
        shop = ShopPage(context.new_page(), base_url).open()
        winter = 1768478400000   # 2026-01-15 12:00 UTC: 13:00 in Berlin (CET, UTC+1)
        summer = 1784116800000   # 2026-07-15 12:00 UTC: 14:00 in Berlin (CEST, UTC+2)
        path = tmp_path / "seasons.jsonl"
        path.write_text(
            f'{{"v":2,"seq":1,"ts":{winter},"type":"ToppedUp","user":"alice","amount":1}}\n'
            f'{{"v":2,"seq":2,"ts":{summer},"type":"ToppedUp","user":"alice","amount":1}}\n')
        shop.import_file(path, confirm=None)
        expect(shop.page.get_by_test_id("event-count")).to_have_text("2")
        times = shop.page.locator("[data-testid=log-row] .time").all_text_contents()
        assert times == ["13:00:00", "14:00:00"]
    finally:
        context.close()
