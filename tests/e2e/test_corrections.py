"""Corrections, never edits: the four correction forms, the Refund button of an order's row, and restoring
the shop to a point by compensating events, each checked against the independent Python reference."""
from playwright.sync_api import expect

from reference import replay


def submit(shop, form_id, **fields):
    """Submits a form that must be accepted: waits until its event is stored."""
    before = shop._submit(form_id, **fields)
    expect(shop.page.get_by_test_id("event-count")).to_have_text(str(before + 1))


def submit_refused(shop, form_id, **fields):
    shop._submit(form_id, **fields)


def a_sale(shop):
    """apple at 30 × 10 (event 1), alice tops up 500 (event 2), alice buys 2 apples (event 3)."""
    shop.add_item("apple", 30, 10)
    shop.top_up("alice", 500)
    shop.order("alice", "apple", 2)
    assert shop.users() == {"alice": 440}


def refused(shop, form_id, message, **fields):
    before = shop.event_count()
    submit_refused(shop, form_id, **fields)
    expect(shop.error()).to_contain_text(message)
    assert shop.event_count() == before, "a refused command writes nothing"


def test_each_correction_form_writes_its_event_or_says_why_not(shop, tmp_path):
    a_sale(shop)
    submit(shop, "refund-form", order=3)
    assert shop.event_count() == 4
    assert shop.users() == {"alice": 500} and shop.items() == {"apple": [30, 10]}
    refused(shop, "refund-form", "order #3 was already refunded (#4)", order=3)
    refused(shop, "refund-form", "event #1 is not an order", order=1)

    submit(shop, "withdraw-form", user="alice", amount=100)
    assert shop.users() == {"alice": 400}
    refused(shop, "withdraw-form", "alice has 400, so 1000 cannot be withdrawn", user="alice", amount=1000)
    refused(shop, "withdraw-form", "there is no user bob", user="bob", amount=1)

    submit(shop, "writeoff-form", item="apple", qty=3)
    assert shop.items() == {"apple": [30, 7]}
    refused(shop, "writeoff-form", "apple has 7 in stock, so 8 cannot be written off", item="apple", qty=8)

    submit(shop, "setprice-form", item="apple", price=45)
    assert shop.items() == {"apple": [45, 7]}
    refused(shop, "setprice-form", "apple already costs 45", item="apple", price=45)
    refused(shop, "setprice-form", "the price must be a whole number", item="apple", price="4.5")

    rows = shop.page.eval_on_selector_all("[data-testid=log-row] .what", "els => els.map(e => e.textContent)")
    assert any("order #3 refunded" in r for r in rows), rows
    assert any("alice withdrew" in r for r in rows) and any("written off" in r for r in rows), rows
    exported = shop.export(tmp_path / "log.jsonl").read_text().splitlines()
    assert replay(exported) == (shop.users(), shop.items())


def test_the_refund_button_of_an_order_row_refunds_it_once(shop):
    a_sale(shop)
    row = shop.page.locator("[data-testid=log-row][data-seq='3']")
    expect(row.get_by_role("button", name="Refund order #3")).to_be_visible()
    expect(shop.page.locator("[data-testid=log-row][data-seq='2']").get_by_role("button")).to_have_count(0)
    row.get_by_role("button", name="Refund order #3").click()
    expect(shop.page.get_by_test_id("event-count")).to_have_text("4")
    assert shop.users() == {"alice": 500} and shop.items() == {"apple": [30, 10]}
    shop.page.locator("[data-testid=log-row][data-seq='3']").get_by_role("button", name="Refund order #3").click()
    expect(shop.error()).to_contain_text("order #3 was already refunded (#4)")
    assert shop.event_count() == 4


def test_restore_here_asks_with_the_count_then_appends_compensating_events(shop, tmp_path):
    a_sale(shop)
    shop.top_up("bob", 70)
    submit(shop, "setprice-form", item="apple", price=40)
    shop.add_item("pear", 5, 3)
    restore = shop.page.get_by_test_id("restore-here")
    expect(restore).to_be_disabled()

    shop.scrub(3)
    expect(restore).to_be_enabled()
    questions = []
    shop.page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    restore.click()
    expect(shop.page.get_by_text("Nothing was changed.")).to_be_visible()
    assert shop.event_count() == 6
    assert "after event 3" in questions[0] and "appends 3 compensating events" in questions[0], questions

    shop.page.once("dialog", lambda d: (questions.append(d.message), d.accept()))
    restore.click()
    expect(shop.page.get_by_test_id("event-count")).to_have_text("9")
    expect(shop.page.get_by_test_id("view-mode")).to_have_text("live")
    assert shop.users() == {"alice": 440, "bob": 0}
    assert shop.items() == {"apple": [30, 8], "pear": [5, 0]}
    exported = shop.export(tmp_path / "log.jsonl").read_text().splitlines()
    assert replay(exported) == (shop.users(), shop.items())
    assert [l for l in exported[6:] if '"type":"Withdrawn"' in l and '"user":"bob"' in l], exported[6:]
