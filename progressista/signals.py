"""Signals that would kill a reporting process: report its open bars first, then die of the signal.

``progressista run`` installs these handlers for its program, and every Python
process of a run (its children, see :mod:`progressista.children`) once it
imports tqdm, for SIGTERM and SIGHUP (and SIGINT when its disposition is the
default one, not Python's usual) when their disposition is the default: they
would kill the process on the spot.

The handler changes nothing else about the program: no exception is raised in
it, no ``finally`` block or exit handler runs that would not have run anyway.
It hands the reporting to a thread of its own, taking no lock itself (the main
thread may hold the sender's lock, or ``threading``'s, or a forked child may
have inherited a lock held by a thread that does not exist there), which ends the open bars as ``error`` with
``meta["signal"]`` naming it, runs the hooks of :func:`before_death` (the run
task ends there), flushes, and re-raises the signal with its default action:
the process dies *of SIGTERM*, as it would have without Progressista, only that
much later, and never more than ``PROGRESSISTA_REQUEST_TIMEOUT`` (plus a
quarter second) later, whatever the reporting is stuck on. Meanwhile the
program runs on; a second signal kills it at once.

A program that installs its own handler keeps full control: its handler
replaces this one. A handler that chains to the one it replaced reaches this
one. An ignored signal (``SIG_IGN``, e.g. under ``nohup``) stays ignored.
Handlers are installed only from the main thread.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

from . import sender
from .client import finish_open_bars
from .client.reporting import in_pool_worker
from .config import ClientConfig

__all__ = [
    "CAUGHT_SIGNALS",
    "DEATH_SLACK",
    "before_death",
    "default_in_pool_workers",
    "die_of",
    "install",
    "reporting_signals",
]

#: Signals whose default action kills the process at once: reported when left at their default.
CAUGHT_SIGNALS = tuple(
    sig for sig in (getattr(signal, name, None) for name in ("SIGTERM", "SIGHUP", "SIGINT")) if sig is not None
)
#: Seconds past the request timeout after which a signalled process dies, reported or not.
DEATH_SLACK = 0.25

_hooks: list[Callable[[int], None]] = []


def before_death(hook: Callable[[int], None]) -> Callable[[], None]:
    """Run ``hook(signum)`` when a caught signal is about to kill the process; returns its removal."""
    _hooks.append(hook)

    def remove() -> None:
        if hook in _hooks:
            _hooks.remove(hook)

    return remove


def install() -> dict[int, Any]:
    """Install the handler for the caught signals left at their default; returns what it replaced.

    Does nothing off the main thread (signals can only be set there), nor in a
    ``multiprocessing.Pool`` worker (see :func:`~progressista.client.reporting.in_pool_worker`).
    """
    replaced: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread() or in_pool_worker():
        return replaced
    for signum in CAUGHT_SIGNALS:
        try:
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _on_fatal_signal)
                replaced[signum] = signal.SIG_DFL
        except (OSError, ValueError):  # not settable here: leave it alone
            continue
    return replaced


@contextmanager
def reporting_signals() -> Iterator[None]:
    """:func:`install` for the block; afterwards the dispositions it replaced are back (unless replaced since)."""
    replaced = install()
    try:
        yield
    finally:
        for signum, previous in replaced.items():
            if signal.getsignal(signum) is _on_fatal_signal:  # the program did not replace it
                signal.signal(signum, previous)


def die_of(signum: int) -> NoReturn:
    """End this process by ``signum``'s default action, as a program killed by it ends.

    The standard streams are flushed first. A parent sees a death by that signal
    (a shell reports 128 + N and stops its script); if the signal does not end
    the process (blocked), it exits with 128 + N.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


def default_in_pool_workers() -> None:
    """A forked Pool worker drops the handler it inherited from the run (see
    :func:`~progressista.client.reporting.in_pool_worker`); its first bar calls this."""
    if in_pool_worker() and threading.current_thread() is threading.main_thread():
        for signum in CAUGHT_SIGNALS:
            with contextlib.suppress(OSError, ValueError):
                if signal.getsignal(signum) is _on_fatal_signal:
                    signal.signal(signum, signal.SIG_DFL)


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    """A signal that would have killed the process: report, then die of it (see the module's doc).

    This runs on the main thread between two bytecodes, maybe while it holds a
    lock of the sender, of tqdm or of ``threading`` itself, so it takes none: it
    starts a bare thread (``_thread``, which waits for nothing, where
    ``threading.Thread.start`` waits for locks the main thread may hold) and
    returns; the program carries on. A second signal finds the default action
    and kills at once.
    """
    signal.signal(signum, signal.SIG_DFL)
    try:
        _thread.start_new_thread(_report_and_die, (signum,))
    except RuntimeError:  # the interpreter is shutting down: nothing can be reported any more
        os.kill(os.getpid(), signum)


def _report_and_die(signum: int) -> None:
    """Report on a thread of its own, wait for it until the deadline at most, then die of ``signum``."""
    # No flush of sys.stdout here: the main thread may be stuck writing to a full
    # pipe, holding the buffer's lock, and the signal must kill it all the same.
    try:
        deadline = ClientConfig.from_env().request_timeout + DEATH_SLACK
        reported = _thread.allocate_lock()
        reported.acquire()

        def report() -> None:
            try:
                _report(signum)
            finally:
                reported.release()

        _thread.start_new_thread(report, ())
        reported.acquire(timeout=deadline)  # stuck on a lock a dead thread holds, or a server that never answers
    except BaseException:  # whatever happens, the process must die of its signal
        pass
    finally:
        os.kill(os.getpid(), signum)


def _report(signum: int) -> None:
    try:
        name = signal.Signals(signum).name
        finish_open_bars("error", {"signal": name})
        for hook in list(_hooks):
            try:
                hook(signum)
            except Exception:
                pass
        sender.flush()
    except Exception:
        pass
