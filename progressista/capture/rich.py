"""``rich.progress``: every task of a ``Progress`` is a Progressista task.

Imported only once the program imported ``rich.progress`` (see :mod:`progressista.capture`).
It hooks ``Progress``'s own methods, which every way of driving one goes
through (``track()``, ``wrap_file()``, ``open()``, a ``Live`` holding a
``Progress``):

- ``add_task(description, total=…, completed=…)`` → a new task, ``start``;
- ``update()``, ``advance()`` → ``desc`` (the description, markup stripped),
  ``n`` (``completed``), ``total`` (``None``: indeterminate);
- the task finishes (``completed >= total``) → ``close``;
- ``remove_task()`` → ``close``;
- ``reset()`` → the task again (a closed one reopens: a new ``start``, same id);
- a ``with Progress()`` block left by an exception → its open tasks end as
  ``error``, ``meta.error = "Type: message"``;
- ``stop()`` (or the ``with`` block's normal end) with tasks unfinished → ``close``,
  as a tqdm bar closed early.

A ``Progress(disable=True)`` reports nothing, as ``tqdm(disable=True)``; nor
does the one a ``tqdm.rich`` bar draws itself with (the patch reports the bar).
A ``for`` loop over ``track()`` that an exception leaves ends its task as
``close``: rich learns only that the generator was closed (``GeneratorExit``),
as it does when the loop breaks.
"""

from __future__ import annotations

import functools
import logging
import sys
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

from rich.errors import MarkupError
from rich.progress import Progress, TaskID
from rich.text import Text

from .hooks import Patches
from .tasks import CapturedTask

__all__ = ["capture"]

log = logging.getLogger("progressista")

#: The tasks followed, per ``Progress`` and rich task id (ended ones kept, so they are not made again).
_followed: weakref.WeakKeyDictionary[Progress, dict[TaskID, CapturedTask]] = weakref.WeakKeyDictionary()
#: Modules whose ``Progress`` objects report another way: ``tqdm.rich`` draws each bar as a rich task,
#: and the patch reports the bar itself.
REPORTED_ELSEWHERE = frozenset({"tqdm.rich"})
_elsewhere: weakref.WeakSet[Progress] = weakref.WeakSet()

Method = Callable[..., Any]


def capture(module: ModuleType, patches: Patches) -> None:
    """Hook ``module.Progress`` (``module`` is ``rich.progress``)."""
    patches.wrap_all(module.Progress, _HOOKS)
    patches.on_restore(_followed.clear)


def _added(add_task: Method) -> Method:
    @functools.wraps(add_task)
    def hooked(self: Progress, *args: Any, **kwargs: Any) -> TaskID:
        task_id: TaskID = add_task(self, *args, **kwargs)
        if sys._getframe(1).f_globals.get("__name__") in REPORTED_ELSEWHERE:
            _elsewhere.add(self)
        _sync(self, task_id)
        return task_id

    return hooked


def _changed(method: Method, reopen: bool = False) -> Method:
    @functools.wraps(method)
    def hooked(self: Progress, task_id: TaskID, *args: Any, **kwargs: Any) -> None:
        method(self, task_id, *args, **kwargs)
        _sync(self, task_id, reopen)

    return hooked


def _reset(reset: Method) -> Method:
    return _changed(reset, reopen=True)


def _removed(remove_task: Method) -> Method:
    @functools.wraps(remove_task)
    def hooked(self: Progress, task_id: TaskID) -> None:
        remove_task(self, task_id)
        tasks = _followed.get(self)
        task = None if tasks is None else tasks.pop(task_id, None)
        if task is not None:
            task.close()

    return hooked


def _stopped(stop: Method) -> Method:
    @functools.wraps(stop)
    def hooked(self: Progress) -> None:
        try:
            stop(self)
        finally:
            _end(self, None)

    return hooked


def _exited(exit: Method) -> Method:
    @functools.wraps(exit)
    def hooked(self: Progress, exc_type: Any, exc_value: BaseException | None, traceback: Any) -> Any:
        _end(self, exc_value)  # before rich's own __exit__, which stops (and so closes what is left)
        return exit(self, exc_type, exc_value, traceback)

    return hooked


_HOOKS: dict[str, Callable[[Method], Method]] = {
    "add_task": _added,
    "update": _changed,
    "advance": _changed,
    "reset": _reset,
    "remove_task": _removed,
    "stop": _stopped,
    "__exit__": _exited,
}


def _sync(progress: Progress, task_id: TaskID, reopen: bool = False) -> None:
    """Report rich's task ``task_id`` as it is now (never raises)."""
    if progress.disable:
        return
    try:
        with progress._lock:
            task = progress._tasks.get(task_id)
            if task is None:
                return
            tasks = _followed.get(progress)
            if tasks is None:
                tasks = _followed.setdefault(progress, {})
            followed = tasks.get(task_id)
            desc = _plain(task.description)
            if followed is None:
                if progress in _elsewhere:
                    return
                followed = tasks[task_id] = CapturedTask(desc, task.total, task.completed)
                followed.start()
            elif followed.ended:
                if not reopen:
                    return  # a closed task stays closed; reset() starts it again
                followed = tasks[task_id] = followed.reopened()
            followed.show(task.completed, task.total, desc)
            if task.finished:
                followed.close()
    except Exception:
        log.debug("progressista: could not report a rich task", exc_info=True)


def _end(progress: Progress, exc: BaseException | None) -> None:
    """End the open tasks of ``progress``: ``error`` if ``exc`` is a failure, else ``close``."""
    tasks = _followed.get(progress)
    if not tasks:
        return
    try:
        with progress._lock:
            for followed in tasks.values():
                if not followed.ended:
                    followed.end(exc)
    except Exception:
        log.debug("progressista: could not end the rich tasks", exc_info=True)


def _plain(description: Any) -> str:
    """The text of ``description`` without rich's markup (``"[bold]Copying"`` → ``"Copying"``)."""
    if not isinstance(description, str):
        return str(description)  # a Text, say: its plain text
    if "[" not in description:
        return description
    return _unmarked(description)


@functools.lru_cache(maxsize=256)
def _unmarked(markup: str) -> str:
    try:
        return Text.from_markup(markup).plain
    except MarkupError:
        return markup
