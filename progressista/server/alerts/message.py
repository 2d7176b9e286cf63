"""What a notification says: a title naming the subject and the state, a body with what to know (pure).

>>> from .watch import Trigger
>>> task = {"desc": "Loading", "n": 40, "total": 100, "unit": "rows", "host": "w3", "pid": 7, "status": "error",
...         "created_at": 0.0, "updated_at": 725.0, "meta": {"error": "KeyError: 'id'"}}
>>> title, body = compose(Trigger("error", "nightly:load", "task", "s", task), now=725.0, public_url="https://p.example")
>>> title
'error: nightly:load'
>>> print(body)
Loading
error: KeyError: 'id'
progress: 40/100 rows (40%)
host: w3, pid 7
run: nightly
ran for: 12:05
https://p.example/static/index.html#task=nightly%3Aload
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from progressista.protocol.format import format_amount, format_duration, format_percent, fraction
from progressista.protocol.groups import group_of
from progressista.protocol.history import USUAL_FIELD
from progressista.protocol.reasons import reason
from progressista.protocol.task import finite
from progressista.protocol.text import shown_id, shown_text

from .watch import Trigger

__all__ = ["TEST_BODY", "TEST_TITLE", "compose", "task_link"]

TEST_TITLE = "test: Progressista alerts"
TEST_BODY = "A test notification from the Progressista server: this target works."

#: Members of a group a body names, at most.
NAMED_MEMBERS = 5

_HEADLINES = {
    "error": "{subject} failed",
    "lost": "{subject}: its process is no longer heard from (lost)",
    "stale": "{subject} stopped making progress (stale)",
    "close": "{subject} finished",
    "resolved": "{subject} moves again",
}


def task_link(public_url: str, task_id: str) -> str:
    """The dashboard opened on a task (``…/static/index.html#task=ID``)."""
    return f"{public_url.rstrip('/')}/static/index.html#task={quote(task_id, safe='')}"


def _line(text: object) -> str:
    return " ".join(shown_text(text).split()) if isinstance(text, str) else ""


def _task_lines(task: Mapping[str, Any], subject: str, now: float) -> list[str]:
    lines = []
    if desc := _line(task.get("desc")):
        lines.append(desc)
    if why := reason(task):
        lines.append(f"error: {why}")
    amount = format_amount(task.get("n"), task.get("total"), task.get("unit") or "it")
    share = fraction(task)
    lines.append(f"progress: {amount}" + (f" ({format_percent(share)})" if share is not None else ""))
    host, pid = _line(task.get("host")), task.get("pid")
    if host or pid is not None:
        lines.append("host: " + ", ".join(part for part in (host, f"pid {pid}" if pid is not None else "") if part))
    if (group := group_of(subject)) is not None:
        lines.append(f"run: {shown_id(group)}")
    started = finite(task.get("created_at"))
    if started is not None:
        ended = finite(task.get("updated_at")) if task.get("status") in ("close", "error") else None
        lines.append(f"ran for: {format_duration((ended if ended is not None else now) - started)}")
    if (expected := finite(task.get(USUAL_FIELD))) is not None:
        lines.append(f"usually takes: {format_duration(expected)}")
    return lines


def _group_lines(members: Mapping[str, Mapping[str, Any]]) -> list[str]:
    counts = Counter(str(task.get("status")) for task in members.values())
    lines = [", ".join(f"{count} {status}" for status, count in sorted(counts.items())) + f" of {len(members)}"]
    failed = [(member, task) for member, task in members.items() if task.get("status") in ("error", "lost")]
    for member, task in failed[:NAMED_MEMBERS]:
        why = reason(task) or str(task.get("status"))
        lines.append(f"- {shown_id(member)}: {why}")
    if len(failed) > NAMED_MEMBERS:
        lines.append(f"- and {len(failed) - NAMED_MEMBERS} more")
    return lines


def compose(trigger: Trigger, now: float, public_url: str = "") -> tuple[str, str]:
    """The ``(title, body)`` of the notification for ``trigger``."""
    subject = shown_id(trigger.subject)
    title = f"{trigger.state}: {subject}"
    if trigger.kind == "group":
        lines = _group_lines(trigger.members)
        link = f"{public_url.rstrip('/')}/static/index.html" if public_url else ""
    else:
        lines = _task_lines(trigger.task, trigger.subject, now)
        link = task_link(public_url, trigger.subject) if public_url else ""
    if link:
        lines.append(link)
    return title, "\n".join(lines)
