"""History views: the event log at 100,000 events, filters, what each event changed, one entity's chart."""
import os
import pathlib

from playwright.sync_api import expect

from test_app import starter

ARTIFACTS = pathlib.Path(__file__).parent / ".artifacts"


def log_seqs(shop):
    return shop.page.eval_on_selector_all("[data-testid=log-row]", "rows => rows.map(r => Number(r.dataset.seq))")


def scroll_log(shop, fraction):
    shop.page.locator(".log-viewport").evaluate(
        """(el, f) => new Promise(done => {
             el.scrollTop = f * (el.scrollHeight - el.clientHeight);
             el.dispatchEvent(new Event('scroll'));
             // The rows follow the scroll in the same turn and the scrollbar a frame later: two frames, done.
             requestAnimationFrame(() => requestAnimationFrame(done));
           })""",
        fraction)


def test_the_log_renders_only_rows_in_view_and_reaches_any_row(shop):
    shop.generate(100_000)
    rows = log_seqs(shop)
    assert 0 < len(rows) <= 20, "only the rows in view exist"
    assert rows[-1] == 100_000, "at live, the log shows the newest events"
    scroll_log(shop, 0.0)
    assert log_seqs(shop)[0] == 1
    scroll_log(shop, 0.5)
    middle = log_seqs(shop)
    assert len(middle) <= 20 and abs(middle[0] - 50_000) < 100, middle
    assert middle == list(range(middle[0], middle[0] + len(middle))), "consecutive rows"
    scroll_log(shop, 1.0)
    assert log_seqs(shop)[-1] == 100_000
    # Scrubbing keeps the cursor's row in view and highlighted.
    shop.scrub(31_337)
    expect(shop.page.locator("[data-testid=log-row][data-seq='31337']")).to_have_class("log-row at-cursor")


def test_clicking_a_row_moves_the_timeline_there(shop):
    shop.generate(500)
    scroll_log(shop, 0.0)
    row = shop.page.locator("[data-testid=log-row][data-seq='3']")
    row.click()
    expect(shop.timeline()).to_have_value("3")
    assert shop.view_mode() == "history"
    expect(row).to_have_class("log-row at-cursor")


def test_the_filter_limits_the_rows_and_the_stepping(shop):
    starter(shop)
    shop.top_up("bob", 100)
    shop.add_item("apple", 30, 5)
    shop.order("alice", "apple", 1)
    page = shop.page
    page.get_by_label("Show events of type").select_option("OrderPlaced")
    expect(page.locator("[data-testid=log-row]")).to_have_count(2)
    assert log_seqs(shop) == [3, 6]
    page.get_by_label("Show events of type").select_option("")
    page.locator("[name=filter-id]").fill("alice")
    page.locator("[name=filter-id]").press("Enter")
    expect(page.locator("[data-testid=log-row]")).to_have_count(3)
    assert log_seqs(shop) == [2, 3, 6]
    # Stepping follows the matching events only.
    shop.scrub(0)
    step = page.get_by_role("button", name="Step forward one event")
    for expected in ("2", "3", "6"):
        step.click()
        expect(shop.timeline()).to_have_value(expected)
    page.get_by_role("button", name="Step back one event").click()
    expect(shop.timeline()).to_have_value("3")
    shop.timeline().focus()
    page.keyboard.press("ArrowRight")
    expect(shop.timeline()).to_have_value("6")
    page.locator("[name=filter-id]").fill("nobody")
    page.locator("[name=filter-id]").press("Enter")
    expect(page.locator("[data-testid=log-row]")).to_have_count(0)
    expect(page.get_by_text("No event matches the filter.")).to_be_visible()


def test_change_rows_for_each_kind_of_event(shop):
    starter(shop)
    shop.add_item("apple", 30, 5)
    shop.add_item("apple", 35, 1)
    shop.top_up("alice", 60)
    expected = {
        1: [("item", "apple", "price", None, 30), ("item", "apple", "stock", None, 10)],
        2: [("user", "alice", "balance", None, 500)],
        3: [("user", "alice", "balance", 500, 440), ("item", "apple", "stock", 10, 8)],
        4: [("item", "apple", "stock", 8, 13)],
        5: [("item", "apple", "price", 30, 35), ("item", "apple", "stock", 13, 14)],
        6: [("user", "alice", "balance", 440, 500)],
    }
    for k, changes in expected.items():
        shop.scrub(k)
        got = [(c["kind"], c["id"], c["field"], c["before"], c["after"]) for c in shop.changes()]
        assert got == changes, (k, got)
    shop.scrub(0)
    assert shop.changes() == []


def test_a_selected_user_gets_a_chart_that_follows_the_cursor(shop):
    starter(shop)
    shop.top_up("alice", 100)
    shop.page.locator("[data-testid=user-row][data-user=alice]").click()
    chart = shop.page.get_by_test_id("entity-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-kind", "user")
    expect(chart).to_have_attribute("data-entity", "alice's balance")
    cursor = shop.page.get_by_test_id("chart-cursor")
    shop.scrub(2)
    expect(cursor).to_have_attribute("data-seq", "2")
    x2 = float(cursor.get_attribute("x1"))
    shop.scrub(4)
    expect(cursor).to_have_attribute("data-seq", "4")
    assert float(cursor.get_attribute("x1")) > x2
    # Clicking the chart moves the timeline.
    box = chart.locator("svg").bounding_box()
    shop.page.mouse.click(box["x"] + box["width"] * 0.01, box["y"] + box["height"] / 2)
    expect(shop.timeline()).to_have_value("0")
    shop.page.get_by_role("button", name="Jump to the live state").click()
    shop.page.locator("[data-testid=item-row][data-item=apple]").click()
    expect(chart).to_have_attribute("data-kind", "item")


def test_screenshot_for_the_readme(shop):
    """Takes the README's picture: a few thousand events, scrubbed into history, with a chart."""
    shop.generate(3000)
    shop.page.locator("[data-testid=user-row]").first.click()
    shop.scrub(1800)
    ARTIFACTS.mkdir(exist_ok=True)
    shop.page.evaluate("window.scrollTo(0, 0)")
    path = ARTIFACTS / "screenshot.png"
    shop.page.screenshot(path=str(path), full_page=False)
    if os.environ.get("REWIND_UPDATE_SCREENSHOT"):
        (pathlib.Path(__file__).parents[2] / "docs" / "screenshot.png").write_bytes(path.read_bytes())
    assert path.stat().st_size > 10_000
