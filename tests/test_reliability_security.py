"""Security under hostile input, beyond tests/test_server_auth.py and test_server_routes.py.

- Every operation the OpenAPI schema lists, but for /health, and
  /ws, refuse missing, empty, wrong and malformed tokens (derived from the
  schema, so a new route is covered the day it is added).
- Tokens are compared as UTF-8 bytes, every accepted token every time: a
  non-ASCII token works in the query and in the header, and no strange token
  (invalid UTF-8, lone surrogates, Latin-1 bytes) ever gets a 500.
- A real uvicorn (subprocess, access log on) never writes a ``?token=`` value.
- The body cap holds at its exact boundary and before a body is read; the
  task cap holds under concurrent new tasks, memory and Redis.
"""

from __future__ import annotations

import hmac
import json
import socket
import threading

import pytest
import requests
from serverproc import ServerProcess
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from progressista.protocol.roles import Grant, digest
from progressista.server import auth

TOKEN = "sécret-✓"
OPEN = {"/health"}
BAD_HEADERS = [
    {},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer wrong"},
    {"Authorization": "Bearer sécret"},  # a prefix of the real one
    {"Authorization": ("Basic " + TOKEN).encode()},
    {"Authorization": b"Bearer \xff\xfe\xed\xa0\x80"},  # not UTF-8 at all
    {"Authorization": ("Bearer " + TOKEN + "x").encode()},
]
BAD_QUERIES = [
    "",
    "?token=",
    "?token=wrong",
    "?token=%ff%fe",
    "?token=%ed%a0%80",
    "?token=s%C3%A9cret",
    "?TOKEN=s%C3%A9cret-%E2%9C%93",
]


@pytest.fixture
def secured(start_server):
    # These tests send hundreds of bad tokens on purpose: without the throttle, each one is checked (and refused).
    return start_server(api_tokens=[TOKEN, "plain-token"], auth_failures=0)


def protected_operations(server) -> list[tuple[str, str]]:
    doc = server.http.get(server.url + "/openapi.json", timeout=5).json()
    operations = [
        (method.upper(), path.replace("{task_id}", "some-task"))
        for path, item in doc["paths"].items()
        if path not in OPEN
        for method in item
    ]
    assert len(operations) >= 5, operations
    return operations


def test_every_documented_operation_but_health_and_metrics_refuses_bad_tokens(secured):
    operations = protected_operations(secured)
    for method, path in operations:
        for headers in BAD_HEADERS:
            response = secured.http.request(
                method, secured.url + path, json={"task_id": "x"}, headers=headers, timeout=5
            )
            assert response.status_code == 401, (method, path, headers, response.text)
        for query in BAD_QUERIES:
            response = secured.http.request(method, secured.url + path + query, json={"task_id": "x"}, timeout=5)
            assert response.status_code == 401, (method, path, query, response.text)
    assert secured.tasks(token=TOKEN) == {}  # nothing got through
    for path in OPEN:
        assert secured.http.get(secured.url + path, timeout=5).status_code == 200


@pytest.mark.parametrize("mode", ["snapshot", "delta"])
def test_ws_refuses_bad_tokens_with_1008_and_never_fails(secured, mode):
    for query in BAD_QUERIES:
        extra = f"&mode={mode}" if query else f"?mode={mode}"
        with connect(secured.ws_url + query + extra, open_timeout=5) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, query
    for header in ("Bearer wrong", "Bearer " + TOKEN[:-1]):
        with connect(secured.ws_url, additional_headers={"Authorization": header}, open_timeout=5) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, header


def test_a_non_ascii_token_works_in_the_query_and_the_header(secured):
    assert secured.http.get(secured.url + "/tasks", params={"token": TOKEN}, timeout=5).status_code == 200
    # Clients send header values as bytes; UTF-8 is what a non-ASCII token looks like there.
    utf8 = {"Authorization": ("Bearer " + TOKEN).encode()}
    assert secured.http.get(secured.url + "/tasks", headers=utf8, timeout=5).status_code == 200
    with connect(secured.ws_url + "?token=s%C3%A9cret-%E2%9C%93", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"tasks": {}}


def test_every_accepted_token_is_compared_as_bytes_every_time(monkeypatch):
    calls = []
    compare = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    accepted = [Grant("admin", digest(token)) for token in (TOKEN, "two", "three")]
    for presented in (TOKEN, "three", "nope", "\udcff lone surrogate", "\xff"):
        calls.clear()
        auth.role_of_token(presented, accepted)
        # No early exit on a match, so the time taken does not say which token (or how much of it) matched.
        assert calls == [(bytes, bytes)] * len(accepted), presented


def test_query_tokens_never_reach_a_real_servers_logs():
    secret, wrong = "Tok3n-SECRET-value", "WRONG-guess-value"
    with ServerProcess(log_level="info", access_log=True, api_token=secret) as server:
        http = requests.Session()
        paths = [
            f"/tasks?token={secret}",
            f"/tasks?status=close&token={secret}&older_than=1",
            f"/?token={secret}",
            f"/static/index.html?token={secret}",
            f"/tasks?%74oken={secret}",
            f"/tasks?token={wrong}",
            f"/groups?token={wrong}&token={secret}",
        ]
        for path in paths:
            assert http.get(server.url + path, timeout=5).status_code < 500
        assert http.post(server.url + f"/progress?token={secret}", json={"task_id": "a"}, timeout=5).ok
        for query in (f"?token={secret}", f"?mode=delta&token={secret}", f"?token={wrong}"):
            with connect(server.ws_url + query, open_timeout=5) as ws, pytest.raises((ConnectionClosed, TimeoutError)):
                ws.recv(timeout=0.5)  # the snapshot (good token) or the 1008 close (wrong one)
                ws.recv(timeout=0.2)
        server.stop()
        log = server.output()
    assert log.count("token=***") >= len(paths) + 3, log
    assert secret not in log and wrong not in log, log


def test_body_cap_holds_at_its_boundary_and_before_reading(start_server):
    server = start_server(max_body_bytes=2048)

    def body(size: int) -> bytes:
        head = b'{"task_id":"big","meta":{"k":"'
        return head + b"x" * (size - len(head) - 3) + b'"}}'

    exact = server.http.post(
        server.url + "/progress", data=body(2048), timeout=5, headers={"Content-Type": "application/json"}
    )
    assert exact.status_code == 200, exact.text
    over = server.http.post(
        server.url + "/progress", data=body(2049), timeout=5, headers={"Content-Type": "application/json"}
    )
    assert over.status_code == 413 and "2048" in over.json()["detail"]

    # A declared 10 GB body is refused from its header alone: the answer comes without a byte of body.
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /progress HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000000\r\n\r\n"
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 413")
    assert len(server.tasks()["big"]["meta"]["k"]) == 2048 - 33


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_task_cap_holds_under_concurrent_new_tasks(start_server, request, backend):
    extra = request.getfixturevalue("redis_settings") if backend == "redis" else {}
    server = start_server(max_tasks=50, **extra)
    statuses: list[int] = []

    def client(k: int) -> None:
        with requests.Session() as http:
            for i in range(20):
                body = [{"task_id": f"c{k}-{i}-{j}"} for j in range(2)]
                statuses.append(http.post(server.url + "/progress", json=body, timeout=10).status_code)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) == 25 and len(server.tasks()) == 50  # whole batches of two, never half of one
