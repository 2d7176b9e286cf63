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

**Runs.** ``PROGRESSISTA_RUN_ID`` is set for the target, unless it is set
already (``run_id=`` wins over both): ``{script}-{date}-{time}-{4 hex}`` by
default. Child processes inherit it through the environment (``subprocess``,
``multiprocessing`` with fork or spawn), and ``RemoteTqdm`` prefixes the ids it
makes up with it, so the whole fan-out is one group on the dashboards. The
variable is restored when the target ends.

**Signals.** Killed by a signal it can catch, the program's open bars end as
``error`` with ``meta["signal"]`` naming it, flushed before the process dies:

- SIGTERM and SIGHUP, when their disposition is the default one (they would
  kill the process on the spot): a handler is installed for the target's run.
  It changes nothing else about the program: no exception is raised in it, no
  ``finally`` block or exit handler runs that would not have run anyway. The
  handler hands the reporting to a thread of its own (the main thread may hold
  the sender's lock when the signal arrives), which ends the bars, flushes
  (within ``PROGRESSISTA_REQUEST_TIMEOUT``) and re-raises the signal with its
  default action: the process dies *of SIGTERM*, as it would have without
  Progressista, only that much later. Meanwhile the program runs on; a second
  signal kills it at once. Forked children inherit the handler and do the same
  for their own bars.
- A program that installs its own handler keeps full control: its handler
  replaces this one, and its bars end by its exit code (``close`` on 0, else
  ``error``, without ``meta["signal"]``). A handler that chains to the one it
  replaced reaches this one, which reports and dies as above. An ignored signal
  (``SIG_IGN``, e.g. under ``nohup``) stays ignored.
- SIGINT keeps Python's behaviour: ``KeyboardInterrupt`` runs through the
  program, which may catch it. If it is uncaught, the open bars end as ``error``
  with ``meta["signal"] = "SIGINT"`` and 130 is returned, or, with
  ``reraise_signals=True`` (``progressista run`` does that), the process ends as
  Python's own does after Ctrl-C: exit handlers run, then it kills itself with
  SIGINT, so a calling shell sees a death by signal (status 130) and stops too.
  Only if SIGINT's disposition is the default one (not Python's usual) is it
  handled like SIGTERM.

Handlers are installed only from the main thread, and the previous dispositions
are restored when the target ends.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import runpy
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, cast

from . import sender
from .client import finish_open_bars
from .config import ENV_RUN_ID, ClientOptions, clean_run_id, new_run_id
from .patch import install, installed, uninstall

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CAUGHT_SIGNALS", "RunOptions", "run_module", "run_path"]

#: Signals whose default action kills the process at once: reported when left at their default.
CAUGHT_SIGNALS = tuple(
    sig for sig in (getattr(signal, name, None) for name in ("SIGTERM", "SIGHUP", "SIGINT")) if sig is not None
)


class RunOptions(ClientOptions, total=False):
    """What :func:`run_path` and :func:`run_module` take: the client options, and these."""

    run_id: str | None
    """The run's id (``PROGRESSISTA_RUN_ID`` for the target); default: the one set, else a fresh one."""
    reraise_signals: bool
    """After Ctrl-C, die of SIGINT as Python does (``progressista run``), instead of returning 130."""


def run_path(path: str, args: Sequence[str] = (), **options: Unpack[RunOptions]) -> int:
    """Run the script at ``path`` (or a directory/zip with ``__main__.py``) with ``args``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"can't open file {os.path.abspath(path)!r}: no such file or directory")
    path0 = os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else os.path.abspath(path)
    name = os.path.basename(os.path.abspath(path))
    return _run(lambda: runpy.run_path(path, run_name="__main__"), path, path0, args, name, options)


def run_module(name: str, args: Sequence[str] = (), **options: Unpack[RunOptions]) -> int:
    """Run ``name`` as ``python -m name`` would, with ``args``; ``ModuleNotFoundError`` if there is none."""
    path0 = os.getcwd()

    def run() -> None:
        runpy.run_module(name, run_name="__main__", alter_sys=True)

    # find_spec may import the parent package: do it with the target's sys.path.
    with _target_sys(name, path0, args):
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _run(run, name, path0, args, name, options)


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
    target: Callable[[], object], argv0: str, path0: str, args: Sequence[str], name: str, options: RunOptions
) -> int:
    """Run ``target`` patched, as ``argv0 args`` from ``path0``; ``name`` names the run when no id is given."""
    run_id = options.get("run_id")
    client_options = cast(ClientOptions, {k: v for k, v in options.items() if k not in ("run_id", "reraise_signals")})
    was_installed = installed()
    install(**client_options)
    threads_before = set(threading.enumerate())
    interrupted = False
    try:
        # The signal handlers stay until the final flush: a SIGTERM during it still reports.
        with _run_id(run_id or name, run_id is not None), _reporting_signals():
            with _target_sys(argv0, path0, args):
                try:
                    target()
                    code = 0
                except SystemExit as exc:
                    code = _exit_code(exc)
                except KeyboardInterrupt as exc:
                    _print_exception(exc)
                    code = 130
                    interrupted = True
                except BaseException as exc:
                    _print_exception(exc)
                    code = 1
                # Python waits for non-daemon threads before exiting: so do we, before the final statuses.
                for thread in set(threading.enumerate()) - threads_before:
                    if not thread.daemon and thread is not threading.current_thread():
                        thread.join()
            finish_open_bars("close" if code == 0 else "error", {"signal": "SIGINT"} if interrupted else None)
            sender.flush()
    finally:
        if not was_installed:
            uninstall()
    if interrupted and options.get("reraise_signals", False):
        _die_of_sigint()
    return code


@contextmanager
def _run_id(name: str, given: bool) -> Iterator[None]:
    """``PROGRESSISTA_RUN_ID`` for the target and its children, as it was afterwards.

    An id already in the environment is kept, unless one is ``given``; else a fresh one from ``name``.
    """
    before = os.environ.get(ENV_RUN_ID)
    if given:
        os.environ[ENV_RUN_ID] = clean_run_id(name) or new_run_id()
    elif clean_run_id(before) is None:
        os.environ[ENV_RUN_ID] = new_run_id(name)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_RUN_ID, None)
        else:
            os.environ[ENV_RUN_ID] = before


@contextmanager
def _reporting_signals() -> Iterator[None]:
    """Install :func:`_on_fatal_signal` for the caught signals left at their default, for the block."""
    installed: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in CAUGHT_SIGNALS:
            try:
                if signal.getsignal(signum) == signal.SIG_DFL:
                    signal.signal(signum, _on_fatal_signal)
                    installed[signum] = signal.SIG_DFL
            except (OSError, ValueError):  # not settable here: leave it alone
                continue
    try:
        yield
    finally:
        for signum, previous in installed.items():
            if signal.getsignal(signum) is _on_fatal_signal:  # the target did not replace it
                signal.signal(signum, previous)


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    """A signal that would have killed the process: report the open bars, then die of it.

    This runs on the main thread between two bytecodes, maybe while it holds a
    lock of the sender or of tqdm, so the work is done on a thread of its own
    while the program carries on. A second signal finds the default action and
    kills at once.
    """
    signal.signal(signum, signal.SIG_DFL)
    try:
        threading.Thread(target=_report_and_die, args=(signum,), name="progressista-signal").start()
    except RuntimeError:  # the interpreter is shutting down: nothing can be reported any more
        os.kill(os.getpid(), signum)


def _report_and_die(signum: int) -> None:
    # No flush of sys.stdout here: the main thread may be stuck writing to a full
    # pipe, holding the buffer's lock, and the signal must kill it all the same.
    try:
        finish_open_bars("error", {"signal": signal.Signals(signum).name})
        sender.flush()
    except Exception:  # whatever happens, the process must die of its signal
        pass
    finally:
        os.kill(os.getpid(), signum)


def _die_of_sigint() -> None:
    """End the process as Python does after an uncaught ``KeyboardInterrupt``: exit handlers, then SIGINT.

    The parent sees a death by SIGINT (a shell reports 130 and stops its script,
    as it does for ``python script.py``); if that does not end the process (SIGINT
    blocked), exit with 130.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)


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
