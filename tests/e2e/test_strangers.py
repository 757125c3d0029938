"""The shared log against strangers (CONTRACT §9), in a real browser: a page of another origin cannot write to
the shop, a shop with an access key shows nothing until it is given, and a page opened while Redis is down
never forks into a browser-only log: it says offline and catches up by itself."""
import struct
import time
import urllib.request
import zlib

from playwright.sync_api import expect

from axe import assert_accessible
from conftest import serve_dist
from pages import ShopPage


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def top_up_frames(user, amount, seq=1):
    """One top-up as frames, in chunk format 2 (which every reader still takes): the body of an append."""
    chunk = bytes([2]) + varint(seq) + varint(1) + varint(int(time.time() * 1000))
    chunk += varint(1) + varint(len(user)) + user.encode() + varint(0)
    chunk += bytes([0]) + varint(0) + varint(0) + varint(amount)
    chunk += struct.pack("<I", zlib.crc32(chunk))
    return struct.pack("<I", len(chunk)) + chunk


def head(shared_log):
    import json
    return json.loads(shared_log.get("api/version")[2])["head"]


def test_a_page_of_another_origin_cannot_write_to_the_shop(browser, shared_log):
    import json
    epoch = json.loads(shared_log.get("api/version")[2])["epoch"]
    body = list(top_up_frames("mallory", 5))
    append = f"{shared_log.url}api/append?epoch={epoch}&after=0"
    evil_server, evil_url = serve_dist()  # any other origin: another port is another origin
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(evil_url + "index.html")
        # What any web page can do: a no-cors POST (no preflight), and a WebSocket to the feed.
        page.evaluate("""async ([url, body]) => {
            for (const type of ['text/plain', 'application/octet-stream']) {
                try {
                    await fetch(url, {method: 'POST', mode: 'no-cors', body: new Blob([new Uint8Array(body)], {type})});
                } catch (e) {}
            }
        }""", [append, body])
        opened = page.evaluate("""url => new Promise(resolve => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve(true);
            ws.onerror = () => resolve(false);
        })""", shared_log.url.replace("http", "ws") + "api/feed")
        assert opened is False, "a page of another origin opened the feed"
        assert head(shared_log) == 0, "a page of another origin wrote to the shop"
        # The same body from a client that is not a page of another site is stored: the refusal was the origin.
        request = urllib.request.Request(append, data=bytes(body), method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200
        assert head(shared_log) == 1
    finally:
        ctx.close()
        evil_server.shutdown()


def test_a_shop_with_an_access_key_shows_nothing_until_it_is_given(browser, shared_log):
    key = "the-shops-key-0123456789"
    shared_log.restart_with_key(key)
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(shared_log.url)
        form = page.get_by_test_id("access-key-form")
        expect(form).to_be_visible(timeout=20_000)
        expect(page.get_by_test_id("event-count")).to_have_count(0)
        expect(page.get_by_test_id("topup-form")).to_have_count(0)
        assert_accessible(page, "the access-key form")
        form.locator("[name=key]").fill("not-the-key-0123456789")
        form.locator("button[type=submit]").click()
        expect(form.get_by_role("alert")).to_be_visible()
        assert_accessible(page, "the access-key form refusing a wrong key")
        expect(page.get_by_test_id("event-count")).to_have_count(0)
        form.locator("[name=key]").fill(key)
        form.locator("button[type=submit]").click()
        shop = ShopPage(page, shared_log.url)
        shop.wait_ready()
        expect(page.get_by_test_id("sync-status")).to_have_text("connected")
        shop.top_up("alice", 100)
        expect(page.get_by_test_id("event-count")).to_have_text("1")
        # The key is kept (an HttpOnly cookie): a reload needs no form.
        shop.reload()
        expect(page.get_by_test_id("access-key-form")).to_have_count(0)
        expect(page.get_by_test_id("event-count")).to_have_text("1")
    finally:
        ctx.close()


def test_pages_open_and_opened_while_redis_is_down_stay_on_the_shared_log_and_catch_up(browser, shared_log):
    ann_ctx, bob_ctx = browser.new_context(), None
    try:
        ann_page = ann_ctx.new_page()
        ann = ShopPage(ann_page, shared_log.url).open()
        ann.top_up("alice", 100)
        expect(ann_page.get_by_test_id("event-count")).to_have_text("1")

        shared_log.kill_redis()
        ann_status = ann_page.get_by_test_id("sync-status")
        expect(ann_status).to_have_text("offline", timeout=30_000)
        expect(ann_status).to_have_attribute("data-reason", "redis")
        # A page opened now, while Redis is down.
        bob_ctx = browser.new_context()
        bob_page = bob_ctx.new_page()
        bob_page.goto(shared_log.url)
        bob_status = bob_page.get_by_test_id("sync-status")
        expect(bob_status).to_have_text("offline", timeout=30_000)
        time.sleep(1)
        expect(bob_status).to_have_text("offline")  # never "local": the sync server served this page

        shared_log.start_redis()
        for page in (ann_page, bob_page):
            expect(page.get_by_test_id("sync-status")).to_have_text("connected", timeout=30_000)
            expect(page.get_by_test_id("event-count")).to_have_text("1", timeout=20_000)
        bob = ShopPage(bob_page, shared_log.url)
        bob.top_up("alice", 5)
        expect(bob_page.get_by_test_id("event-count")).to_have_text("2")
        expect(ann_page.get_by_test_id("event-count")).to_have_text("2", timeout=5_000)
        assert head(shared_log) == 2, "the command went to the shared log"
    finally:
        ann_ctx.close()
        if bob_ctx:
            bob_ctx.close()


def redis_command(shared_log, *args):
    """One command to the test's Redis, in RESP, as redis-cli would send it."""
    import socket
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", shared_log.redis_port), timeout=5) as s:
        s.sendall(payload.encode())
        return s.recv(1024)


def test_a_page_whose_cache_holds_a_replaced_log_reads_the_new_one_instead_of_mixing(browser, shared_log):
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        shop = ShopPage(page, shared_log.url).open()
        for amount in (1, 2, 3, 4, 5):
            shop.top_up("old", amount)
        expect(page.get_by_test_id("event-count")).to_have_text("5")
        page.close()

        # A restore from an older backup, or a failover: the stream goes and grows again past the page's
        # cached head with other events, under the same epoch.
        shared_log.stop_server()
        assert redis_command(shared_log, "DEL", "rewind:{main}:events").startswith(b":1")
        shared_log.produce(8)
        shared_log.start_server()

        page = ctx.new_page()
        shop = ShopPage(page, shared_log.url).open()
        expect(page.get_by_test_id("event-count")).to_have_text("8", timeout=20_000)
        expect(page.locator("[data-testid=user-row][data-user=old]")).to_have_count(0)
    finally:
        ctx.close()
