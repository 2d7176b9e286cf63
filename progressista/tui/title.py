"""The terminal's window title: the board's counts, as the browser sets its tab's.

>>> window_title({"a": {"status": "update"}, "b": {"status": "error"}, "c": {"status": "lost"}})
'(1 failed) 1 active, 1 lost · Progressista'
>>> window_title({}, offline=True)
'⚠ Progressista'
>>> osc_title("(1 failed) 1 active · Progressista")
'\\x1b]0;(1 failed) 1 active · Progressista\\x07'

The title holds numbers and fixed words only, never task text; :func:`osc_title`
still drops every control or invisible character from what it writes, so no
string can end the sequence early and smuggle another one in.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["POP_TITLE", "PUSH_TITLE", "osc_title", "window_title"]

#: XTWINOPS: save the terminal's title before the dashboard sets its own, and put it back at exit
#: (terminals that do not keep a stack of titles ignore both).
PUSH_TITLE = "\x1b[22;0t"
POP_TITLE = "\x1b[23;0t"


def window_title(tasks: Mapping[str, Mapping[str, Any]], *, offline: bool = False) -> str:
    """``(2 failed) 5 active, 1 stale, 1 lost · Progressista``; ``⚠`` leads while the feed is down.

    The same words and order as the browser's tab title (``static/js/main.js``, ``updateTitle``).
    """
    held = Counter(str(task.get("status")) for task in tasks.values())
    parts = [
        f"{count} {word}"
        for count, word in (
            (held["start"] + held["update"], "active"),
            (held["stale"], "stale"),
            (held["lost"], "lost"),
        )
        if count
    ]
    lead = ("⚠ " if offline else "") + (f"({held['error']} failed) " if held["error"] else "")
    return lead + (f"{', '.join(parts)} · Progressista" if parts else "Progressista")


def osc_title(title: str) -> str:
    """The OSC 0 sequence that sets the window (and icon) title to ``title``, less any control character."""
    kept = "".join(char for char in title if unicodedata.category(char)[0] != "C" and char not in "\u2028\u2029")
    return f"\x1b]0;{kept}\x07"
