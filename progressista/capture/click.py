"""``click.progressbar`` and ``typer.progressbar``: each bar is a Progressista task.

Imported only once the program made its first bar (see :mod:`progressista.capture`).
It hooks the ``ProgressBar`` class of click and, for typer 0.24+, of the copy of
click typer ships (older typers hand out click's own):

- ``with progressbar(…) as bar:`` entered → a new task, ``start``: ``desc`` is
  the ``label``, ``total`` the ``length`` (``None`` when unknown);
- each item of ``for item in bar``, each ``bar.update(n)`` → ``n``, the steps done;
- the ``with`` block ends → ``close``; ``error`` with ``meta.error`` if it raised.

It counts the steps itself: off a terminal click does not move ``pos`` (it
draws nothing to move), yet the steps are real. A ``hidden=True`` bar reports
nothing, as ``tqdm(disable=True)``.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from .hooks import Patches
from .tasks import CapturedTask

__all__ = ["capture"]

log = logging.getLogger("progressista")

Method = Callable[..., Any]
Hook = Callable[[Method], Method]


class _Followed:
    """A bar's task and the steps it has done."""

    __slots__ = ("n", "task")

    def __init__(self, task: CapturedTask) -> None:
        self.task = task
        self.n = 0


_followed: weakref.WeakKeyDictionary[Any, _Followed] = weakref.WeakKeyDictionary()


def capture(module: ModuleType, patches: Patches) -> None:
    """Hook ``module.ProgressBar`` (``module`` is ``click._termui_impl`` or typer's copy of it)."""
    patches.wrap_all(module.ProgressBar, _HOOKS)
    patches.on_restore(_followed.clear)


def _entered(enter: Method) -> Method:
    @functools.wraps(enter)
    def hooked(self: Any) -> Any:
        entered = enter(self)
        _follow(self)
        return entered

    return hooked


def _updated(update: Method) -> Method:
    @functools.wraps(update)
    def hooked(self: Any, n_steps: int, *args: Any, **kwargs: Any) -> None:
        update(self, n_steps, *args, **kwargs)
        followed = _follow(self)
        if followed is not None:
            _step(self, followed, n_steps)

    return hooked


def _iterated(generator: Method) -> Method:
    @functools.wraps(generator)
    def hooked(self: Any) -> Iterator[Any]:
        items: Iterator[Any] = generator(self)
        followed = _follow(self)
        if followed is None or getattr(self, "_is_atty", True):
            return items  # on a terminal, click calls update(1) after each item
        return _counted(self, followed, items)

    return hooked


def _counted(bar: Any, followed: _Followed, items: Iterator[Any]) -> Iterator[Any]:
    """``items``, with a step after each one's turn in the loop, as click counts on a terminal."""
    for item in items:
        yield item
        _step(bar, followed, 1)


def _exited(exit: Method) -> Method:
    @functools.wraps(exit)
    def hooked(self: Any, exc_type: Any, exc_value: BaseException | None, traceback: Any) -> Any:
        try:
            return exit(self, exc_type, exc_value, traceback)
        finally:
            followed = _followed.get(self)
            if followed is not None and not followed.task.ended:
                followed.task.end(exc_value)

    return hooked


_HOOKS: dict[str, Hook] = {"__enter__": _entered, "update": _updated, "generator": _iterated, "__exit__": _exited}


def _follow(bar: Any) -> _Followed | None:
    """The task of ``bar``, made (and started) on first sight; ``None`` for a hidden bar, or on failure."""
    followed = _followed.get(bar)
    if followed is not None or bar.hidden:
        return followed
    try:
        task = CapturedTask(bar.label or None, bar.length)
        task.start()
    except Exception:
        log.debug("progressista: could not report a click progress bar", exc_info=True)
        return None
    followed = _followed[bar] = _Followed(task)
    return followed


def _step(bar: Any, followed: _Followed, steps: int) -> None:
    if followed.task.ended:
        return
    followed.n += steps
    followed.task.show(followed.n, bar.length, bar.label or None)
