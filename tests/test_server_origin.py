"""Cross-site requests against real uvicorn: who may open ``/ws``, and which bodies ``POST``/``DELETE`` take.

A browser page on another origin can open a WebSocket to any server (CORS does
not cover WebSockets) and can send a form ``POST`` (``text/plain``,
``application/x-www-form-urlencoded``, ``multipart/form-data``) without asking
first; only ``Content-Type: application/json`` needs a preflight. Each refusal
here has its negative control beside it. The browser itself is in
``test_server_origin_browser.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests
from support import LiveServer
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from progressista.protocol.feed import POLICY_VIOLATION, REASON_ORIGIN
from progressista.server.ws import REASON_CROSS_ORIGIN, same_origin

JSON = {"Content-Type": "application/json"}


def host_port(server: LiveServer) -> str:
    return server.url.removeprefix("http://")


def refused_before_data(ws: ClientConnection) -> tuple[int, str]:
    """The close the server sent as its very first frame: no snapshot came before it."""
    with pytest.raises(ConnectionClosed) as closed:
        message = ws.recv(timeout=5)
        pytest.fail(f"data sent before the close: {message[:200]!r}")
    assert closed.value.rcvd is not None, "no close frame (a refusal before accept reaches a browser as 1006)"
    return closed.value.rcvd.code, closed.value.rcvd.reason


def snapshot(ws: ClientConnection) -> dict[str, object]:
    message: dict[str, object] = json.loads(ws.recv(timeout=5))
    return message


# ---------------------------------------------------------------- /ws without an allow-list


def test_a_foreign_origin_is_closed_1008_before_any_data(server: LiveServer) -> None:
    server.post({"task_id": "secret", "desc": "payroll export"})
    for origin in ("http://evil.example", "http://127.0.0.1:1", "null", f"https://{host_port(server)}.evil.example"):
        with connect(server.ws_url, origin=Origin(origin), open_timeout=5) as ws:
            assert refused_before_data(ws) == (POLICY_VIOLATION, REASON_CROSS_ORIGIN), origin
    assert len(REASON_CROSS_ORIGIN.encode()) <= 123  # what a close frame can carry


def test_the_same_origin_and_no_origin_are_served(server: LiveServer) -> None:
    server.post({"task_id": "mine"})
    with connect(server.ws_url, origin=Origin(server.url), open_timeout=5) as ws:
        assert "mine" in snapshot(ws)["tasks"]  # type: ignore[operator]
    with connect(server.ws_url, open_timeout=5) as ws:  # no Origin: a script, the TUI, `progressista wait`
        assert "mine" in snapshot(ws)["tasks"]  # type: ignore[operator]


def test_same_origin_means_the_host_the_server_was_reached_by(server: LiveServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    via_localhost = f"ws://localhost:{port}/ws"
    with connect(via_localhost, origin=Origin(f"http://localhost:{port}"), open_timeout=5) as ws:
        assert "tasks" in snapshot(ws)
    # The same server, but the page was loaded from 127.0.0.1: another origin.
    with connect(via_localhost, origin=Origin(server.url), open_timeout=5) as ws:
        assert refused_before_data(ws) == (POLICY_VIOLATION, REASON_CROSS_ORIGIN)


def test_same_origin_rules() -> None:
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert same_origin("http://LocalHost:8000", "localhost:8000")
    assert same_origin("https://progress.example.com", "progress.example.com")  # default ports
    assert same_origin("https://progress.example.com", "progress.example.com:443")
    assert same_origin("http://[::1]:8000", "[::1]:8000")
    assert not same_origin("http://progress.example.com", "progress.example.com:443")
    assert not same_origin("http://localhost:8001", "localhost:8000")
    assert not same_origin("http://localhost:8000", None)
    assert not same_origin("null", "localhost:8000")
    assert not same_origin("http://localhost:8000", "localhost:notaport")
    assert not same_origin("ftp://localhost:8000", "localhost:8000")


# ---------------------------------------------------------------- /ws with an allow-list: as before


def test_an_allow_list_decides_alone(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(allow_origins=["https://dash.example.com"])
    with connect(server.ws_url, origin=Origin("https://dash.example.com"), open_timeout=5) as ws:
        assert "tasks" in snapshot(ws)
    with connect(server.ws_url, origin=Origin("https://evil.example"), open_timeout=5) as ws:
        assert refused_before_data(ws) == (POLICY_VIOLATION, REASON_ORIGIN)
    with connect(server.ws_url, open_timeout=5) as ws:
        assert "tasks" in snapshot(ws)


# ---------------------------------------------------------------- Content-Type on POST and DELETE

FORM_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_a_post_that_is_not_json_is_refused_415(server: LiveServer, content_type: str | None) -> None:
    body = b'{"task_id": "planted", "desc": "="}'  # what a text/plain form can be made to send
    headers = {"Content-Type": content_type} if content_type else {}
    session = requests.Session()  # not the fixture's: it must send no Content-Type of its own
    with session:
        response = session.post(server.url + "/progress", data=body, headers=headers, timeout=5)
        if content_type is None:
            assert "content-type" not in response.request.headers
    assert response.status_code == 415, response.text
    assert response.json()["detail"].startswith("Content-Type: ")
    assert "application/json" in response.json()["detail"]
    assert "planted" not in server.tasks()
    ok = requests.post(  # the control: the same bytes, said to be JSON
        server.url + "/progress", data=body, headers={"Content-Type": "Application/JSON; charset=utf-8"}, timeout=5
    )
    assert ok.status_code == 200 and "planted" in server.tasks()


def test_every_delete_needs_json(server: LiveServer) -> None:
    server.post([{"task_id": "a"}, {"task_id": "b", "status": "close"}])
    url = server.url + "/tasks"
    attempts = [(url + "/a", {}), (url, {"task_id": "a"}), (url, {"status": "completed"}), (url, {"all": "true"})]
    for target, params in attempts:
        refused = requests.delete(target, params=params, headers={"Content-Type": "text/plain"}, timeout=5)
        assert refused.status_code == 415, (target, params, refused.text)
        bare = requests.delete(target, params=params, timeout=5)
        assert bare.status_code == 415, (target, params)
    assert set(server.tasks()) == {"a", "b"}
    assert requests.delete(url + "/a", headers=JSON, timeout=5).json()["removed"] == ["a"]  # the control
    assert requests.delete(url, params={"all": "true"}, headers=JSON, timeout=5).json()["removed"] == ["b"]


def test_415_is_documented(server: LiveServer) -> None:
    paths = requests.get(server.url + "/openapi.json", timeout=5).json()["paths"]
    assert "415" in paths["/progress"]["post"]["responses"]
    assert "415" in paths["/tasks"]["delete"]["responses"]
    assert "415" in paths["/tasks/{task_id}"]["delete"]["responses"]
