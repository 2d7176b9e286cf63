"""Task text that would drive a terminal or pass for another task (issues 21 and 23), and how to spot it in output.

Shared by the raw pseudo-terminal tests of every terminal output, the pilot test
of ``progressista watch`` and the browser's.
"""

from __future__ import annotations

from typing import Any

#: Window title (OSC 0), clear screen (CSI 2J), clipboard write (OSC 52), conceal, and C1 CSI / OSC / ST.
ESCAPES = "evil\x1b]0;pwned\x07\x1b[2J\x1b]52;c;aGVsbG8=\x07\x1b[8m\x9b31m\x9d0;c1\x9c"
#: An id that carries them too, with a right-to-left override at its end.
HOSTILE_ID = "term:\x1b]0;id\x07\u202e"
SHOWN_HOSTILE_ID = "term:<U+001B>]0;id<U+0007><U+202E>"
#: Ids that would read as ``etl:load``: a zero-width space in it, a right-to-left override reversing it.
LOOK_ALIKES = {
    "etl:lo\u200bad": "etl:lo<U+200B>ad",
    "etl:\u202edaol": "etl:<U+202E>daol",
    "etl:load\ufeff": "etl:load<U+FEFF>",
}
PLAIN_ID, PLAIN_DESC = "etl:load", "Loading rows"

#: Byte sequences of the payloads a terminal would obey; the programs' own colours and cursor moves are none of them.
OBEYED = (
    b"\x1b]",  # OSC: title, clipboard
    b"\x1b[2J",
    b"\x1b[8m",
    b"\x07",
    *(bytes([0xC2, code]) for code in range(0x80, 0xA0)),  # C1 controls, as UTF-8
    "\u202e".encode(),
    "\u200b".encode(),
    "\ufeff".encode(),
)


def hostile_tasks() -> list[dict[str, Any]]:
    """Events for a task carrying the payloads in every field, look-alike ids, and a plain one (the control)."""
    return [
        {
            "task_id": HOSTILE_ID,
            "status": "error",
            "desc": ESCAPES,
            "unit": "rows\x1b[2J",
            "postfix": "loss\x1b]0;x\x07",
            "host": "node\x1b]52;c;aGVsbG8=\x07",
            "n": 3,
            "total": 10,
            "meta": {"error": ESCAPES, "note": "n\x1b]0;t\x07\u202e"},
        },
        *({"task_id": task_id, "status": "update", "n": 1, "total": 2} for task_id in LOOK_ALIKES),
        {"task_id": PLAIN_ID, "status": "update", "desc": PLAIN_DESC, "n": 1, "total": 2},
    ]


def obeyed(raw: bytes) -> list[bytes]:
    """Which payload sequences ``raw`` (a terminal's input) holds."""
    return [sequence for sequence in OBEYED if sequence in raw]
