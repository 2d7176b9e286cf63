"""The wire format's fields: their limits, a task's defaults, and which fields are progress.

The client cuts its values to the limits, the server refuses longer ones (422).
"What counts as progress" is named here once: the client's heartbeat, the
server's merge (:func:`progressista.server.tasks.merge`) and the Redis merge
script (``server/lua/merge.lua``, rendered from :data:`BOOKKEEPING`) all use it.

>>> "n" in PROGRESS_FIELDS, "elapsed" in PROGRESS_FIELDS
(True, False)
>>> finite(2.5), finite(float("nan")), finite(True), finite("3"), finite(10**400)
(2.5, None, None, None, None)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BOOKKEEPING",
    "EVENT_FIELDS",
    "MAX_DESC",
    "MAX_ERROR",
    "MAX_HOST",
    "MAX_META_BYTES",
    "MAX_POSTFIX",
    "MAX_SEQ",
    "MAX_TASK_ID",
    "MAX_UNIT",
    "PROGRESS_FIELDS",
    "SERVER_FIELDS",
    "TASK_DEFAULTS",
    "finite",
]

# Field limits: the server refuses longer values (422), the client cuts its values to fit.
MAX_TASK_ID = 256
MAX_DESC = 1_000
MAX_UNIT = 64
MAX_POSTFIX = 1_000
MAX_HOST = 256
MAX_META_BYTES = 16 * 1024
#: ``meta.error`` (``"Type: message"``) is cut to this many characters.
MAX_ERROR = 500
#: The largest ``seq`` and ``pid`` (2**53 - 1): every integer up to it is exact as a
#: double, so the Redis store's Lua (whose numbers are doubles), the memory store and
#: JavaScript (``Number.MAX_SAFE_INTEGER``) compare them alike. Larger values get 422.
MAX_SEQ = 2**53 - 1

_FLOAT_MAX = sys.float_info.max

#: Every field an event may carry, in the order the docs list them.
EVENT_FIELDS = (
    "task_id",
    "status",
    "desc",
    "unit",
    "n",
    "total",
    "timestamp",
    "elapsed",
    "rate",
    "postfix",
    "meta",
    "seq",
    "host",
    "pid",
)

#: Every field a task has, with its value before any event set it (dashboards never test for presence).
TASK_DEFAULTS: Mapping[str, Any] = {
    "desc": None,
    "n": 0,
    "total": None,
    "unit": "it",
    "timestamp": None,
    "elapsed": None,
    "rate": None,
    "postfix": None,
    "meta": {},
    "seq": None,
    "host": None,
    "pid": None,
}

#: What the server adds to a task, on its own clock.
SERVER_FIELDS = ("created_at", "updated_at", "seen_at")

#: Fields that describe the message or the clock rather than the work: a change in
#: these alone is not progress (elapsed grows and the rate drifts while a stuck bar
#: sends heartbeats). They are stored, but dashboards are not told.
BOOKKEEPING = frozenset({"timestamp", "seq", "elapsed", "rate"})
#: The fields whose change is progress: it moves ``updated_at`` and revives a stale task.
PROGRESS_FIELDS = tuple(name for name in EVENT_FIELDS if name not in BOOKKEEPING and name not in ("task_id", "status"))


def finite(value: object) -> float | None:
    """``value`` if it is a finite JSON number (not a bool) that a float can hold, else ``None``.

    Task fields come from the network; this is the one check every side makes.
    An integer past the float range (``10**400``) is refused too: a browser would read it as Infinity.
    """
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return value if -_FLOAT_MAX <= value <= _FLOAT_MAX else None
    if type(value) is float or isinstance(value, float):
        return value if math.isfinite(value) else None
    return None
