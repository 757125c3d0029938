"""A page object over the CONTRACT's data-testids: tests say what a user does and sees, not how it is styled."""
import re

from playwright.sync_api import Page, expect


class ShopPage:
    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url

    def open(self):
        self.page.goto(self.base_url)
        self.wait_ready()
        return self

    def wait_ready(self):
        # History loaded: the timeline is enabled.
        expect(self.page.get_by_test_id("timeline")).to_be_enabled(timeout=60_000)

    def reload(self):
        self.page.reload()
        self.wait_ready()

    def _submit(self, form_id: str, **fields):
        form = self.page.get_by_test_id(form_id)
        for name, value in fields.items():
            form.locator(f"[name={name}]").fill(str(value))
        before = self.event_count()
        form.locator("button[type=submit]").click()
        return before

    def _settle(self, before: int):
        """Waits until the command was stored (the count moved) or refused (an error is shown)."""
        self.page.wait_for_function(
            """before => Number(document.querySelector('[data-testid=event-count]').textContent) !== before
                       || document.querySelector('[data-testid=error]') !== null""",
            arg=before,
        )

    def top_up(self, user, amount):
        self._settle(self._submit("topup-form", user=user, amount=amount))

    def add_item(self, item, price, qty):
        self._settle(self._submit("additem-form", item=item, price=price, qty=qty))

    def order(self, user, item, qty):
        self._settle(self._submit("order-form", user=user, item=item, qty=qty))

    def generate(self, n):
        form = self.page.get_by_test_id("generate-form")
        form.locator("[name=count]").fill(str(n))
        target = self.event_count() + n
        form.locator("button[type=submit]").click()
        expect(self.page.get_by_test_id("event-count")).to_have_text(str(target), timeout=120_000)
        expect(form.locator("button[type=submit]")).to_be_enabled()

    def event_count(self) -> int:
        return int(self.page.get_by_test_id("event-count").text_content())

    def error(self):
        return self.page.get_by_test_id("error")

    def _all_rows(self, testid, count_id, read):
        """Every row of a state table: above 500 rows only those in view exist (CONTRACT §6), so the table is
        scrolled from top to bottom, a screenful at a time, collecting what each screen shows."""
        return self.page.evaluate(
            """async ([testid, countId, read]) => {
              const toRow = new Function('r', 'return ' + read);
              const rows = () => [...document.querySelectorAll(`[data-testid=${testid}]`)];
              const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
              const total = Number(document.querySelector(`[data-testid=${countId}]`).textContent);
              const out = {};
              const first = rows()[0];
              const viewport = first ? first.closest('.scroll') : null;
              if (!viewport) return out;
              viewport.scrollTop = 0; await frame();
              for (let guard = 0; guard < 100000; guard++) {
                for (const r of rows()) { const [k, v] = toRow(r); out[k] = v; }
                if (Object.keys(out).length >= total) break;
                const before = viewport.scrollTop;
                viewport.scrollTop = before + viewport.clientHeight - 40;
                await frame();
                if (viewport.scrollTop === before) break;
              }
              viewport.scrollTop = 0; await frame();
              return out;
            }""", [testid, count_id, read])

    def users(self) -> dict:
        return self._all_rows("user-row", "user-count", "[r.dataset.user, Number(r.dataset.balance)]")

    def user_order(self) -> list:
        return self.page.eval_on_selector_all("[data-testid=user-row]", "rows => rows.map(r => r.dataset.user)")

    def items(self) -> dict:
        return self._all_rows("item-row", "item-count", "[r.dataset.item, [Number(r.dataset.price), Number(r.dataset.stock)]]")

    def timeline(self):
        return self.page.get_by_test_id("timeline")

    def cursor(self) -> int:
        return int(self.timeline().input_value())

    def scrub(self, k: int):
        self.timeline().evaluate(
            "(el, k) => { el.value = String(k); el.dispatchEvent(new Event('input', { bubbles: true })); }", k)
        expect(self.timeline()).to_have_value(str(k))

    def view_mode(self) -> str:
        return self.page.get_by_test_id("view-mode").text_content().strip()

    def changes(self) -> list:
        return self.page.eval_on_selector_all(
            "[data-testid=change]",
            """els => els.map(e => ({kind: e.dataset.kind, id: e.dataset.id, field: e.dataset.field,
                 before: e.dataset.before === undefined ? null : Number(e.dataset.before), after: Number(e.dataset.after)}))""")

    def import_file(self, path, confirm=True):
        if confirm is not None:
            self.page.once("dialog", lambda d: d.accept() if confirm else d.dismiss())
        self.page.get_by_test_id("import-file").set_input_files(str(path))

    def export(self, to_path):
        with self.page.expect_download() as info:
            self.page.get_by_test_id("export").click()
        info.value.save_as(str(to_path))
        return to_path
