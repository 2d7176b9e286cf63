"""A hostile page in real Chromium, on another loopback origin, against a live server.

The page is served by a second HTTP server (another port, or ``localhost``
while the server is reached as ``127.0.0.1``). It opens the server's ``/ws``
and submits the classic ``text/plain`` form whose body is JSON. Without an
allow-list and with one that does not name it, it reads nothing and plants
nothing; the controls: the dashboard on the server's own origin connects, and
a page the allow-list names does read the feed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from dashboard_support import browser_fixture, open_dashboard, page_fixture  # noqa: F401 - the fixtures
from playwright.sync_api import Page
from support import LiveServer, serving

from progressista.protocol.feed import POLICY_VIOLATION, REASON_ORIGIN
from progressista.server.ws import REASON_CROSS_ORIGIN

ATTACK = """<!doctype html>
<title>cat pictures</title>
<script>
window.feed = new Promise((resolve) => {
  const ws = new WebSocket(%(ws)s);
  ws.onmessage = (e) => { resolve({ code: 0, reason: "", data: String(e.data) }); ws.close(); };
  ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, data: "" });
});
</script>
<form id="plant" method="post" action=%(progress)s enctype="text/plain" target="sink">
  <input name='{"task_id": "planted", "desc": "' value='"}'>
</form>
<form id="plant-urlencoded" method="post" action=%(progress)s target="sink">
  <input name='{"task_id": "planted2", "desc": "' value='"}'>
</form>
<iframe name="sink"></iframe>
"""


class HostileSite:
    """The attack page on another loopback origin; aimed at a server once that is known."""

    def __init__(self, port: int, host: str) -> None:
        self.page = b""
        self.origin = f"http://{host}:{port}"

    def aim(self, server: LiveServer) -> str:
        """Point the page at ``server``; its URL."""
        page = ATTACK % {"ws": json.dumps(server.ws_url), "progress": json.dumps(server.url + "/progress")}
        self.page = page.encode()
        return self.origin + "/"


@contextmanager
def hostile_site(host: str = "127.0.0.1") -> Iterator[HostileSite]:
    """Serve the attack page on its own port (its origin is known at once, before the server starts)."""
    site: HostileSite | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert site is not None
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(site.page)))
            self.end_headers()
            self.wfile.write(site.page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as httpd:
        site = HostileSite(httpd.server_address[1], host)
        yield site


def feed_seen(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("window.feed")
    return result


def submit(page: Page, server: LiveServer, form: str) -> int:
    """Submit a form of the page; the status the server answered with."""
    with page.expect_response(lambda r: r.url == server.url + "/progress") as answer:
        page.evaluate(f"document.getElementById({form!r}).submit()")
    return answer.value.status


def assert_nothing_planted(page: Page, server: LiveServer) -> None:
    assert submit(page, server, "plant") == 415  # reached the server, and was refused
    assert submit(page, server, "plant-urlencoded") == 415
    assert not {"planted", "planted2"} & set(server.tasks())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_without_an_allow_list_another_origin_reads_nothing_and_plants_nothing(
    page: Page, server: LiveServer, host: str
) -> None:
    server.post({"task_id": "secret", "desc": "payroll export"})
    with hostile_site(host) as site:
        page.goto(site.aim(server))
        seen = feed_seen(page)
        assert (seen["code"], seen["reason"], seen["data"]) == (POLICY_VIOLATION, REASON_CROSS_ORIGIN, "")
        assert_nothing_planted(page, server)
    open_dashboard(page, server)  # the control: the server's own origin is served


def test_an_allow_list_that_does_not_name_the_page_refuses_it_too(
    page: Page, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(allow_origins=["https://dash.example.com"])
    server.post({"task_id": "secret"})
    with hostile_site() as site:
        page.goto(site.aim(server))
        seen = feed_seen(page)
        assert (seen["code"], seen["reason"], seen["data"]) == (POLICY_VIOLATION, REASON_ORIGIN, "")
        assert_nothing_planted(page, server)


def test_a_page_the_allow_list_names_reads_the_feed_but_still_cannot_post_a_form(
    page: Page, start_server: Callable[..., LiveServer]
) -> None:
    with hostile_site() as site:
        server = start_server(allow_origins=[site.origin])
        server.post({"task_id": "secret"})
        page.goto(site.aim(server))
        seen = feed_seen(page)
        assert seen["code"] == 0 and '"secret"' in seen["data"]  # the control: the test sees a read when allowed
        assert_nothing_planted(page, server)
