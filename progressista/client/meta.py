"""A bar's ``meta``: free JSON shown by the dashboards, made acceptable to the server.

The server refuses meta that is not JSON, holds NaN or infinities, or passes
:data:`~progressista.protocol.task.MAX_META_BYTES` (and with it the whole
event), so a bar cleans its meta once, when it is set:

>>> safe_meta({"run": 7, "tags": ("a", "b"), "loss": float("nan"), 1: None})
({'run': 7, 'tags': ['a', 'b'], 'loss': 'nan', '1': None}, 48)
>>> safe_meta({"blob": "x" * 20_000})  # too big: dropped, the bar still reports
({}, 2)
>>> meta_with({"rank": 1}, {"signal": "SIGTERM"})
{'rank': 1, 'signal': 'SIGTERM'}

A bar (or a run) ended by an exception says why, in one line, as Python's
traceback ends:

>>> failure_meta(KeyError("id"))
{'error': "KeyError: 'id'"}
>>> failure_meta(KeyboardInterrupt())
{'signal': 'SIGINT'}
"""

from __future__ import annotations

import json
import logging
import numbers
from collections.abc import Mapping
from typing import Any, cast

from ..protocol.task import MAX_ERROR, MAX_META_BYTES, finite
from .event import number

__all__ = ["bar_meta", "error_text", "failure_meta", "is_failure", "json_safe", "json_size", "meta_with", "safe_meta"]

log = logging.getLogger("progressista")


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON, measured as the server measures; raises if it is not JSON."""
    return len(json.dumps(value, allow_nan=False, separators=(",", ":")))


def bar_meta(defaults: Mapping[str, Any] | None, given: Any) -> tuple[dict[str, Any], int]:
    """A new bar's meta (its class's default meta updated with the ``meta=`` given), made safe; and its size."""
    if given is None and not defaults:
        return {}, 2
    merged = dict(defaults or {})
    if isinstance(given, Mapping):
        merged.update(given)
    elif given is not None:
        log.debug("progressista: meta must be a dict, got %s; ignored", type(given).__name__)
    return safe_meta(merged)


def safe_meta(meta: Any) -> tuple[dict[str, Any], int]:
    """``meta`` as JSON the server accepts, and its size; ``({}, 2)`` when that is impossible."""
    if not isinstance(meta, Mapping):
        log.debug("progressista: meta must be a dict, got %s; dropped", type(meta).__name__)
        return {}, 2
    safe = cast(dict[str, Any], json_safe(meta))
    try:
        size = json_size(safe)
    except (TypeError, ValueError):  # cannot happen after json_safe, but never raise into the user
        log.debug("progressista: meta is not JSON; dropped", exc_info=True)
        return {}, 2
    if size > MAX_META_BYTES:
        log.debug("progressista: meta is %d bytes of JSON, over the %d limit; dropped", size, MAX_META_BYTES)
        return {}, 2
    return safe, size


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` with everything JSON cannot hold made a string: keys, NaN, objects, nesting past 32 levels."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if finite(value) is not None else str(value)
    if depth > 32:
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, numbers.Number):
        converted = number(value)
        return converted if converted is not None else str(value)
    return str(value)


def meta_with(meta: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` updated with ``extra``; just ``meta`` if that would pass the server's size limit.

    For a final event's additions (the signal that ended the job): the final
    event must not be refused for them.
    """
    merged = {**meta, **extra}
    try:
        size = json_size(merged)
    except (TypeError, ValueError):
        return dict(meta)
    return merged if size <= MAX_META_BYTES else dict(meta)


def is_failure(exc: BaseException | None) -> bool:
    """Does ``exc``, ending a bar's block or loop, make it an ``error``?

    Not ``None``, a ``GeneratorExit`` (a loop left early) or a successful ``SystemExit``.

    >>> is_failure(ValueError()), is_failure(GeneratorExit()), is_failure(SystemExit(0)), is_failure(SystemExit(2))
    (True, False, False, True)
    """
    if exc is None or isinstance(exc, GeneratorExit):
        return False
    return not isinstance(exc, SystemExit) or exc.code not in (None, 0)


def failure_meta(exc: BaseException | None) -> dict[str, Any] | None:
    """What a final ``error`` adds to the meta for ``exc``: why the bar (or run) ended.

    ``{"signal": "SIGINT"}`` for a ``KeyboardInterrupt`` (what Python makes of
    Ctrl-C), ``{"error": "Type: message"}`` for any other exception (see
    :func:`error_text`), ``None`` without one.
    """
    if exc is None:
        return None
    if isinstance(exc, KeyboardInterrupt):
        return {"signal": "SIGINT"}
    return {"error": error_text(exc)}


def error_text(exc: BaseException) -> str:
    """``"Type: message"``, the last line of Python's traceback for ``exc``: its first line, cut to ``MAX_ERROR``.

    Built-in exceptions are named bare, others with their module, as the traceback does:

    >>> error_text(RuntimeError("boom at 40\\nsecond line")), error_text(ValueError())
    ('RuntimeError: boom at 40', 'ValueError')
    >>> import json
    >>> error_text(json.JSONDecodeError("Expecting value", "", 0))
    'json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)'
    """
    kind = type(exc)
    name = (
        kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    )
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not hide the failure itself
        message = "<exception str() failed>"
    first = message.strip().split("\n", 1)[0].strip()
    return (f"{name}: {first}" if first else name)[:MAX_ERROR]
