"""Progressista: remote progress bars for Python.

The client API lives here; importing it never loads the server or the TUI.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
