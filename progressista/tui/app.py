"""``progressista watch``: the Textual dashboard. :data:`create_app` (:class:`WatchApp` itself) builds it everywhere.

Data flow: the :class:`~.feed.Feed` worker posts Messages; handlers only update
the :class:`~progressista.board.Board` and note which rows changed; a timer lays
the board out at most every ``refresh_interval`` seconds and hands each column
(a :class:`~.task_list.TaskList`) its entries, so a burst of messages costs one
layout and repaints only what changed (the changed tasks and the rows of their
groups). Discards run ``requests`` calls in thread workers that post Messages back.

Groups (ids sharing a ``prefix:``) have a row in every column that holds some of
their tasks, each showing the whole group's aggregate (the server's, when its
feed carries group rows); ``enter``/``space`` folds the row under the cursor,
``g`` folds or unfolds every group. A test reads a row's text with
:meth:`TaskList.row_text <.task_list.TaskList.row_text>`.

History: a task whose key has history (its ``usual_duration``) says ``usual 12:23`` beside its
ETA, and once it has run 1.5 times that, ``slower than usual`` in a colour of its own
(:func:`~progressista.cards.task_row`); the once-a-second tick repaints a card that crosses
the line, no event needed.

Roles: the app asks ``GET /access`` at start and on every (re)connection. A
token that may not delete (``read``) gets no discard or clear keys (hidden from
the footer, inert) and "read-only" in the header; an ``admin`` token, an open
server, or a server too old to answer (404) gets them all, as before roles (the
server is the one that enforces them). A token that may not read (``ingest``)
is refused by the feed, and the server's words say which token watching needs.

Alerts: the header shows the newest alert of ``GET /alerts`` (``⚑ error:
nightly:load 2m ago (3 today)``), ``a`` lists the recent ones with each
target's outcome. The app asks at start, on every (re)connection, when a delta
shows a task entering a state a rule can fire on (or leaving stale or lost: a
``resolved``), at most once every :data:`~.alerts.ALERTS_DEBOUNCE` seconds, again
while the server is still sending some, and every :data:`~.alerts.ALERTS_REFRESH`
seconds; a server without rules, or too old for ``/alerts`` (404), shows
nothing and is not asked again until the next connection.

Narrow terminals: below :data:`~.widgets.WIDE_FROM` columns (the screen's ``-narrow``
breakpoint) the board shows one column at a time, full width, under a tab bar
with each column's count; ``1``/``2``/``3`` or ``←``/``→`` switch, and the footer
keeps only the keys used most. ``?`` lists every key (:mod:`.help`, read from the
bindings). The terminal's window title holds the counts, as the browser's tab
does (:mod:`.title`; saved at start and put back at exit where the terminal can).

>>> app = create_app("http://localhost:8000", token="s3cret")  # doctest: +SKIP
>>> app.run()  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input

from progressista.api import ApiError, ProgressistaApi
from progressista.board import Board, Column, RowKey, parse_terms
from progressista.config import DEFAULT_REQUEST_TIMEOUT
from progressista.protocol.alerts import TASK_STATES
from progressista.protocol.feed import Backoff
from progressista.protocol.groups import group_of
from progressista.protocol.roles import REFUSAL_START
from progressista.protocol.statuses import COLUMN_TITLES, COLUMNS, column_of
from progressista.protocol.text import shown_id, shown_text
from progressista.protocol.urls import server_urls

from .alerts import ALERTS_DEBOUNCE, ALERTS_LIMIT, ALERTS_REFRESH, AlertsScreen, latest_alert
from .feed import Feed
from .help import HelpScreen, KeyRow, key_rows
from .messages import (
    Access,
    Alerts,
    Connected,
    Connecting,
    Delta,
    Disconnected,
    Removed,
    RequestFailed,
    Snapshot,
    Unauthorized,
)
from .task_list import TaskList
from .title import POP_TITLE, PUSH_TITLE, osc_title, window_title
from .widgets import WIDE_FROM, ColumnHeader, ColumnTabs, ConfirmScreen, ConnectionBar, KeyFooter

__all__ = ["RedrawStats", "WatchApp", "create_app"]

#: The actions that delete on the server: only for a token that may (``admin``).
DELETING_ACTIONS = frozenset({"discard", "clear"})
#: What a task's status may become for an alert to follow (``resolved``: leaving stale or lost).
_ALERTING = frozenset(TASK_STATES)
_QUIET = frozenset({"stale", "lost"})
#: Screens over the board: its keys do not act behind them (``q`` still quits).
_OVERLAYS = (AlertsScreen, HelpScreen)
_BY_NUMBER = "Show Active / Needs attention / Completed"


@dataclass
class RedrawStats:
    """What laying out the board has cost so far (read by the tests and the benchmark)."""

    layouts: int = 0
    last_ms: float = 0.0
    max_ms: float = 0.0
    total_ms: float = 0.0
    messages: int = 0


class WatchApp(App[None]):
    """Three columns of live tasks: active, needs attention (stale or lost), completed (one at a time when narrow).

    ``url`` is any form :func:`~progressista.protocol.urls.server_urls` takes;
    ``token`` defaults to a ``?token=`` in it. Raises ``ValueError`` for a URL
    that names no server. Built through :data:`create_app`.
    """

    CSS_PATH = "watch.tcss"
    TITLE = "Progressista"
    ENABLE_COMMAND_PALETTE = False
    # The screen's class: "-narrow" shows one column at a time (watch.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]

    # The tooltips are what the ? screen says (help.py); keys sharing a description share its row.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Help: every key (this list)"),
        Binding("left", "column(-1)", "Column", key_display="←→", tooltip="Previous / next column"),
        Binding("right", "column(1)", "Column", show=False, tooltip="Previous / next column"),
        Binding("1", "show_column('active')", "Show column", show=False, tooltip=_BY_NUMBER),
        Binding("2", "show_column('stale')", "Show column", show=False, tooltip=_BY_NUMBER),
        Binding("3", "show_column('completed')", "Show column", show=False, tooltip=_BY_NUMBER),
        Binding("d", "discard", "Discard", tooltip="Discard the selected task (on a group row: its tasks here)"),
        Binding("g", "fold_all", "Fold all", tooltip="Fold or unfold every group"),
        Binding("c", "clear('completed')", "Clear completed", tooltip="Clear completed: remove every finished task"),
        Binding("s", "clear('stale')", "Clear attention", tooltip="Clear attention: remove every stale and lost task"),
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Filter by words of the id, description, host…"),
        Binding("escape", "close_filter", "Clear filter", show=False),
        Binding("a", "alerts", "Alerts", tooltip="Alerts: the recent ones and where they went"),
        Binding("r", "reconnect", "Reconnect", tooltip="Reconnect now"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        backoff: Backoff | None = None,
        refresh_interval: float = 0.2,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.server = server_urls(url)
        self.token = token or self.server.token
        self.request_timeout = request_timeout
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.board = Board()
        self.feed = Feed(url, self.token, self.post_message, backoff=backoff)
        self.stats = RedrawStats()
        self.terms: tuple[str, ...] = ()
        self._changed: set[RowKey] = set()
        self._dirty = False
        self._last_list = "active"
        self.fold_all = False
        """Whether groups start folded (``g`` flips it and forgets the rows folded one by one)."""
        self.flipped: set[tuple[str, str]] = set()
        """``(column, prefix)`` of the group rows folded (or, under ``fold_all``, unfolded) by hand."""
        self.layout: dict[str, Column] = {}
        """What the last layout showed, per column."""
        self.can: frozenset[str] | None = None
        """What ``GET /access`` said the token may do (``None``: not known, so everything, as before roles)."""
        self.alerts: list[dict[str, Any]] = []
        """The recent alerts ``GET /alerts`` listed, newest first (what the ``a`` screen shows)."""
        self.alert_rules: int | None = None
        """How many rules the server has (``None``: not known yet, or a server without ``/alerts``)."""
        self.alerts_answered = False
        """Whether ``GET /alerts`` answered once (an older server's 404 counts)."""
        self._alerts_off = False  # no rules, or no /alerts: not asked again before the next connection
        self._alerts_asked = -ALERTS_DEBOUNCE
        self._alerts_busy = False
        self._alerts_again = False
        self._alerts_settle = 0
        self._alerts_timer: Timer | None = None
        # Held, not queried: a message handled as run_test tears the screen down still finds them.
        self.connection = ConnectionBar(self.server.base, id="connection")
        self.tabs = ColumnTabs(id="tabs")
        self.terminal_title = ""
        """The window title last written (the counts, :func:`~.title.window_title`)."""
        self.headers = {name: ColumnHeader(name, id=f"{name}-header") for name in COLUMNS}
        self.lists = {name: TaskList(name, clock=clock, id=name) for name in COLUMNS}

    # -- layout ----------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.connection
        yield self.tabs
        with Horizontal(id="board"):
            for name in COLUMNS:
                with Vertical(classes=f"column column-{name}" + (" -current" if name == "active" else "")):
                    yield self.headers[name]
                    yield self.lists[name]
        yield Input(placeholder="Filter: words of the id, description, postfix, host or meta", id="filter")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._ask_access()
        self.want_alerts()
        self.run_worker(self.feed.run(), name="feed", group="feed", exclusive=True)
        self.set_interval(self.refresh_interval, self.flush)
        self.set_interval(1.0, self._tick)
        self.set_interval(ALERTS_REFRESH, self._refresh_alerts)
        self.column("active").focus()
        self._write_terminal(PUSH_TITLE)
        self._show_title()

    def on_unmount(self) -> None:
        self._write_terminal(POP_TITLE)

    @property
    def narrow(self) -> bool:
        """Whether the board shows one column at a time (fewer than :data:`~.widgets.WIDE_FROM` columns)."""
        return self.size.width < WIDE_FROM

    def _write_terminal(self, sequence: str) -> None:
        # Textual 8 sets no window title of its own; like its clipboard and bell, write straight to the driver.
        if self._driver is not None:  # a headless driver (run_test) writes nothing
            self._driver.write(sequence)
            self._driver.flush()

    def _show_title(self) -> None:
        """Set :attr:`terminal_title` (and the terminal's title) to the counts, when they changed."""
        offline = self.connection.state in ("reconnecting", "unauthorized")
        title = window_title(self.board.tasks, offline=offline)
        if title != self.terminal_title:
            self.terminal_title = self.title = title  # App.title: what a web driver's page is called
            self._write_terminal(osc_title(title))

    def column(self, name: str) -> TaskList:
        """The column ``name`` (``active``, ``stale`` or ``completed``); tests read its rows."""
        return self.lists[name]

    def flush(self) -> None:
        """Lay out the board if anything changed since the last time (the repaint throttle)."""
        if not self._dirty:
            return
        started = time.perf_counter()
        rows, self._changed, self._dirty = self._changed, set(), False
        self.layout = self.board.columns(self.terms, self.folded)
        for name, column in self.layout.items():
            self.headers[name].show(column)
            self.column(name).show(column, self.board, rows)
        self.tabs.show(self.layout, sum(task.get("status") == "error" for task in self.board.tasks.values()))
        self._show_title()
        elapsed = (time.perf_counter() - started) * 1000
        self.stats.layouts += 1
        self.stats.last_ms = elapsed
        self.stats.total_ms += elapsed
        self.stats.max_ms = max(self.stats.max_ms, elapsed)

    def folded(self, column: str, prefix: str) -> bool:
        """Whether the row of group ``prefix`` in ``column`` hides its tasks."""
        return self.fold_all != ((column, prefix) in self.flipped)

    def _tick(self) -> None:
        # Ages, "slower than usual" and the "last message" time move with the clock: repaint what is on screen.
        self.connection.refresh()
        for name in COLUMNS:
            self.column(name).refresh()

    # -- feed messages ---------------------------------------------------

    def on_connecting(self, message: Connecting) -> None:
        if self.connection.state != "reconnecting":
            self.connection.set_state("connecting")
        self._show_title()

    def on_connected(self, message: Connected) -> None:
        self.connection.set_state("connected")
        self._show_title()
        self._ask_access()  # a reconnection may have reached a server restarted with other tokens
        self._alerts_off = False  # ... or with other rules
        self.want_alerts()

    def on_snapshot(self, message: Snapshot) -> None:
        self._received(self.board.replace(message.tasks, message.groups))

    def on_delta(self, message: Delta) -> None:
        if not self._alerts_off and self._may_alert(message.tasks):
            self.want_alerts(settle=True)
        self._received(self.board.apply(message.tasks, message.removed, message.groups, message.groups_removed))

    def _may_alert(self, tasks: Mapping[str, Any]) -> bool:
        """Whether a task of a delta enters a state a rule can fire on, or leaves stale or lost (before it applies)."""
        known = self.board.tasks
        for task_id, task in tasks.items():
            if not isinstance(task, Mapping):
                continue
            status, before = task.get("status"), known.get(task_id, {}).get("status")
            if status != before and (status in _ALERTING or before in _QUIET):
                return True
        return False

    def _received(self, changed: set[RowKey]) -> None:
        self.stats.messages += 1
        self._changed |= changed
        self._dirty = True
        self.connection.last_message = time.time()

    def on_disconnected(self, message: Disconnected) -> None:
        detail = f"{message.reason} (attempt {message.attempt})"
        self.connection.set_state("reconnecting", detail, retry_in=message.retry_in)
        self._show_title()

    def on_unauthorized(self, message: Unauthorized) -> None:
        self.call_after_refresh(self._show_title)  # once the bar says unauthorized
        start = message.reason.find(REFUSAL_START)
        if start < 0:
            hint = "pass --token or set PROGRESSISTA_API_TOKEN; r retries"
            self.connection.set_state("unauthorized", f"{message.reason}; {hint}")
            return
        # A token of another role (ingest): the server's words lead, as the bar may be too narrow for more.
        refusal = message.reason[start:]
        self.connection.set_state("unauthorized", f"{refusal}; r retries")
        self.notify(
            f"The server refused the live feed: {shown_text(refusal)}. "
            "Start watch with one (--token or PROGRESSISTA_API_TOKEN).",
            severity="error",
            markup=False,
            timeout=30,
        )

    # -- actions ---------------------------------------------------------

    @property
    def may_delete(self) -> bool:
        """Whether the token may discard and clear (not known counts as yes: the server still decides)."""
        return self.can is None or "admin" in self.can

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides the binding from the footer and makes its key do nothing.
        if isinstance(self.screen, _OVERLAYS):  # the board's keys do not act behind the list
            return action == "quit"
        return self.may_delete or action not in DELETING_ACTIONS

    def _focused_list(self) -> TaskList:
        focused = self.focused
        return focused if isinstance(focused, TaskList) else self.column(self._last_list)

    def on_descendant_focus(self) -> None:
        if isinstance(self.focused, TaskList):
            self._last_list = self.focused.column
            self._mark_current(self._last_list)

    def _mark_current(self, name: str) -> None:
        """Make ``name`` the column a narrow screen shows (and its tab the highlighted one)."""
        for column in COLUMNS:
            self.column(column).parent.set_class(column == name, "-current")  # type: ignore[union-attr]
        self.tabs.current = name

    def action_column(self, step: int) -> None:
        index = COLUMNS.index(self._focused_list().column)
        self.action_show_column(COLUMNS[(index + step) % len(COLUMNS)])

    def action_show_column(self, name: str) -> None:
        """Show and focus the column ``name`` (on a narrow screen, in place of the one shown)."""
        self._mark_current(name)  # first: a column a narrow screen hides would not take the focus
        self.column(name).focus()

    def action_help(self) -> None:
        """Open the list of every key."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_rows()))

    def key_rows(self) -> list[KeyRow]:
        """The ``?`` screen's rows: the board's keys, a column's first (as Textual resolves them), then the app's."""
        return key_rows(
            (TaskList.BINDINGS, self.BINDINGS),
            self.get_key_display,
            lambda action: self.may_delete or action.partition("(")[0] not in DELETING_ACTIONS,
        )

    def action_toggle_group(self) -> None:
        """Fold or unfold the group under the cursor (on a task of a group: its group, and go to its row)."""
        tasks = self._focused_list()
        prefix = tasks.selected_group
        if prefix is None and tasks.selected is not None:
            item = tasks.item(("task", tasks.selected))
            prefix = group_of(tasks.selected) if item is not None and item.indent else None
        if prefix is None:
            return
        self.flipped ^= {(tasks.column, prefix)}
        self._dirty = True
        self.flush()
        tasks.select(("group", prefix))

    def action_fold_all(self) -> None:
        """Fold every group, or unfold them all when every group row on show is folded."""
        rows = [item for column in self.layout.values() for item in column.items if item.kind == "group"]
        self.fold_all = not (rows and all(item.collapsed for item in rows))
        self.flipped.clear()
        self._dirty = True
        self.flush()

    def action_discard(self) -> None:
        if not self.may_delete:
            return
        tasks = self._focused_list()
        prefix = tasks.selected_group
        if prefix is not None:
            self._discard_group(tasks, prefix)
            return
        task_id = tasks.selected
        if task_id is None or task_id not in self.board.tasks:
            self.notify("No task selected", severity="warning")
            return

        def remove(api: ProgressistaApi) -> list[str]:
            removed = api.delete_ids([task_id])
            if not removed:
                raise ApiError("no such task on the server (already removed?)", 404)
            return removed

        self._request(f"discard {shown_id(task_id)}", remove)  # what the notifications name: task text, shown

    def _discard_group(self, tasks: TaskList, prefix: str) -> None:
        """``d`` on a group row: remove, after a confirmation, the group's tasks this column shows."""
        ids = list(tasks.members.get(prefix, ()))
        if not ids:
            return
        count = f"the {len(ids)} tasks" if len(ids) > 1 else "the task"
        where = COLUMN_TITLES[tasks.column]

        def answered(yes: bool | None) -> None:
            if yes:
                self._request(f"discard group {shown_id(prefix)}", lambda api: api.delete_ids(ids))

        self.push_screen(ConfirmScreen(f"Remove {count} of {shown_id(prefix)} in {where} from the server?"), answered)

    def action_clear(self, column: str) -> None:
        if not self.may_delete:
            return
        # The statuses this column holds right now ("stale", maybe "lost"): names the server sent, so it knows them.
        held = Counter(
            str(task.get("status")) for task in self.board.tasks.values() if column_of(task.get("status")) == column
        )
        count = sum(held.values())
        if not count:
            self.notify("No completed tasks to clear" if column == "completed" else "Nothing needs attention")
            return
        noun = "task" if count == 1 else "tasks"
        if column == "completed":
            label, what = "completed tasks", f"{count} completed {noun}"
        else:  # say how many are lost: they may be worth a look before they go
            split = ", ".join(f"{held[status]} {status}" for status in ("stale", "lost") if held[status])
            label, what = "tasks needing attention", f"{count} {noun} needing attention ({split})"

        def answered(yes: bool | None) -> None:
            if yes:
                self._request(f"clear {label}", lambda api: api.delete_tasks(status=",".join(sorted(held))))

        self.push_screen(ConfirmScreen(f"Remove all {what} from the server?"), answered)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("-visible")
        field.focus()

    def action_close_filter(self) -> None:
        field = self.query_one("#filter", Input)
        if field.value or field.has_class("-visible"):
            field.value = ""
            field.remove_class("-visible")
            self._set_terms("")
            self.column(self._last_list).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._set_terms(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("-visible")
        self.column(self._last_list).focus()

    def _set_terms(self, text: str) -> None:
        terms = parse_terms(text)
        if terms != self.terms:
            self.terms = terms
            self._dirty = True
            self.flush()

    def action_alerts(self) -> None:
        """Open the list of recent alerts (and ask for the newest)."""
        if isinstance(self.screen, AlertsScreen):
            return
        self.push_screen(AlertsScreen(self.alerts, self.alert_rules, answered=self.alerts_answered))
        if not self._alerts_off:
            self.want_alerts()

    def action_reconnect(self) -> None:
        self.feed.reconnect_now()
        self.connection.set_state("connecting")

    # -- REST ------------------------------------------------------------

    def _ask_access(self) -> None:
        def work() -> None:
            try:
                with ProgressistaApi(self.server.base, self.token, timeout=self.request_timeout) as api:
                    answer = api.access()
            except ApiError:
                return  # a 404 (a server older than roles) or a failure: keep what is known; the feed says why
            access = _access(answer)
            if access is not None:
                self.post_message(access)

        self.run_worker(work, name="access", group="access", thread=True, exit_on_error=False)

    def on_access(self, message: Access) -> None:
        self.can = message.can
        self.connection.read_only = not self.may_delete and "read" in message.can
        self.refresh_bindings()

    def want_alerts(self, *, settle: bool = False) -> None:
        """Ask ``GET /alerts`` now, or once :data:`~.alerts.ALERTS_DEBOUNCE` seconds have passed since the last ask.

        ``settle``: look once more after that answer (a rule's alert is recorded once it is sent).
        """
        if settle:
            self._alerts_settle = 1
        if self._alerts_busy:
            self._alerts_again = True
            return
        if self._alerts_timer is not None:
            return
        delay = self._alerts_asked + ALERTS_DEBOUNCE - time.monotonic()
        if delay > 0:
            self._alerts_timer = self.set_timer(delay, self._ask_alerts)
        else:
            self._ask_alerts()

    def _refresh_alerts(self) -> None:
        if not self._alerts_off:
            self.want_alerts()

    def _ask_alerts(self) -> None:
        self._alerts_timer = None
        self._alerts_busy = True
        self._alerts_asked = time.monotonic()

        def work() -> None:
            answer: Alerts = Alerts(None, None)  # a failure: what is known stays; the feed says why
            try:
                with ProgressistaApi(self.server.base, self.token, timeout=self.request_timeout) as api:
                    answer = _alerts(api.alerts(ALERTS_LIMIT))
            except ApiError as exc:
                if exc.status_code in (403, 404):  # a server older than alerts, or a token that may not read
                    answer = Alerts([], None)
            finally:
                self.post_message(answer)  # always: it ends the ask

        self.run_worker(work, name="alerts", group="alerts", thread=True, exit_on_error=False)

    def on_alerts(self, message: Alerts) -> None:
        self._alerts_busy = False
        if message.records is not None:
            self.alerts, self.alert_rules, self.alerts_answered = message.records, message.rules, True
            self._alerts_off = not message.rules
            self.connection.alert = latest_alert(message.records, time.time()) if message.rules else None
            top = self.screen_stack[-1] if self.screen_stack else None  # none left while the app exits
            if isinstance(top, AlertsScreen):
                top.show(self.alerts, self.alert_rules)
        again, self._alerts_again = self._alerts_again, False
        if again:
            self.want_alerts()
        elif self._alerts_off:
            self._alerts_settle = 0
        elif message.pending > 0:  # still being sent: their records come once they are
            self.want_alerts()
        elif self._alerts_settle > 0:
            self._alerts_settle -= 1
            self.want_alerts()

    def _request(self, what: str, call: Callable[[ProgressistaApi], list[str]]) -> None:
        def work() -> None:
            try:
                with ProgressistaApi(self.server.base, self.token, timeout=self.request_timeout) as api:
                    removed = call(api)
            except ApiError as exc:
                self.post_message(RequestFailed(what, _explain(exc)))
            else:
                self.post_message(Removed(what, removed))

        self.run_worker(work, name=what, group="api", thread=True, exit_on_error=False)

    def on_removed(self, message: Removed) -> None:
        count = len(message.removed)
        if message.what.startswith("discard group"):
            self.notify(f"Discarded {count} {'task' if count == 1 else 'tasks'} of {message.what[14:]}", markup=False)
        elif message.what.startswith("discard"):
            self.notify(f"Discarded {shown_id(message.removed[0]) if count == 1 else count}", markup=False)
        else:
            self.notify(f"Removed {count} {'task' if count == 1 else 'tasks'}", markup=False)

    def on_request_failed(self, message: RequestFailed) -> None:
        failure = f"Could not {message.action}: {shown_text(message.message)}"  # the server's words may quote an id
        self.notify(failure, severity="error", markup=False, timeout=8)


def _access(answer: dict[str, Any]) -> Access | None:
    """The :class:`Access` message for an answer of ``GET /access``; ``None`` for one that does not parse."""
    role, can = answer.get("role"), answer.get("can")
    if not isinstance(role, str) or not isinstance(can, list) or not all(isinstance(word, str) for word in can):
        return None
    return Access(role, frozenset(can))


def _alerts(answer: dict[str, Any]) -> Alerts:
    """The :class:`Alerts` message for an answer of ``GET /alerts`` (records that do not parse are left out)."""
    records, rules, pending = answer.get("alerts"), answer.get("rules"), answer.get("pending")
    if not isinstance(records, list) or not isinstance(rules, int) or isinstance(rules, bool):
        return Alerts(None, None)
    kept = [record for record in records if isinstance(record, dict)]
    return Alerts(kept, rules, pending if isinstance(pending, int) and not isinstance(pending, bool) else 0)


def _explain(exc: ApiError) -> str:
    if exc.status_code == 403:  # a token of another role: the server names the one needed
        return f"{exc.detail} (HTTP 403)"
    if exc.status_code == 401:
        return "the server refused the token (HTTP 401)"
    return str(exc)


create_app = WatchApp
"""The dashboard's one factory, for the CLI, the tests, the benchmark and the scripts:
``create_app(url, token=None, *, backoff=None, refresh_interval=0.2, request_timeout=…, clock=time.time)``."""
