"""The dashboard's widgets: the connection bar, column headers, task lists and the confirm dialog.

:class:`TaskList` is a Line API widget: it renders only the lines on screen,
each row's lines (a task card, or a group's aggregate) are cached until that
task or a member of that group changes (or its age ticks), and a change that
keeps the order repaints only those rows. So redraw cost follows the screen
size, not the number of tasks.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Mapping
from functools import partial
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

from progressista.protocol.groups import BUCKETS

from .view import (
    COLUMN_TITLES,
    Board,
    Column,
    Item,
    bar_parts,
    eta_seconds,
    format_age,
    format_amount,
    format_duration,
    format_percent,
    format_rate,
    format_since,
    fraction,
    group_numbers,
    number,
    rate_of,
    seen_at,
    updated_at,
)

__all__ = ["CARD_HEIGHT", "ColumnHeader", "ConfirmScreen", "ConnectionBar", "RowKey", "TaskList"]

#: Lines per row, task card or group: title, bar, numbers, details (a group's member counts), and a blank.
CARD_HEIGHT = 5
#: A row of a column: ``("task", task_id)`` or ``("group", prefix)``.
RowKey = tuple[str, str]
_STATUS_MARK = {"start": "◌ ", "close": "✓ ", "error": "✗ "}
#: Which colour a status (a task's, or a group's worst) is drawn in; also the names of the count buckets.
_TONE = {"start": "active", "update": "active", "stale": "stale", "lost": "lost", "close": "done", "error": "error"}
#: What a group row says after its name when its worst member needs a look.
_BADGE = {"stale": "STALE", "lost": "LOST", "error": "ERROR"}


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
    """One column: task cards and group rows (tasks sharing a ``prefix:``), with a cursor; renders only visible lines.

    The cursor sits on a task or on a group row; ``enter``/``space`` folds the
    group under the cursor (the app keeps which rows are folded).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # ScrollView binds left/right to horizontal scrolling; here they change column.
        Binding("left", "app.column(-1)", "Column", key_display="←→"),
        Binding("right", "app.column(1)", "Column", show=False),
        Binding("up", "cursor(-1)", "Select", key_display="↑↓"),
        Binding("down", "cursor(1)", "Select", show=False),
        Binding("enter", "app.toggle_group", "Fold group", key_display="⏎/space"),
        Binding("space", "app.toggle_group", "Fold group", show=False),
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
        "task-list--gutter-active",
        "task-list--gutter-stale",
        "task-list--gutter-lost",
        "task-list--gutter-done",
        "task-list--gutter-error",
        "task-list--badge-stale",
        "task-list--badge-lost",
        "task-list--badge-error",
        "task-list--lost",
        "task-list--group",
        "task-list--cursor",
        "task-list--empty",
    }

    def __init__(self, column: str, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.column = column
        self.clock = clock
        self.items: tuple[Item, ...] = ()
        self.board = Board()
        self.members: Mapping[str, tuple[str, ...]] = {}
        """Per group in this column, its tasks here (what ``d`` on its row removes)."""
        self.empty_text = "Nothing needs attention" if column == "stale" else f"No {column} tasks"
        self.cursor: RowKey | None = None
        """The row under the cursor: ``("task", task_id)`` or ``("group", prefix)``."""
        self._starts: list[int] = []
        self._rows: dict[RowKey, int] = {}  # row key → index in items
        self._cards: dict[RowKey, tuple[tuple[Any, ...], list[Strip]]] = {}
        self.lines_rendered = 0
        """render_line calls so far: what a repaint costs (the redraw test reads it)."""
        self.cards_built = 0
        """Card and group row renders so far (cache misses)."""

    # -- data ------------------------------------------------------------

    @property
    def task_ids(self) -> list[str]:
        """The task cards on show, top to bottom (members of a folded group are not)."""
        return [item.key for item in self.items if item.kind == "task"]

    @property
    def groups(self) -> list[str]:
        """The group rows, top to bottom."""
        return [item.key for item in self.items if item.kind == "group"]

    @property
    def selected(self) -> str | None:
        """The task id under the cursor (``None`` on a group row)."""
        return self.cursor[1] if self.cursor is not None and self.cursor[0] == "task" else None

    @property
    def selected_group(self) -> str | None:
        """The prefix of the group row under the cursor."""
        return self.cursor[1] if self.cursor is not None and self.cursor[0] == "group" else None

    def item(self, key: RowKey) -> Item | None:
        row = self._rows.get(key)
        return None if row is None else self.items[row]

    def show(self, column: Column, board: Board, changed: set[RowKey]) -> None:
        """Take this column's new entries; repaint only what moved or changed.

        ``changed`` holds the tasks that changed and the groups they belong to.
        """
        self.board = board
        self.members = column.members
        for key in changed:
            self._cards.pop(key, None)
        if column.items != self.items:
            old_index = self._rows.get(self.cursor, 0) if self.cursor is not None else 0
            self.items = column.items
            self._index()
            if self.cursor not in self._rows:
                self._select_near(old_index)
            self.refresh()
            return
        for key in changed:
            self._repaint(key)

    def _index(self) -> None:
        rows: dict[RowKey, int] = {(item.kind, item.key): row for row, item in enumerate(self.items)}
        self._starts = [row * CARD_HEIGHT for row in range(len(self.items))]
        self._rows = rows
        self._cards = {key: card for key, card in self._cards.items() if key in rows}
        self.virtual_size = Size(self.size.width, max(len(self.items) * CARD_HEIGHT, 1))

    def _select_near(self, index: int) -> None:
        """Select the row now at ``index`` (the old one left), or the last one."""
        if not self.items:
            self.cursor = None
            return
        item = self.items[min(index, len(self.items) - 1)]
        self.cursor = (item.kind, item.key)

    # -- cursor ----------------------------------------------------------

    def select(self, key: RowKey) -> None:
        if key in self._rows:
            previous, self.cursor = self.cursor, key
            self._repaint(previous)
            self._repaint(key)
            self._scroll_to_selected()

    def _select_row(self, row: int) -> None:
        item = self.items[max(0, min(len(self.items) - 1, row))]
        self.select((item.kind, item.key))

    def action_cursor(self, step: int) -> None:
        if not self.items:
            return
        row = self._rows.get(self.cursor) if self.cursor is not None else None
        self._select_row(0 if row is None else row + step)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height // CARD_HEIGHT))

    def action_edge(self, end: int) -> None:
        if self.items:
            self._select_row(len(self.items) - 1 if end else 0)

    def _scroll_to_selected(self) -> None:
        row = self._rows.get(self.cursor) if self.cursor is not None else None
        if row is not None:
            # A task's group row comes into view with it when there is room.
            top = self._starts[row] - (CARD_HEIGHT if row and self.items[row - 1].kind == "group" else 0)
            bottom = self._starts[row] + CARD_HEIGHT
            self.scroll_to_region(Region(0, top, 1, bottom - top), animate=False, immediate=True, x_axis=False)

    def _repaint(self, key: RowKey | None) -> None:
        row = self._rows.get(key) if key is not None else None
        if row is not None:
            self.refresh_lines(self._starts[row], CARD_HEIGHT)

    async def on_click(self, event: events.Click) -> None:
        line = event.y + self.scroll_offset.y
        row = bisect_right(self._starts, line) - 1
        if 0 <= row < len(self.items):
            item = self.items[row]
            self.select((item.kind, item.key))
            if item.kind == "group" and line == self._starts[row]:  # a click on a group's title folds it
                await self.run_action("app.toggle_group")

    def on_focus(self) -> None:
        if self.cursor is None and self.items:
            self.cursor = (self.items[0].kind, self.items[0].key)
        self._repaint(self.cursor)

    def on_blur(self) -> None:
        self._repaint(self.cursor)

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
        offset = line - self._starts[row]
        if offset >= CARD_HEIGHT:
            return Strip.blank(width, base)
        return self._card(self.items[row], width)[offset].apply_style(base)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _strip(self, text: Text, width: int) -> Strip:
        text.truncate(width, overflow="ellipsis")
        return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, None)

    def _card(self, item: Item, width: int) -> list[Strip]:
        """A row's lines, cached until its task or group changes or its clock text ticks."""
        now = self.clock()
        row_key: RowKey = (item.kind, item.key)
        selected = self.has_focus and self.cursor == row_key
        key: tuple[Any, ...]
        build: Callable[[], list[Text]]
        if item.kind == "group":
            group = self.board.aggregate(item.key) or {}
            stamp = number(group.get("updated_at"))
            age = format_age(now - stamp) if stamp is not None else ""
            key = (width, selected, age, item.collapsed)
            build = partial(self._group_text, item, group, width, age)
        else:
            task = self.board.tasks.get(item.key, {})
            age = format_age(now - updated_at(task)) if task else ""
            status = task.get("status")
            # How long a lost task has been silent, or a stale one idle: ticks like the age.
            since = format_since(now - seen_at(task)) if status == "lost" else (
                format_since(now - updated_at(task)) if status == "stale" else "")
            key = (width, selected, age, item.indent, since)
            build = partial(self._card_text, item, task, width, age, since)
        cached = self._cards.get(row_key)
        if cached is not None and cached[0] == key:
            return cached[1]
        self.cards_built += 1
        lines = [self._strip(text, width) for text in build()]
        lines.append(Strip.blank(width))
        if selected:
            cursor = Style(bgcolor=self._style("task-list--cursor").bgcolor)
            lines[:-1] = [_overlay(line, cursor) for line in lines[:-1]]
        self._cards[row_key] = (key, lines)
        return lines

    def _title_line(self, lead: Text, title: Text, age: str, width: int) -> Text:
        """``lead``, ``title`` cut to fit, and ``age`` flush right."""
        style = self._style
        inner = max(1, width - lead.cell_len)
        title.truncate(max(1, inner - cell_len(age) - 1), overflow="ellipsis")
        gap = max(1, inner - title.cell_len - cell_len(age))
        return Text.assemble(lead, title, " " * gap, (age, style("task-list--age")))

    def _bar_line(self, lead: Text, share: float | None, width: int, tone: str | None = None) -> Text:
        """A bar: done part in the column's colour, or in ``tone``'s (``lost``; a group's worst status)."""
        style = self._style
        inner = max(1, width - lead.cell_len)
        done, rest = bar_parts(share, max(1, inner - 5))
        line = lead.copy()
        line.append(done, style(f"task-list--gutter-{tone}" if tone else "task-list--bar-done"))
        line.append(rest, style("task-list--bar-rest" if share is not None else "task-list--bar-unknown"))
        line.append(f"{format_percent(share):>5}", style("task-list--numbers"))
        return line

    def _group_text(self, item: Item, group: Mapping[str, Any], width: int, age: str) -> list[Text]:
        """A group row: fold mark, prefix and worst status; aggregate bar; summed amount, rate, ETA; member counts."""
        style = self._style
        worst = str(group.get("status", "update"))
        tone_name = _TONE.get(worst, "active")
        tone = style(f"task-list--gutter-{tone_name}")
        lead = Text("▌ ", tone)
        title = Text(("▸ " if item.collapsed else "▾ ") + item.key, style("task-list--group") + tone)
        badge = _BADGE.get(worst)
        if badge:
            title.append("  ")
            title.append(f" {badge} ", style(f"task-list--badge-{worst}"))
        first = self._title_line(lead, title, age, width)
        # Running groups take the column's bar colour (as cards do); the others their worst status's.
        bar_tone = None if tone_name == "active" else tone_name
        second = self._bar_line(lead, number(group.get("progress")), width, bar_tone)
        third = lead.copy()
        third.append(" · ".join(group_numbers(group)), style("task-list--numbers"))
        fourth = lead.copy()
        members = group.get("members") or 0
        fourth.append(f"{members} task{'' if members == 1 else 's'}: ", style("task-list--details"))
        counts = group.get("counts") or {}
        split = [(f"{counts[bucket]} {bucket}", bucket) for bucket in BUCKETS if counts.get(bucket)]
        for index, (text, bucket) in enumerate(split):
            if index:
                fourth.append(" · ", style("task-list--details"))
            fourth.append(text, style(f"task-list--gutter-{bucket}"))
        return [first, second, third, fourth]

    def _card_text(self, item: Item, task: Mapping[str, Any], width: int, age: str, since: str) -> list[Text]:
        style = self._style
        status = str(task.get("status", ""))
        lead = Text("  " * item.indent + "▍ ", style(f"task-list--gutter-{_TONE.get(status, 'active')}"))

        desc = task.get("desc")
        title_text = desc if isinstance(desc, str) and desc else item.key
        title_style = style("task-list--error" if status == "error" else "task-list--title")
        title = Text(_STATUS_MARK.get(status, ""), title_style)
        if status == "lost":
            title.append(" ⚠ LOST ", style("task-list--badge-lost"))
            title.append(" ")
        title.append(title_text, title_style)
        first = self._title_line(lead, title, age, width)
        second = self._bar_line(lead, fraction(task), width, "lost" if status == "lost" else None)

        unit = task.get("unit")
        third = lead.copy()
        # A lost task's last rate says nothing about a process that stopped talking: room for how long ago.
        rate = "" if status == "lost" else format_rate(rate_of(task), unit)
        numbers = [format_amount(task.get("n"), task.get("total"), unit), rate]
        if status in ("close", "error"):
            elapsed = number(task.get("elapsed"))
            numbers.append(f"took {format_duration(elapsed)}" if elapsed is not None else "")
        elif status == "stale":
            numbers.append(f"idle {since}")
        elif status != "lost":
            eta = eta_seconds(task)
            numbers.append(f"ETA {format_duration(eta)}" if eta is not None else "")
        third.append(" · ".join(part for part in numbers if part), style("task-list--numbers"))
        if status == "lost":
            third.append(" · ", style("task-list--numbers"))
            third.append(f"no contact for {since}", style("task-list--lost"))

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
