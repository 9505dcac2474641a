"""The one JSON body decoder (the tracker's, also used by proctor's request layer)."""

from __future__ import annotations

import pytest

from tracker.protocol import MAX_DEPTH, MalformedJson, load_json, nesting_depth, parse_body
from tracker.service import TrackerError


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"1", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[[", "]]]"]', 1),  # brackets inside strings do not count
        (b'["\\"[[[", [2]]', 2),  # nor after an escaped quote
        (b'"unterminated [[[', 0),
        (b"[" * 5000, MAX_DEPTH + 1),  # the count stops just past the limit
    ],
)
def test_nesting_depth(raw: bytes, depth: int) -> None:
    assert nesting_depth(raw, MAX_DEPTH) == depth


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2000 + b"]" * 2000,  # fits the tracker's 4 KiB
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 40 + b"1" + b"}" * 40,
        b'{"position": NaN}',
        b'{"position": Infinity}',
        b'{"position": -Infinity}',
        b"{",
        b"\xff\xfe",
    ],
)
def test_refused_bodies(raw: bytes) -> None:
    with pytest.raises(MalformedJson):
        load_json(raw)


def test_overflowing_numbers_decode_as_infinity_for_the_field_to_refuse() -> None:
    assert load_json(b'{"a": 1e400}') == {"a": float("inf")}


def test_tracker_refuses_deep_nesting_as_a_bad_request() -> None:
    """2,000 levels inside the tracker's 4 KiB once exhausted the decoder: now a 400 on body."""
    with pytest.raises(TrackerError) as caught:
        parse_body(b"[" * 2000 + b"]" * 2000)
    assert (caught.value.status, caught.value.field) == (400, "body")
