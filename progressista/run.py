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
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from . import sender
from .client import finish_open_bars
from .patch import install, installed, uninstall

__all__ = ["run_module", "run_path"]


def run_path(path: str, args: Sequence[str] = (), **client_options: Any) -> int:
    """Run the script at ``path`` (or a directory/zip with ``__main__.py``) with ``args``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"can't open file {os.path.abspath(path)!r}: no such file or directory")
    path0 = os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else os.path.abspath(path)
    return _run(lambda: runpy.run_path(path, run_name="__main__"), path, path0, args, client_options)


def run_module(name: str, args: Sequence[str] = (), **client_options: Any) -> int:
    """Run ``name`` as ``python -m name`` would, with ``args``; ``ModuleNotFoundError`` if there is none."""
    path0 = os.getcwd()

    def run() -> None:
        runpy.run_module(name, run_name="__main__", alter_sys=True)

    # find_spec may import the parent package: do it with the target's sys.path.
    with _target_sys(name, path0, args):
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _run(run, name, path0, args, client_options)


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
    target: Callable[[], object], argv0: str, path0: str, args: Sequence[str], client_options: dict[str, Any]
) -> int:
    was_installed = installed()
    install(**client_options)
    threads_before = set(threading.enumerate())
    try:
        with _target_sys(argv0, path0, args):
            try:
                target()
                code = 0
            except SystemExit as exc:
                code = _exit_code(exc)
            except KeyboardInterrupt as exc:
                _print_exception(exc)
                code = 130
            except BaseException as exc:
                _print_exception(exc)
                code = 1
            # Python waits for non-daemon threads before exiting: so do we, before the final statuses.
            for thread in set(threading.enumerate()) - threads_before:
                if not thread.daemon and thread is not threading.current_thread():
                    thread.join()
        finish_open_bars("close" if code == 0 else "error")
        sender.flush()
    finally:
        if not was_installed:
            uninstall()
    return code


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
