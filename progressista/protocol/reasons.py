"""Why a task ended ``error``: the reason every surface shows, read from the task's ``meta``.

The client records it (:mod:`.runs` names the keys): ``meta.error`` is the
exception as ``"Type: message"``, ``meta.signal`` the signal that ended the
process (``"SIGTERM"``), ``meta.exit_code`` a run's exit status. The cards of
both dashboards, ``tasks ls``, ``wait`` and a group's run head row
(:mod:`.groups`) all say it through :func:`reason`; the browser's
``static/js/protocol.js`` restates it as ``reasonOf`` (the tests run both on the
same tasks).

>>> reason({"status": "error", "meta": {"error": "KeyError: 'id'"}})
"KeyError: 'id'"
>>> reason({"status": "error", "meta": {"signal": "SIGTERM"}}), reason({"status": "close", "meta": {"error": "x"}})
('SIGTERM', '')
>>> reason_text("ValueError: two\\nlines\\x1b[31m"), exit_code({"meta": {"exit_code": 3}})
('ValueError: two lines [31m', 3)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .runs import META_ERROR, META_EXIT_CODE, META_SIGNAL
from .task import MAX_ERROR

__all__ = ["error_text", "exit_code", "reason", "reason_text"]

# Line breaks, tabs and control characters (a terminal would obey an escape sequence) read as one space.
_BREAKS = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029]+")


def reason_text(value: object) -> str:
    """``value`` as one line a card can show: breaks and control characters as single spaces, at most
    :data:`~progressista.protocol.task.MAX_ERROR` characters (cut with ``…``); ``""`` for anything not text."""
    if not isinstance(value, str):
        return ""
    flat = _BREAKS.sub(" ", value).strip(" ")
    return flat if len(flat) <= MAX_ERROR else flat[: MAX_ERROR - 1] + "…"


def _meta(task: Mapping[str, Any], key: str) -> Any:
    meta = task.get("meta")
    return meta.get(key) if isinstance(meta, Mapping) else None


def error_text(task: Mapping[str, Any]) -> str:
    """The exception an ``error`` task ended with (``"KeyError: 'id'"``); ``""`` if none, or not ``error``."""
    return reason_text(_meta(task, META_ERROR)) if task.get("status") == "error" else ""


def reason(task: Mapping[str, Any]) -> str:
    """Why an ``error`` task ended: its exception, else its signal; ``""`` for any other task, or none known."""
    if task.get("status") != "error":
        return ""
    return error_text(task) or reason_text(_meta(task, META_SIGNAL))


def exit_code(task: Mapping[str, Any]) -> int | None:
    """A run task's ``meta.exit_code`` (``0``, ``1``, ``143``, ``-15``: as the client saw it), else ``None``."""
    code = _meta(task, META_EXIT_CODE)
    return code if isinstance(code, int) and not isinstance(code, bool) else None
