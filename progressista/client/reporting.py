"""How any tqdm bar reports: the functions behind :class:`~progressista.client.RemoteTqdm`'s hooks and the patch's.

A reporting bar carries a :class:`Remote` in its ``_remote`` attribute (its
task id, route, meta and counters); everything else about it is tqdm's. The
same functions serve a ``RemoteTqdm`` (from its overridden methods) and, under
:func:`progressista.patch.install`, any ``tqdm.std.tqdm`` (from the hooks the
patch puts on tqdm's base class), so a bar reports the same whichever way it
came to:

- :func:`start` when the bar is made (``start``, urgent);
- :func:`refreshed` after each of tqdm's refreshes, already throttled by tqdm
  (``update``);
- :func:`closing` around tqdm's ``close`` (``close``, or ``error``; a close from a
  loop an exception broke is held back :data:`INTERRUPT_GRACE` seconds);
- :func:`exiting` from ``__exit__`` (a ``with`` block that raised: ``error``, with
  ``meta.error``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from .. import sender as _sender
from ..protocol.history import META_KEY
from ..protocol.task import MAX_TASK_ID
from ..threads import signals_blocked
from .event import bar_event, new_task_id, same_progress
from .meta import bar_meta, failure_meta, is_failure, meta_with
from .routes import route_for

__all__ = [
    "INTERRUPT_GRACE",
    "NULL_FILE",
    "REMOTE_ARGUMENTS",
    "Remote",
    "closing",
    "exiting",
    "finish",
    "in_pool_worker",
    "new_bar",
    "push",
    "refreshed",
    "remote_of",
    "start",
    "visible_kwargs",
]

log = logging.getLogger("progressista")

#: Seconds a ``close`` from an interrupted ``for`` loop waits, in case the exception kills the job.
INTERRUPT_GRACE = 1.0
#: The keyword arguments a reporting bar takes on top of tqdm's.
REMOTE_ARGUMENTS = ("server_url", "task_id", "push_every", "request_timeout", "meta", "headers", "key")


class _NullFile:
    """A console that shows nothing: for a ``disable=None`` bar on a non-TTY, and phases without a console bar."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


NULL_FILE = _NullFile()


class Remote:
    """A bar's reporting state (kept apart from tqdm's attributes)."""

    __slots__ = (
        "failed",
        "failure_meta",
        "finished",
        "generation",
        "held",
        "last_event",
        "last_push",
        "meta",
        "meta_size",
        "pid",
        "route",
        "sender",
        "seq",
        "task_id",
    )

    def __init__(
        self, task_id: str, route: _sender.Route, meta: dict[str, Any], meta_size: int, pid: int | None = None
    ) -> None:
        self.task_id = task_id
        self.route = route
        self.meta = meta
        self.meta_size = meta_size
        self.seq = 0
        self.pid = os.getpid() if pid is None else pid
        self.generation = _sender.generation
        # The process's sender: one per generation (a forked child gets a new one, and ignores this bar).
        self.sender = _sender.get_sender()
        self.finished = False
        self.failed = False
        self.failure_meta: dict[str, Any] | None = None  # added to the meta of the final error
        self.held = False
        self.last_push = 0.0
        self.last_event: dict[str, Any] | None = None


def new_bar(cls: type[Any], new: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``new(cls, *args, **kwargs)``: tqdm's ``__new__``, which may start tqdm's monitor thread.

    A new thread has the signal mask of the thread that starts it: when the
    monitor is about to start, the program's signals are blocked meanwhile, so
    they stay off it (see :mod:`progressista.threads`). That is rare: once a process.
    """
    monitor = cls.monitor
    if cls.monitor_interval and (monitor is None or not monitor.report()):
        with signals_blocked():
            return new(cls, *args, **kwargs)
    return new(cls, *args, **kwargs)


def remote_of(bar: Any) -> Remote | None:
    """The bar's reporting state, or ``None`` when it does not report."""
    return getattr(bar, "_remote", None)


def visible_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """tqdm's arguments, where ``disable=None`` (tqdm: "hide on a non-TTY") hides the console bar only.

    A bar nobody sees in a CI log is exactly the one worth watching remotely:
    it stays enabled, drawing to :data:`NULL_FILE` when its file is no TTY.
    """
    if "disable" in kwargs and kwargs["disable"] is None:
        kwargs = {**kwargs, "disable": False}
        if not _isatty(kwargs.get("file") or sys.stderr):
            kwargs["file"] = NULL_FILE
    return kwargs


def start(
    bar: Any,
    bar_class: type[Any],
    defaults: Mapping[str, Any],
    server_url: str | None = None,
    task_id: str | None = None,
    push_every: float | None = None,
    request_timeout: float | None = None,
    meta: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    key: str | None = None,
) -> None:
    """Make ``bar`` (an initialised, enabled tqdm) report, and post its ``start``.

    ``key`` names the task across runs (its history, see :mod:`progressista.protocol.history`): ``meta.key``.

    ``bar_class._post`` posts its batches; ``defaults`` are the options not
    given (the class's, or the patch's), then ``PROGRESSISTA_*``.
    """
    # Every bar comes here: the usual case (no meta, no key, no task id) takes no detours.
    try:
        route, run_id = route_for(bar_class, defaults, server_url, push_every, request_timeout, headers)
        if key is not None:
            meta = {**(meta if isinstance(meta, Mapping) else {}), META_KEY: str(key)}
        safe: dict[str, Any]
        if meta is None and not defaults.get("meta"):
            safe, size = {}, 2  # what bar_meta() gives for none
        else:
            safe, size = bar_meta(defaults.get("meta"), meta)
        given = None if task_id is None else str(task_id)[:MAX_TASK_ID]
        pid, pool_worker = _process()
        bar._remote = Remote(given or new_task_id(run_id), route, safe, size, pid)
        if pool_worker:
            _pool_worker_signals()
    except Exception:
        log.debug("progressista: this bar will not report", exc_info=True)
        return
    push(bar, "start", urgent=True)


#: This process's id and whether it is a Pool worker, for the generation (see progressista.sender) they are of.
_process_facts: tuple[int, int, bool] = (-1, 0, False)


def _process() -> tuple[int, bool]:
    """``(os.getpid(), in_pool_worker())``, asked once a process: every bar needs them at start and end.

    A forked child bumps the sender's generation, so it asks again (by then, as a Pool worker, it has its name).
    """
    global _process_facts
    facts = _process_facts
    if facts[0] != _sender.generation:
        facts = _process_facts = (_sender.generation, os.getpid(), in_pool_worker())
    return facts[1], facts[2]


def _pool_worker_signals() -> None:
    # A forked Pool worker inherits the run's handlers; they must go (see in_pool_worker). Looked up,
    # not imported: progressista.signals imports the client, and is loaded only where it installed them.
    signals = sys.modules.get("progressista.signals")
    if signals is not None:
        signals.default_in_pool_workers()


def refreshed(bar: Any) -> None:
    """tqdm refreshed the bar (its throttling already applied): report its state."""
    if getattr(bar, "_remote", None) is not None and not bar.disable:
        push(bar, "update")


def closing(bar: Any, close: Callable[[], None]) -> None:
    """Run tqdm's ``close``, then report ``close`` (or ``error``, see :mod:`progressista.client`)."""
    remote = getattr(bar, "_remote", None)
    if remote is None or remote.finished:
        close()
        return
    # An exception in flight here: a loop left early (GeneratorExit), an iterable that raised, or
    # a close() in an except block. Whether it kills the job is not known yet: hold the close.
    interrupted = sys.exc_info()[1] is not None and not _complete(bar)
    try:
        close()
    finally:
        if remote.failed:
            finish(bar, "error", meta=remote.failure_meta)
        else:
            finish(bar, "close", hold=INTERRUPT_GRACE if interrupted else 0.0)


def exiting(bar: Any, exc_value: BaseException | None) -> None:
    """The ``with`` block around the bar ends; with ``exc_value`` a failure, the bar ends ``error`` and says why."""
    remote = remote_of(bar)
    if remote is not None and exc_value is not None and is_failure(exc_value):
        remote.failed = True
        remote.failure_meta = failure_meta(exc_value)
        if remote.finished and remote.held:  # a loop inside the block closed the bar already
            finish(bar, "error", meta=remote.failure_meta)


def finish(bar: Any, status: str, hold: float = 0.0, meta: Mapping[str, Any] | None = None) -> None:
    """Report the final ``status`` (urgent; ``hold`` keeps it back that long, see the sender's ``fail_held``).

    In a ``multiprocessing.Pool`` worker the final state is posted before this
    returns (within the request timeout): the pool may kill the worker as soon
    as its task is done (see :func:`in_pool_worker`).
    """
    remote = getattr(bar, "_remote", None)
    if remote is None:
        return
    remote.finished = True
    remote.held = hold > 0
    push(bar, status, urgent=True, hold=hold, meta=meta)
    if not hold and _process()[1]:
        _sender.flush()


def in_pool_worker() -> bool:
    """Is this process a ``multiprocessing.Pool`` worker ("ForkPoolWorker-3", "SpawnPoolWorker-1", ...)?

    ``Pool.terminate()`` (and so leaving ``with Pool() as pool:``) kills its
    workers with SIGTERM as soon as the results are in, while they sleep in a
    semaphore of the pool's queue. A Python signal handler there can miss the
    signal for good (it arrives between the interpreter's check and the sleep)
    and the pool then waits forever; so a Pool worker keeps SIGTERM's default
    action, dying at once as without Progressista (:mod:`progressista.signals`),
    and its bars post their final state as they end, not later.
    """
    process = sys.modules.get("multiprocessing.process")
    if process is None:
        return False
    try:
        return "PoolWorker-" in str(process.current_process().name)
    except Exception:
        return False


def push(
    bar: Any,
    status: str,
    urgent: bool = False,
    hold: float = 0.0,
    heartbeat: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Hand the bar's full state, as ``status``, to the sender."""
    remote = getattr(bar, "_remote", None)
    if remote is None or remote.generation != _sender.generation:
        return  # not reporting, or inherited through fork from the parent process
    remote.last_push = now = time.monotonic()
    try:
        remote.seq += 1
        event = bar_event(bar, status, remote.task_id, remote.seq, remote.meta, remote.pid)
        last = remote.last_event
        if heartbeat and last is not None and same_progress(event, last):
            # Nothing moved: resend the last timing too, so the state the server keeps is the one
            # the dashboards were last told of (timing is bookkeeping, not progress, to the server).
            event["elapsed"], event["rate"] = last.get("elapsed"), last.get("rate")
        if meta:  # e.g. the signal that ended the bar, on its final event only
            event["meta"] = meta_with(remote.meta, meta)
        remote.last_event = event
        size = 400 + remote.meta_size + len(event["desc"] or "") + len(event["postfix"] or "")  # JSON, roughly
        remote.sender.submit(remote.route, remote.task_id, event, urgent, hold, size, now)
    except Exception:
        log.debug("progressista: could not report %r", remote.task_id, exc_info=True)


def _complete(bar: Any) -> bool:
    return bar.total is not None and bar.n >= bar.total


def _isatty(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except Exception:
        return False
