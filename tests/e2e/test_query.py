"""The query bar (CONTRACT §10): queries of each kind against an imported log, counted here independently
(in Python, local times through zoneinfo); n / N and the buttons visit the matches in order; a query from the
address; a malformed query's message changes nothing; the matches as a file."""
import datetime
import json
import random
import re
import urllib.parse
import zoneinfo

from playwright.sync_api import expect

from pages import ShopPage
from reference import make_log

ZONE = "America/New_York"
START = 1_761_955_200_000  # 2025-11-01T00:00Z: the log crosses the end of daylight-saving time (Nov 2)


def spread_log(tmp_path, n=3_000):
    """make_log's events, 1 to 90 minutes apart: about three months of history, as a file to import."""
    lines, _, _ = make_log(n, seed=7)
    rnd, ts, events = random.Random(3), START, []
    for line in lines:
        e = json.loads(line)
        ts += rnd.randint(60_000, 90 * 60_000)
        e["ts"], e["v"] = ts, 2
        if e["type"] == "OrderPlaced":
            e["price"] = e["total"] // e["qty"]
        events.append(e)
    path = tmp_path / "spread.jsonl"
    path.write_text("\n".join(json.dumps(e, separators=(",", ":")) for e in events) + "\n")
    return path, events


def local_ms(day: str) -> int:
    """Midnight of `day` in ZONE, in ms since the epoch."""
    at = datetime.datetime.fromisoformat(day).replace(tzinfo=zoneinfo.ZoneInfo(ZONE))
    return int(at.timestamp() * 1000)


def count_where(events, keep):
    return sum(1 for e in events if keep(e))


def ask(shop, query):
    box = shop.page.get_by_test_id("query")
    box.fill(query)
    box.press("Enter")


def expect_count(shop, n):
    expect(shop.page.get_by_test_id("query-count")).to_have_attribute("data-count", str(n), timeout=20_000)


def open_with_log(browser, base_url, tmp_path, address=""):
    context = browser.new_context(accept_downloads=True, timezone_id=ZONE, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    shop = ShopPage(page, base_url)
    shop.open()
    path, events = spread_log(tmp_path)
    shop.import_file(path)
    expect(page.get_by_test_id("event-count")).to_have_text(str(len(events)), timeout=60_000)
    if address:
        page.goto(base_url + address)
        shop.wait_ready()
    return context, shop, events


def test_queries_of_each_kind_match_an_independent_count(browser, base_url, tmp_path):
    context, shop, events = open_with_log(browser, base_url, tmp_path)
    nov10, dec1 = local_ms("2025-11-10"), local_ms("2025-12-01")
    cases = [
        ("type:OrderPlaced", lambda e: e["type"] == "OrderPlaced"),
        ("type:ToppedUp,ItemAdded", lambda e: e["type"] in ("ToppedUp", "ItemAdded")),
        ("user:user3", lambda e: e.get("user") == "user3"),
        ("item:good2", lambda e: e.get("item") == "good2"),
        ("total>=500", lambda e: e.get("total", -1) >= 500),
        ("qty=2", lambda e: e.get("qty") == 2),
        ("price<100", lambda e: e.get("price", 1 << 60) < 100),
        ("amount>4000", lambda e: e.get("amount", -1) > 4000),
        ("seq<=250", lambda e: e["seq"] <= 250),
        ("after:2025-11-10 before:2025-12-01", lambda e: nov10 <= e["ts"] < dec1),
        ("good1", lambda e: "good1" in e.get("item", "")),
        ("-type:ToppedUp", lambda e: e["type"] != "ToppedUp"),
        ("type:OrderPlaced user:user3 total>=200 after:2025-11-10",
         lambda e: e["type"] == "OrderPlaced" and e["user"] == "user3" and e["total"] >= 200 and e["ts"] >= nov10),
    ]
    for query, keep in cases:
        expected = count_where(events, keep)
        ask(shop, query)
        expect_count(shop, expected)
        assert expected > 0, f"{query} should match some events of this log"
        # The log lists only matches, in order and none skipped (the rows around the cursor: the last ones).
        matches = [e["seq"] for e in events if keep(e)]
        expect(shop.page.locator("[data-testid=log-row]").last).to_have_attribute("data-seq", str(matches[-1]))
        shown = [int(s) for s in shop.page.locator("[data-testid=log-row]").evaluate_all("els => els.map(e => e.dataset.seq)")]
        assert shown == matches[-len(shown):], query
    ask(shop, "")
    expect_count(shop, len(events))
    context.close()


def test_n_and_N_visit_the_matches_in_order_and_the_query_is_in_the_address(browser, base_url, tmp_path):
    context, shop, events = open_with_log(browser, base_url, tmp_path)
    page = shop.page
    ask(shop, "item:good4 qty>=2")
    matches = [e["seq"] for e in events if e.get("item") == "good4" and e.get("qty", 0) >= 2]
    expect_count(shop, len(matches))
    assert "q=item%3Agood4+qty%3E%3D2" in page.url or "q=item:good4" in urllib.parse.unquote_plus(page.url)
    shop.scrub(0)
    page.locator("h1").click()  # keys go to the page, not to a field
    for seq in matches[:4]:
        page.keyboard.press("n")
        expect(shop.timeline()).to_have_value(str(seq))
    page.keyboard.press("Shift+N")
    expect(shop.timeline()).to_have_value(str(matches[2]))
    page.get_by_test_id("query-next").click()
    expect(shop.timeline()).to_have_value(str(matches[3]))
    page.get_by_test_id("query-prev").click()
    page.get_by_test_id("query-prev").click()
    expect(shop.timeline()).to_have_value(str(matches[1]))
    # On the slider, n moves to the next match too.
    shop.timeline().focus()
    page.keyboard.press("n")
    expect(shop.timeline()).to_have_value(str(matches[2]))
    # Typing n in a field is typing, not moving.
    page.get_by_test_id("query").press("n")
    expect(page.get_by_test_id("query")).to_have_value(re.compile(r"^(n(item:good4 qty>=2)|(item:good4 qty>=2)n)$"))
    expect(shop.timeline()).to_have_value(str(matches[2]))

    # A link with the query reopens it.
    page.goto(base_url + "?q=" + urllib.parse.quote("type:OrderPlaced qty=3"))
    shop.wait_ready()
    expect(page.get_by_test_id("query")).to_have_value("type:OrderPlaced qty=3")
    expect_count(shop, count_where(events, lambda e: e["type"] == "OrderPlaced" and e["qty"] == 3))
    context.close()


def test_a_malformed_query_says_where_and_why_and_changes_nothing(browser, base_url, tmp_path):
    context, shop, events = open_with_log(browser, base_url, tmp_path)
    ask(shop, "type:OrderPlaced")
    orders = count_where(events, lambda e: e["type"] == "OrderPlaced")
    expect_count(shop, orders)
    ask(shop, "type:OrderPlaced total>=50.00")
    error = shop.page.get_by_test_id("query-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("total>=50.00")
    expect(error).to_contain_text("at character 18")
    expect(error).to_contain_text("not a whole number")
    expect_count(shop, orders)
    ask(shop, "colour:red")
    expect(error).to_contain_text("there is no `colour:`")
    ask(shop, "type:Refunded,OrderPlaced")
    expect(error).to_have_count(0)
    context.close()


def test_the_matches_download_as_json_lines(browser, base_url, tmp_path):
    context, shop, events = open_with_log(browser, base_url, tmp_path)
    ask(shop, "user:user5 type:OrderPlaced")
    matches = [e for e in events if e.get("user") == "user5" and e["type"] == "OrderPlaced"]
    expect_count(shop, len(matches))
    with shop.page.expect_download() as info:
        shop.page.get_by_test_id("query-export").click()
    path = tmp_path / "matches.jsonl"
    info.value.save_as(str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["seq"], e["v"], e["type"], e["total"]) for e in lines] == [(e["seq"], 2, e["type"], e["total"]) for e in matches]
    context.close()
