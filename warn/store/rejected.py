"""What feeds sent that was refused: one row per payload or record (``store.rejected``).

A pushed payload too large, nested too deep or not decodable, and a record that could not
be normalised, are acknowledged (never redelivered forever) and recorded here: the feed, when
it arrived, the reason as a sentence, and of a pushed payload its SHA-256 and size in bytes —
never the payload, which may carry personal data. ``warn feeds`` shows the counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from warn.store.schema import rejected_readings

#: Longest reason kept, characters (a sentence naming the feed, the record, the field and what was expected).
REASON_CHARS = 500


@dataclass(frozen=True)
class RejectedCount:
    """How many payloads or records a feed had refused, and when the last one arrived."""

    source: str
    count: int
    last: datetime


class RejectedTable:
    """Refused payloads and records (use ``store.rejected``)."""

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def record(self, source: str, reasons: Sequence[str], *, received_at: datetime, payload_sha256: str | None = None,
               payload_bytes: int | None = None) -> None:
        """Keep one row per reason; ``payload_sha256`` (hex) and ``payload_bytes`` describe a pushed payload."""
        if not reasons:
            return
        rows = [{"source": source, "received_at": received_at, "reason": reason[:REASON_CHARS],
                 "payload_sha256": payload_sha256, "payload_bytes": payload_bytes} for reason in reasons]
        with self._write() as conn:
            conn.execute(insert(rejected_readings), rows)

    def counts(self) -> list[RejectedCount]:
        """Per source, how many were refused and the arrival of the last, by source."""
        query = (select(rejected_readings.c.source, func.count(), func.max(rejected_readings.c.received_at))
                 .group_by(rejected_readings.c.source).order_by(rejected_readings.c.source))
        with self._engine.connect() as conn:
            return [RejectedCount(source, count, last) for source, count, last in conn.execute(query)]
