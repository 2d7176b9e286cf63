"""File descriptors: ``serve`` raises its soft limit, and connections past the limit get a clear 503."""

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import requests
from serverproc import ServerProcess
from support import require_binary, run_server, wait_until
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from progressista.server.limits import RESERVED_FDS, concurrency_for


def open_files(pid: int) -> tuple[int, int]:
    """The (soft, hard) ``Max open files`` of a running process."""
    with open(f"/proc/{pid}/limits") as limits:
        line = next(line for line in limits if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


@contextmanager
def held_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` idle TCP connections to the server (they never send a byte), all closed on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5)) for _ in range(count)]


def health(url: str) -> int | str:
    """``/health``'s status code, or ``"no answer"`` when the request fails."""
    try:
        return requests.get(url + "/health", timeout=1).status_code
    except requests.RequestException:
        return "no answer"


@pytest.mark.parametrize("fd_limit", [256, 1024, 4096, 1_048_576])
def test_the_limit_leaves_a_reserve_below_the_fd_limit(fd_limit):
    limit = concurrency_for(fd_limit)
    assert limit is not None
    assert RESERVED_FDS <= fd_limit - limit <= max(RESERVED_FDS, fd_limit // 10)


def test_no_fd_limit_means_no_connection_limit():
    assert concurrency_for(None) is None
    assert concurrency_for(10) == 1  # a tiny limit still serves someone


@pytest.mark.parametrize(("cli", "expected"), [(True, (4096, 4096)), (False, (256, 4096))])
def test_serve_raises_the_soft_limit_to_the_hard_one(cli, expected):
    prlimit = require_binary("prlimit", "util-linux")
    # Negative control: plain uvicorn under the same limits keeps them, so the raise is serve's doing.
    with ServerProcess(cli=cli, wrapper=[prlimit, "--nofile=256:4096"]) as server:
        assert server.proc is not None
        assert open_files(server.proc.pid) == expected


@pytest.mark.parametrize(
    ("max_connections", "held", "while_held"),
    [
        (None, 200, 503),  # the default limit under 256 fds is 192: past it, a clear 503
        (100_000, 300, "no answer"),  # negative control, no useful limit: out of fds, requests hang
    ],
)
def test_held_connections_past_the_limit_get_503_and_the_server_recovers(max_connections, held, while_held):
    prlimit = require_binary("prlimit", "util-linux")
    settings = {} if max_connections is None else {"max_connections": max_connections}
    # soft = hard: serve cannot raise it, so a few hundred connections reach it.
    with ServerProcess(cli=True, wrapper=[prlimit, "--nofile=256:256"], **settings) as server:
        with held_connections(server.port, held):
            wait_until(lambda: health(server.url) == while_held, timeout=20, what=f"/health to give {while_held}")
            if while_held == 503:
                response = requests.get(server.url + "/health", timeout=5)
                assert response.text == "Service Unavailable"
                assert response.headers["connection"] == "close"  # its file descriptor is freed at once
        wait_until(lambda: health(server.url) == 200, timeout=20, what="/health to answer again")


def test_websocket_handshakes_past_the_limit_get_503():
    with run_server(max_connections=2) as server, ExitStack() as stack:
        for _ in range(2):  # negative control: up to the limit, dashboards connect
            stack.enter_context(connect(server.ws_url, open_timeout=5))
        with pytest.raises(InvalidStatus) as refused:
            connect(server.ws_url, open_timeout=5)
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"] == "1"
        stack.close()  # the two leave: room again
        with connect(server.ws_url, open_timeout=5) as ws:
            ws.send('{"type": "ping"}')
