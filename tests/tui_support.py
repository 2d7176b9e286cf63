"""What the pilot tests of ``progressista watch`` share: driving the app, waiting on conditions, events.

Textual's pilot is async; pytest-asyncio is not needed: each test drives the
app with ``asyncio.run`` and waits on conditions (never bare sleeps).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from support import LiveServer
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from progressista.protocol.feed import Backoff
from progressista.tui.app import WatchApp, create_app

FAST = Backoff(first=0.05, factor=2.0, limit=0.4, jitter=0.0)
SIZE = (150, 40)

Scenario = Callable[[Pilot[None]], Awaitable[None]]


def drive(app: WatchApp, scenario: Scenario, size: tuple[int, int] = SIZE) -> None:
    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await scenario(pilot)

    asyncio.run(main())


async def until(pilot: Pilot[None], predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)


def footer_keys(app: WatchApp) -> set[str]:
    """The descriptions of the keys the footer draws (none while it is composed again, when the keys change)."""
    return {key.description for key in app.query_one(Footer).query(FooterKey)}


def event(task_id: str, status: str = "update", **fields: Any) -> dict[str, Any]:
    return {"task_id": task_id, "status": status, "n": 3, "total": 10, **fields}


def watch(server: LiveServer, **options: Any) -> WatchApp:
    """The dashboard on ``server``, laying out every 50 ms and retrying fast."""
    return create_app(server.url, **{"refresh_interval": 0.05, "backoff": FAST, **options})


def offline(**options: Any) -> WatchApp:
    """An app whose feed never connects: the tests post Snapshots and Deltas the way the feed would.

    Pass ``clock=lambda: now`` for ages that do not tick while a loaded machine runs the test.
    """
    return create_app(
        "http://127.0.0.1:9", **{"refresh_interval": 0.05, "backoff": Backoff(first=60, jitter=0), **options}
    )
