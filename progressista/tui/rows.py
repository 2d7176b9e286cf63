"""One row of a column on screen: a :class:`~progressista.cards.RowText` fit to a width, as Strips.

What a row says is :mod:`progressista.cards`' (pure, shared with the tests); this
module only lays it out: the title cut to fit with the age flush right, the bar
as wide as the column allows, every span in its ``task-list--…`` component style,
and the cursor's background over a selected row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from progressista.cards import RowText, Span, bar_parts

__all__ = ["CARD_HEIGHT", "fit", "natural_width", "paint"]

#: Lines per row, task card or group: title, bar, numbers, details (a group's member counts), and a blank.
CARD_HEIGHT = 5
#: Bar cells when a row is painted at its natural width.
_NATURAL_BAR = 20
#: The percentage's cells, right-aligned after the bar.
_PERCENT = 5

#: A style by its component name (``"age"`` for ``task-list--age``).
Styles = Callable[[str], Style]


def paint(row: RowText, width: int, style: Styles, console: Console, cursor: Style | None = None) -> list[Strip]:
    """``row`` as :data:`CARD_HEIGHT` strips ``width`` cells wide; ``cursor`` (a background) marks a selected row."""
    styled = _Styled(style)
    lead = _text((row.lead,), styled)
    inner = max(1, width - lead.cell_len)
    title = _text(row.title, styled)
    title.truncate(max(1, inner - cell_len(row.age) - 1), overflow="ellipsis")
    gap = max(1, inner - title.cell_len - cell_len(row.age))
    first = Text.assemble(lead, title, " " * gap, (row.age, styled("age")))
    done, rest = bar_parts(row.share, max(1, inner - _PERCENT))
    bar = (
        row.lead,
        (done, row.bar),
        (rest, "bar-rest" if row.share is not None else "bar-unknown"),
        (f"{row.percent:>{_PERCENT}}", "numbers"),
    )
    lines = [fit(first, width, console)]
    lines += [
        fit(_text(spans, styled), width, console) for spans in (bar, (row.lead, *row.numbers), (row.lead, *row.details))
    ]
    if cursor is not None:
        lines = [_overlay(line, cursor) for line in lines]
    lines.append(Strip.blank(width))
    return lines


def natural_width(row: RowText) -> int:
    """The width at which nothing of ``row`` is cut (with a bar of a few cells)."""
    lead = cell_len(row.lead[0])
    title = sum(cell_len(text) for text, _ in row.title) + 1 + cell_len(row.age)
    numbers = sum(cell_len(text) for text, _ in row.numbers)
    details = sum(cell_len(text) for text, _ in row.details)
    return lead + max(title, numbers, details, _NATURAL_BAR + _PERCENT)


class _Styled:
    """Span styles by their names (``"group gutter-error"``: two, combined), each looked up once per row."""

    def __init__(self, style: Styles) -> None:
        self.style = style
        self.found: dict[str, Style] = {"": Style.null()}

    def __call__(self, names: str) -> Style:
        found = self.found.get(names)
        if found is None:
            parts = names.split()
            found = self.style(parts[0]) if len(parts) == 1 else Style.combine(map(self.style, parts))
            self.found[names] = found
        return found


def _text(spans: Iterable[Span], styled: _Styled) -> Text:
    return Text.assemble(*((part, styled(names)) for part, names in spans))


def fit(text: Text, width: int, console: Console) -> Strip:
    """One line of ``text``, cut with an ellipsis or padded to ``width`` cells."""
    text.truncate(width, overflow="ellipsis")
    return Strip(list(text.render(console)), text.cell_len).crop_extend(0, width, None)


def _overlay(strip: Strip, style: Style) -> Strip:
    """``style`` on top of every segment (component styles carry the list's own background)."""
    segments = [Segment(text, base + style if base else style, control) for text, base, control in strip]
    return Strip(segments, strip.cell_length)
