"""The one background sender per process, shared by every bar.

Bars hand their latest state to :func:`get_sender` and return at once; a single
daemon thread (created on first use, so 1,000 bars still mean one thread)
posts it:

- **coalesces**: only the latest event per ``(route, task_id)`` is kept, so memory
  holds one pending state per task, never a queue (a pending start or final
  status is not lost to a plain update); past ``MAX_PENDING`` tasks per route
  the states of those that reported longest ago go, a close or error last;
- **batches**: everything pending for a route goes out as ONE ``POST /progress``
  JSON array (split only past a size limit);
- **throttles**: a route posts plain updates at most every ``push_every`` seconds,
  but ``start``, ``close`` and ``error`` skip the wait: they go out within
  ``URGENT_GAP`` of the last post. Such early posts are limited to one per
  ``EARLY_SPACING`` (or ``push_every`` when shorter), so a flood of short bars
  costs a few posts a second, not dozens (every post makes the thread compete
  for the GIL), while a phase change never waits out a long ``push_every``;
- **retries**: while the server is unreachable or answers 5xx/429 the batch is
  kept (newer states replace it) and the route backs off exponentially; a
  401/403/404/422 drops the batch with a debug log, since resending cannot help;
- **flushes at exit**: ``atexit`` (and ``multiprocessing``'s exit hooks) post what
  is pending within the largest ``request_timeout`` involved, then give up;
- **survives fork**: a forked child starts from a fresh sender (no inherited thread,
  socket or lock) and ignores the bars it inherited from its parent;
- **runs periodic hooks**: the client's heartbeat re-sends open bars from here,
  so a slow job stays "heard from" while a dead one goes quiet.

The rules are pure functions in :mod:`.rules`; :mod:`.routes` interns where
events go, :mod:`.worker` is the thread, :mod:`.session` its HTTP session.
This module holds the process-wide instance and its exit and fork handling.

Nothing here raises into, or blocks, the code that reports progress; failures
are logged on the ``progressista`` logger at DEBUG level::

    logging.getLogger("progressista").setLevel(logging.DEBUG)

A ``route`` names where and how to post: URL, headers, timeout, interval and the
post function (``RemoteTqdm._post`` of the bar's class). :func:`flush` posts
what is pending now, e.g. before ``os._exit``, which skips the exit flush:

>>> from progressista import sender
>>> done = sender.flush(timeout=2.0)  # True when nothing is left to send
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Callable

from .routes import PostFunction, Route, route
from .rules import URGENT_GAP, Hook
from .worker import THREAD_NAME, Sender

__all__ = [
    "THREAD_NAME",
    "URGENT_GAP",
    "PostFunction",
    "Route",
    "Sender",
    "before_exit",
    "current",
    "flush",
    "generation",
    "get_sender",
    "periodically",
    "route",
]

log = logging.getLogger("progressista")

_sender: Sender | None = None
_sender_lock = threading.Lock()
_before_exit: list[Callable[[], None]] = []
_periodic: list[Hook] = []
_exited = False
#: Bumped in a forked child: bars remember it, so the child ignores its parent's bars.
generation = 0


def get_sender() -> Sender:
    """The process's sender, created on first use."""
    global _sender
    sender = _sender
    if sender is None:
        with _sender_lock:
            if _sender is None:
                _sender = Sender(_periodic)
                _register_multiprocessing_exit()
            sender = _sender
    return sender


def current() -> Sender | None:
    """The process's sender if one was created, else ``None`` (never creates one)."""
    return _sender


def flush(timeout: float | None = None) -> bool:
    """Post pending events now (at most ``timeout`` seconds; default: the routes' request timeout).

    Call it before ``os._exit()``, which skips the exit flush. True when nothing
    is left; without a sender in this process, True at once (and none is created).
    """
    sender = _sender
    return True if sender is None else sender.flush(timeout)


def periodically(hook: Callable[[], None], interval: Callable[[], float]) -> None:
    """Run ``hook`` on the sender thread every ``interval()`` seconds (0: never).

    The client re-sends its open bars from here (the heartbeat). ``interval`` is
    asked when the thread first schedules the hook, and after each run.
    """
    if all(hook is not known for known, _ in _periodic):
        _periodic.append((hook, interval))


def before_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` at exit before the final flush (the client finishes its open bars there)."""
    if hook not in _before_exit:
        _before_exit.append(hook)


def _at_exit() -> None:
    global _exited
    if _exited:
        return
    _exited = True
    for hook in list(_before_exit):
        try:
            hook()
        except Exception:
            log.debug("progressista: exit hook failed", exc_info=True)
    sender = _sender
    if sender is not None:
        sender.flush()
        sender.close()


def _register_multiprocessing_exit() -> None:
    # multiprocessing children end with os._exit(), skipping atexit; they run
    # multiprocessing.util's finalizers first, so flush there too. A child's
    # registry starts empty, and its sender is created there, after it started.
    # Not in the parent: there atexit runs, and runs last (a run's end comes first).
    process = sys.modules.get("multiprocessing.process")
    util = sys.modules.get("multiprocessing.util")
    if util is not None and process is not None and process.parent_process() is not None:
        util.Finalize(None, _at_exit, exitpriority=100)


def _after_fork_in_child() -> None:
    # The parent's thread does not exist here, its locks may be held and its
    # socket is shared: start from nothing. Do not close the inherited session,
    # that could disturb the parent's connection.
    global _sender, _sender_lock, _exited, generation
    _sender = None
    _sender_lock = threading.Lock()
    _exited = False
    generation += 1


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
