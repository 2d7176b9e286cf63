"""The Redis store's Lua scripts (``lua/*.lua``), rendered from the contract before they are loaded.

A script that needs one of the contract's sets (which fields are bookkeeping,
which statuses are final) holds ``local NAME = { --[[NAME]] }``: valid Lua as
written (an empty table), filled in here, so the Lua and the Python merge read
one definition.

>>> print(render("local SEEN = { --[[SEEN]] }", "example.lua", SEEN=["b", "it's"]))
local SEEN = { ['b'] = true, ['it\\'s'] = true }
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from importlib.resources import files

__all__ = ["json_texts", "lua_script", "render"]

_PLACEHOLDER = re.compile(r"--\[\[([A-Z_]+)\]\]")


def lua_script(name: str, **sets: Iterable[str]) -> str:
    """The text of ``lua/<name>`` with its placeholders filled in (see :func:`render`)."""
    return render((files("progressista.server") / "lua" / name).read_text(encoding="utf-8"), name, **sets)


def render(text: str, name: str, **sets: Iterable[str]) -> str:
    """Replace each ``--[[NAME]]`` with the entries of a Lua set of ``sets[NAME]``.

    Raises ``RuntimeError`` for a placeholder without a set, or a set without a placeholder.
    """
    used: set[str] = set()

    def fill(found: re.Match[str]) -> str:
        key = found.group(1)
        if key not in sets:
            raise RuntimeError(f"lua/{name}: nothing given for {found.group(0)}")
        used.add(key)
        return ", ".join(f"[{_lua_text(value)}] = true" for value in sorted(sets[key]))

    rendered = _PLACEHOLDER.sub(fill, text)
    if unused := sorted(set(sets) - used):
        raise RuntimeError(f"lua/{name} has no placeholder for {', '.join(unused)}")
    return rendered


def json_texts(statuses: Iterable[str]) -> list[str]:
    """Statuses as the task hashes hold them (JSON text), which is what the scripts compare."""
    return [json.dumps(status) for status in statuses]


def _lua_text(value: str) -> str:
    """A Lua string literal of ``value``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
