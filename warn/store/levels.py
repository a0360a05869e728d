"""The levels each cycle produced, what they were scored from, and the data notices in force.

``store.levels`` (:class:`LevelTable`): a cycle :meth:`~LevelTable.record`\\ s the level of
every item it scored at each lead (``item_levels``) and, per hazard, the forecast run and
official floors the levels came from (``level_runs``, ``level_floors``), in one
transaction that replaces whatever a previous attempt of the same cycle recorded (the levels
through one ``COPY`` on PostgreSQL, ``executemany`` on SQLite). The
next cycle reads its baseline from them: each item's last ``now`` level *before* its own
time (:meth:`~LevelTable.baseline`) — so a rerun of a cycle after an interruption compares
with what the cycle found, never with its own first attempt.

``store.notices`` (:class:`NoticeTable`): the data notices in force after the last cycle.

Hazards are plain names here: the store neither knows nor lists them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from json.encoder import encode_basestring

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, text

from warn.store.bulk import insert_rows, stage
from warn.store.records import ItemLevel, LevelBasis
from warn.store.schema import data_notices, item_levels, level_floors, level_runs
from warn.store.times import encode_time
from warn.vocab import Level

#: The lead of an item's level at the cycle's time (the one crossings compare).
NOW = "now"
_LEVEL_COLUMNS = (("cycle_at", "timestamptz"), ("hazard", "text"), ("item_kind", "text"), ("item_id", "text"),
                  ("lead", "text"), ("level", "int2"), ("score", "float8"), ("drivers", "text"),
                  ("probability", "text"))


class _Table:
    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write


class LevelTable(_Table):
    """The item levels of a store's cycles (use ``store.levels``)."""

    def record(self, at: datetime, rows: Iterable[ItemLevel], bases: Mapping[str, LevelBasis]) -> None:
        """Record the levels the cycle at ``at`` produced and what each hazard's were scored from.

        Replaces everything recorded for ``at`` before (an interrupted attempt of the same cycle).

        Parameters
        ----------
        at
            The cycle's time (UTC-aware).
        rows
            Every item's level at each lead the cycle scored.
        bases
            By hazard name: the run and official floors the hazard's levels came from, for the
            hazards the cycle scored from a run (the others keep the basis of an earlier cycle).
        """
        cycle_at = encode_time(self._engine.dialect.name)(at)
        values = [(cycle_at, r.hazard, r.item_kind, r.item_id, r.lead, int(r.level), r.score, _texts(r.drivers),
                   encode_probability(r.probability)) for r in rows]
        floors = [{"cycle_at": at, "hazard": hazard, "item_id": item_id, "level": int(level)}
                  for hazard, basis in bases.items() for item_id, level in basis.floors.items()]
        with self._write() as conn:
            for table in (item_levels, level_floors, level_runs):
                conn.execute(delete(table).where(table.c.cycle_at == at))
            insert_rows(conn, "item_levels", _LEVEL_COLUMNS, values)  # a city cycle's 50k rows: one statement
            if bases:
                conn.execute(insert(level_runs), [{"cycle_at": at, "hazard": hazard, "run_id": basis.run_id}
                                                  for hazard, basis in bases.items()])
            if floors:
                conn.execute(insert(level_floors), floors)

    def baseline(self, before: datetime, items: Collection[tuple[str, str, str]] | None = None
                 ) -> dict[tuple[str, str, str], int]:
        """Each item's last ``now`` level recorded by a cycle before ``before``; of ``items`` only, when given.

        Every item recorded is grouped over all its cycles, which grows with the store's age (a city
        service records 14k items every hour). Given its items, a cycle reads each one's level down the
        items' index instead: one seek per item, whatever the age (the keys staged in a temporary table).

        Parameters
        ----------
        before
            The time the levels are wanted before (UTC-aware).
        items
            (hazard, item kind, item id) of the items wanted.

        Returns
        -------
        dict
            (hazard, item kind, item id) → level (−1 … 4), of the items recorded before ``before``.
        """
        if items is None:
            return self._last(item_levels.c.cycle_at < before)
        keys = sorted(set(items))
        if not keys:
            return {}
        with self._engine.connect() as conn:
            _stage_keys(conn, keys)
            rows = conn.execute(text(
                "SELECT k.hazard, k.item_kind, k.item_id, (SELECT l.level FROM item_levels l WHERE l.hazard = k.hazard "
                "AND l.item_kind = k.item_kind AND l.item_id = k.item_id AND l.lead = :lead AND l.cycle_at < :before "
                "ORDER BY l.cycle_at DESC LIMIT 1) FROM level_keys k"),
                {"lead": NOW, "before": encode_time(conn.dialect.name)(before)}).all()
            conn.rollback()  # the staged keys are the session's only
        return {(hazard, kind, item_id): level for hazard, kind, item_id, level in rows if level is not None}

    def latest(self, at: datetime) -> dict[tuple[str, str, str], int]:
        """Each item's last ``now`` level recorded by a cycle at or before ``at`` (what the cycles left)."""
        return self._last(item_levels.c.cycle_at <= at)

    def basis(self, hazard: str, before: datetime) -> LevelBasis | None:
        """The run and official floors ``hazard``'s levels came from at the last cycle before ``before``
        that scored it from a run; ``None`` when none did."""
        with self._engine.connect() as conn:
            row = conn.execute(select(level_runs).where(level_runs.c.hazard == hazard, level_runs.c.cycle_at < before)
                               .order_by(level_runs.c.cycle_at.desc()).limit(1)).first()
            if row is None:
                return None
            floors = conn.execute(select(level_floors.c.item_id, level_floors.c.level).where(
                level_floors.c.hazard == hazard, level_floors.c.cycle_at == row.cycle_at)).all()
        return LevelBasis(row.run_id, {item_id: level for item_id, level in floors})

    def history(self, *, hazard: str | None = None, item_id: str | None = None, since: datetime | None = None,
                until: datetime | None = None, lead: str | None = NOW) -> list[tuple[datetime, ItemLevel]]:
        """Recorded levels with ``since`` ≤ cycle time ≤ ``until`` (either open), of one hazard, one item
        and one lead (``None``: all), in cycle order.

        Returns
        -------
        list
            (cycle time, level) pairs, by cycle time, hazard, item kind, item id and lead.
        """
        c = item_levels.c
        query = select(item_levels).order_by(c.cycle_at, c.hazard, c.item_kind, c.item_id, c.lead)
        for column, value in ((c.hazard, hazard), (c.item_id, item_id), (c.lead, lead)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(c.cycle_at >= since)
        if until is not None:
            query = query.where(c.cycle_at <= until)
        with self._engine.connect() as conn:
            return [(r.cycle_at, ItemLevel(r.hazard, r.item_kind, r.item_id, r.lead, r.level, r.score,
                                           tuple(json.loads(r.drivers)), decode_probability(r.probability)))
                    for r in conn.execute(query)]

    def probability(self, hazard: str, items: Iterable[tuple[str, str]], at: datetime, *, lead: str = NOW
                    ) -> dict[str, dict[Level, float]]:
        """The probabilities (:attr:`~warn.store.records.ItemLevel.probability`) the last cycle at or before
        ``at`` that scored each of ``items`` (item kind, item id) of ``hazard`` recorded for ``lead``, by item
        id; an item whose last level came from a single run (or that no cycle scored) is left out. One look-up
        per item down the items' index (a city store holds millions of rows)."""
        c = item_levels.c
        last = select(c.probability).where(  # one statement, run once per item
            c.hazard == hazard, c.item_kind == bindparam("kind"), c.item_id == bindparam("item"), c.lead == lead,
            c.cycle_at <= at).order_by(c.cycle_at.desc()).limit(1)
        out: dict[str, dict[Level, float]] = {}
        with self._engine.connect() as conn:
            for item_kind, item_id in dict.fromkeys(items):
                text = conn.execute(last, {"kind": item_kind, "item": item_id}).scalar()
                if (probability := decode_probability(text)) is not None:
                    out[item_id] = probability
        return out

    def _last(self, when) -> dict[tuple[str, str, str], int]:
        c = item_levels.c
        last = (select(c.hazard, c.item_kind, c.item_id, func.max(c.cycle_at).label("cycle_at"))
                .where(c.lead == NOW, when).group_by(c.hazard, c.item_kind, c.item_id).subquery())
        query = select(c.hazard, c.item_kind, c.item_id, c.level).join(last, and_(
            c.hazard == last.c.hazard, c.item_kind == last.c.item_kind, c.item_id == last.c.item_id,
            c.cycle_at == last.c.cycle_at)).where(c.lead == NOW)
        with self._engine.connect() as conn:
            return {(h, k, i): level for h, k, i, level in conn.execute(query)}


def _stage_keys(conn: Connection, keys: Sequence[tuple[str, str, str]]) -> None:
    """Make ``keys`` (hazard, item kind, item id) the content of the session's temporary ``level_keys``."""
    columns = (("hazard", "text"), ("item_kind", "text"), ("item_id", "text"))
    if conn.dialect.name == "postgresql":
        stage(conn, "level_keys", columns, keys)
        return
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS level_keys (hazard TEXT, item_kind TEXT, item_id TEXT)")
    conn.exec_driver_sql("DELETE FROM level_keys")
    insert_rows(conn, "level_keys", columns, keys)


def _texts(drivers: Iterable[str]) -> str:
    """The drivers as stored: the JSON array ``json.dumps(list(drivers), ensure_ascii=False)`` writes, without
    its per-call overhead (a city cycle stores 42k of them)."""
    return "[" + ", ".join(map(encode_basestring, drivers)) + "]"


def encode_probability(probability: Mapping[Level, float] | None) -> str | None:
    """A lead's probabilities as stored: JSON ``{"blue": 0.67, …}`` (NaN as ``null``); ``None`` stays NULL."""
    if probability is None:
        return None
    return json.dumps({Level(level).colour: None if math.isnan(p) else float(p) for level, p in probability.items()})


def decode_probability(text: str | None) -> dict[Level, float] | None:
    """The inverse of :func:`encode_probability` (``null`` back to NaN)."""
    if text is None:
        return None
    return {Level.of_colour(colour): math.nan if p is None else float(p) for colour, p in json.loads(text).items()}


class NoticeTable(_Table):
    """The data notices in force (use ``store.notices``)."""

    def in_force(self) -> dict[str, datetime]:
        """The notices in force after the last cycle, with when each began."""
        with self._engine.connect() as conn:
            return {n: t for n, t in conn.execute(select(data_notices.c.notice, data_notices.c.began_at))}

    def replace(self, at: datetime, notices: Iterable[str]) -> None:
        """Make ``notices`` the ones in force: those new begin at ``at``, those absent end."""
        current = {digest(n): n for n in notices}
        with self._write() as conn:
            held = set(conn.execute(select(data_notices.c.digest)).scalars())
            ended = held - set(current)
            if ended:
                conn.execute(delete(data_notices).where(data_notices.c.digest.in_(ended)))
            began = [{"digest": d, "notice": n, "began_at": at} for d, n in current.items() if d not in held]
            if began:
                conn.execute(insert(data_notices), began)


def digest(text: str) -> str:
    """The key of a notice's text: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
