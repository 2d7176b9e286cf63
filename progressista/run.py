"""Run a script or module with tqdm patched to report: what ``progressista run`` does.

>>> from progressista.run import run_path, run_module
>>> code = run_path("train.py", ["--epochs", "3"], server_url="http://dash:8000")  # doctest: +SKIP
>>> code = run_module("package.module", ["--flag"])  # doctest: +SKIP

The target runs in this process as ``__main__``, like ``python script.py`` or
``python -m package.module``: its own ``sys.argv`` and ``sys.path[0]``, its
stdout/stderr and console bars untouched. Returns its exit code: ``SystemExit``
codes as Python reports them, 1 after an uncaught exception (whose traceback is
printed as Python would), 130 after Ctrl-C. Bars still open at the end are
closed on the server: ``close`` on success, ``error`` when the program failed.
Then pending events are flushed (within the request timeout).

**The run.** The target runs as a :class:`~progressista.runs.Run`: it gets a
``PROGRESSISTA_RUN_ID`` (``run_id=`` wins; else the one set, else a fresh
``{script}-{date}-{time}-{4 hex}``), every Python process it starts reports
into the same group (:mod:`progressista.children`), the server is checked first
(one line on stderr when the bars would not show), and the program itself is
a task of the group, ``{run_id}:run`` (``run_task=False`` turns it off), which
ends with the program's exit code and, after an exception, its reason
(``meta.error = "RuntimeError: boom at 40"``), as do the bars still open.
The environment is restored when the target ends.

**When the run ends.** Called in-process, at the target's return: threads it
left running are not waited for. ``progressista run`` passes
``end_at_exit=True``: then the run ends when the process does, as Python ends
a program, after its non-daemon threads, ``concurrent.futures`` executors and
``multiprocessing`` children were waited for and its own exit handlers ran, and
the final flush is bounded by ``PROGRESSISTA_REQUEST_TIMEOUT``. Nothing of
Progressista waits on the program's threads itself, so an executor left open
never holds the process.

**Signals.** Killed by a signal it can catch (SIGTERM, SIGHUP), the program's
open bars and the run task end as ``error`` with ``meta["signal"]`` naming it,
flushed before the process dies of that signal (:mod:`progressista.signals`).
SIGINT keeps Python's behaviour: ``KeyboardInterrupt`` runs through the
program, which may catch it. If it is uncaught, the open bars end as ``error``
with ``meta["signal"] = "SIGINT"`` and 130 is returned, or, with
``reraise_signals=True`` (``progressista run`` does that), the process ends as
Python's own does after Ctrl-C: exit handlers run, then it kills itself with
SIGINT, so a calling shell sees a death by signal (status 130) and stops too.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import runpy
import shlex
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from . import sender, signals
from .client.meta import failure_meta
from .config import CLIENT_OPTIONS, ClientOptions
from .patch import install, installed, uninstall
from .runs import Run, RunOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RunOptions", "TargetOptions", "run_module", "run_path"]


class TargetOptions(RunOptions, total=False):
    """What :func:`run_path` and :func:`run_module` take: the run's options, and these.

    (``command`` defaults to ``python SCRIPT ARGS...`` or ``python -m MODULE ARGS...``.)
    """

    end_at_exit: bool
    """End the run when the process exits, after its threads (``progressista run``), not at the return."""
    reraise_signals: bool
    """After Ctrl-C, die of SIGINT as Python does (``progressista run``), instead of returning 130."""


def run_path(path: str, args: Sequence[str] = (), **options: Unpack[TargetOptions]) -> int:
    """Run the script at ``path`` (or a directory/zip with ``__main__.py``) with ``args``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"can't open file {os.path.abspath(path)!r}: no such file or directory")
    path0 = os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else os.path.abspath(path)
    name = os.path.basename(os.path.abspath(path))
    command = shlex.join(["python", path, *args])
    return _run(lambda: runpy.run_path(path, run_name="__main__"), path, path0, args, name, command, options)


def run_module(name: str, args: Sequence[str] = (), **options: Unpack[TargetOptions]) -> int:
    """Run ``name`` as ``python -m name`` would, with ``args``; ``ModuleNotFoundError`` if there is none."""
    path0 = os.getcwd()

    def run() -> None:
        runpy.run_module(name, run_name="__main__", alter_sys=True)

    # find_spec may import the parent package: do it with the target's sys.path.
    with _target_sys(name, path0, args):
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _run(run, name, path0, args, name, shlex.join(["python", "-m", name, *args]), options)


class _target_sys:
    """``sys.argv`` and ``sys.path[0]`` as the target expects them, restored afterwards."""

    def __init__(self, argv0: str, path0: str, args: Sequence[str]) -> None:
        self.argv = [argv0, *args]
        self.path0 = path0

    def __enter__(self) -> None:
        self.saved_argv = sys.argv
        self.saved_path = sys.path[:]
        sys.argv = self.argv
        if sys.path:
            sys.path[0] = self.path0
        else:
            sys.path.append(self.path0)

    def __exit__(self, *exc: object) -> None:
        sys.argv = self.saved_argv
        sys.path[:] = self.saved_path


def _run(
    target: Callable[[], object],
    argv0: str,
    path0: str,
    args: Sequence[str],
    name: str,
    command: str,
    options: TargetOptions,
) -> int:
    """Run ``target`` patched, as ``argv0 args`` from ``path0``; ``name`` names the run when no id is given."""
    client_options = cast(ClientOptions, {k: v for k, v in options.items() if k in CLIENT_OPTIONS})
    at_exit = options.get("end_at_exit", False)
    was_installed = installed()
    install(**client_options)
    run = Run(
        name, options.get("command") or command, options.get("run_id"), options.get("run_task", True), client_options
    )
    outcome: list[tuple[int, Mapping[str, Any] | None]] = []
    try:
        run.begin()
        if at_exit:
            # Registered before the target runs, so the target's own exit handlers run first; and
            # atexit runs after Python waited for the non-daemon threads and the executors.
            atexit.register(_end_at_exit, run, outcome)
            signals.install()  # kept until the process ends: a signal during the exit still reports
        with signals.reporting_signals(), _target_sys(argv0, path0, args):
            code, reason = _call(target)
        outcome.append((code, reason))
        if not at_exit:
            run.end(code, reason)
            sender.flush()
    finally:
        if not at_exit:
            run.restore()
            if not was_installed:
                uninstall()
    if reason == _SIGINT and options.get("reraise_signals", False):
        _die_of_sigint()
    return code


_SIGINT = {"signal": "SIGINT"}


def _end_at_exit(run: Run, outcome: list[tuple[int, Mapping[str, Any] | None]]) -> None:
    if outcome:  # the target returned (else the process is ending under it: os._exit skips this)
        run.end(*outcome[0])


def _call(target: Callable[[], object]) -> tuple[int, Mapping[str, Any] | None]:
    """Run ``target`` as the interpreter runs a program: its exit code, and why it failed."""
    try:
        target()
    except SystemExit as exc:
        return _exit_code(exc), None
    except KeyboardInterrupt as exc:
        _print_exception(exc)
        return 130, _SIGINT
    except BaseException as exc:
        _print_exception(exc)
        return 1, failure_meta(exc)
    return 0, None


def _die_of_sigint() -> None:
    """End the process as Python does after an uncaught ``KeyboardInterrupt``: exit handlers, then SIGINT.

    The parent sees a death by SIGINT (a shell reports 130 and stops its script,
    as it does for ``python script.py``); if that does not end the process (SIGINT
    blocked), exit with 130.
    """
    atexit._run_exitfuncs()
    signals.die_of(signal.SIGINT)


def _exit_code(exc: SystemExit) -> int:
    """What the interpreter would exit with, printing a non-integer code as it does."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _print_exception(exc: BaseException) -> None:
    """The traceback Python would print: without the frames of runpy and of this module."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in ("runpy", __name__):
        tb = tb.tb_next
    if tb is not None:
        exc.__traceback__ = tb  # the default hook prints the exception's own traceback
    try:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    except Exception:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
