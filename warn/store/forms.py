"""The JSON forms of the read views: what the seeing commands print with ``--json`` and the API answers.

One conversion for both faces (``warn status --json`` and ``GET /api/v1/status`` give the same object):
dataclasses become objects, times ISO 8601 with their offset, and a row with a ``level`` gets its
``colour`` beside it. Imports nothing heavy (``warn status`` must start fast).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from warn.vocab import Level

if TYPE_CHECKING:
    from warn.store.views import StatusView


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as objects, times as ISO 8601 with offset."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def row_json(row: Any) -> dict[str, Any]:
    """One view row (a dataclass) as an object, with a ``colour`` (``red`` … ``unknown``) beside its ``level``."""
    data: dict[str, Any] = plain(row)
    if "level" in data:
        data["colour"] = Level(data["level"]).colour
    return data


def rows_json(rows: list[Any]) -> list[dict[str, Any]]:
    """The ``--json`` array of a list command (``warn warnings``, ``zones``, ``tasks`` …)."""
    return [row_json(row) for row in rows]


def status_json(view: StatusView) -> dict[str, Any]:
    """The stable JSON form of ``warn status`` (:data:`warn.cli.status.STATUS_JSON` describes it): the
    warnings counted as {hazard: {colour: count}}, highest level first."""
    data: dict[str, Any] = plain(view)
    data["warnings"] = {h: {Level(level).colour: n for level, n in sorted(counts.items(), reverse=True)}
                        for h, counts in view.warnings.items()}
    return data
