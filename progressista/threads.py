"""Threads of Progressista leave the process's signals to the program's main thread.

A signal sent to a process is taken by any one of its threads that does not
block it. When that is a thread of ours (the sender, tqdm's monitor), Python
runs the handler only once the main thread next runs Python code; a main thread
asleep in a lock, a ``multiprocessing`` queue or a pipe may never do so, and a
``Pool`` worker told to stop by SIGTERM then waits forever. So our threads are
started with the signals a program handles blocked (a new thread inherits the
mask of the thread that starts it), and the kernel gives those to a thread
that wants them.

>>> import threading
>>> thread = threading.Thread(target=lambda: None)
>>> start_without_signals(thread)
>>> thread.join()
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SIGNALS", "signals_blocked", "start_without_signals"]

#: What our threads never take: the signals a program (or Python, for SIGINT) handles.
_NAMES = ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2")
SIGNALS = frozenset(sig for sig in (getattr(signal, name, None) for name in _NAMES) if sig is not None)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """:data:`SIGNALS` blocked in this thread for the block (threads started meanwhile keep them blocked)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # no POSIX threads' signal masks (Windows): nothing to do
        yield
        return
    previous = mask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, previous)


def start_without_signals(thread: threading.Thread) -> None:
    """``thread.start()``, the new thread blocking :data:`SIGNALS`."""
    with signals_blocked():
        thread.start()
