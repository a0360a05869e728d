"""Pushed JSON payloads: a hostile payload (deep nesting, oversized) is one rejected problem, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warn.config import MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH, SensorFeedSpec
from warn.sources.payloads import FieldDecoder, decode_payload

T = datetime(2026, 7, 15, 6, 0, tzinfo=UTC)
WHERE = "sensor feed 'demo_mqtt' topic 'warn/demo/level/W01'"


def decoder(**limits) -> FieldDecoder:
    spec = SensorFeedSpec(kind="mqtt", topic="warn/demo/level/+", fields={"sensor_id": "stcd", "time": "tm", "value": "z"},
                          unit="cm", timezone="Asia/Shanghai", **limits)
    return FieldDecoder("demo_mqtt", spec)


def decode(payload: bytes, **limits):
    return decode_payload(decoder(**limits), payload, where=WHERE, arrival_time=T)


@pytest.mark.parametrize("depth", [MAX_PAYLOAD_DEPTH + 1, 5_000, 30_000])
def test_deep_nesting_is_one_rejected_problem_naming_the_limit(depth):
    batch = decode(b"[" * depth + b"]" * depth)
    assert batch.readings == []
    [problem] = batch.rejected
    assert str(problem).startswith(f"{WHERE}: payload: expected JSON nested at most {MAX_PAYLOAD_DEPTH} deep, "
                                   f"got deeper than {MAX_PAYLOAD_DEPTH}")


def test_brackets_inside_strings_do_not_count_and_the_limit_is_a_setting():
    record = b'{"stcd": "W[[[[[[{{{{\\"[[[[", "tm": "2026-07-15 08:05:00", "z": 12}'
    assert [r.value for r in decode(record, max_payload_depth=2).readings] == [0.12]
    [problem] = decode(b'{"a": [' + record + b"]}", max_payload_depth=2).rejected
    assert "expected JSON nested at most 2 deep" in str(problem)


def test_an_oversized_payload_is_rejected_before_it_is_parsed():
    big = b'{"stcd": "W01", "tm": "2026-07-15 08:05:00", "z": 12, "pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    [problem] = decode(big).rejected
    assert str(problem) == (f"{WHERE}: payload: expected at most {MAX_PAYLOAD_BYTES} bytes, got {len(big)} bytes "
                            "(raise sensors.feeds.<feed>.max_payload_bytes if the devices really send more)")
    assert decode(big, max_payload_bytes=2 * MAX_PAYLOAD_BYTES).rejected == []


@pytest.mark.parametrize(("key", "value"), [("max_payload_bytes", 0), ("max_payload_depth", 0),
                                            ("max_payload_bytes", 10**9), ("max_payload_depth", 10_000)])
def test_absurd_limits_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        decoder(**{key: value})
