"""Tokens: every protected route and /ws refuse a missing or wrong token."""

import http.client
import logging
import time
from collections import Counter

import pytest
import requests
from support import wait_until
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from progressista.protocol.roles import Grant, digest
from progressista.server.auth import TokenRedactingFilter, role_of_token

PROTECTED = [
    ("POST", "/progress"),
    ("GET", "/tasks"),
    ("GET", "/groups"),
    ("DELETE", "/tasks?status=close"),
    ("DELETE", "/tasks/some-task"),
]


def admins(*tokens: str) -> list[Grant]:
    return [Grant("admin", digest(token)) for token in tokens]


def test_role_of_token_compares_digests_of_the_utf8_bytes():
    assert role_of_token(None, []) == "admin"  # no tokens configured: open
    assert role_of_token("a", admins("a", "b")) == role_of_token("b", admins("a", "b")) == "admin"
    assert role_of_token("c", admins("a", "b")) is None and role_of_token(None, admins("a")) is None
    assert role_of_token("sécret-✓", admins("sécret-✓")) == "admin"
    assert role_of_token("sécret", admins("secret")) is None  # non-ASCII must not raise
    assert role_of_token("r", [Grant("read", digest("r")), *admins("a")]) == "read"


@pytest.fixture
def secured(start_server):
    return start_server(api_tokens=["tok-1", "tok-2"])


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic tok-1"}, {"Authorization": "Bearer tök-ü"}],
)
def test_protected_routes_refuse_missing_or_wrong_tokens(secured, method, path, headers):
    response = secured.http.request(method, secured.url + path, json={"task_id": "x"}, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert secured.http.get(secured.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize("token", ["tok-1", "tok-2"])
def test_bearer_header_or_query_token_is_accepted(secured, token):
    ok = secured.http.post(
        secured.url + "/progress", json={"task_id": "a"}, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert ok.status_code == 200
    listed = secured.http.get(secured.url + "/tasks", params={"token": token}, timeout=5)
    assert set(listed.json()["tasks"]) == {"a"}


def test_api_tokens_override_api_token(start_server):
    server = start_server(api_token="single", api_tokens=["listed"])
    assert server.http.get(server.url + "/tasks?token=single", timeout=5).status_code == 401
    assert server.http.get(server.url + "/tasks?token=listed", timeout=5).status_code == 200


def test_health_static_and_the_api_docs_stay_open(secured):
    for path in ("/health", "/static/index.html", "/docs", "/openapi.json"):
        assert secured.http.get(secured.url + path, timeout=5).status_code == 200
    assert secured.http.get(secured.url + "/metrics", timeout=5).status_code == 401  # counts: for readers


@pytest.mark.parametrize("query", ["", "?token=wrong", "?mode=delta&token=nope"])
def test_ws_with_a_bad_token_is_closed_1008_before_any_data(secured, query):
    with connect(secured.ws_url + query, open_timeout=5) as ws:  # accepted: no HTTP 403
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_ws_accepts_a_header_or_query_token(secured):
    secured.http.post(secured.url + "/progress?token=tok-1", json={"task_id": "a"}, timeout=5)
    with connect(secured.ws_url, additional_headers={"Authorization": "Bearer tok-2"}, open_timeout=5) as ws:
        assert '"a"' in ws.recv(timeout=5)
    with connect(secured.ws_url + "?token=tok-1&mode=delta", open_timeout=5) as ws:
        assert '"snapshot"' in ws.recv(timeout=5)


def test_ws_checks_origin_against_the_allow_list(start_server):
    server = start_server(allow_origins=["https://dash.example.com"])
    with connect(server.ws_url, origin="https://evil.example", open_timeout=5) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    with connect(server.ws_url, origin="https://dash.example.com", open_timeout=5) as ws:
        assert ws.recv(timeout=5) == '{"tasks":{}}'


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_query_tokens_are_redacted_from_logs(secured):
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/tasks?status=close&token=tok-1", "1.1", 200),
        None,
    )
    TokenRedactingFilter().filter(record)
    assert "tok-1" not in record.getMessage() and "token=***" in record.getMessage()

    # On the live server: the access log line and the WebSocket "accepted" line.
    capture = Lines()
    loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.INFO)
    try:
        secured.http.get(secured.url + "/tasks?token=tok-2", timeout=5)
        with connect(secured.ws_url + "?token=tok-1", open_timeout=5) as ws:
            ws.recv(timeout=5)
    finally:
        for logger, level in zip(loggers, levels, strict=False):
            logger.removeHandler(capture)
            logger.setLevel(level)
    assert any("/tasks?token=*** " in line for line in capture.lines), capture.lines
    assert any("WebSocket /ws?token=***" in line for line in capture.lines), capture.lines
    assert not any("tok-1" in line or "tok-2" in line for line in capture.lines), capture.lines


def status_from(server, address: str, token: str) -> int:
    """``GET /tasks`` with ``token`` from another loopback address (Linux routes all of 127.0.0.0/8 to lo)."""
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(address, 0))
    try:
        conn.request("GET", "/tasks", headers={"Authorization": f"Bearer {token}"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_an_address_that_keeps_sending_wrong_tokens_gets_one_check_a_second(start_server):
    server = start_server(api_token="right", auth_failures=5)

    def get(token: str) -> requests.Response:
        return server.http.get(server.url + "/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=5)

    assert [get("right").status_code for _ in range(20)] == [200] * 20  # right tokens never count
    assert [get("wrong").status_code for _ in range(5)] == [401] * 5
    answers: Counter[int] = Counter()
    ended = time.monotonic() + 2.0
    while time.monotonic() < ended:  # a guesser at full speed for two seconds
        response = get("wrong")
        answers[response.status_code] += 1
        if response.status_code == 429:
            assert response.headers["retry-after"] == "1" and "too many wrong tokens" in response.json()["detail"]
    assert set(answers) == {401, 429} and answers[401] <= 3 and answers[429] >= 20, answers
    assert status_from(server, "127.0.0.2", "right") == 200  # another address is not slowed
    assert status_from(server, "127.0.0.3", "wrong") == 401
    wait_until(lambda: get("right").status_code == 200, timeout=5, what="the right token at its turn")

    def ws_close() -> tuple[int, str]:
        with connect(server.ws_url + "?token=wrong", open_timeout=5) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code, closed.value.rcvd.reason

    wait_until(lambda: ws_close() == (1013, "too many wrong tokens; retry later"), what="/ws throttled too")
    assert server.http.get(server.url + "/health", timeout=5).status_code == 200


def test_with_auth_failures_0_wrong_tokens_are_never_throttled(start_server):
    server = start_server(api_token="right", auth_failures=0)
    statuses = {server.http.get(server.url + "/tasks?token=wrong", timeout=5).status_code for _ in range(60)}
    assert statuses == {401}
