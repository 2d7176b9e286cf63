from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from support import LiveServer, run_server


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
