"""Progressista: remote progress bars for Python.

>>> from progressista import RemoteTqdm, trange
>>> for item in RemoteTqdm(items, desc="Ingesting"):  # doctest: +SKIP
...     process(item)

The client API lives here. It loads on first use: ``import progressista`` alone
(what the server, the dashboards and ``progressista --help`` do) loads neither
tqdm nor requests, and never the server or the TUI.

In a notebook, ``%load_ext progressista`` makes every tqdm bar of the kernel
report (:mod:`progressista.notebook`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:  # the exact types, for mypy and IDEs
    from .client import RemoteTqdm, trange


__all__ = ["RemoteTqdm", "__version__", "load_ipython_extension", "trange", "unload_ipython_extension"]

_LAZY = {"RemoteTqdm": "RemoteTqdm", "trange": "trange"}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext progressista``: every tqdm bar of the kernel reports (see :mod:`progressista.notebook`)."""
    from .notebook import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext progressista``: tqdm as it was."""
    from .notebook import unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import client

        value = getattr(client, _LAZY[name])
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'progressista' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
