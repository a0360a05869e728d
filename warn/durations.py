"""ISO-8601 time durations (``PT1H``, ``PT10M``), as the declarative files and the rain arrays write them.

Kept free of heavy imports: the CLI and the config loader parse durations at start-up.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

#: How often ``warn run`` runs the warning cycle unless told otherwise (``--every``); ``warn status``
#: judges the last cycle's age against it.
CYCLE_EVERY = timedelta(minutes=10)
_ISO_DURATION = re.compile(r"^PT(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?$")


def iso_duration(step: timedelta) -> str:
    """Format a positive duration as ISO-8601 (``PT1H``, ``PT10M``, ``PT1H30M``)."""
    seconds = int(step.total_seconds())
    if seconds <= 0 or seconds != step.total_seconds():
        raise ValueError(f"step must be a positive whole number of seconds, got {step}")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs else "")


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 time duration of the ``PTnHnMnS`` form."""
    match = _ISO_DURATION.match(text or "")
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"expected an ISO-8601 duration like PT1H or PT10M, got {text!r}")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def parse_interval(text: str) -> timedelta:
    """Parse an ISO-8601 duration that is an interval: longer than zero (``PT0S`` is refused)."""
    interval = parse_duration(text)
    if interval <= timedelta(0):
        raise ValueError(f"expected an ISO-8601 duration longer than zero like PT10M, got {text!r}")
    return interval


def floor_time(moment: datetime, every: timedelta) -> datetime:
    """``moment`` floored to the ``every`` grid counted from 1970-01-01 00 UTC (so from 00 UTC each day
    when ``every`` divides a day); aware UTC."""
    step = int(every.total_seconds())
    if step <= 0 or step != every.total_seconds():
        raise ValueError(f"the interval must be a positive whole number of seconds, got {every}")
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, timezone.utc)
