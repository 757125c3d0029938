"""End-to-end fixtures: the app built by trunk (dist/), served on 127.0.0.1, driven in Debian's Chromium."""
import functools
import http.server
import os
import pathlib
import socketserver
import threading
import time

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


def serve_dist():
    """Serves dist/ on a free loopback port, in the background: the server (to shut down) and its URL."""
    handler = functools.partial(_Quiet, directory=str(DIST))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# The page's size for the benches: WebAssembly memory and DOM nodes.
PAGE_SIZE_JS = """() => ({
  wasm_mb: Math.round(window.wasmBindings.wasm_memory_bytes() / 1e6),
  dom_nodes: document.getElementsByTagName('*').length,
})"""


def crowd_size():
    """The benches' crowd: BENCH_EVENTS events over BENCH_USERS users, by default 1,000,000 over 100,000."""
    return int(os.environ.get("BENCH_EVENTS", "1000000")), int(os.environ.get("BENCH_USERS", "100000"))


def crowded_shop(browser, url, events, users):
    """A fresh profile's page with `events` generated over `users` users (the benches' 1M x 100k): the
    context, the page object, and the seconds generating took."""
    from pages import ShopPage  # the page object, beside this file
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(1_800_000)
    shop = ShopPage(page, url).open()
    page.get_by_test_id("generate-form").locator("[name=users]").fill(str(users))
    t = time.perf_counter()
    shop.generate(events)
    return ctx, shop, round(time.perf_counter() - t, 1)


@pytest.fixture(scope="session")
def base_url():
    if not (DIST / "index.html").exists():
        pytest.exit("dist/ is missing: run `trunk build --release --offline` (cargo xtask test does)", 2)
    server, url = serve_dist()
    yield url
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


SERVER_BIN = ROOT / "target" / "release" / "rewind-server"
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, what, timeout=20.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up in {timeout} s")


class SharedLog:
    """A real Redis (appendonly, fsync always) on a free loopback port and rewind-server in front of it,
    serving dist/. Either can be stopped and started again on the same port."""

    def __init__(self, tmp: pathlib.Path, snapshot_every: int = 10_000):
        self.tmp = tmp
        self.server_args = []
        self.redis_port = free_port()
        self.port = free_port()
        self.snapshot_every = snapshot_every
        self.redis = None
        self.server = None
        # The app's files the server serves (a test may serve a copy it changes, as a new release would).
        self.dist = DIST

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    @property
    def redis_url(self):
        return f"redis://127.0.0.1:{self.redis_port}"

    def start_redis(self):
        import socket
        import subprocess
        self.redis = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(self.tmp),
             "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers():
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False
        wait_until(answers, "redis-server")

    def start_server(self):
        import subprocess
        import urllib.request
        self.server = subprocess.Popen(
            [str(SERVER_BIN), "--redis", self.redis_url, "--listen", f"127.0.0.1:{self.port}", "--dist", str(self.dist),
             "--snapshot-every", str(self.snapshot_every), *self.server_args],
            stdout=subprocess.DEVNULL)

        def answers():
            try:
                with urllib.request.urlopen(f"{self.url}", timeout=0.5) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(answers, "rewind-server")

    def restart_with_key(self, key):
        """The server again, now asking every request for `key` (from a file, as an operator gives it)."""
        key_file = self.tmp / "access-key"
        key_file.write_text(key + "\n")
        self.stop_server()
        self.server_args = ["--access-key-file", str(key_file)]
        self.start_server()

    def stop_server(self):
        if self.server:
            self.server.kill()
            self.server.wait()
            self.server = None

    def kill_redis(self):
        """SIGKILL, as a crash would: Redis keeps only what its append-only file holds."""
        if self.redis:
            self.redis.kill()
            self.redis.wait()
            self.redis = None

    def produce(self, count):
        import subprocess
        subprocess.run([str(SERVER_BIN), "produce", "--redis", self.redis_url, "--count", str(count)],
                       check=True, stdout=subprocess.DEVNULL)

    def get(self, path):
        import urllib.request
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as r:
            return r.status, r.headers, r.read()

    def stop(self):
        self.stop_server()
        if self.redis:
            self.redis.kill()
            self.redis.wait()


@pytest.fixture()
def shared_log(tmp_path):
    if not (DIST / "index.html").exists() or not SERVER_BIN.exists():
        pytest.exit("dist/ or the server binary is missing: cargo xtask test builds both", 2)
    if not pathlib.Path(REDIS_SERVER).exists():
        pytest.exit("redis-server is missing: cargo xtask setup installs it", 2)
    log = SharedLog(tmp_path)
    log.start_redis()
    log.start_server()
    yield log
    log.stop()
