"""Background tasks of the server: waiting with a timeout, and stopping them for sure.

Two asyncio details, each of which has stopped a server from saving or exiting:

- ``asyncio.wait_for`` raises ``asyncio.TimeoutError``, which is the builtin
  ``TimeoutError`` only from Python 3.11; on 3.10 ``suppress(TimeoutError)``
  lets it through. :func:`wait_event` catches both.
- One ``cancel()`` does not always end a task: before Python 3.12,
  ``asyncio.wait_for`` returns the inner result instead of raising when a
  cancellation arrives just as the inner awaitable finishes
  (https://github.com/python/cpython/issues/86296), and redis-py wraps every
  socket write in ``wait_for``. A loop cancelled during a Redis command can
  carry on as if nothing happened, and a shutdown that awaits it waits forever.
  :func:`stop` cancels again until the task ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["stop", "wait_event"]

log = logging.getLogger("progressista.server")

#: How often :func:`stop` repeats its cancel while a task keeps running.
_RECANCEL_EVERY = 0.05


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set, for ``timeout`` seconds at most; was it set?"""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except (TimeoutError, asyncio.TimeoutError):  # two classes on 3.10, one from 3.11
        return event.is_set()
    return True


async def stop(*tasks: asyncio.Task[Any] | None, timeout: float = 5.0) -> None:
    """Cancel ``tasks`` and wait until they have ended, cancelling again while one still runs.

    Gives up after ``timeout`` seconds with a warning naming the tasks left, so
    a task that refuses to end cannot hold the server's shutdown forever.
    Exceptions the tasks ended with are logged at DEBUG, not raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    running = {task for task in tasks if task is not None}
    while True:
        running = {task for task in running if not _ended(task)}
        left = deadline - loop.time()
        if not running:
            return
        if left <= 0:
            log.warning(
                "%d background task(s) did not stop within %.0f s: %s",
                len(running),
                timeout,
                ", ".join(sorted(task.get_name() for task in running)),
            )
            return
        for task in running:
            task.cancel()
        await asyncio.wait(running, timeout=min(_RECANCEL_EVERY, left))


def _ended(task: asyncio.Task[Any]) -> bool:
    if not task.done():
        return False
    if not task.cancelled() and task.exception() is not None:  # retrieved, so asyncio does not complain
        log.debug("background task %s ended with %r", task.get_name(), task.exception())
    return True
