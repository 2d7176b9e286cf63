"""``enlighten``: each counter is a Progressista task.

Imported only once the program imported ``enlighten`` (see :mod:`progressista.capture`).
It hooks enlighten's ``Counter`` class (what ``Manager.counter()``,
``enlighten.Counter()`` and ``get_manager().counter()`` make, subclasses too)
and the ``count`` property its updates go through:

- a counter is made → a new task, ``start``: its ``desc``, ``total`` (``None``:
  a plain counter) and ``unit``;
- ``counter.update(n)``, ``counter.count = n``, ``reset()`` → ``n`` is the
  ``count`` (with the ``desc`` and ``total`` of the moment);
- ``counter.close()`` → ``close``;
- ``with manager.counter(…) as counter:`` left by an exception → ``error``,
  ``meta.error = "Type: message"``.

Counters report whether or not enlighten draws them: ``get_manager()`` turns
drawing off when the stream is no terminal, which is when a remote view helps.
Status bars are not counters: they do not report.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .hooks import Patches
from .tasks import CapturedTask

__all__ = ["capture"]

log = logging.getLogger("progressista")

Method = Callable[..., Any]

#: The open counters' tasks. Counters take no weak references (``__slots__``): a counter
#: leaves when it closes, and one never closed ends at exit.
_followed: dict[Any, CapturedTask] = {}


def capture(module: ModuleType, patches: Patches) -> None:
    """Hook the counter classes of ``module`` (``enlighten``)."""
    public = module.Counter  # enlighten.Counter: its __new__ hands out the manager's counter_class
    counter_class = next(base for base in public.__mro__ if "__init__" in vars(base))  # what counters are
    kinds = (counter_class,)
    synced, count = functools.partial(_then_sync, kinds=kinds), functools.partial(_count, kinds=kinds)
    patches.wrap_all(public, dict(__init__=synced, reset=synced, count=count, close=_closed, __exit__=_exited))
    patches.on_restore(_followed.clear)


def _then_sync(method: Method, kinds: tuple[type[Any], ...]) -> Method:
    @functools.wraps(method)
    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        _sync(self, kinds)
        return result

    return hooked


def _count(count: property, kinds: tuple[type[Any], ...]) -> property:
    """The ``count`` property, reporting after each set (``update()`` sets it too)."""
    setter = count.fset
    assert setter is not None

    def set_count(self: Any, value: Any) -> None:
        setter(self, value)
        _sync(self, kinds)

    return property(count.fget, set_count, count.fdel, count.__doc__)


def _closed(close: Method) -> Method:
    @functools.wraps(close)
    def hooked(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            close(self, *args, **kwargs)
        finally:
            _end(self, None)

    return hooked


def _exited(exit: Method) -> Method:
    @functools.wraps(exit)
    def hooked(self: Any, *args: Any) -> Any:
        _end(self, args[1] if len(args) > 1 else None)  # before enlighten's __exit__, which closes
        return exit(self, *args)

    return hooked


def _sync(counter: Any, kinds: tuple[type[Any], ...]) -> None:
    """Report ``counter`` as it is now, following it from now on if it is an open counter (never raises)."""
    try:
        task = _followed.get(counter)
        if task is None:
            if not isinstance(counter, kinds) or counter._closed:
                return  # a status bar, or a closed counter
            task = _followed[counter] = CapturedTask(counter.desc, counter.total, counter.count, counter.unit or "it")
            task.start()
        task.show(counter.count, counter.total, counter.desc)
    except Exception:
        log.debug("progressista: could not report an enlighten counter", exc_info=True)


def _end(counter: Any, exc: BaseException | None) -> None:
    task = _followed.pop(counter, None)
    if task is None:
        return
    try:
        task.show(counter.count, counter.total, counter.desc)
        task.end(exc)
    except Exception:
        log.debug("progressista: could not end an enlighten counter", exc_info=True)
