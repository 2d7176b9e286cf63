"""The Rich table of ``progressista tasks ls``: one row per task, most recently updated first.

Task text (ids, descriptions, units, reasons) comes from the network, so cells are built as
:class:`rich.text.Text`, never parsed as markup, from the text as
:mod:`progressista.protocol.text` shows it: an ESC sequence in a desc reaches the
terminal as ``<U+001B>[2J``, never as the byte (Rich's ``Text`` itself drops only
BEL, BS, VT, FF and CR, and would pass ESC through). A ``lost`` task (no contact:
its process died or hung hard) reads apart from a ``stale`` one (alive, no
progress): its own colour, ``⚠ lost``, and how long it has been silent where a
running task shows its ETA. A failed task's reason
(:func:`progressista.protocol.reasons.reason`: ``KeyError: 'id'``, or the signal)
has a line of its own under the task, wrapped rather than cut. The figures are
those of the dashboards (:func:`progressista.protocol.format.task_figures`), the
order and bars :mod:`progressista.board`'s and :mod:`progressista.cards`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from progressista.board import newest_first, seen_at, updated_at
from progressista.cards import bar_parts, shown_figures
from progressista.protocol.format import eta_seconds, format_age, format_duration, format_since, fraction, task_figures
from progressista.protocol.reasons import reason
from progressista.protocol.statuses import STATUS_LABELS
from progressista.protocol.text import shown_id, shown_text

__all__ = ["BAR_WIDTH", "DESC_MIN", "STATUS_STYLES", "task_table"]

#: Bar cells from 140 columns up.
BAR_WIDTH = 16
#: The description's columns: at most (the rest of a longer one is cut with …), and kept before a long id is cut.
DESC_MAX = 40
DESC_MIN = 16
#: Below this the description goes instead of cutting the id further.
DESC_LEAST = 8
#: An id is cut no shorter than this.
ID_MIN = 12
ELLIPSIS = "…"
HEADERS = ("Status", "Description", "Progress", "Done", "Rate", "ETA", "Updated", "Task ID")
STATUS_STYLES = {
    "start": "cyan",
    "update": "green",
    "stale": "yellow",
    "lost": "bold magenta",
    "close": "dim",
    "error": "bold red",
}
#: The bar's colour per status; running ones are green.
BAR_STYLES = {"stale": "yellow", "lost": "magenta", "close": "dim", "error": "red"}
#: What the Status cell says, where it differs from the label the dashboards use.
STATUS_TEXT = {"lost": "⚠ lost"}


def task_table(tasks: Mapping[str, Mapping[str, Any]], now: float, title: str | None = None, width: int = 160) -> Table:
    """A table of ``tasks`` with ages measured at ``now``, fit for a terminal ``width`` columns wide.

    Below 110 columns the bar shrinks to its percentage and the rate goes. The
    description and the task id share what room is left: both whole when they
    fit; else the description keeps at least :data:`DESC_MIN` columns and a long
    id is cut in its middle (``train-0605…k7q3-1``: the run and the bar's number
    stay), with a caption that says so (``--json`` prints ids whole). Only when
    not even that fits does the description go.
    """
    compact = width < 110
    bar_width = 0 if compact else BAR_WIDTH if width >= 140 else 10
    order = newest_first(tasks)
    rows = [_cells(task_id, tasks[task_id], now, bar_width) for task_id in order]
    shown = [header for header in HEADERS if not (compact and header == "Rate")]
    natural = {header: max([len(header), *(row[header].cell_len for row in rows)]) for header in shown}
    # What the description and the id share: a blank divider and one cell of padding per gap.
    room = width - 2 * (len(shown) - 1) - sum(natural[h] for h in shown if h not in ("Description", "Task ID"))
    desc_width, id_width = _share(room, min(natural["Description"], DESC_MAX), natural["Task ID"])
    if desc_width == 0:
        shown.remove("Description")
    cut = False
    if id_width < natural["Task ID"]:
        for row in rows:
            cut = _elide(row, id_width) or cut
    table = Table(
        title=title,
        title_justify="left",
        caption=f"{ELLIPSIS} in a task id: cut to fit; tasks ls --json prints ids whole" if cut else None,
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for header in shown:
        if header == "Description":
            table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=desc_width)
        elif header == "Task ID":
            table.add_column(header, overflow="fold")  # only when even the id cut short does not fit
        else:
            left = header == "Status" or (header == "Progress" and not compact)
            table.add_column(header, no_wrap=True, justify="left" if left else "right")
    # A reason goes under the description (else under the id), wrapped within that column.
    under = "Description" if "Description" in shown else "Task ID"
    for task_id, row in zip(order, rows, strict=True):
        table.add_row(*(row[header] for header in shown))
        why = shown_text(reason(tasks[task_id]))
        if why:
            line = Text(f"↳ {why}", STATUS_STYLES["error"], no_wrap=False, overflow="fold")
            table.add_row(*(line if header == under else Text("") for header in shown))
    return table


def _share(room: int, desc: int, task_id: int) -> tuple[int, int]:
    """Columns for the description and the id (``0`` for the description: leave it out).

    >>> _share(80, 30, 40), _share(40, 30, 40), _share(30, 30, 40), _share(16, 30, 40)
    ((30, 40), (16, 24), (16, 14), (0, 16))
    """
    if desc + task_id <= room:
        return desc, task_id
    desc_width = max(min(desc, DESC_MIN), room - task_id)
    id_width = max(room - desc_width, min(task_id, ID_MIN))
    desc_width = room - id_width
    if desc_width < min(desc, DESC_LEAST):
        return 0, max(room, ID_MIN)
    return desc_width, id_width


def _elide(row: dict[str, Text], width: int) -> bool:
    """Cut the row's id to ``width`` cells in its middle; whether it was cut."""
    text = row["Task ID"].plain
    if len(text) <= width or cell_len(text) != len(text):  # wide characters: left to the column's fold
        return False
    head = (width - 1) // 2
    tail = width - 1 - head
    row["Task ID"] = Text(f"{text[:head]}{ELLIPSIS}{text[len(text) - tail :]}")
    return True


def _cells(task_id: str, task: Mapping[str, Any], now: float, bar_width: int) -> dict[str, Text]:
    status = str(task.get("status", ""))
    desc = task.get("desc")
    figures = shown_figures(task_figures(task))
    label = shown_text(STATUS_TEXT.get(status) or STATUS_LABELS.get(status, status))  # an unknown one is text
    if status == "lost":  # no ETA: how long nothing was heard
        eta = Text(f"no contact {format_since(now - seen_at(task))}", STATUS_STYLES["lost"])
    elif status == "stale":
        eta = Text(f"idle {format_since(now - updated_at(task))}", STATUS_STYLES["stale"])
    else:
        eta = Text(format_duration(eta_seconds(task)))
    return {
        "Status": Text(label, STATUS_STYLES.get(status, "")),
        "Description": Text(shown_text(desc) if isinstance(desc, str) else ""),
        "Progress": _bar(fraction(task), figures["percent"], status, bar_width),
        "Done": Text(figures["amount"]),
        "Rate": Text(figures["rate"]),
        "ETA": eta,
        "Updated": Text(format_age(now - updated_at(task)), "dim"),
        "Task ID": Text(shown_id(task_id)),
    }


def _bar(share: float | None, percent: str, status: str, width: int) -> Text:
    if not width:
        return Text(percent or "?", "" if share is not None else "magenta")
    done, rest = bar_parts(share, width)
    text = Text(done, BAR_STYLES.get(status, "green"))
    text.append(rest, "grey30" if share is not None else "magenta")
    text.append(f" {percent:>4}")
    return text
