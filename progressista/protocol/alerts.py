"""Alerts: the states a rule can fire on, and the record ``GET /alerts`` lists.

A rule (the server's alerts file) fires when a task *enters* one of
:data:`TASK_STATES`, when an open task becomes slower than usual (:data:`SLOW`:
running longer than 1.5 times its key's usual duration, see
:mod:`.history`), or when a group *completes* (:data:`GROUP_STATES`):
``group_done`` when every member ended and none failed, ``group_error`` when
every member ended (``close``, ``error`` or ``lost``) and at least one failed
or was lost. ``resolved`` follows a ``stale`` or ``lost`` alert when that task
moves again; ``test`` is what ``progressista alerts test`` sends.

A record (one alert, sent to every target of its rule)::

    {"id": "…", "at": 1764800000.0, "rule": "nightly failures", "state": "error",
     "subject": "nightly-etl:load", "kind": "task", "title": "error: nightly-etl:load",
     "targets": [{"target": "json://127.0.0.1:9000/hook", "outcome": "sent", "tries": 1}]}

``outcome`` is ``sent`` or ``failed: <why>``. Targets are shown with their
secrets masked (:func:`masked_target`): a Slack or Telegram URL holds the key.

>>> group_state({"close": 3}), group_state({"close": 2, "lost": 1}), group_state({"close": 2, "update": 1})
('group_done', 'group_error', None)
>>> masked_target("slack://T000/B000/XXXXXXXX"), masked_target("json://127.0.0.1:9000/hook?token=abc")
('slack://…', 'json://127.0.0.1:9000/…')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args
from urllib.parse import urlsplit

__all__ = [
    "ALERT_STATES",
    "GROUP_STATES",
    "OUTCOME_SENT",
    "RULE_STATES",
    "SLOW",
    "TASK_STATES",
    "AlertState",
    "group_state",
    "masked_target",
]

TaskState = Literal["error", "lost", "stale", "close"]
GroupState = Literal["group_done", "group_error"]
#: States a task fires on when it enters them.
TASK_STATES: tuple[TaskState, ...] = get_args(TaskState)
#: States a group fires on when it completes.
GROUP_STATES: tuple[GroupState, ...] = get_args(GroupState)
#: A task running longer than :data:`~.history.SLOW_FACTOR` times its key's usual duration.
SLOW = "slow"
#: What a rule's ``on`` may list.
RULE_STATES: tuple[str, ...] = (*TASK_STATES, SLOW, *GROUP_STATES)

AlertState = Literal["error", "lost", "stale", "close", "slow", "group_done", "group_error", "resolved", "test"]
#: Every state an alert record can have.
ALERT_STATES: tuple[AlertState, ...] = get_args(AlertState)

#: The outcome of a target that took the notification; others are ``failed: <why>``.
OUTCOME_SENT = "sent"

_OPEN = ("start", "update", "stale")
_FAILED = ("error", "lost")

# Hosts whose URLs name a local receiver: shown up to the path, which may hold a key.
_SCHEMES_WITH_HOST = ("json", "jsons", "form", "forms", "xml", "xmls", "ntfy", "ntfys")


def group_state(counts: Mapping[str, int]) -> GroupState | None:
    """``group_done``/``group_error`` for a group whose members' statuses are counted in ``counts``;
    ``None`` while a member is still open (start, update, stale), or for no members."""
    if not any(counts.values()) or any(counts.get(status, 0) for status in _OPEN):
        return None
    return "group_error" if any(counts.get(status, 0) for status in _FAILED) else "group_done"


def masked_target(url: str) -> str:
    """A target URL fit to list: the scheme, and the host for generic webhooks; never the path or keys."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _SCHEMES_WITH_HOST and parts.hostname:
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:  # not a number: not shown
            port = ""
        return f"{scheme}://{parts.hostname}{port}/…"
    return f"{scheme}://…"
