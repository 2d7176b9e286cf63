"""The lifecycle loop: every ``cleanup_interval``, mark stale and purge expired tasks.

A store that is down (Redis unreachable) fails every pass until it is back:
that is logged once when the passes start failing and once when they resume,
with how many failed and for how long, not a traceback per pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .store import StoreUnavailable, TaskStore
from .tasks import Lifecycle

__all__ = ["Outage", "run_lifecycle"]

log = logging.getLogger("progressista.server")


async def run_lifecycle(
    store: TaskStore, policy: Lifecycle, interval: float, clock: Callable[[], float] = time.time
) -> None:
    """Sweep the store forever; the decisions are :func:`progressista.server.tasks.sweep`'s."""
    outage = Outage()
    while True:
        await asyncio.sleep(interval)
        try:
            change = await store.sweep(clock(), policy)
        except Exception as exc:  # a failed pass is retried next interval, not fatal
            if outage.failed(time.monotonic()):
                if isinstance(exc, StoreUnavailable):
                    log.warning("lifecycle passes are failing (%s); retrying every %g s", exc, interval)
                else:  # not an outage but a bug: its traceback, once
                    log.exception("lifecycle passes are failing; retrying every %g s", interval)
            else:
                log.debug("lifecycle pass failed again: %s", exc)
            continue
        if outage.failures:
            failures, seconds = outage.recovered(time.monotonic())
            log.info("lifecycle passes resumed after %d failed over %.0f s", failures, seconds)
        if change:
            log.debug("lifecycle: %d stale, %d removed", len(change.tasks), len(change.removed))


class Outage:
    """Consecutive failures of a repeated job, for one log line when they start and one when they end (pure).

    >>> outage = Outage()
    >>> outage.failed(now=10.0), outage.failed(now=15.0), outage.failures
    (True, False, 2)
    >>> outage.recovered(now=21.0), outage.failures
    ((2, 11.0), 0)
    """

    def __init__(self) -> None:
        self.failures = 0
        self.since = 0.0

    def failed(self, now: float) -> bool:
        """Count a failure; is it the first of an outage?"""
        self.failures += 1
        if self.failures == 1:
            self.since = now
        return self.failures == 1

    def recovered(self, now: float) -> tuple[int, float]:
        """End the outage: how many failures, over how many seconds."""
        summary = (self.failures, now - self.since)
        self.failures = 0
        return summary
