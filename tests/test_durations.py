"""ISO-8601 durations: a step may be zero (a playbook step due at once), an interval may not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warn.durations import parse_duration, parse_interval


def test_a_duration_may_be_zero_an_interval_may_not() -> None:
    assert parse_duration("PT0M") == timedelta(0)
    assert parse_interval("PT1H30M") == timedelta(hours=1, minutes=30)
    with pytest.raises(ValueError, match="longer than zero"):
        parse_interval("PT0S")
