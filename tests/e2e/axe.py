"""axe-core in the page: `assert_accessible(page, state)` fails with what axe says and where, for any violation
whatever its impact. Used by the accessibility tests and by the shared log's access-key test."""
import pathlib

from playwright.sync_api import expect

AXE = pathlib.Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / "axe-core" / "axe.min.js"

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}"""


def violations(page):
    assert AXE.exists(), f"{AXE} is missing: `cargo xtask setup` installs axe-core"
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


def assert_accessible(page, state):
    found = violations(page)
    assert not found, f"axe-core in {state}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in found)
