"""The wire format: what POST /progress accepts, and how refusals name the field."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from progressista.server import models
from progressista.server.models import MAX_META_BYTES, explain, parse_events


def errors_for(raw: bytes | str) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        parse_events(raw.encode() if isinstance(raw, str) else raw)
    return {e["field"]: e["message"] for e in explain(info.value)}


def test_one_event_or_a_batch():
    assert parse_events(b'{"task_id": "a", "n": 1}') == [{"task_id": "a", "n": 1}]
    assert parse_events(b'[{"task_id": "a"}, {"task_id": "b", "total": null}]') == [
        {"task_id": "a"},
        {"task_id": "b", "total": None},
    ]
    assert parse_events(b"[]") == []


def test_only_sent_fields_are_kept_so_partial_updates_merge():
    (event,) = parse_events(b'{"task_id": "a", "desc": "x"}')
    assert event == {"task_id": "a", "desc": "x"}


def test_full_event_round_trips():
    event = {
        "task_id": "etl:stage-1",
        "status": "update",
        "desc": "Loading",
        "unit": "rows",
        "n": 12.5,
        "total": 100,
        "timestamp": 1710078346.5,
        "elapsed": 3.2,
        "rate": 3.9,
        "postfix": "loss=0.31",
        "meta": {"job_id": "run-42", "nested": [1, {"a": None}]},
        "seq": 7,
        "host": "node-1",
        "pid": 4242,
    }
    assert parse_events(json.dumps(event).encode()) == [event]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('{"n": 3}', "task_id", "required"),
        ('{"task_id": ""}', "task_id", "at least 1"),
        ('{"task_id": "' + "x" * 257 + '"}', "task_id", "at most 256"),
        ('{"task_id": "a", "desc": "' + "d" * 1001 + '"}', "desc", "at most 1000"),
        ('{"task_id": "a", "n": NaN}', "n", "finite"),
        ('{"task_id": "a", "total": Infinity}', "total", "finite"),
        ('{"task_id": "a", "rate": 1e999}', "rate", "finite"),
        ('{"task_id": "a", "n": 1' + "0" * 400 + "}", "n", "a float can hold"),  # a browser reads Infinity
        ('{"task_id": "a", "meta": {"x": NaN}}', "meta", "NaN"),
        ('{"task_id": "a", "n": "3"}', "n", "number"),
        ('{"task_id": "a", "n": true}', "n", "number"),
        ('{"task_id": 5}', "task_id", "string"),
        ('{"task_id": "a", "meta": [1]}', "meta", "object"),
        ('{"task_id": "a", "seq": 1.5}', "seq", "integer"),
        ('{"task_id": "a", "status": "done"}', "status", "'start', 'update', 'close' or 'error'"),
        ('{"task_id": "a", "colour": "red"}', "colour", "unknown field"),
        ('[{"task_id": "a"}, {"task_id": "b", "n": NaN}]', "[1].n", "finite"),
        ('"hello"', "body", "object"),
        ('{"task_id": "a"', "body", "Invalid JSON"),
        ("", "body", "Invalid JSON"),
    ],
)
def test_bad_input_names_the_field(body, field, words):
    errors = errors_for(body)
    assert field in errors, errors
    assert words in errors[field]


def test_meta_size_is_capped():
    ok = {"task_id": "a", "meta": {"k": "v" * (MAX_META_BYTES - 20)}}
    assert parse_events(json.dumps(ok).encode())
    big = {"task_id": "a", "meta": {"k": "v" * MAX_META_BYTES}}
    assert "limit is 16384" in errors_for(json.dumps(big))["meta"]


# Values at the edges of both decoders: 64 bits, a float's range, integers written as floats.
_EDGES = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, int(1.7976931348623157e308), int(1.7976931348623157e308) + 1]
_VALUES = st.one_of(
    st.integers(),
    st.sampled_from(_EDGES),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
    st.sampled_from([12.0, -1.0, 9.3e18, True, None, "1", [], {}, {"a": [1]}, "start", "close", "x" * 300]),
)
_FIELDS = ["n", "total", "timestamp", "elapsed", "rate", "seq", "pid", "desc", "unit", "host", "status", "meta", "x"]


def _shapes(events):
    return [[(key, type(value)) for key, value in event.items()] for event in events]


@settings(max_examples=600, deadline=None, database=None, derandomize=True)
@given(st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=5), st.booleans())
def test_the_fast_decoder_accepts_nothing_the_full_one_refuses_and_gives_the_same_events(fields, batch):
    """Bodies are decoded by msgspec first; pydantic and its Python validators see only what that refuses."""
    event = {"task_id": "a", **fields}
    raw = json.dumps([event, event] if batch else event).encode()
    fast = models._fast(raw)
    if fast is None:
        return  # the full validator decides, as parse_events does
    full = models._body.validate_json(raw)
    full = full if isinstance(full, list) else [full]
    assert fast == full
    assert _shapes(fast) == _shapes(full)  # int stays int, float float, in the schema's key order


def test_the_fast_decoder_has_the_schema_s_fields_in_its_order():
    assert models._Wire.__struct_fields__ == tuple(models.Event.__annotations__)


def test_a_meta_too_large_takes_the_full_path_and_its_error():
    raw = json.dumps({"task_id": "a", "meta": {"x": "y" * MAX_META_BYTES}}).encode()
    assert models._fast(raw) is None
    assert f"the limit is {MAX_META_BYTES}" in errors_for(raw)["meta"]


@pytest.mark.parametrize("char", ["é", "東", "\U0001f600", '"', "\n"])
def test_a_meta_of_any_text_is_held_to_the_limit_as_json_writes_it(char):
    """The fast path measures a meta by msgspec's UTF-8; the limit counts ``json``'s ASCII text, up to 6 times
    longer a character: at the limit both paths agree."""
    ascii_length = len(json.dumps(char)) - 2  # what one character costs in the limit's text
    fits = (MAX_META_BYTES - len('{"x":""}')) // ascii_length
    for count, accepted in ((fits, True), (fits + 1, False)):
        raw = json.dumps({"task_id": "a", "meta": {"x": char * count}}).encode()
        if accepted:
            assert parse_events(raw)[0]["meta"] == {"x": char * count}
        else:
            assert models._fast(raw) is None
            assert f"the limit is {MAX_META_BYTES}" in errors_for(raw)["meta"]


def test_the_texts_and_metas_of_many_bars_are_held_once():
    def event(i: int) -> bytes:
        fields = {"desc": "Download", "unit": "B", "postfix": "ok", "host": "node-1", "meta": {"job": "run-7"}}
        return json.dumps({"task_id": f"t{i}", **fields}).encode()

    first, second = parse_events(event(1))[0], parse_events(event(2))[0]
    for name in ("desc", "unit", "postfix", "host", "meta"):
        assert first[name] is second[name], name
    long_desc = "d" * 65  # past what is kept: held by its own task only
    one, two = (parse_events(json.dumps({"task_id": "a", "desc": long_desc}).encode())[0] for _ in range(2))
    assert one["desc"] == two["desc"] and one["desc"] is not two["desc"]
