"""A Progressista server in a thread, for the screenshot scripts (not part of the package)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from progressista.server import Settings, create_app

__all__ = ["serve"]


def listening_socket(preferred: int = 0) -> socket.socket:
    """A loopback socket on ``preferred`` when it is free (0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", preferred))
    except OSError:
        sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(settings: Settings, preferred_port: int = 0) -> Iterator[str]:
    """Run ``create_app(settings)`` until the block ends; yields the base URL."""
    sock = listening_socket(preferred_port)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)
