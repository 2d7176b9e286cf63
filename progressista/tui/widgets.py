"""The dashboard's small widgets: the connection bar, column headers, tab bar, footer and confirm dialog.

The columns themselves are :class:`~.task_list.TaskList`; the alerts screen is in
:mod:`.alerts`, the keys screen in :mod:`.help`. Below :data:`WIDE_FROM` columns
the board shows one column at a time under a :class:`ColumnTabs` bar (as the
browser does on a phone), and the :class:`KeyFooter` only the keys of
:data:`NARROW_KEYS`; ``?`` lists them all.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Label
from textual.widgets._footer import FooterKey  # not exported, yet what Footer.compose yields

from progressista.board import Column
from progressista.protocol.format import format_age
from progressista.protocol.statuses import COLUMN_TITLES, COLUMNS

from .alerts import AlertNote

__all__ = ["NARROW_KEYS", "WIDE_FROM", "ColumnHeader", "ColumnTabs", "ConfirmScreen", "ConnectionBar", "KeyFooter"]

#: From this many columns on, the board shows its three columns side by side; below, one at a time.
WIDE_FROM = 120
#: The keys a narrow footer shows (about 70 cells): the rest are a ``?`` away.
NARROW_KEYS = frozenset({"question_mark", "left", "up", "d", "slash", "a", "q"})


class ConnectionBar(Widget):
    """Top line: server URL, "read-only" for a token that may not delete, connection state, the latest
    alert the server sent (when it has rules and sent one) and when the last message came."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "connection-bar--title",
        "connection-bar--url",
        "connection-bar--connected",
        "connection-bar--connecting",
        "connection-bar--reconnecting",
        "connection-bar--unauthorized",
        "connection-bar--dim",
        "connection-bar--read-only",
        "connection-bar--alert-bad",
        "connection-bar--alert-warn",
        "connection-bar--alert-good",
        "connection-bar--alert-dim",
    }

    state: reactive[str] = reactive("connecting")
    detail: reactive[str] = reactive("")
    last_message: reactive[float | None] = reactive(None)
    retry_at: reactive[float | None] = reactive(None)
    read_only: reactive[bool] = reactive(False)
    """The token may read but not delete: the bar says so."""
    alert: reactive[AlertNote | None] = reactive(None)
    """The newest alert (``None``: no rules, no alert yet, or a server without alerts: nothing is shown)."""

    def __init__(self, url: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.url = url

    def set_state(self, state: str, detail: str = "", retry_in: float | None = None) -> None:
        self.state = state
        self.detail = detail
        self.retry_at = None if retry_in is None else time.monotonic() + retry_in
        self.set_class(state == "unauthorized", "-unauthorized")

    @property
    def text(self) -> str:
        """What the bar says, as plain text (the tests read it)."""
        return self.render().plain

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, default=Style())

    def render(self) -> Text:
        style = self._style
        label = {
            "connected": "● connected",
            "connecting": "◌ connecting…",
            "reconnecting": "◌ reconnecting",
            "unauthorized": "✗ unauthorized",
        }.get(self.state, self.state)
        parts: list[str | tuple[str, Style]] = [
            (" Progressista ", style("connection-bar--title")),
            " ",
            (self.url, style("connection-bar--url")),
            "  ",
        ]
        if self.read_only:
            parts += [("read-only", style("connection-bar--read-only")), "  "]
        parts.append((label, style(f"connection-bar--{self.state}")))
        text = Text.assemble(*parts, no_wrap=True, overflow="ellipsis")
        if self.state == "reconnecting" and self.retry_at is not None:
            left = self.retry_at - time.monotonic()
            text.append(f" in {left:.0f}s" if left >= 0.5 else " now", style("connection-bar--reconnecting"))
        if self.alert is not None:
            text.append("  ")
            text.append(self.alert.text(time.time()), style(f"connection-bar--alert-{self.alert.tone}"))
        if self.detail:
            text.append(f" — {self.detail}", style("connection-bar--dim"))
        if self.last_message is not None:
            stamp = time.strftime("%H:%M:%S", time.localtime(self.last_message))
            ago = format_age(time.time() - self.last_message)
            when = f"   last message {stamp} ({ago})"
            if text.cell_len + len(when) > self.size.width:  # a narrow bar: the age says enough
                when = f"   last message {ago}"
            text.append(when, style("connection-bar--dim"))
        if self.state == "unauthorized":  # the remedy must stay in sight: wrap onto more lines, never cut it
            text.no_wrap, text.overflow = False, "fold"
        return text


class ColumnHeader(Widget):
    """A column's title and count (``3 of 12`` while a filter hides some)."""

    label: reactive[str] = reactive("")

    def __init__(self, column: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.column = column
        self.label = f"{COLUMN_TITLES[column]}  0"

    def show(self, column: Column) -> None:
        self.label = f"{column.title}  {column.count_label}"

    def render(self) -> str:
        return self.label


class ColumnTabs(Widget):
    """The narrow layout's tab bar: ``1 Active 3  2 Needs attention 1  3 Completed 5 · 2 failed``.

    The shown column's tab is highlighted; a click on a tab, or its number, shows it.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "column-tabs--tab",
        "column-tabs--current",
        "column-tabs--attention",
        "column-tabs--failed",
    }

    current: reactive[str] = reactive("active")
    labels: reactive[tuple[str, ...]] = reactive(tuple(f"{COLUMN_TITLES[name]} 0" for name in COLUMNS))
    failed: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.attention = False
        self._spans: list[tuple[int, int, str]] = []  # (start, end, column) of each tab, for clicks

    def show(self, layout: dict[str, Column], failed: int) -> None:
        self.attention = bool(layout["stale"].total)
        self.failed = failed
        self.labels = tuple(f"{COLUMN_TITLES[name]} {layout[name].count_label}" for name in COLUMNS)

    @property
    def text(self) -> str:
        """What the bar says, as plain text (the tests read it)."""
        return self.render().plain

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        for number, (name, label) in enumerate(zip(COLUMNS, self.labels, strict=True), 1):
            style = "tab"
            if name == self.current:
                style = "current"
            elif name == "stale" and self.attention:
                style = "attention"
            start = text.cell_len
            text.append(f" {number} {label} ", self.get_component_rich_style(f"column-tabs--{style}"))
            if name == "completed" and self.failed:
                text.append(f"· {self.failed} failed ", self.get_component_rich_style("column-tabs--failed"))
            self._spans.append((start, text.cell_len, name))
            text.append(" ")
        return text

    async def on_click(self, event: events.Click) -> None:
        for start, end, name in self._spans:
            if start <= event.x < end:
                await self.run_action(f"app.show_column('{name}')")


class KeyFooter(Footer):
    """The footer, showing only :data:`NARROW_KEYS` below :data:`WIDE_FROM` columns (``?`` lists every key)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, show_command_palette=False)
        self.narrow = False

    def compose(self) -> ComposeResult:
        self.narrow = self.app.size.width < WIDE_FROM
        for widget in super().compose():
            if self.narrow and isinstance(widget, FooterKey) and widget.key not in NARROW_KEYS:
                continue
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        if (self.app.size.width < WIDE_FROM) != self.narrow:
            self.call_after_refresh(self.recompose)


class ConfirmScreen(ModalScreen[bool]):
    """Ask before a bulk delete: ``y`` removes, ``n``/Escape cancels; Cancel has the focus."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Remove"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question, id="question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Remove (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
