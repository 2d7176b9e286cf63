"""The wire format: what ``POST /progress`` accepts, and how a bad body is explained.

Events are validated straight from the request bytes by one pydantic
``TypeAdapter`` into plain dicts holding only the fields the client sent, which
is exactly what a partial update needs (missing fields keep their value).

Two decoders of one schema: the fast one (msgspec, :class:`_Wire`) accepts a
subset of what :data:`Event` accepts and gives the same dicts; only a body it
refuses goes through pydantic and its Python validators, which accept the rest
(``12.0`` as a count) and word every error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, cast

import msgspec
from msgspec import UNSET, UnsetType
from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from typing_extensions import Required, TypedDict

from progressista.protocol.task import (
    MAX_DESC,
    MAX_HOST,
    MAX_META_BYTES,
    MAX_POSTFIX,
    MAX_SEQ,
    MAX_TASK_ID,
    MAX_UNIT,
    finite,
)

__all__ = [
    "MAX_DESC",
    "MAX_META_BYTES",
    "MAX_TASK_ID",
    "Event",
    "EventBody",
    "event_body_schema",
    "explain",
    "field_problem",
    "parse_events",
]


def _finite_number(value: Any) -> int | float:
    number = finite(value)  # the contract's one check
    if number is not None:
        return number
    # What was wrong: bool is an int in Python but never a count; strings are never numbers here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if isinstance(value, int):
        raise ValueError("must be a finite number a float can hold (at most about 1.8e308)")
    raise ValueError("must be a finite number (no NaN or Infinity)")


#: The metas seen last, by their JSON: the bars of one job send the same meta, and each task holding its
#: own copy cost about 180 bytes a task. Nothing changes a stored meta in place (a new one replaces it).
_METAS: dict[str, dict[str, Any]] = {}
_METAS_KEPT = 10_000

K = TypeVar("K")
V = TypeVar("V")


def _seen(cache: dict[K, V], key: K, value: V) -> V:
    """What ``cache`` holds for ``key``, else ``value``, kept for next time (past :data:`_METAS_KEPT` entries
    the cache starts over)."""
    kept = cache.get(key)
    if kept is None:
        if len(cache) >= _METAS_KEPT:
            cache.clear()
        kept = cache[key] = value
    return kept


def _small_finite_json(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` if its JSON is finite and small enough; an identical meta seen before is returned instead.

    >>> first, second = _small_finite_json({"job": "etl"}), _small_finite_json({"job": "etl"})
    >>> first is second, _small_finite_json({"job": 1}) is _small_finite_json({"job": 1.0})
    (True, False)
    """
    try:
        text = json.dumps(meta, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise ValueError("must not contain NaN or Infinity") from None
    if len(text) > MAX_META_BYTES:
        raise ValueError(f"is {len(text)} bytes of JSON; the limit is {MAX_META_BYTES}")
    return _seen(_METAS, text, meta)


Number = Annotated[
    int | float,
    PlainValidator(_finite_number),
    WithJsonSchema({"type": "number", "description": "finite; NaN and Infinity are refused"}),
]
Meta = Annotated[dict[str, Any], AfterValidator(_small_finite_json)]


def _counter(value: Any) -> int:
    # JSON Schema's integer: 12 or 12.0 (never true), up to where a double still holds every integer.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise ValueError("must be an integer")
    if not 0 <= value <= MAX_SEQ:
        raise ValueError(f"must be from 0 to {MAX_SEQ} (2**53 - 1)")
    return value


#: ``seq`` and ``pid``: whole numbers both stores (and browsers) compare exactly.
Counter = Annotated[
    int,
    PlainValidator(_counter),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_SEQ}),
]


def _text(limit: int) -> Any:
    return Annotated[str, Field(max_length=limit)]


class Event(TypedDict, total=False):
    """One progress event. Only ``task_id`` is required: missing fields keep their value."""

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    task_id: Required[Annotated[str, Field(min_length=1, max_length=MAX_TASK_ID)]]
    status: Literal["start", "update", "close", "error"]
    desc: Annotated[str | None, Field(max_length=MAX_DESC)]
    unit: Annotated[str | None, Field(max_length=MAX_UNIT)]
    n: Number
    total: Number | None
    timestamp: Number | None
    elapsed: Number | None
    rate: Number | None
    postfix: Annotated[str | None, Field(max_length=MAX_POSTFIX)]
    meta: Meta
    seq: Counter | None
    host: Annotated[str | None, Field(max_length=MAX_HOST)]
    pid: Counter | None


def _one_or_many(body: Any) -> str:
    return "many" if isinstance(body, list) else "one"


#: A request body: one event, or a JSON array of them (a batch).
EventBody = Annotated[
    Annotated[Event, Tag("one")] | Annotated[list[Event], Tag("many")],
    Discriminator(_one_or_many),
]
_body: TypeAdapter[Event | list[Event]] = TypeAdapter(EventBody)
_one: TypeAdapter[Event] = TypeAdapter(Event)

# The fast path: msgspec decodes and checks a body in one C pass, 2.5x faster than pydantic-core
# here (60 vs 150 us for 100 events), into a subset of what :data:`Event` accepts with the same dicts
# (tests/test_server_models.py compares them); a body it refuses goes to pydantic, which words the
# errors. Numbers within 64 bits: a larger one, or a float past that range, takes the Python validator.
_Number = (
    Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | Annotated[float, msgspec.Meta(gt=-(2.0**63), lt=2.0**63)]
)
_Counter = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]


def _up_to(limit: int) -> Any:
    return Annotated[str, msgspec.Meta(max_length=limit)]


class _Wire(msgspec.Struct, forbid_unknown_fields=True):
    """:data:`Event` for msgspec, field for field in the same order (an unsent field stays ``UNSET``)."""

    task_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TASK_ID)]
    status: Literal["start", "update", "close", "error"] | UnsetType = UNSET
    desc: _up_to(MAX_DESC) | None | UnsetType = UNSET  # type: ignore[valid-type]
    unit: _up_to(MAX_UNIT) | None | UnsetType = UNSET  # type: ignore[valid-type]
    n: _Number | UnsetType = UNSET
    total: _Number | None | UnsetType = UNSET
    timestamp: _Number | None | UnsetType = UNSET
    elapsed: _Number | None | UnsetType = UNSET
    rate: _Number | None | UnsetType = UNSET
    postfix: _up_to(MAX_POSTFIX) | None | UnsetType = UNSET  # type: ignore[valid-type]
    meta: dict[str, Any] | UnsetType = UNSET
    seq: _Counter | None | UnsetType = UNSET
    host: _up_to(MAX_HOST) | None | UnsetType = UNSET  # type: ignore[valid-type]
    pid: _Counter | None | UnsetType = UNSET


_fast_one = msgspec.json.Decoder(_Wire)
_fast_many = msgspec.json.Decoder(list[_Wire])
_encode = msgspec.json.Encoder().encode

#: Metas seen last on the fast path, by their JSON as msgspec writes it (0.2 us, where ``json`` takes 2).
_FAST_METAS: dict[bytes, dict[str, Any]] = {}
# msgspec refuses NaN and numbers past a float's range, so a meta it decoded is finite; ``json``'s ASCII
# text of it (what the limit counts) is at most 3 times msgspec's UTF-8 (6 characters for a 2-byte \u00e9,
# 12 for a 4-byte emoji): a meta under a third of the limit is within it, a larger one is measured exactly.
_SURELY_SMALL = MAX_META_BYTES // 3

#: Texts seen last: the bars of a process send the same unit and host, and often the same desc and postfix;
#: each task holding its own copy cost about 190 bytes a task (pydantic's JSON parser shares short strings,
#: msgspec does not). Up to :data:`_TEXT_LONGEST` characters, :data:`_METAS_KEPT` of them.
_TEXTS: dict[str, str] = {}
_TEXT_LONGEST = 64


def _shared_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """:func:`_small_finite_json` for a meta msgspec decoded."""
    key = _encode(meta)
    if len(key) > _SURELY_SMALL:
        return _small_finite_json(meta)
    return _seen(_FAST_METAS, key, meta)


def _shared_texts(event: dict[str, Any]) -> None:
    """``event``'s desc, unit, postfix and host replaced by an equal text seen before (0.3 us an event)."""
    texts = _TEXTS
    for name in ("desc", "unit", "postfix", "host"):
        text = event.get(name)
        if text is not None:
            shared = texts.get(text)
            if shared is not None:
                event[name] = shared
            elif len(text) <= _TEXT_LONGEST:
                _seen(texts, text, text)


def _fast(raw: bytes) -> list[Event] | None:
    """The events of ``raw`` by the fast path, or ``None``: pydantic decides."""
    try:
        if raw[:64].lstrip()[:1] == b"[":
            events = msgspec.to_builtins(_fast_many.decode(raw))  # dicts without the UNSET fields
        else:
            events = [msgspec.to_builtins(_fast_one.decode(raw))]
        for event in events:
            _shared_texts(event)
            if "meta" in event:
                event["meta"] = _shared_meta(event["meta"])
    except (msgspec.DecodeError, ValueError):  # msgspec.ValidationError is a DecodeError
        return None
    return cast(list[Event], events)


def parse_events(raw: bytes) -> list[Event]:
    """Validate a request body (one event or an array) into a list of events.

    Raises ``pydantic.ValidationError``; pass it to :func:`explain`.

    >>> parse_events(b'{"task_id": "a", "n": 3, "seq": 12.0}'), parse_events(b'[{"task_id": "a", "total": 1.5}]')
    ([{'task_id': 'a', 'n': 3, 'seq': 12}], [{'task_id': 'a', 'total': 1.5}])
    """
    events = _fast(raw)
    if events is None:
        body = _body.validate_json(raw)  # accepts what the fast path does not, or words the errors
        events = body if isinstance(body, list) else [body]
    return events


def explain(error: ValidationError) -> list[dict[str, str]]:
    """Readable errors naming the field: ``[{"field": "[2].n", "message": "..."}]``."""
    out = []
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if part not in ("one", "many")]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        out.append({"field": field or "body", "message": message})
    return out


def field_problem(fields: Mapping[str, Any]) -> str | None:
    """The first problem ``POST /progress`` would find in these event fields, or ``None``.

    For values that did not come through ingest (a storage file):

    >>> field_problem({"task_id": "a", "n": 3}), field_problem({"task_id": "a", "n": "3"})
    (None, 'n: must be a number')
    """
    try:
        _one.validate_python(dict(fields))
    except ValidationError as exc:
        first = explain(exc)[0]
        return f"{first['field']}: {first['message']}"
    return None


def event_body_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body's JSON schema for OpenAPI, and the component schemas it refers to."""
    schema = _body.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    return schema, components
