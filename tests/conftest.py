from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from support import LiveServer, RedisServer, require_binary, run_server

# schemathesis 4.32+, which the API fuzz tests need, supports Python 3.11 and later only.
collect_ignore = ["test_reliability_fuzz.py"] if sys.version_info < (3, 11) else []


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from no PROGRESSISTA_* settings: the developer's shell must not leak in."""
    for name in list(os.environ):
        if name.startswith("PROGRESSISTA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def start_server() -> Iterator[Callable[..., LiveServer]]:
    """Start servers with settings overrides; all are stopped at the end of the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> LiveServer:
            return stack.enter_context(run_server(**overrides))

        yield start


@pytest.fixture
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    """A server with default settings (short cleanup interval), on a free loopback port."""
    return start_server()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session; tests keep apart by key prefix."""
    server = RedisServer(require_binary("redis-server")).start()
    yield server
    server.close()


@pytest.fixture
def redis_settings(redis_server: RedisServer) -> dict[str, str]:
    """Settings overrides that put a server on the shared Redis, under a prefix of this test's own."""
    return {"redis_url": redis_server.url, "redis_prefix": f"test-{uuid.uuid4().hex[:12]}:"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive headless Chromium are marked ``browser``: ``-m "not browser"`` leaves them out."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
