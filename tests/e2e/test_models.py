"""Read models defined in the page (CONTRACT §10): a model grouped by user measuring the sum of order totals,
checked at three cursor positions against a fold written here; kept across a reload; exported and imported
into a fresh profile with the same values; a file that is no model is refused and changes nothing."""
import datetime
import json
import zoneinfo

from playwright.sync_api import expect

from test_query import ZONE, open_with_log

ROWS = "els => Object.fromEntries(els.map(e => [e.dataset.group, Number(e.dataset.value)]))"


def fold(events, k, group_of, keep, value_of):
    out = {}
    for e in events[:k]:
        if keep(e):
            g = group_of(e)
            out[g] = out.get(g, 0) + value_of(e)
    return out


def model_rows(shop, card=0):
    return shop.page.locator(".model-card").nth(card).locator("[data-testid=model-row]").evaluate_all(ROWS)


def new_model(shop, group, measure, field, query="", name=""):
    form = shop.page.get_by_test_id("model-new")
    form.locator("[name=group]").select_option(group)
    form.locator("[name=measure]").select_option(measure)
    form.locator("[name=field]").select_option(field)
    form.locator("[name=query]").fill(query)
    form.locator("[name=name]").fill(name)
    form.locator("button[type=submit]").click()


def test_a_model_follows_the_timeline_survives_a_reload_and_travels_as_a_file(browser, base_url, tmp_path):
    context, shop, events = open_with_log(browser, base_url, tmp_path)
    new_model(shop, "user", "sum", "total", "type:OrderPlaced", "Spend by user")
    card = shop.page.locator(".model-card").first
    expect(card.get_by_role("heading")).to_have_text("Spend by user")
    orders = lambda e: e["type"] == "OrderPlaced"
    for k in (len(events), 1_700, 500):
        shop.scrub(k)
        expected = fold(events, k, lambda e: e["user"], orders, lambda e: e["total"])
        expect(card.locator("[data-testid=model-row]")).to_have_count(len(expected))
        assert model_rows(shop) == expected, f"after {k} events"
    # What changed since the previous position is said (500 came after 1,700: values went down).
    expect(card.locator("tr.changed").first).to_be_visible()

    shop.reload()
    expect(shop.page.locator(".model-card")).to_have_count(1)
    expected = fold(events, len(events), lambda e: e["user"], orders, lambda e: e["total"])
    expect(card.locator("[data-testid=model-row]")).to_have_count(len(expected))
    assert model_rows(shop) == expected

    with shop.page.expect_download() as info:
        card.get_by_test_id("model-export").click()
    definition = tmp_path / "model.json"
    info.value.save_as(str(definition))
    saved = json.loads(definition.read_text())
    assert (saved["group"], saved["measure"], saved["field"], saved["query"]) == ("user", "sum", "total", "type:OrderPlaced")
    context.close()

    # A fresh profile, the same log: the imported model gives the same values.
    context, shop, _ = open_with_log(browser, base_url, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"rewind_model":1,"name":"x","group":"colour","measure":"count"}')
    shop.page.get_by_test_id("model-import").set_input_files(str(bad))
    expect(shop.page.locator(".user-models [role=alert]")).to_contain_text("cannot group by `colour`")
    expect(shop.page.locator(".model-card")).to_have_count(0)
    shop.page.get_by_test_id("model-import").set_input_files(str(definition))
    expect(shop.page.locator(".model-card")).to_have_count(1)
    expect(shop.page.locator(".user-models [role=alert]")).to_have_count(0)
    expect(shop.page.locator("[data-testid=model-row]")).to_have_count(len(expected))
    assert model_rows(shop) == expected
    context.close()


def test_models_of_each_grouping_and_measure_count_as_a_fold_here(browser, base_url, tmp_path):
    context, shop, events = open_with_log(browser, base_url, tmp_path)
    new_model(shop, "type", "count", "total")
    new_model(shop, "item", "max", "qty", "type:ItemAdded")
    k = 2_000
    shop.scrub(k)
    types = fold(events, k, lambda e: e["type"], lambda e: True, lambda e: 1)
    expect(shop.page.locator(".model-card").nth(0).locator("[data-testid=model-row]")).to_have_count(len(types))
    assert model_rows(shop, 0) == types
    restocks = {}
    for e in events[:k]:
        if e["type"] == "ItemAdded":
            restocks[e["item"]] = max(restocks.get(e["item"], 0), e["qty"])
    expect(shop.page.locator(".model-card").nth(1).locator("[data-testid=model-row]")).to_have_count(len(restocks))
    assert model_rows(shop, 1) == restocks
    # Days in the browser's zone (America/New_York, across the end of daylight-saving time), as zoneinfo says.
    new_model(shop, "day", "sum", "amount", "type:ToppedUp")
    zone = zoneinfo.ZoneInfo(ZONE)
    day = lambda e: datetime.datetime.fromtimestamp(e["ts"] / 1000, zone).strftime("%Y-%m-%d")
    days = fold(events, k, day, lambda e: e["type"] == "ToppedUp", lambda e: e["amount"])
    expect(shop.page.locator(".model-card").nth(2).locator("[data-testid=model-row]")).to_have_count(len(days))
    assert model_rows(shop, 2) == days
    # A query that does not parse makes no model, and says why.
    new_model(shop, "user", "count", "total", "totl>5")
    expect(shop.page.locator(".user-models [role=alert]")).to_contain_text("no field `totl`")
    expect(shop.page.locator(".model-card")).to_have_count(3)
    # Removing the first model: the card now first shows the next model's own values, not the removed one's.
    shop.page.locator(".model-card").nth(0).get_by_role("button", name="Remove the model").click()
    expect(shop.page.locator(".model-card")).to_have_count(2)
    expect(shop.page.locator(".model-card").nth(0).locator("[data-testid=model-row]")).to_have_count(len(restocks))
    assert model_rows(shop, 0) == restocks
    assert model_rows(shop, 1) == days
    context.close()
