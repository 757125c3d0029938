"""Many writers, one truth: separate pages (separate renderer processes) writing one log at once, an import
racing another tab, clicks while another tab writes, and damaged storage. Nothing acknowledged is lost."""
import json

import pytest
from playwright.sync_api import expect

from pages import ShopPage

# Makes IndexedDB unavailable, as some browsers' private modes do: the page falls back to localStorage.
NO_INDEXEDDB = """
Object.defineProperty(window, 'indexedDB', {
  configurable: true, get() { throw new DOMException('blocked for this test', 'SecurityError'); } });
"""


def open_page(context, base_url):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ShopPage(page, base_url).open(), errors


def click_submit(shop, form_id, times, **fields):
    """Fills a form once and clicks its button `times` times at once, as an impatient user does."""
    form = shop.page.get_by_test_id(form_id)
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(str(value))
    form.evaluate("(f, n) => { for (let i = 0; i < n; i++) f.querySelector('button[type=submit]').click(); }", times)


def wait_idle(shop, timeout=60_000):
    expect(shop.page.get_by_test_id("saving")).to_have_count(0, timeout=timeout)


def wait_count(shop, n, timeout=60_000):
    expect(shop.page.get_by_test_id("event-count")).to_have_text(str(n), timeout=timeout)


# Submits a top-up `n` times, each after the previous one was saved (no "Saving…" left), as a user who
# waits for each answer does; runs in the background so that two pages can do it at the same moment.
START_TOP_UPS = """([user, amount, n]) => {
  const form = document.querySelector('[data-testid=topup-form]');
  form.querySelector('[name=user]').value = user;
  form.querySelector('[name=user]').dispatchEvent(new Event('input', { bubbles: true }));
  form.querySelector('[name=amount]').value = String(amount);
  form.querySelector('[name=amount]').dispatchEvent(new Event('input', { bubbles: true }));
  const saving = () => document.querySelector('.saving') !== null;
  const tick = () => new Promise(r => setTimeout(r, 1));
  window.__topUpsDone = false;
  (async () => {
    for (let i = 0; i < n; i++) {
      form.querySelector('button[type=submit]').click();
      await tick();
      while (saving()) await tick();
    }
    window.__topUpsDone = true;
  })();
}"""


def test_two_tabs_on_the_localstorage_fallback_lose_no_acknowledged_event(browser, base_url):
    context = browser.new_context()
    context.add_init_script(NO_INDEXEDDB)
    try:
        (a, a_errors), (b, b_errors) = open_page(context, base_url), open_page(context, base_url)
        for s in (a, b):
            expect(s.page.get_by_test_id("storage-backend")).to_have_text("localstorage")
            expect(s.page.get_by_test_id("durability")).to_contain_text("can lose the last few seconds")
        a.page.evaluate(START_TOP_UPS, ["ann", 3, 12])
        b.page.evaluate(START_TOP_UPS, ["ben", 5, 12])
        for s in (a, b):
            s.page.wait_for_function("window.__topUpsDone === true", timeout=60_000)
            wait_idle(s)
            expect(s.error()).to_have_count(0)
        # Every acknowledged event is in the log, once, whichever tab looks.
        c, c_errors = open_page(context, base_url)
        wait_count(c, 24)
        assert c.users() == {"ann": 36, "ben": 60}
        for s in (a, b):
            wait_count(s, 24)
            assert s.users() == {"ann": 36, "ben": 60}
        assert not (a_errors + b_errors + c_errors)
    finally:
        context.close()


def write_top_ups(path, n, users=50):
    with open(path, "w") as f:
        for i in range(1, n + 1):
            f.write(json.dumps({"v": 1, "seq": i, "ts": 1_763_800_000_000 + i, "type": "ToppedUp",
                                "user": f"u{i % users}", "amount": 1}, separators=(",", ":")) + "\n")
    return path


@pytest.mark.parametrize("second_answer", [True, False])
def test_an_import_racing_another_tabs_write_asks_again_with_the_new_count(context, base_url, tmp_path, second_answer):
    (a, _), (b, _) = open_page(context, base_url), open_page(context, base_url)
    for i in range(3):
        a.top_up("ann", i + 1)
    wait_count(b, 3)
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        if len(questions) == 1:
            # While tab A asks its user, tab B stores an event: the log A asked about has moved.
            b.top_up("ben", 5)
            dialog.accept()
        else:
            dialog.accept() if second_answer else dialog.dismiss()

    a.page.on("dialog", answer)
    a.page.get_by_test_id("import-file").set_input_files(str(write_top_ups(tmp_path / "big.jsonl", 200_000)))
    if second_answer:
        wait_count(a, 200_000, timeout=120_000)
        wait_count(b, 200_000, timeout=120_000)
    else:
        expect(a.page.get_by_text("Import cancelled: the log was not changed.")).to_be_visible(timeout=120_000)
        wait_count(a, 4)
        assert a.users() == {"ann": 6, "ben": 5}, "B's acknowledged event is still there"
    assert len(questions) == 2, questions
    assert "current log of 3 events" in questions[0]
    assert "current log of 4 events" in questions[1], "asked again, counting the other tab's event"


def test_clicks_while_another_tab_writes_are_queued_and_saved(context, base_url):
    (a, a_errors), (b, _) = open_page(context, base_url), open_page(context, base_url)
    form = b.page.get_by_test_id("generate-form")
    form.locator("[name=count]").fill("60000")
    form.locator("button[type=submit]").click()
    # Tab A reads B's batches in as they are stored; its user clicks meanwhile.
    expect(a.page.get_by_test_id("event-count")).not_to_have_text("0", timeout=60_000)
    click_submit(a, "topup-form", 5, user="zed", amount=7)
    wait_count(b, 60_005, timeout=120_000)
    wait_idle(a)
    wait_count(a, 60_005)
    expect(a.error()).to_have_count(0)
    assert a.users()["zed"] == 35
    assert not a_errors


DAMAGE_CHUNK = """async () => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open('rewind'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  await new Promise((ok, fail) => {
    const tx = db.transaction('chunks', 'readwrite');
    tx.objectStore('chunks').put('not bytes', 2001);
    tx.oncomplete = ok; tx.onerror = () => fail(tx.error);
  });
  db.close();
}"""

SET_HEAD = """async head => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open('rewind'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  await new Promise((ok, fail) => {
    const tx = db.transaction('meta', 'readwrite');
    tx.objectStore('meta').put(head, 'head');
    tx.oncomplete = ok; tx.onerror = () => fail(tx.error);
  });
  db.close();
}"""


def test_a_damaged_record_shows_the_intact_events_which_can_be_exported_and_kept(shop, tmp_path):
    shop.generate(6_000)
    shop.page.evaluate(DAMAGE_CHUNK)
    shop.reload()
    banner = shop.page.get_by_test_id("damaged")
    expect(banner).to_contain_text("The stored log is damaged")
    expect(shop.error()).to_contain_text("stored events 2001 to 4000 are damaged")
    wait_count(shop, 2_000)
    assert int(shop.timeline().get_attribute("max")) == 2_000
    expect(shop.page.get_by_test_id("topup-form").locator("button[type=submit]")).to_be_disabled()

    exported = shop.export(tmp_path / "intact.jsonl").read_text().splitlines()
    assert len(exported) == 2_000 and json.loads(exported[-1])["seq"] == 2_000

    shop.page.once("dialog", lambda d: d.accept())
    shop.page.get_by_test_id("keep-intact").click()
    expect(banner).to_have_count(0)
    shop.top_up("ann", 5)
    wait_count(shop, 2_001)
    shop.reload()
    wait_count(shop, 2_001)
    expect(shop.page.get_by_test_id("damaged")).to_have_count(0)


@pytest.mark.parametrize("head", [9_999, "six thousand"])
def test_a_damaged_index_opens_refuses_to_build_on_it_and_an_import_replaces_it(shop, tmp_path, head):
    shop.generate(3_000)
    shop.page.evaluate(SET_HEAD, head)
    shop.reload()
    expect(shop.page.get_by_test_id("damaged")).to_be_visible()
    wait_count(shop, 3_000)
    expect(shop.page.get_by_test_id("generate-form").locator("button[type=submit]")).to_be_disabled()
    message = "are missing" if head == 9_999 else "the log's index is damaged"
    expect(shop.error()).to_contain_text(message)

    shop.import_file(write_top_ups(tmp_path / "fresh.jsonl", 10), confirm=True)
    wait_count(shop, 10)
    expect(shop.page.get_by_test_id("damaged")).to_have_count(0)
    shop.top_up("ann", 1)
    wait_count(shop, 11)
