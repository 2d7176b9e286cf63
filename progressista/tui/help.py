"""The ``?`` screen: every key of the dashboard, read from its bindings so the list cannot drift from them.

A narrow footer shows only the keys used most (:data:`~.widgets.NARROW_KEYS`);
this screen lists all of them, those the footer never shows too (page keys,
``1``-``3``, Escape). Keys that share a description share a row (``← →``
Column); a binding's ``tooltip``, when it has one, is the longer text shown here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

__all__ = ["HelpScreen", "KeyRow", "key_rows"]


@dataclass(frozen=True)
class KeyRow:
    """One row of the help: the keys (as displayed), what they do, and whether they do it for this token."""

    keys: tuple[str, ...]
    text: str
    enabled: bool = True

    @property
    def plain(self) -> str:
        return f"{' '.join(self.keys)}  {self.text}" + ("" if self.enabled else " (not with this token)")


def key_rows(
    chain: Iterable[Iterable[BindingType]],
    display: Callable[[Binding], str],
    enabled: Callable[[str], bool] = lambda action: True,
) -> list[KeyRow]:
    """The help's rows for a binding ``chain`` (the focused widget's bindings first, as Textual resolves keys).

    A key bound twice is listed once, for the binding that wins; ``display``
    names a key (``App.get_key_display``, given a binding without its
    ``key_display``, which may stand for two keys); ``enabled(action)`` says
    whether the action acts (``App.check_action``).
    """
    seen: set[str] = set()
    rows: dict[str, list[Binding]] = {}
    for bindings in chain:
        for key, bound in BindingsMap(bindings).key_to_bindings.items():
            if key in seen:
                continue
            seen.add(key)
            binding = bound[0]
            rows.setdefault(binding.tooltip or binding.description or binding.action, []).append(binding)
    return [
        KeyRow(
            tuple(display(replace(binding, key_display=None)) for binding in bindings),
            text,
            enabled(bindings[0].action),
        )
        for text, bindings in rows.items()
    ]


class HelpScreen(ModalScreen[None]):
    """Every key, one row per action; Escape or ``?`` closes (``q`` still quits)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "close", "Close", key_display="esc"),
    ]

    def __init__(self, rows: list[KeyRow]) -> None:
        super().__init__()
        self.rows = rows

    @property
    def lines(self) -> list[str]:
        """The rows as plain text (the tests read them)."""
        return [row.plain for row in self.rows]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for row in self.rows:
            text = Text(row.text) if row.enabled else Text(f"{row.text} (not with this token)", style="dim")
            table.add_row(Text(" ".join(row.keys)), text)
        with Vertical(id="help"):
            yield Label("Keys", id="help-title")
            with VerticalScroll(id="help-keys"):
                yield Static(table, id="help-table")
            yield Label("esc or ? closes", id="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)
