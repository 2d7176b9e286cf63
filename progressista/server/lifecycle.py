"""The lifecycle loop: every ``cleanup_interval``, mark stale and purge expired tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .store import TaskStore
from .tasks import Lifecycle

__all__ = ["run_lifecycle"]

log = logging.getLogger("progressista.server")


async def run_lifecycle(
    store: TaskStore, policy: Lifecycle, interval: float, clock: Callable[[], float] = time.time
) -> None:
    """Sweep the store forever; the decisions are :func:`progressista.server.tasks.sweep`'s."""
    while True:
        await asyncio.sleep(interval)
        try:
            change = await store.sweep(clock(), policy)
        except Exception:  # a failed pass is retried next interval, not fatal
            log.exception("lifecycle pass failed")
            continue
        if change:
            log.debug("lifecycle: %d stale, %d removed", len(change.tasks), len(change.removed))
