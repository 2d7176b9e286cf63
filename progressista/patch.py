"""Make every ``tqdm`` report to Progressista, without touching the code that uses it.

>>> from progressista.patch import install, uninstall
>>> install(server_url="https://progress.example.com")  # doctest: +SKIP
>>> from tqdm.auto import tqdm      # any tqdm, imported before or after: it reports  # doctest: +SKIP
>>> uninstall()                     # everything back as it was  # doctest: +SKIP

:func:`install` hooks the lifecycle methods of tqdm's base class,
``tqdm.std.tqdm``, in place: ``__new__`` (tqdm's monitor thread starts with the
program's signals blocked, see :mod:`progressista.threads`), ``__init__`` (the bar starts reporting, and takes
``RemoteTqdm``'s extra arguments, ``task_id=`` and the rest), ``refresh`` (each
of tqdm's throttled redraws reports the bar's state: so do ``bar.n = v;
bar.refresh()`` and ``reset(total=...)``), ``close`` and ``__exit__`` (the end:
``close``, or ``error`` with the reason); and it gives every bar
``RemoteTqdm``'s extras (``bar.task_id``, ``bar.set_meta(...)``,
``bar.detach()``). Every bar reports, whatever its class and however it was
reached:

- subclasses made before the patch (``tqdm.notebook``, ``tqdm.asyncio``,
  ``tqdm.rich``, ``tqdm.contrib``'s, ``huggingface_hub``'s and ``datasets``'
  bars, Lightning's ``Tqdm``, any ``class MyBar(tqdm)``), since they inherit
  the hooked methods;
- names bound before the patch (``from tqdm import tqdm`` at the top of a module
  already imported), since no module attribute is swapped: ``tqdm.tqdm`` is
  still ``tqdm.std.tqdm``, ``isinstance`` and pickling are untouched.

The per-iteration path stays exactly tqdm's: ``update`` and ``__iter__`` are not
touched. ``disable=None`` bars on a non-TTY report without drawing (as
``RemoteTqdm``'s do); ``disable=True`` bars send nothing. ``RemoteTqdm`` bars
report by their own methods, never twice.

``progressista run`` installs it before running the target; put it in a
``sitecustomize.py`` for long-lived environments, or ``%load_ext progressista``
in a notebook. Installing again only updates the options; :func:`uninstall`
restores tqdm's methods exactly.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tqdm.std import tqdm as std_tqdm

from . import capture
from .client import RemoteTqdm, reporting
from .client.bar import EXTRAS
from .config import CLIENT_OPTIONS, ClientOptions, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["HOOKED", "OPTIONS", "install", "installed", "uninstall"]

#: The keyword arguments :func:`install` accepts: defaults for every bar.
OPTIONS = CLIENT_OPTIONS
#: The methods of ``tqdm.std.tqdm`` the patch hooks.
HOOKED = ("__new__", "__init__", "refresh", "close", "__exit__")

_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}
_added: list[str] = []
#: The options of :func:`install`, the defaults of every patched bar.
_defaults: dict[str, Any] = {}


def install(**client_options: Unpack[ClientOptions]) -> None:
    """Make every tqdm bar report, with ``client_options`` as defaults.

    Options: ``server_url``, ``push_every``, ``request_timeout``, ``meta``,
    ``headers`` (see :class:`~progressista.client.RemoteTqdm`); unset ones come
    from ``PROGRESSISTA_*``. Calling it again only replaces the options.
    """
    check_options("install", client_options)
    global _defaults
    with _lock:
        _defaults = dict(client_options)  # a new dict: bars' routes are cached by the defaults' identity
        if not _originals:
            _hook_tqdm()
    capture.install(client_options)  # rich.progress, click/typer progress bars, enlighten: see progressista.capture


def _hook_tqdm() -> None:
    """Hook tqdm's base class (with the lock held)."""
    originals = {name: std_tqdm.__dict__[name] for name in HOOKED}  # as defined: put back as they were
    methods = {name: getattr(std_tqdm, name) for name in HOOKED}  # as called (__init__ may be a partialmethod)
    hooks = {
        "__new__": staticmethod(_hooked_new(methods["__new__"])),
        "__init__": _hooked_init(methods["__init__"]),
        "refresh": _hooked_refresh(methods["refresh"]),
        "close": _hooked_close(methods["close"]),
        "__exit__": _hooked_exit(methods["__exit__"]),
    }
    for name, hook in hooks.items():
        setattr(std_tqdm, name, hook)
    for name in EXTRAS:  # bar.task_id, bar.set_meta(...), bar.detach(): as on a RemoteTqdm
        if name not in std_tqdm.__dict__:
            setattr(std_tqdm, name, RemoteTqdm.__dict__[name])
            _added.append(name)
    _originals.update(originals)


def uninstall() -> None:
    """Put tqdm's own methods back. Harmless when not installed; bars made meanwhile stop reporting."""
    global _defaults
    with _lock:
        for name, original in _originals.items():
            setattr(std_tqdm, name, original)
        for name in _added:
            delattr(std_tqdm, name)
        _added.clear()
        _originals.clear()
        _defaults = {}
    capture.uninstall()


def installed() -> bool:
    """Is the patch in place?"""
    return bool(_originals)


def _hooked_new(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def __new__(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        return reporting.new_bar(cls, original, *args, **kwargs)  # tqdm's monitor thread: no signals

    return __new__


def _hooked_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(self, RemoteTqdm):  # reports by itself; its own __init__ took the extra arguments
            original(self, *args, **kwargs)
            return
        remote = {name: kwargs.pop(name) for name in reporting.REMOTE_ARGUMENTS if name in kwargs}
        original(self, *args, **reporting.visible_kwargs(kwargs))
        if not self.disable and getattr(self, "_remote", None) is None:
            reporting.start(self, RemoteTqdm, _defaults, **remote)

    return __init__


def _hooked_refresh(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def refresh(self: Any, *args: Any, **kwargs: Any) -> Any:
        shown = original(self, *args, **kwargs)
        if not isinstance(self, RemoteTqdm):
            reporting.refreshed(self)
        return shown

    return refresh


def _hooked_close(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def close(self: Any) -> None:
        if isinstance(self, RemoteTqdm):
            original(self)
        else:
            reporting.closing(self, lambda: original(self))

    return close


def _hooked_exit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def __exit__(self: Any, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        if not isinstance(self, RemoteTqdm):
            reporting.exiting(self, exc_value if exc_type is not None else None)
        return original(self, exc_type, exc_value, traceback)

    return __exit__
