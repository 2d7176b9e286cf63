"""Helpers the tests share: a real uvicorn server on loopback, and waiting on conditions."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests
import uvicorn

from progressista.server import Settings, create_app
from progressista.server.deflate import WebSocketProtocol

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def require_binary(name: str, *candidates: str) -> str:
    """The path of a system binary, or skip the test naming what is missing.

    CI sets ``REQUIRE_SYSTEM_BINARIES=1`` after installing them: there a missing
    binary fails the test instead of skipping it.
    """
    for candidate in (name, *candidates):
        path = shutil.which(candidate)
        if path:
            return path
    message = f"{name} is not installed (Debian: apt-get install {name})"
    if os.environ.get("REQUIRE_SYSTEM_BINARIES") == "1":
        pytest.fail(message + "; REQUIRE_SYSTEM_BINARIES=1 forbids skipping")
    pytest.skip(message)


#: What a POST or DELETE must declare, else the server answers 415: ``headers=JSON``.
JSON = {"Content-Type": "application/json"}


@dataclass
class LiveServer:
    """A running server: its base URL, settings and a ``requests`` session."""

    url: str
    settings: Settings
    server: uvicorn.Server
    http: requests.Session

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/ws"

    @property
    def app(self) -> Any:
        return self.server.config.app

    def post(self, body: Any, **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + "/progress", json=body, timeout=5, **kwargs)

    def tasks(self, **params: Any) -> dict[str, Any]:
        response = self.http.get(self.url + "/tasks", params=params, timeout=5)
        response.raise_for_status()
        return response.json()["tasks"]  # type: ignore[no-any-return]


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def run_server(
    settings: Settings | None = None,
    sock: socket.socket | None = None,
    uvicorn_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> Iterator[LiveServer]:
    """Start uvicorn with ``create_app(settings)`` in a thread; stop it on exit.

    ``uvicorn_options`` go to ``uvicorn.Config`` (``root_path``, …)."""
    settings = settings or Settings(**{"cleanup_interval": 0.05, **overrides})
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
        **{"ws": WebSocketProtocol, **(uvicorn_options or {})},  # as ``progressista serve`` runs it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=15, what="uvicorn to start")
    assert server.started, "uvicorn failed to start"
    with requests.Session() as http:
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", settings, server, http)
        finally:
            server.should_exit = True
            thread.join(15)
            assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[http.server.ThreadingHTTPServer]:
    """A plain HTTP server on a free loopback port, in a thread, answering with ``handler``; stopped on exit."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name=f"http-{handler.__name__}")
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class RedisServer:
    """A real ``redis-server`` on a free loopback port, in a temporary folder, no persistence."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.folder = tempfile.TemporaryDirectory(prefix="progressista-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.folder.name,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self.folder.cleanup()


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without PROGRESSISTA_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGRESSISTA_")}
    return {**env, **extra}


@contextmanager
def server_process(args: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    """Run a server command until the block ends, then stop it with Ctrl-C; it must exit 0.

    Yields the base URL once ``/health`` answers on ``port``.
    """
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"server exited early: {proc.communicate()[0]}")
            try:
                return requests.get(url + "/health", timeout=1).ok
            except requests.ConnectionError:
                return False

        try:
            wait_until(up, timeout=20, interval=0.05, what="server to answer /health")
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                output, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
                raise AssertionError(f"server did not stop within 20 s of Ctrl-C:\n{output}") from None
        assert proc.returncode == 0, output
