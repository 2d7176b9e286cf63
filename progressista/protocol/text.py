"""How task text is shown: the one rule every surface applies to what a client sent.

Task text (the id, ``desc``, ``unit``, ``postfix``, ``host``, ``meta`` values,
a failure's reason) comes from anyone who can post a task. Written to a terminal
as sent, an ESC sequence in it would set the window title, clear the screen or
(OSC 52) write the clipboard; anywhere, a right-to-left override or a
zero-width space would let one id pass for another. So every dashboard, the
terminal's and the browser's, shows such characters as a visible marker,
``<U+XXXX>`` (the character's code point, as Unicode writes it), and the stored
task keeps what was sent:

>>> shown_text("evil\\x1b]0;pwned\\x07 done\\tok")
'evil<U+001B>]0;pwned<U+0007> done ok'
>>> shown_id("etl:lo\\u200bad"), shown_id("report\\u202etxt.exe")
('etl:lo<U+200B>ad', 'report<U+202E>txt.exe')
>>> shown_text("🧑\\u200d💻 Training"), shown_id("🧑\\u200d💻")  # joiners stay in text, never in an id
('🧑\\u200d💻 Training', '🧑<U+200D>💻')

Two rules, one stricter than the other:

- :func:`shown_text`, for descriptions, units, postfixes, hosts, meta values and
  reasons: a tab reads as a space; every other control character (C0, DEL, C1:
  category ``Cc``), lone surrogate (``Cs``), line or paragraph separator (``Zl``,
  ``Zp``) and invisible format character (``Cf``: bidirectional embeddings,
  overrides, isolates and marks, zero-width spaces, the BOM, the soft hyphen…)
  becomes a marker, except the zero-width joiner and non-joiner (U+200C,
  U+200D) that emoji and several scripts are written with. An escape sequence
  loses its ESC (or C1 introducer) and so is only text; nothing is dropped, so
  nothing can be hidden by dropping.
- :func:`shown_id`, for task ids (and group prefixes, which are their first
  part): an id is what ``tasks rm`` and ``wait`` take and the only thing that
  tells two tasks apart, so besides all of the above the tab, the joiners, every
  space other than U+0020 (``Zs``: no-break, thin, ideographic…) and the blank
  letters and invisible marks of :data:`INVISIBLE_EXTRAS` (Hangul fillers,
  variation selectors, the braille blank) are markers too.

The browser's ``static/js/text.js`` restates both as ``shownText`` and
``shownId``; the cases in ``text_cases.json`` are run against both, and the
tests compare the two character by character over every code point this
Python's Unicode database assigns. Look-alike letters of other scripts (a
Cyrillic ``а`` for a Latin ``a``) are shown as they are: they are visible text.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["INVISIBLE_EXTRAS", "JOINERS", "marker", "shown_id", "shown_text"]

#: Zero-width joiner and non-joiner: kept in text (emoji sequences, Persian, Indic scripts), marked in ids.
JOINERS = frozenset({"\u200c", "\u200d"})
#: Printable by Unicode's categories, yet blank or invisible: marked in ids.
INVISIBLE_EXTRAS = "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef"

_TEXT_MARKED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_EXTRAS = re.compile(f"[{INVISIBLE_EXTRAS}]")


def marker(char: str) -> str:
    """How a character that may not be shown as itself is shown: ``<U+001B>``.

    >>> marker("\\x1b"), marker("\\U000e0001")
    ('<U+001B>', '<U+E0001>')
    """
    return f"<U+{ord(char):04X}>"


def shown_text(text: str) -> str:
    """``text`` (a desc, unit, postfix, host, meta value or reason) as every dashboard shows it.

    >>> shown_text("plain, ünïcödé ✓"), shown_text("a\\u2028b\\x9b2J\\u00adc")
    ('plain, ünïcödé ✓', 'a<U+2028>b<U+009B>2J<U+00AD>c')
    """
    if text.isprintable():  # no control, format or separator character: the common case, fast
        return text
    return "".join(_text_char(char) for char in text)


def shown_id(task_id: str) -> str:
    """A task id (or group prefix) as every dashboard shows it: :func:`shown_text`'s markers, and more.

    >>> shown_id("run-42:rank-0"), shown_id("a\\tb\\u00a0c\\u3164")
    ('run-42:rank-0', 'a<U+0009>b<U+00A0>c<U+3164>')
    """
    if task_id.isprintable() and not _EXTRAS.search(task_id):
        return task_id
    return "".join(marker(char) if _id_marks(char) else char for char in task_id)


def _text_char(char: str) -> str:
    if char == "\t":
        return " "
    if char in JOINERS or unicodedata.category(char) not in _TEXT_MARKED:
        return char
    return marker(char)


def _id_marks(char: str) -> bool:
    category = unicodedata.category(char)
    return category in _TEXT_MARKED or (category == "Zs" and char != " ") or _EXTRAS.match(char) is not None
