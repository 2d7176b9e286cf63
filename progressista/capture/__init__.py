"""Report the other progress libraries' bars: ``rich.progress``, ``click``/``typer.progressbar``, ``enlighten``.

>>> from progressista import capture
>>> capture.install({"server_url": "https://progress.example.com"})  # doctest: +SKIP
>>> capture.installed()  # doctest: +SKIP
True
>>> capture.uninstall()  # every patched method back as it was  # doctest: +SKIP

:func:`progressista.patch.install` calls :func:`install` (so ``progressista run``,
``exec`` and ``%load_ext progressista`` capture these libraries too). Nothing
here imports them: a library the program already imported is hooked at once,
any other right after the program imports it (an :class:`~.hooks.ImportWatcher`
on ``sys.meta_path``), and one it never imports costs nothing.

Each adapter hooks the library's own methods, so every way of driving a bar
reports; the library's output is unchanged. Each bar is a
:class:`~.tasks.CapturedTask`: its updates build an event at most every
0.1 s and go through the process's one sender, like tqdm's bars.

- :mod:`.rich`: every task of a ``rich.progress.Progress`` (so ``track()``,
  ``wrap_file()``, ``open()`` too);
- :mod:`.click`: ``click.progressbar``, and ``typer.progressbar`` (typer's own
  copy of click, or click's);
- :mod:`.enlighten`: ``enlighten`` counters (``Manager.counter()``, ``Counter()``).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, cast

from ..config import ClientOptions, check_options
from .hooks import ImportWatcher, Patches

__all__ = ["ADAPTERS", "install", "installed", "uninstall"]

#: The module whose import a library's adapter waits for, and the adapter
#: (a module of this package with ``capture(module, patches)``).
ADAPTERS: Mapping[str, str] = {
    "rich.progress": "rich",
    "click._termui_impl": "click",  # click.progressbar imports it on first call
    "typer._click._termui_impl": "click",  # typer 0.24+ ships its own copy of click
    "enlighten": "enlighten",
}

log = logging.getLogger("progressista")

_lock = threading.RLock()  # an import the hook makes may itself be watched
_patches: Patches | None = None
_watcher: ImportWatcher | None = None


def install(options: Mapping[str, Any] | None = None) -> None:
    """Capture the libraries' bars, with the client ``options`` (``server_url``, ``push_every``…) for each.

    Calling it again only replaces the options.
    """
    given = dict(options or {})
    check_options("install", given)
    global _patches, _watcher
    with _lock:
        from .tasks import CapturedTask

        CapturedTask.defaults = cast(ClientOptions, given)
        if _patches is not None:
            return
        patches = _patches = Patches()
        waiting: dict[str, Callable[[ModuleType], None]] = {}
        for name, adapter in ADAPTERS.items():
            module = sys.modules.get(name)
            if module is not None:
                _capture(adapter, module, patches)
            else:
                waiting[name] = _later(adapter, patches)
        _watcher = ImportWatcher(waiting)
        _watcher.watch()


def uninstall() -> None:
    """Put back every method :func:`install` replaced and stop watching imports; open tasks end (``close``).

    Harmless when not installed.
    """
    global _patches, _watcher
    with _lock:
        patches, watcher, _patches, _watcher = _patches, _watcher, None, None
        if watcher is not None:
            watcher.unwatch()
        if patches is None:
            return
        patches.restore()
        from ..client.task import finish_open_tasks
        from .tasks import CapturedTask

        finish_open_tasks("close", kind=CapturedTask)
        CapturedTask.defaults = {}


def installed() -> bool:
    """Is the capture in place?"""
    return _patches is not None


def _later(adapter: str, patches: Patches) -> Callable[[ModuleType], None]:
    def hook(module: ModuleType) -> None:
        with _lock:
            if _patches is patches:  # not uninstalled meanwhile
                _capture(adapter, module, patches)

    return hook


def _capture(adapter: str, module: ModuleType, patches: Patches) -> None:
    try:
        importlib.import_module(f"{__name__}.{adapter}").capture(module, patches)
    except Exception:  # another version of the library, say: its bars do not report, the program runs on
        log.debug("progressista: could not capture %s", module.__name__, exc_info=True)
