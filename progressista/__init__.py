"""Progressista: remote progress bars for Python.

>>> from progressista import RemoteTqdm, trange
>>> for item in RemoteTqdm(items, desc="Ingesting"):  # doctest: +SKIP
...     process(item)

The client API lives here; importing it never loads the server or the TUI.
"""

from .client import RemoteTqdm, trange

__version__ = "0.1.0"

__all__ = ["RemoteTqdm", "__version__", "trange"]
