"""axe-core over every panel of the page, in each state a user meets: the empty shop, a shop with history, the
history view with a user chosen (blame, chart) and two points compared, a what-if branch and a refused
command's message (the shared log's access-key form is checked in test_strangers.py). Any violation, whatever its impact, fails the test with what
axe says and where (issue 26: an `aria-label` on a plain `div` once went unseen)."""
from playwright.sync_api import expect

from axe import assert_accessible


def test_every_panel_passes_axe_in_each_state_a_user_meets(shop):
    page = shop.page
    assert_accessible(page, "the empty shop")

    shop.top_up("alice", 500)
    shop.add_item("apple", 30, 10)
    shop.order("alice", "apple", 2)
    shop.generate(2_000)
    assert_accessible(page, "a shop of 2,003 events")

    # The history view: a user chosen (blame and chart), two points compared.
    shop.scrub(1_000)
    expect(page.get_by_test_id("view-mode")).to_have_text("history")
    page.locator("[data-testid=user-row]").first.click()
    expect(page.locator("[data-testid=blame-row]").first).to_be_visible()
    page.get_by_test_id("diff-from").fill("3")
    page.get_by_test_id("diff-from").dispatch_event("change")
    page.get_by_test_id("diff-to").fill("1500")
    page.get_by_test_id("diff-to").dispatch_event("change")
    expect(page.locator(".diff [data-testid=diff-row]").first).to_be_visible()
    assert_accessible(page, "the history view with blame, chart and a comparison")

    # A what-if branch, with its comparison to the real log.
    page.get_by_test_id("branch").click()
    expect(page.get_by_test_id("branch-name")).to_have_text("what-if-1")
    shop.top_up("carol", 50)
    expect(page.get_by_test_id("branch-compare")).to_be_visible()
    assert_accessible(page, "a what-if branch")

    # A refused command's message.
    page.get_by_test_id("to-main").click()
    expect(page.get_by_test_id("branch-name")).to_have_text("main")
    form = page.get_by_test_id("order-form")
    form.locator("[name=user]").fill("nobody")
    form.locator("[name=item]").fill("apple")
    form.locator("[name=qty]").fill("1")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("error")).to_be_visible()
    assert_accessible(page, "a refused command's message")
