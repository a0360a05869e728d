"""The levels each cycle produced, what they were scored from, and the data notices in force.

``store.levels`` (:class:`LevelTable`): a cycle :meth:`~LevelTable.record`\\ s the level of
every item it scored at each lead — one set per hazard, item kind and lead (``level_sets``,
:mod:`warn.store.levelsets`) — and, per hazard, the forecast run and official floors the levels
came from (``level_runs``, ``level_floors``), in one transaction that replaces whatever a previous
attempt of the same cycle recorded. The next cycle reads its baseline from them: each item's last
``now`` level *before* its own time (:meth:`~LevelTable.baseline`) — so a rerun of a cycle after an
interruption compares with what the cycle found, never with its own first attempt.

``store.notices`` (:class:`NoticeTable`): the data notices in force after the last cycle.

Hazards are plain names here: the store neither knows nor lists them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text

from warn.store.levelsets import LevelSet, Query, last_levels, sets
from warn.store.records import ItemLevel, LevelBasis
from warn.store.schema import data_notices, level_floors, level_item_lists, level_runs, level_sets
from warn.store.times import decode_time, encode_time
from warn.vocab import Level

#: The lead of an item's level at the cycle's time (the one crossings compare).
NOW = "now"


class _Table:
    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write


class LevelTable(_Table):
    """The item levels of a store's cycles (use ``store.levels``)."""

    def record(self, at: datetime, rows: Iterable[ItemLevel], bases: Mapping[str, LevelBasis]) -> None:
        """Record the levels the cycle at ``at`` produced, one row each, and what each hazard's were scored
        from (:meth:`record_sets` of the rows grouped by hazard, item kind and lead).

        Raises
        ------
        ValueError
            An item is given twice at one lead (nothing is written).
        """
        self.record_sets(at, _sets(rows), bases)

    def record_sets(self, at: datetime, levels: Mapping[tuple[str, str, str], LevelSet],
                    bases: Mapping[str, LevelBasis]) -> None:
        """Record the levels the cycle at ``at`` produced and what each hazard's were scored from.

        Replaces everything recorded for ``at`` before (an interrupted attempt of the same cycle).

        Parameters
        ----------
        at
            The cycle's time (UTC-aware).
        levels
            By (hazard, item kind, lead): the level of every item the cycle scored at that lead, with its
            score, drivers and probabilities (:func:`stored_probability`), the items in any order.
        bases
            By hazard name: the run and official floors the hazard's levels came from, for the
            hazards the cycle scored from a run (the others keep the basis of an earlier cycle).

        Raises
        ------
        ValueError
            A set's columns are not one value per item, or an item is given twice at one lead (nothing is
            written).
        """
        ordered = {key: _in_id_order(key, levels[key]) for key in sorted(levels)}
        floors = [{"cycle_at": at, "hazard": hazard, "item_id": item_id, "level": int(level)}
                  for hazard, basis in bases.items() for item_id, level in basis.floors.items()]
        with self._write() as conn:
            for table in (level_sets, level_floors, level_runs):
                conn.execute(delete(table).where(table.c.cycle_at == at))
            for (hazard, kind, lead), found in ordered.items():
                if found.item_ids:
                    conn.execute(insert(level_sets), {"cycle_at": at, "hazard": hazard, "item_kind": kind,
                                                      "lead": lead, "list_id": _list_id(conn, found),
                                                      **found.encoded()})
            if bases:
                conn.execute(insert(level_runs), [{"cycle_at": at, "hazard": hazard, "run_id": basis.run_id}
                                                  for hazard, basis in bases.items()])
            if floors:
                conn.execute(insert(level_floors), floors)

    def baseline(self, before: datetime, items: Collection[tuple[str, str, str]] | None = None
                 ) -> dict[tuple[str, str, str], int]:
        """Each item's last ``now`` level recorded by a cycle before ``before``; of ``items`` only, when given.

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
        return self._now(before, before=True, items=items)

    def latest(self, at: datetime) -> dict[tuple[str, str, str], int]:
        """Each item's last ``now`` level recorded by a cycle at or before ``at`` (what the cycles left)."""
        return self._now(at, before=False, items=None)

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
        out = []
        with self._engine.connect() as conn:
            for cycle_at, set_hazard, kind, set_lead, levels in sets(_query(conn), since=since, until=until,
                                                                     hazard=hazard, lead=lead):
                when = decode_time(cycle_at)
                out.extend((when, _item_level(set_hazard, kind, set_lead, levels, i))
                           for i, name in enumerate(levels.item_ids) if item_id is None or name == item_id)
        out.sort(key=lambda pair: (pair[0], pair[1].hazard, pair[1].item_kind, pair[1].item_id, pair[1].lead))
        return out

    def probability(self, hazard: str, items: Iterable[tuple[str, str]], at: datetime, *, lead: str = NOW
                    ) -> dict[str, dict[Level, float]]:
        """The probabilities (:attr:`~warn.store.records.ItemLevel.probability`) the last cycle at or before
        ``at`` that scored each of ``items`` (item kind, item id) of ``hazard`` recorded for ``lead``, by item
        id; an item whose last level came from a single run (or that no cycle scored) is left out."""
        wanted = {(hazard, kind, item_id, lead) for kind, item_id in items}
        with self._engine.connect() as conn:
            found = last_levels(_query(conn), at, hazard=hazard, lead=lead, keys=wanted, details=("probability",))
        return {item_id: probability for (_, _, item_id, _), row in found.items()
                if (probability := decode_probability(row["probability"])) is not None}

    def _now(self, at: datetime, *, before: bool, items: Collection[tuple[str, str, str]] | None
             ) -> dict[tuple[str, str, str], int]:
        """Each item's last ``now`` level recorded by ``at`` (strictly before it with ``before``); of ``items``."""
        keys = None if items is None else {(hazard, kind, item_id, NOW) for hazard, kind, item_id in items}
        with self._engine.connect() as conn:
            found = last_levels(_query(conn), at, before=before, lead=NOW, keys=keys, details=())
        return {(hazard, kind, item_id): row["level"] for (hazard, kind, item_id, _), row in found.items()}


def _sets(rows: Iterable[ItemLevel]) -> dict[tuple[str, str, str], LevelSet]:
    """``rows`` as one :class:`LevelSet` per hazard, item kind and lead."""
    grouped: dict[tuple[str, str, str], list[ItemLevel]] = {}
    for row in rows:
        grouped.setdefault((row.hazard, row.item_kind, row.lead), []).append(row)
    return {key: LevelSet([r.item_id for r in items], [int(r.level) for r in items], [r.score for r in items],
                          [tuple(r.drivers) for r in items], [stored_probability(r.probability) for r in items])
            for key, items in grouped.items()}


def _in_id_order(key: tuple[str, str, str], levels: LevelSet) -> LevelSet:
    """:meth:`LevelSet.in_id_order` of the set of ``key`` (hazard, item kind, lead), its error naming it."""
    try:
        return levels.in_id_order()
    except ValueError as err:
        raise ValueError(f"item levels: {key[0]} {key[1]} {err} at lead {key[2]}") from None


def _list_id(conn: Connection, levels: LevelSet) -> int:
    """The id of the stored item list of ``levels``, stored first when new."""
    ids, digest = levels.ids_text()
    c = level_item_lists.c
    found = conn.execute(select(c.list_id).where(c.digest == digest)).scalar()
    if found is None:
        found = conn.execute(insert(level_item_lists).values(digest=digest, item_ids=ids)).inserted_primary_key[0]
    return int(found)


def _item_level(hazard: str, kind: str, lead: str, levels: LevelSet, i: int) -> ItemLevel:
    """Item ``i`` of a set read with every detail."""
    assert levels.score is not None and levels.drivers is not None
    return ItemLevel(hazard, kind, levels.item_ids[i], lead, levels.level[i], levels.score[i], levels.drivers[i],
                     decode_probability(None if levels.probability is None else levels.probability[i]))


def _query(conn: Connection) -> Query:
    """:data:`warn.store.levelsets.Query` over ``conn``: datetimes bound in the store's form, times returned as
    the driver gives them."""
    encode = encode_time(conn.dialect.name)

    def run(sql: str, **params: object) -> list[dict[str, Any]]:
        bound = {name: encode(value) if isinstance(value, datetime) else value for name, value in params.items()}
        return [dict(row._mapping) for row in conn.execute(text(sql), bound)]

    return run


def stored_probability(probability: Mapping[Level, float] | None) -> dict[str, float | None] | None:
    """A lead's probabilities as stored: ``{"blue": 0.67, …}`` (NaN as ``None``); ``None`` stays ``None``."""
    if probability is None:
        return None
    return {Level(level).colour: None if math.isnan(p) else float(p) for level, p in probability.items()}


def decode_probability(stored: Mapping[str, float | None] | None) -> dict[Level, float] | None:
    """The inverse of the stored form (``None`` back to NaN)."""
    if stored is None:
        return None
    return {Level.of_colour(colour): math.nan if p is None else float(p) for colour, p in stored.items()}


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
