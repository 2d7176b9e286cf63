"""Put first on ``PYTHONPATH`` by ``progressista run`` and ``exec``: every Python process of the run reports.

Python imports ``sitecustomize`` at start-up, before the program. This one
(standard library only, so it costs nothing measurable) does two things:

- it watches for ``tqdm``: when the program imports it, right after tqdm's
  own code ran and before the program can bind a name from it, tqdm is patched
  (:func:`progressista.children.on_tqdm_import`); when it is ``progressista``
  that imports tqdm, right after that import of ``progressista``. A process that
  never imports tqdm is not touched; one that cannot import ``progressista``
  (another interpreter) simply does not report;
- it runs the ``sitecustomize`` this one hides, if there is one further on
  ``sys.path`` (the user's, or the distribution's), as if it were the only one.

``python -I`` and ``python -S`` skip it: such a process does not report.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))


def _is_here(entry: str) -> bool:
    try:
        return os.path.realpath(entry or os.curdir) == _HERE
    except (OSError, ValueError):
        return False


class _PatchAfterLoading(importlib.abc.Loader):
    """Loads a watched module with its own loader, then patches tqdm if the time has come."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its own loader (resources, source): this one is only a passer-by.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        if _time_to_patch(loaded=module.__name__):
            _unwatch()
            _patch()


class _Watcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself: gives the specs of ``tqdm`` and of ``progressista``'s modules,
    as the other finders found them, a loader that patches tqdm once it is loaded."""

    def find_spec(self, name: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if not _watched(name):
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchAfterLoading(spec.loader)
        return spec


def _watched(name: str) -> bool:
    return name == "tqdm" or name == "progressista" or name.startswith("progressista.")


def _initializing(name: str) -> bool:
    spec = getattr(sys.modules.get(name), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _time_to_patch(loaded: str) -> bool:
    """tqdm is loaded, and no module of progressista is half imported (the patch imports them).

    ``loaded`` has just run its code (the import system marks it done right after).
    """
    if "tqdm" not in sys.modules:
        return False
    return not any(_watched(name) and name != loaded and _initializing(name) for name in list(sys.modules))


_watcher = _Watcher()


def _unwatch() -> None:
    if _watcher in sys.meta_path:
        sys.meta_path.remove(_watcher)


def _patch() -> None:
    try:
        from progressista.children import on_tqdm_import
    except Exception:  # progressista is not importable by this interpreter: it does not report
        return
    on_tqdm_import()


def _run_the_hidden_sitecustomize() -> None:
    """Run the next ``sitecustomize`` on ``sys.path``, as ``sitecustomize`` (its errors reach ``site`` as usual)."""
    sys.path[:] = [entry for entry in sys.path if not _is_here(entry)]  # this folder holds nothing else
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


if __name__ == "sitecustomize":  # as Python's start-up imports it (not a test or a linter)
    if "tqdm" in sys.modules:  # imported already (by a .pth file): patch now
        _patch()
    else:
        sys.meta_path.insert(0, _watcher)
    _run_the_hidden_sitecustomize()
