"""How the adapters hook in: methods wrapped on a library's classes (put back exactly), and imports watched.

Standard library only: nothing here imports the libraries it hooks into.

>>> class Bar:
...     def update(self, n):
...         return n
>>> original = Bar.__dict__["update"]
>>> patches = Patches()
>>> patches.wrap(Bar, "update", lambda update: lambda self, n: update(self, n) * 10)
True
>>> Bar().update(4)
40
>>> patches.restore()
>>> Bar.__dict__["update"] is original
True
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

__all__ = ["ImportWatcher", "Patches"]

log = logging.getLogger("progressista")


class Patches:
    """Attributes replaced on classes, each with what it replaced, to put back in reverse order."""

    def __init__(self) -> None:
        self._saved: list[tuple[type[Any], str, Any]] = []
        self._then: list[Callable[[], None]] = []

    def wrap(self, cls: type[Any], name: str, wrapper: Callable[[Any], Any]) -> bool:
        """Replace ``name`` with ``wrapper(original)`` where ``cls`` gets it from; ``False`` if it has none.

        The class of ``cls.__mro__`` that defines ``name`` gets the wrapper, so
        every subclass that does not override it goes through it. ``original``
        is the object in that class's own ``__dict__`` (a function, a property):
        :meth:`restore` puts back that very object.
        """
        owner = next((base for base in cls.__mro__ if name in base.__dict__), None)
        if owner is None:
            log.debug("progressista: %s.%s not found; not captured", cls.__qualname__, name)
            return False
        original = owner.__dict__[name]
        setattr(owner, name, wrapper(original))
        self._saved.append((owner, name, original))
        return True

    def wrap_all(self, cls: type[Any], wrappers: Mapping[str, Callable[[Any], Any]]) -> None:
        """:meth:`wrap` each name of ``wrappers`` with its wrapper."""
        for name, wrapper in wrappers.items():
            self.wrap(cls, name, wrapper)

    def on_restore(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after the originals are back (an adapter forgets the state it kept)."""
        self._then.append(callback)

    def restore(self) -> None:
        """Put every original back, last replaced first; then the :meth:`on_restore` callbacks."""
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)
        callbacks, self._then = self._then, []
        for callback in callbacks:
            callback()


class ImportWatcher(importlib.abc.MetaPathFinder):
    """Calls ``hooks[name](module)`` right after module ``name`` is imported, then forgets that name.

    A finder that finds nothing itself: for a watched name it asks the other
    finders of ``sys.meta_path`` and hands the import system their spec, with a
    loader that runs the module's own loader and then the hook. The module keeps
    its own loader. Once every watched module was seen, it leaves ``sys.meta_path``.
    """

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]) -> None:
        self.hooks = dict(hooks)
        self._lock = threading.Lock()

    def watch(self) -> None:
        """Go first on ``sys.meta_path`` (if anything is left to watch)."""
        if self.hooks and self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def unwatch(self) -> None:
        """Leave ``sys.meta_path``; a module being imported meanwhile is hooked no more."""
        with self._lock:
            self.hooks.clear()
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.hooks:
            return None
        others = (finder for finder in list(sys.meta_path) if finder is not self and hasattr(finder, "find_spec"))
        spec = next((found for finder in others if (found := finder.find_spec(fullname, path, target))), None)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenHook(spec.loader, self, fullname)
        return spec

    def loaded(self, module: ModuleType, name: str) -> None:
        """``name`` has run its code: call its hook (once), and leave when nothing is left to watch."""
        with self._lock:
            hook = self.hooks.pop(name, None)
            done = not self.hooks
        if done and self in sys.meta_path:
            sys.meta_path.remove(self)
        if hook is not None:
            try:
                hook(module)
            except Exception:  # a broken adapter must not break the program's import
                log.debug("progressista: could not capture %s", name, exc_info=True)


class _ThenHook(importlib.abc.Loader):
    """The module's own loader, then the watcher's hook; the module keeps its own loader."""

    def __init__(self, loader: Any, watcher: ImportWatcher, name: str) -> None:
        self.loader = loader
        self.watcher = watcher
        self.name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.watcher.loaded(module, self.name)
