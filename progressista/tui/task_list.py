""":class:`TaskList`, one column of the dashboard: a Line API widget with a cursor, rendering only what is on screen.

It renders only the lines on screen; each row's lines (a task card, or a group's
aggregate, painted by :mod:`.rows`) are cached until that task or that group
changes (or its age ticks, or it turns slower than usual), and a change that keeps the order repaints only
those rows. So redraw cost follows the screen size, not the number of tasks.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from progressista.board import Board, Column, Item, RowKey
from progressista.cards import RowText, group_clock, group_row, is_slow, task_clock, task_row

from .rows import CARD_HEIGHT, fit, natural_width, paint

__all__ = ["TaskList"]


class TaskList(ScrollView, can_focus=True):
    """One column: task cards and group rows (tasks sharing a ``prefix:``), with a cursor; renders only visible lines.

    The cursor sits on a task or on a group row; ``enter``/``space`` folds the
    group under the cursor (the app keeps which rows are folded). Tests read a
    row's text with :meth:`row_text`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # ScrollView binds left/right to horizontal scrolling; here they change column.
        # The tooltips are what the ? screen says (help.py); keys sharing a description share its row.
        Binding("left", "app.column(-1)", "Column", key_display="←→", tooltip="Previous / next column"),
        Binding("right", "app.column(1)", "Column", show=False, tooltip="Previous / next column"),
        Binding("up", "cursor(-1)", "Select", key_display="↑↓", tooltip="Select the row above / below"),
        Binding("down", "cursor(1)", "Select", show=False, tooltip="Select the row above / below"),
        Binding("enter", "app.toggle_group", "Fold group", key_display="⏎/space", tooltip="Fold or unfold the group"),
        Binding("space", "app.toggle_group", "Fold group", show=False, tooltip="Fold or unfold the group"),
        Binding("pageup", "page(-1)", "Page", show=False, tooltip="A page up / down"),
        Binding("pagedown", "page(1)", "Page", show=False, tooltip="A page up / down"),
        Binding("home", "edge(0)", "Ends", show=False, tooltip="The first / last row"),
        Binding("end", "edge(1)", "Ends", show=False, tooltip="The first / last row"),
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
        "task-list--gutter-slow",
        "task-list--badge-stale",
        "task-list--badge-lost",
        "task-list--badge-error",
        "task-list--lost",
        "task-list--slow",
        "task-list--group",
        "task-list--cursor",
        "task-list--empty",
    }

    def __init__(self, column: str, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.column = column
        self.clock = clock
        self.view = Column(column)
        """What the column shows: its entries, top to bottom, and each group's tasks here."""
        self.board = Board()
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
    def items(self) -> tuple[Item, ...]:
        return self.view.items

    @property
    def members(self) -> Mapping[str, tuple[str, ...]]:
        """Per group in this column, its tasks here (what ``d`` on its row removes)."""
        return self.view.members

    @property
    def task_ids(self) -> list[str]:
        """The task cards on show, top to bottom (members of a folded group are not)."""
        return self.view.task_ids

    @property
    def groups(self) -> list[str]:
        """The group rows, top to bottom."""
        return self.view.groups

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

    def row_text(self, key: RowKey, width: int | None = None) -> list[str] | None:
        """The plain text of the row ``("task", task_id)`` or ``("group", prefix)``, line by line, as painted.

        At ``width`` cells, or by default wide enough that nothing is cut (the
        numbers line holds the figures of :func:`~progressista.protocol.format.task_figures`
        or :func:`~progressista.protocol.format.group_figures` whole); trailing
        blanks stripped, the blank line between rows left out. ``None`` when
        this column shows no such row (elsewhere, folded away, filtered out).
        """
        item = self.item(key)
        if item is None:
            return None
        row = self._describe(item, self.clock())[1]()
        lines = paint(row, width or natural_width(row), self._styled, self.app.console)
        return [line.text.rstrip() for line in lines[:-1]]

    def show(self, column: Column, board: Board, changed: set[RowKey]) -> None:
        """Take this column's new entries; repaint only what moved or changed (``changed``: the rows that did)."""
        self.board = board
        for key in changed:
            self._cards.pop(key, None)
        old = self.view
        self.view = column
        if column.items != old.items:
            old_index = self._rows.get(self.cursor, 0) if self.cursor is not None else 0
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
                empty = Text(self.empty_text, self._styled("empty"))
                return fit(empty, width, self.app.console).apply_style(base)
            return Strip.blank(width, base)
        row = bisect_right(self._starts, line) - 1
        if row < 0 or row >= len(self.items):
            return Strip.blank(width, base)
        offset = line - self._starts[row]
        if offset >= CARD_HEIGHT:
            return Strip.blank(width, base)
        return self._card(self.items[row], width)[offset].apply_style(base)

    def _styled(self, name: str) -> Style:
        return self.get_component_rich_style(f"task-list--{name}")

    def _describe(self, item: Item, now: float) -> tuple[tuple[Any, ...], Callable[[], RowText]]:
        """What a row's cached lines depend on besides its data (the text that ticks), and how to build its text."""
        if item.kind == "group":
            group = self.board.aggregate(item.key) or {}
            return (item.collapsed, group_clock(group, now)), partial(group_row, item.key, group, now, item.collapsed)
        task = self.board.tasks.get(item.key, {})
        # Slower than usual comes with the clock, no event needed: the tick repaints a card that crosses it.
        ticks = (item.indent, *task_clock(task, now), is_slow(task, now))
        return ticks, partial(task_row, item.key, task, now, item.indent)

    def _card(self, item: Item, width: int) -> list[Strip]:
        """A row's lines, cached until its task or group changes or its clock text ticks."""
        row_key: RowKey = (item.kind, item.key)
        selected = self.has_focus and self.cursor == row_key
        ticks, build = self._describe(item, self.clock())
        key = (width, selected, *ticks)
        cached = self._cards.get(row_key)
        if cached is not None and cached[0] == key:
            return cached[1]
        self.cards_built += 1
        cursor = Style(bgcolor=self._styled("cursor").bgcolor) if selected else None
        lines = paint(build(), width, self._styled, self.app.console, cursor)
        self._cards[row_key] = (key, lines)
        return lines
