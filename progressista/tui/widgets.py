"""The dashboard's widgets: the connection bar, column headers, task lists and the confirm dialog.

:class:`TaskList` is a Line API widget: it renders only the lines on screen,
each card's lines are cached until that task changes (or its age ticks), and a
change that keeps the order repaints only that card. So redraw cost follows the
screen size, not the number of tasks.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Label

from .view import (
    COLUMN_TITLES,
    Column,
    Item,
    bar_parts,
    eta_seconds,
    format_age,
    format_amount,
    format_duration,
    format_percent,
    format_rate,
    fraction,
    number,
    rate_of,
    updated_at,
)

__all__ = ["CARD_HEIGHT", "ColumnHeader", "ConfirmScreen", "ConnectionBar", "TaskList"]

#: Lines per task card: title, bar, numbers, details, and a blank separator.
CARD_HEIGHT = 5
_STATUS_MARK = {"start": "◌ ", "lost": "⚠ ", "close": "✓ ", "error": "✗ "}


class ConnectionBar(Widget):
    """Top line: server URL, connection state and when the last message came."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "connection-bar--title",
        "connection-bar--url",
        "connection-bar--connected",
        "connection-bar--connecting",
        "connection-bar--reconnecting",
        "connection-bar--unauthorized",
        "connection-bar--dim",
    }

    state: reactive[str] = reactive("connecting")
    detail: reactive[str] = reactive("")
    last_message: reactive[float | None] = reactive(None)
    retry_at: reactive[float | None] = reactive(None)

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
        text = Text.assemble(
            (" Progressista ", style("connection-bar--title")),
            " ",
            (self.url, style("connection-bar--url")),
            "  ",
            (label, style(f"connection-bar--{self.state}")),
            no_wrap=True,
            overflow="ellipsis",
        )
        if self.state == "reconnecting" and self.retry_at is not None:
            left = self.retry_at - time.monotonic()
            text.append(f" in {left:.0f}s" if left >= 0.5 else " now", style("connection-bar--reconnecting"))
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


class TaskList(ScrollView, can_focus=True):
    """One column of task cards (grouped by prefix), with a cursor; renders only visible lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # ScrollView binds left/right to horizontal scrolling; here they change column.
        Binding("left", "app.column(-1)", "Column", key_display="←→"),
        Binding("right", "app.column(1)", "Column", show=False),
        Binding("up", "cursor(-1)", "Select", key_display="↑↓"),
        Binding("down", "cursor(1)", "Select", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "edge(0)", show=False),
        Binding("end", "edge(1)", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "task-list--title",
        "task-list--error",
        "task-list--age",
        "task-list--numbers",
        "task-list--details",
        "task-list--bar-done",
        "task-list--bar-rest",
        "task-list--bar-unknown",
        "task-list--gutter",
        "task-list--gutter-stale",
        "task-list--gutter-done",
        "task-list--gutter-error",
        "task-list--group",
        "task-list--cursor",
        "task-list--empty",
    }

    def __init__(self, column: str, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.column = column
        self.clock = clock
        self.items: tuple[Item, ...] = ()
        self.tasks: Mapping[str, Mapping[str, Any]] = {}
        self.empty_text = "Nothing needs attention" if column == "stale" else f"No {column} tasks"
        self.selected: str | None = None
        """The task id under the cursor."""
        self._starts: list[int] = []
        self._rows: dict[str, int] = {}  # task id → index in items
        self._cards: dict[str, tuple[tuple[Any, ...], list[Strip]]] = {}
        self.lines_rendered = 0
        """render_line calls so far: what a repaint costs (the redraw test reads it)."""
        self.cards_built = 0
        """Card renders so far (cache misses)."""

    # -- data ------------------------------------------------------------

    @property
    def task_ids(self) -> list[str]:
        return [item.key for item in self.items if item.kind == "task"]

    def show(self, column: Column, tasks: Mapping[str, Mapping[str, Any]], changed: set[str]) -> None:
        """Take this column's new entries; repaint only what moved or changed."""
        self.tasks = tasks
        for task_id in changed:
            self._cards.pop(task_id, None)
        if column.items != self.items:
            old_index = self._rows.get(self.selected, 0) if self.selected is not None else 0
            self.items = column.items
            self._index()
            if self.selected not in self._rows:
                self._select_near(old_index)
            self.refresh()
            return
        for task_id in changed:
            row = self._rows.get(task_id)
            if row is not None:
                self.refresh_lines(self._starts[row], CARD_HEIGHT)

    def _index(self) -> None:
        starts, rows, line = [], {}, 0
        for row, item in enumerate(self.items):
            starts.append(line)
            if item.kind == "task":
                rows[item.key] = row
                line += CARD_HEIGHT
            else:
                line += 1
        self._starts, self._rows = starts, rows
        self._cards = {task_id: card for task_id, card in self._cards.items() if task_id in rows}
        self.virtual_size = Size(self.size.width, max(line, 1))

    def _select_near(self, index: int) -> None:
        """Select the task at ``index``, or the nearest one before it (the old one left the column)."""
        ids = [(row, item.key) for row, item in enumerate(self.items) if item.kind == "task"]
        if not ids:
            self.selected = None
            return
        before = [task_id for row, task_id in ids if row <= index]
        self.selected = before[-1] if before else ids[0][1]

    # -- cursor ----------------------------------------------------------

    def select(self, task_id: str) -> None:
        if task_id in self._rows:
            previous, self.selected = self.selected, task_id
            self._repaint_card(previous)
            self._repaint_card(task_id)
            self._scroll_to_selected()

    def action_cursor(self, step: int) -> None:
        ids = self.task_ids
        if not ids:
            return
        if self.selected not in self._rows:
            self.select(ids[0])
            return
        position = ids.index(self.selected) if self.selected in ids else 0
        self.select(ids[max(0, min(len(ids) - 1, position + step))])

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height // CARD_HEIGHT))

    def action_edge(self, end: int) -> None:
        ids = self.task_ids
        if ids:
            self.select(ids[-1] if end else ids[0])

    def _scroll_to_selected(self) -> None:
        row = self._rows.get(self.selected or "")
        if row is not None:
            top = self._starts[row] - (1 if row and self.items[row - 1].kind == "group" else 0)
            bottom = self._starts[row] + CARD_HEIGHT
            self.scroll_to_region(Region(0, top, 1, bottom - top), animate=False, immediate=True, x_axis=False)

    def _repaint_card(self, task_id: str | None) -> None:
        row = self._rows.get(task_id or "")
        if row is not None:
            self.refresh_lines(self._starts[row], CARD_HEIGHT)

    def on_click(self, event: events.Click) -> None:
        line = event.y + self.scroll_offset.y
        row = bisect_right(self._starts, line) - 1
        if 0 <= row < len(self.items) and self.items[row].kind == "task":
            self.select(self.items[row].key)

    def on_focus(self) -> None:
        if self.selected is None and self.task_ids:
            self.selected = self.task_ids[0]
        self._repaint_card(self.selected)

    def on_blur(self) -> None:
        self._repaint_card(self.selected)

    # -- rendering -------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        self.lines_rendered += 1
        width = self.scrollable_content_region.width
        base = self.rich_style
        line = self.scroll_offset.y + y
        if not self.items:
            if line == 0:
                empty = Text(self.empty_text, self._style("task-list--empty"))
                return self._strip(empty, width).apply_style(base)
            return Strip.blank(width, base)
        row = bisect_right(self._starts, line) - 1
        if row < 0 or row >= len(self.items):
            return Strip.blank(width, base)
        item = self.items[row]
        offset = line - self._starts[row]
        if item.kind == "group":
            return self._group_line(item, width).apply_style(base)
        if offset >= CARD_HEIGHT:
            return Strip.blank(width, base)
        return self._card(item, width)[offset].apply_style(base)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _strip(self, text: Text, width: int) -> Strip:
        text.truncate(width, overflow="ellipsis")
        return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, None)

    def _group_line(self, item: Item, width: int) -> Strip:
        text = Text(f"▾ {item.key}  ", self._style("task-list--group"), no_wrap=True)
        text.append(str(item.size), self._style("task-list--age"))
        return self._strip(text, width)

    def _card(self, item: Item, width: int) -> list[Strip]:
        task = self.tasks.get(item.key, {})
        age = format_age(self.clock() - updated_at(task)) if task else ""
        selected = item.key == self.selected and self.has_focus
        key = (width, selected, age, item.indent)
        cached = self._cards.get(item.key)
        if cached is not None and cached[0] == key:
            return cached[1]
        self.cards_built += 1
        lines = [self._strip(text, width) for text in self._card_text(item, task, width, age)]
        lines.append(Strip.blank(width))
        if selected:
            cursor = Style(bgcolor=self._style("task-list--cursor").bgcolor)
            lines[:-1] = [_overlay(line, cursor) for line in lines[:-1]]
        self._cards[item.key] = (key, lines)
        return lines

    def _card_text(self, item: Item, task: Mapping[str, Any], width: int, age: str) -> list[Text]:
        style = self._style
        status = str(task.get("status", ""))
        gutter_style = {
            "stale": "task-list--gutter-stale",
            "lost": "task-list--gutter-error",
            "close": "task-list--gutter-done",
            "error": "task-list--gutter-error",
        }.get(status, "task-list--gutter")
        lead = Text("  " * item.indent + "▍ ", style(gutter_style))
        inner = max(1, width - lead.cell_len)

        desc = task.get("desc")
        title_text = desc if isinstance(desc, str) and desc else item.key
        title = Text(_STATUS_MARK.get(status, "") + title_text, style(
            "task-list--error" if status == "error" else "task-list--title"
        ))
        title.truncate(max(1, inner - cell_len(age) - 1), overflow="ellipsis")
        gap = max(1, inner - title.cell_len - cell_len(age))
        first = Text.assemble(lead, title, " " * gap, (age, style("task-list--age")))

        share = fraction(task)
        percent = format_percent(share)
        done, rest = bar_parts(share, max(1, inner - 5))
        second = lead.copy()
        second.append(done, style("task-list--bar-done"))
        second.append(rest, style("task-list--bar-rest" if share is not None else "task-list--bar-unknown"))
        second.append(f"{percent:>5}", style("task-list--numbers"))

        unit = task.get("unit")
        numbers = [format_amount(task.get("n"), task.get("total"), unit), format_rate(rate_of(task), unit)]
        if status in ("close", "error"):
            elapsed = number(task.get("elapsed"))
            numbers.append(f"took {format_duration(elapsed)}" if elapsed is not None else "")
        elif status == "stale":
            numbers.append("idle")
        elif status == "lost":
            numbers.append("no contact")
        else:
            eta = eta_seconds(task)
            numbers.append(f"ETA {format_duration(eta)}" if eta is not None else "")
        third = lead.copy()
        third.append(" · ".join(part for part in numbers if part), style("task-list--numbers"))

        details = []
        postfix = task.get("postfix")
        if isinstance(postfix, str) and postfix:
            details.append(postfix)
        if title_text != item.key:
            details.append(item.key)
        host, pid = task.get("host"), task.get("pid")
        if isinstance(host, str) and host:
            details.append(f"{host}:{pid}" if isinstance(pid, int) else host)
        fourth = lead.copy()
        fourth.append(" · ".join(details), style("task-list--details"))
        return [first, second, third, fourth]


def _overlay(strip: Strip, style: Style) -> Strip:
    """``style`` on top of every segment (component styles carry the list's own background)."""
    segments = [Segment(text, base + style if base else style, control) for text, base, control in strip]
    return Strip(segments, strip.cell_length)


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
