"""Run any program as a child process, as one run: what ``progressista exec -- CMD ARGS...`` does.

>>> from progressista.execute import execute
>>> code = execute(["sh", "-c", "python3 train.py; exit 3"], server_url="http://dash:8000")  # doctest: +SKIP

The command runs with this process's stdin, stdout and stderr, in the
:class:`~progressista.runs.Run`'s environment: every Python process below it
reports its tqdm bars into the run's group (:mod:`progressista.children`), and
the run task, ``{run_id}:run``, is the command itself, ending with its exit
code (``close`` on 0, else ``error``). Returns the command's exit code; a
command killed by a signal makes this process die of the same signal, after
the run task said so (``meta.signal``, exit code 128 + N).

**Signals sent to this process are passed on to the command**: SIGTERM, SIGHUP,
SIGINT, SIGQUIT, SIGUSR1 and SIGUSR2. A terminal's Ctrl-C (SIGINT) and Ctrl-\\
(SIGQUIT) reach every process of the foreground job, the command included, so
they are not passed on a second time when this process runs in the foreground
of its terminal.

A command that cannot be started exits 127 (not found) or 126 (not
executable), as a shell's does, with a one-line error.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import sender, signals
from .client.meta import failure_meta
from .runs import Run, RunOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["FORWARDED", "NOT_EXECUTABLE", "NOT_FOUND", "CannotStart", "execute"]

#: Signals passed on to the command.
FORWARDED = tuple(
    sig
    for sig in (
        getattr(signal, name, None) for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    )
    if sig is not None
)
#: Signals a terminal sends to its whole foreground job.
_FROM_TERMINAL = tuple(sig for sig in (getattr(signal, "SIGINT", None), getattr(signal, "SIGQUIT", None)) if sig)
#: Exit codes of a command that cannot be started, as a shell's.
NOT_FOUND = 127
NOT_EXECUTABLE = 126


class CannotStart(Exception):
    """The command could not be started; ``code`` is the exit code a shell would give."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def execute(argv: Sequence[str], **options: Unpack[RunOptions]) -> int:
    """Run ``argv`` as a child process wrapped in a run; its exit code (see the module's doc).

    Raises :class:`CannotStart` when the command cannot be started (the run
    task ends ``error`` first).
    """
    from .config import CLIENT_OPTIONS

    client_options: Any = {key: value for key, value in options.items() if key in CLIENT_OPTIONS}
    command = options.get("command") or shlex.join(argv)
    run = Run(os.path.basename(argv[0]), command, options.get("run_id"), options.get("run_task", True), client_options)
    run.begin()
    try:
        try:
            child = subprocess.Popen(list(argv))
        except OSError as exc:
            code = NOT_FOUND if isinstance(exc, FileNotFoundError) else NOT_EXECUTABLE
            run.end(code, failure_meta(exc))
            sender.flush()
            what = "command not found" if code == NOT_FOUND else "cannot run"
            raise CannotStart(f"{what}: {argv[0]}", code) from exc
        with _passing_signals_to(child):
            returncode = child.wait()
        if returncode >= 0:
            run.end(returncode)
        else:
            run.end(128 - returncode, {"signal": _signal_name(-returncode)})
        sender.flush()
    finally:
        run.restore()
    if returncode < 0:
        signals.die_of(-returncode)
    return returncode


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextmanager
def _passing_signals_to(child: subprocess.Popen[Any]) -> Iterator[None]:
    """Pass :data:`FORWARDED` signals on to ``child`` while the block runs (from the main thread only)."""
    in_foreground = _in_terminal_foreground()

    def pass_on(signum: int, frame: FrameType | None) -> None:
        if signum in _FROM_TERMINAL and in_foreground:
            return  # the terminal sent it to the child as well
        try:
            child.send_signal(signum)
        except OSError:  # it just ended
            pass

    previous: dict[int, Any] = {}
    try:
        for signum in FORWARDED:
            try:
                previous[signum] = signal.signal(signum, pass_on)
            except (OSError, ValueError):  # off the main thread, or not settable: not passed on
                continue
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _in_terminal_foreground() -> bool:
    """Does this process run in the foreground job of a terminal (where Ctrl-C reaches the whole job)?"""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError, AttributeError):
            continue
    return False
