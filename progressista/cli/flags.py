"""Flags in ``--help`` without a value placeholder: ``--json`` is shown as ``--json``, not ``--json <bool>``.

Typer's Rich help (0.2x, where :meth:`TyperOption.display_type_rich` exists)
prints every option's type, a flag's ``<bool>`` included, although a flag takes
no value; Click's plain help never did. :func:`plain_flags` makes the Rich help
agree, for every option of every command (``--help`` and
``--install-completion`` too), and leaves older Typers, which print no type for
a flag, alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plain_flags"]


def plain_flags() -> None:
    """Show no type for flags (bool options and counters) in the Rich help; idempotent."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_plain_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return self.metavar  # None unless a command gave one on purpose
        return shown(self, ctx)

    display_type_rich._plain_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
