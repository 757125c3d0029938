"""Many customers (CONTRACT §6, §8): above 500 rows a state table renders only the rows in view, the entity
filter finds any one of them, the counts give the totals, and a column sorts the table."""
from playwright.sync_api import expect

from reference import replay


def many_users(shop, tmp_path, users=3000, events=6000):
    form = shop.page.get_by_test_id("generate-form")
    form.locator("[name=users]").fill(str(users))
    shop.generate(events)
    lines = shop.export(tmp_path / "many.jsonl").read_text().splitlines()
    many_users.lines = lines
    return replay(lines)


def test_a_big_table_renders_the_rows_in_view_and_the_filter_finds_any_one(shop, tmp_path):
    users, items = many_users(shop, tmp_path)
    assert len(users) > 500
    expect(shop.page.get_by_test_id("user-count")).to_have_text(str(len(users)))
    expect(shop.page.get_by_test_id("item-count")).to_have_text(str(len(items)))
    rendered = shop.page.locator("[data-testid=user-row]").count()
    assert 0 < rendered < 100, f"{rendered} rows rendered for {len(users)} users"
    # Every row can be scrolled to, with the state's values.
    assert shop.users() == users

    # The last user in id order, found by the filter: the counts still give the totals.
    last = sorted(users)[-1]
    shop.page.get_by_test_id("entity-filter").fill(last)
    row = shop.page.locator(f"[data-testid=user-row][data-user='{last}']")
    expect(row).to_have_attribute("data-balance", str(users[last]))
    assert all(last in u for u in shop.page.locator("[data-testid=user-row]").evaluate_all("rs => rs.map(r => r.dataset.user)"))
    expect(shop.page.get_by_test_id("user-count")).to_have_text(str(len(users)))
    shop.page.get_by_test_id("entity-filter").fill("no-such-id")
    expect(shop.page.locator("[data-testid=user-row]")).to_have_count(0)
    expect(shop.page.get_by_text("No user id contains that.")).to_be_visible()
    shop.page.get_by_test_id("entity-filter").fill("")
    expect(shop.page.locator("[data-testid=user-row]").first).to_be_visible()


def test_sorting_by_balance_and_arrow_keys_keep_the_selection(shop, tmp_path):
    users, _ = many_users(shop, tmp_path, users=800, events=3000)
    table = shop.page.locator(".table-card").first
    sort = table.get_by_role("button", name="Balance")
    sort.click()
    first = shop.page.locator("[data-testid=user-row]").first
    expect(first).to_have_attribute("data-balance", str(max(users.values())))
    sort.click()
    expect(first).to_have_attribute("data-balance", str(min(users.values())))
    sort.click()
    expect(first).to_have_attribute("data-user", sorted(users)[0])

    # Arrow keys move the selection through the rows, scrolling far down stays exact.
    first.click()
    viewport = table.locator(".scroll")
    for _ in range(30):
        viewport.press("ArrowDown")
    selected = shop.page.locator("[data-testid=user-row].selected")
    expect(selected).to_have_attribute("data-user", sorted(users)[30])
    expect(shop.page.get_by_test_id("entity-chart")).to_be_visible()
    # Moving the timeline keeps the selected user selected (where it exists then).
    at = 2500
    shop.scrub(at)
    then, _ = replay(many_users.lines[:at])
    shop.page.get_by_test_id("entity-filter").fill(sorted(users)[30])
    expect(shop.page.locator("[data-testid=user-row].selected")).to_have_count(1 if sorted(users)[30] in then else 0)
