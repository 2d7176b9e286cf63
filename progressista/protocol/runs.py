"""The run task: the one task a ``progressista run`` or ``exec`` posts for the program itself.

Its id is the run id followed by ``:run``, so it is a member of the run's group
(the part of an id before its first ``:``); its ``meta`` says what it is and,
once it ended, how:

>>> run_task_id("train-1203-1015-9f3a")
'train-1203-1015-9f3a:run'
>>> is_run_task({"task_id": "train-1:run", "meta": {"kind": "run", "exit_code": 0}})
True
>>> is_run_task({"task_id": "train-1:run", "meta": {}})  # a bar that happens to have that id
False

- ``meta.kind = "run"``;
- ``meta.exit_code``: the program's exit code once it ended (128 + N after signal N);
- ``meta.error``: why it failed, ``"Type: message"`` (:data:`~.task.MAX_ERROR` characters
  at most; bars ended by an exception carry it too), ``meta.signal`` the signal that killed it.

A run task has no progress of its own (its bars have): it is active while its
process is heard from (the heartbeat), ``lost`` when it is not, never ``stale``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["META_ERROR", "META_EXIT_CODE", "META_KIND", "META_SIGNAL", "RUN_KIND", "is_run_task", "run_task_id"]

#: ``meta`` keys the run task (and, for the reason, any failed bar) carries.
META_KIND = "kind"
META_EXIT_CODE = "exit_code"
META_ERROR = "error"
META_SIGNAL = "signal"
#: ``meta.kind`` of a run task.
RUN_KIND = "run"

_SUFFIX = ":" + RUN_KIND


def run_task_id(run_id: str) -> str:
    """The id of the run task of ``run_id``."""
    return run_id + _SUFFIX


def is_run_task(task: Mapping[str, Any]) -> bool:
    """Is ``task`` (a task or an event) a run task? Its ``meta.kind`` says so."""
    meta = task.get("meta")
    return isinstance(meta, Mapping) and meta.get(META_KIND) == RUN_KIND
