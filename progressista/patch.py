"""Make plain ``tqdm`` report to Progressista, without touching the code that uses it.

>>> from progressista.patch import install, uninstall
>>> install(server_url="https://progress.example.com")  # doctest: +SKIP
>>> from tqdm.auto import tqdm      # now a RemoteTqdm subclass  # doctest: +SKIP
>>> uninstall()                     # everything back as it was  # doctest: +SKIP

:func:`install` swaps, in place: ``tqdm.tqdm``/``tqdm.std.tqdm``,
``tqdm.auto.tqdm``, ``tqdm.autonotebook.tqdm``, ``tqdm.notebook.tqdm`` and the
matching ``trange`` functions, plus the default ``tqdm_class`` of
``tqdm.contrib.concurrent.thread_map``/``process_map`` and of
``tqdm.contrib.tenumerate``/``tzip``/``tmap`` (those bind their default when
tqdm is imported, so swapping ``tqdm.auto.tqdm`` alone would not reach them).
Each replacement subclasses the class it replaces, so ``isinstance`` checks and
the notebook or asyncio behaviour stay.

It affects code that looks tqdm up after the call (``from tqdm import tqdm``
at import time or later); a name imported before keeps the original, which is
why ``progressista run`` installs before running the target. Put it in a
``sitecustomize.py`` for long-lived environments. Installing again only updates
the options; :func:`uninstall` restores the originals exactly.

Notebook bars: ``tqdm.notebook`` is patched when it is already imported or when
``ipywidgets`` is installed (it cannot draw without it). Importing it just for
the patch would otherwise load IPython (a quarter of a second) in every job.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import tqdm as tqdm_package
import tqdm.auto
import tqdm.autonotebook
import tqdm.contrib
import tqdm.contrib.concurrent
import tqdm.std

from .client import RemoteTqdm
from .config import CLIENT_OPTIONS, ClientOptions, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "OPTIONS",
    "PatchedAutoTqdm",
    "PatchedTqdm",
    "install",
    "installed",
    "patched_auto_trange",
    "patched_trange",
    "uninstall",
]

#: The keyword arguments :func:`install` accepts: defaults for every patched bar.
OPTIONS = CLIENT_OPTIONS

_ORIGINAL_STD = tqdm.std.tqdm
_ORIGINAL_AUTO = tqdm.auto.tqdm


class PatchedTqdm(RemoteTqdm[Any]):
    """What ``tqdm.tqdm`` becomes: a RemoteTqdm taking :func:`install`'s options as defaults."""


class PatchedAutoTqdm(PatchedTqdm, _ORIGINAL_AUTO):  # type: ignore[type-arg]
    """What ``tqdm.auto.tqdm`` becomes (keeps its asyncio and notebook behaviour)."""


def patched_trange(*args: int, **kwargs: Any) -> PatchedTqdm:
    """``tqdm.trange`` while patched."""
    return PatchedTqdm(range(*args), **kwargs)


def patched_auto_trange(*args: int, **kwargs: Any) -> PatchedAutoTqdm:
    """``tqdm.auto.trange`` while patched."""
    return PatchedAutoTqdm(range(*args), **kwargs)


_notebook_variants: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    # The notebook variant is built on first need (it imports IPython). Being
    # reachable by name lets pickle find it, e.g. for process_map's initializer.
    if name in ("PatchedNotebookTqdm", "patched_notebook_trange"):
        module = _notebook_module(import_it=True)
        if module is not None:
            return _notebook_variant(module)[0 if name == "PatchedNotebookTqdm" else 1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _notebook_variant(module: ModuleType) -> tuple[type[RemoteTqdm[Any]], Callable[..., RemoteTqdm[Any]]]:
    if not _notebook_variants:
        cls = type(
            "PatchedNotebookTqdm",
            (PatchedTqdm, module.tqdm),
            {"__module__": __name__, "__doc__": "What ``tqdm.notebook.tqdm`` becomes."},
        )

        def patched_notebook_trange(*args: int, **kwargs: Any) -> RemoteTqdm[Any]:
            """``tqdm.notebook.trange`` while patched."""
            return cls(range(*args), **kwargs)  # type: ignore[no-any-return]

        _notebook_variants.update(cls=cls, trange=patched_notebook_trange)
    return _notebook_variants["cls"], _notebook_variants["trange"]


def _notebook_module(import_it: bool) -> ModuleType | None:
    module = sys.modules.get("tqdm.notebook")
    if module is None and (import_it or importlib.util.find_spec("ipywidgets") is not None):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import tqdm.notebook as module
        except Exception:
            return None
    return module


_lock = threading.Lock()
_restore: list[Callable[[], None]] | None = None


def install(**client_options: Unpack[ClientOptions]) -> None:
    """Make tqdm's classes report, with ``client_options`` as defaults for every bar.

    Options: ``server_url``, ``push_every``, ``request_timeout``, ``meta``,
    ``headers`` (see :class:`~progressista.client.RemoteTqdm`); unset ones come
    from ``PROGRESSISTA_*``. Calling it again only replaces the options.
    """
    check_options("install", client_options)
    global _restore
    with _lock:
        PatchedTqdm._remote_defaults = dict(client_options)
        if _restore is not None:
            return
        notebook = _notebook_module(import_it=False)  # before std is swapped: its class derives from std
        restore: list[Callable[[], None]] = []

        def swap(owner: Any, name: str, new: Any) -> None:
            if not hasattr(owner, name):
                return
            old = getattr(owner, name)
            setattr(owner, name, new)
            restore.append(lambda: setattr(owner, name, old))

        for module in (tqdm.std, tqdm_package):
            swap(module, "tqdm", PatchedTqdm)
            swap(module, "trange", patched_trange)
        swap(tqdm.auto, "tqdm", PatchedAutoTqdm)
        swap(tqdm.auto, "trange", patched_auto_trange)
        if notebook is not None:
            notebook_cls, notebook_trange = _notebook_variant(notebook)
            for name, new in (("tqdm", notebook_cls), ("tqdm_notebook", notebook_cls)):
                swap(notebook, name, new)
            for name in ("trange", "tnrange"):
                swap(notebook, name, notebook_trange)
        if tqdm.autonotebook.tqdm is _ORIGINAL_STD:
            swap(tqdm.autonotebook, "tqdm", PatchedTqdm)
            swap(tqdm.autonotebook, "trange", patched_trange)
        elif notebook is not None:
            swap(tqdm.autonotebook, "tqdm", _notebook_variant(notebook)[0])
            swap(tqdm.autonotebook, "trange", _notebook_variant(notebook)[1])
        for module in (tqdm.contrib, tqdm.contrib.concurrent):
            swap(module, "tqdm_auto", PatchedAutoTqdm)
        _swap_default(restore, getattr(tqdm.contrib.concurrent, "_executor_map", None), "tqdm_class")
        _swap_default(restore, getattr(tqdm.contrib, "tenumerate", None), "tqdm_class")
        _restore = restore


def uninstall() -> None:
    """Put back every original that :func:`install` replaced. Harmless when not installed."""
    global _restore
    with _lock:
        restore, _restore = _restore, None
        for undo in reversed(restore or []):
            undo()
        PatchedTqdm._remote_defaults = {}


def installed() -> bool:
    """Is the patch in place?"""
    return _restore is not None


def _swap_default(restore: list[Callable[[], None]], function: Any, parameter: str) -> None:
    """Replace the default of ``parameter`` (bound when ``function`` was defined) if it is tqdm.auto's."""
    kwdefaults = getattr(function, "__kwdefaults__", None)
    if kwdefaults and kwdefaults.get(parameter) is _ORIGINAL_AUTO:
        kwdefaults[parameter] = PatchedAutoTqdm
        restore.append(lambda: kwdefaults.__setitem__(parameter, _ORIGINAL_AUTO))
        return
    defaults = getattr(function, "__defaults__", None)
    code = getattr(function, "__code__", None)
    if not defaults or code is None:
        return
    names = code.co_varnames[: code.co_argcount]
    if parameter not in names[len(names) - len(defaults) :]:
        return
    index = names.index(parameter) - (len(names) - len(defaults))
    if defaults[index] is not _ORIGINAL_AUTO:
        return
    function.__defaults__ = defaults[:index] + (PatchedAutoTqdm,) + defaults[index + 1 :]
    restore.append(lambda: setattr(function, "__defaults__", defaults))
