"""End-to-end fixtures: the app built by trunk (dist/), served on 127.0.0.1, driven in Debian's Chromium."""
import functools
import http.server
import os
import pathlib
import socketserver
import threading

import pytest
from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
ARTIFACTS = ROOT / "tests" / "e2e" / ".artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def base_url():
    if not (DIST / "index.html").exists():
        pytest.exit("dist/ is missing: run `trunk build --release --offline` (cargo xtask test does)", 2)
    handler = functools.partial(_Quiet, directory=str(DIST))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def context(browser):
    """A fresh browser profile per test: its own IndexedDB and localStorage."""
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture()
def shop(context, base_url):
    from pages import ShopPage
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    s = ShopPage(page, base_url)
    s.open()
    yield s
    assert not errors, f"the page threw: {errors}"
