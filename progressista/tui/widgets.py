"""The dashboard's small widgets: the connection bar, the column headers and the confirm dialog.

The columns themselves are :class:`~.task_list.TaskList`; the alerts screen is in :mod:`.alerts`.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Label

from progressista.board import Column
from progressista.protocol.format import format_age
from progressista.protocol.statuses import COLUMN_TITLES

from .alerts import AlertNote

__all__ = ["ColumnHeader", "ConfirmScreen", "ConnectionBar"]


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
            text.append(f"   last message {stamp} ({ago})", style("connection-bar--dim"))
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
