"""The alerts the server sent, as ``progressista watch`` shows them: a header segment and the ``a`` screen.

The app asks ``GET /alerts`` in a thread worker (see :mod:`.app`) and hands the
records here. The header shows the newest one, compact and coloured by its
state; a server without rules, without alerts yet, or too old to have
``/alerts`` (404) shows nothing. Subjects are task ids or group prefixes (anyone
who can post a task chose them), so they are shown with
:func:`~progressista.protocol.text.shown_id`, the rest with
:func:`~progressista.protocol.text.shown_text`.

>>> note = latest_alert([{"at": 100.0, "state": "error", "subject": "nightly:load"}], now=220.0)
>>> note.text(now=220.0), note.tone
('⚑ error: nightly:load 2m ago (1 today)', 'bad')
>>> latest_alert([], now=0.0) is None
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from progressista.protocol.format import format_age
from progressista.protocol.text import shown_id, shown_text

__all__ = [
    "ALERTS_DEBOUNCE",
    "ALERTS_LIMIT",
    "ALERTS_REFRESH",
    "AlertNote",
    "AlertsScreen",
    "Tone",
    "alert_row",
    "alert_tone",
    "latest_alert",
]

#: How many alerts the app asks for: the header's "today" count says ``50+`` past it.
ALERTS_LIMIT = 50
#: Seconds between two asks at least, however many tasks fail at once.
ALERTS_DEBOUNCE = 2.0
#: Seconds between two asks at most while nothing happens (the next connection asks at once).
ALERTS_REFRESH = 30.0

Tone = Literal["bad", "warn", "good", "dim"]

_TONES: dict[str, Tone] = {
    "error": "bad",
    "lost": "bad",
    "group_error": "bad",
    "stale": "warn",
    "close": "good",
    "group_done": "good",
    "resolved": "good",
}
_TONE_STYLES: dict[Tone, str] = {"bad": "bold red", "warn": "bold yellow", "good": "bold green", "dim": "dim"}


def alert_tone(state: str) -> Tone:
    """How an alert of ``state`` is coloured: failures red, stalls yellow, endings green, the rest (test) dim."""
    return _TONES.get(state, "dim")


def _at(record: Mapping[str, Any]) -> float | None:
    at = record.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        return None
    return float(at)


def _start_of_day(now: float) -> float:
    day = time.localtime(now)
    return time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))


@dataclass(frozen=True)
class AlertNote:
    """The header's alert segment: the newest alert and how many the server sent since local midnight."""

    state: str
    subject: str
    at: float | None
    today: int
    more: bool = False
    """``today`` is only what one page of ``GET /alerts`` held: there may be more."""

    @property
    def tone(self) -> Tone:
        return alert_tone(self.state)

    def text(self, now: float) -> str:
        """``⚑ error: nightly:load 2m ago (3 today)``, every part shown safe."""
        what = shown_text(self.state)
        if self.subject:
            what += f": {shown_id(self.subject)}"
        ago = "" if self.at is None else f" {format_age(now - self.at)}"
        today = f" ({self.today}{'+' if self.more else ''} today)" if self.today else ""
        return f"⚑ {what}{ago}{today}"


def latest_alert(records: Sequence[Mapping[str, Any]], now: float, limit: int = ALERTS_LIMIT) -> AlertNote | None:
    """The :class:`AlertNote` for ``records`` (``GET /alerts``, newest first); ``None`` for none.

    ``limit`` is how many were asked for: a full page that is all of today counts as ``N+``.
    """
    if not records:
        return None
    newest = records[0]
    midnight = _start_of_day(now)
    today = sum(1 for record in records if (at := _at(record)) is not None and at >= midnight)
    return AlertNote(
        state=str(newest.get("state", "")),
        subject=str(newest.get("subject") or ""),
        at=_at(newest),
        today=today,
        more=len(records) >= limit and today == len(records),
    )


def _targets(record: Mapping[str, Any]) -> Text:
    targets = record.get("targets")
    parts: list[str] = []
    for target in targets if isinstance(targets, list) else ():
        if not isinstance(target, Mapping):
            continue
        outcome = shown_text(str(target.get("outcome", "")))
        tries = target.get("tries")
        if isinstance(tries, int) and tries > 1:
            outcome += f" ({tries} tries)"
        parts.append(f"{shown_text(str(target.get('target', '')))} {outcome}")
    return Text(", ".join(parts) or "no targets")


def alert_row(record: Mapping[str, Any]) -> tuple[Text, Text, Text, Text, Text]:
    """One line of the alerts screen: time, state, subject, rule, each target's outcome (Text: never markup)."""
    at = _at(record)
    stamp = "?" if at is None else time.strftime("%a %H:%M:%S", time.localtime(at))
    state = str(record.get("state", ""))
    subject = str(record.get("subject") or "")
    return (
        Text(stamp),
        Text(shown_text(state), style=_TONE_STYLES[alert_tone(state)]),
        Text(shown_id(subject) if subject else "—"),
        Text(shown_text(str(record.get("rule", "")))),
        _targets(record),
    )


class AlertsScreen(ModalScreen[None]):
    """The recent alerts, newest first, with every target's outcome; Escape (or ``a``) closes.

    The app calls :meth:`show` when new ones arrive while it is open; ``rules`` is
    ``None`` for a server that has no ``/alerts`` (older than alerts); ``answered``
    is false before the server answered at all.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,a", "close", "Close", key_display="esc"),
    ]

    def __init__(self, records: Sequence[Mapping[str, Any]], rules: int | None, *, answered: bool = True) -> None:
        super().__init__()
        self.records = list(records)
        self.rules = rules
        self.answered = answered
        self.listed = False
        """Whether the table lists :attr:`records` (it does once the screen is mounted)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="alerts"):
            yield Label("", id="alerts-title", markup=False)
            table: DataTable[Text] = DataTable(id="alerts-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("Time", "State", "Subject", "Rule", "Targets")
            yield table
            yield Label("esc closes", id="alerts-hint", markup=False)

    def on_mount(self) -> None:
        self._draw()
        self.query_one(DataTable).focus()

    @property
    def title_text(self) -> str:
        if not self.answered:
            return "Alerts: asking the server…"
        if self.rules is None:
            return "Alerts: this server does not send them (it has no GET /alerts)"
        if not self.rules:
            return "Alerts: none; the server has no rules (start it with --alerts FILE)"
        if not self.records:
            return f"Alerts: none yet ({self.rules} {'rule' if self.rules == 1 else 'rules'})"
        count = len(self.records)
        return f"Alerts: the {count} most recent, newest first"

    def show(self, records: Sequence[Mapping[str, Any]], rules: int | None) -> None:
        """List ``records`` (newest first) in place of what was shown."""
        self.records, self.rules, self.answered = list(records), rules, True
        if self.listed:  # else on_mount lists them (is_mounted turns true only after on_mount)
            self._draw()

    def _draw(self) -> None:
        self.query_one("#alerts-title", Label).update(self.title_text)
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear()
        for record in self.records:
            table.add_row(*alert_row(record))
        self.listed = True

    def rows(self) -> list[str]:
        """What the table lists, one plain line an alert (the tests read it)."""
        table: DataTable[Text] = self.query_one(DataTable)
        return ["  ".join(cell.plain for cell in table.get_row_at(index)) for index in range(table.row_count)]

    def action_close(self) -> None:
        self.dismiss(None)
