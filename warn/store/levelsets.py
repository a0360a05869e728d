"""Item levels kept as one set per cycle, hazard, item kind and lead, and read as of any time.

A city cycle scores 14,000 items at 3 leads. Kept as a row each, its write took about a second and grew
with the store's age (each row added an entry at its item's place in a per-item index), and 30 days were
30 million rows. Kept here as sets, a cycle writes one row per hazard, item kind and lead
(``level_sets``): the levels as an ``int8`` array and the scores as a ``float64`` array (little-endian,
NaN: none) in the order of the set's item ids, the drivers as one JSON array of each item's texts, the
ensemble probabilities as one JSON array of each item's ``{colour: fraction}`` (``null``: none; the
column NULL when no item has any). The item ids are kept once per distinct list (``level_item_lists``,
by digest), since a deployment scores the same items cycle after cycle.

:func:`last_levels` reads each item's last level as of a time: for each hazard, kind and lead, the
newest set by then, and only when an earlier set listed other items (a layer changed) the newest set of
each other list. :func:`sets` reads the sets of a span, for histories.

Standard library only (no numpy, no SQLAlchemy; the project's errors): the store's writer and the read-only views
(:mod:`warn.store.views`) both use it, through a query function with named parameters.
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import isnan, nan
from typing import Any

from warn.errors import Problem, StoreError

#: (hazard, item kind, item id, lead): one item's level at one lead.
Key = tuple[str, str, str, str]
#: Runs SQL text with named parameters (``:name``), datetimes bound in the store's form of a time; returns
#: the rows by column name (times as the driver gives them, or decoded).
Query = Callable[..., list[dict[str, Any]]]
#: What a set holds of each item, past its level: the columns read only when asked for.
DETAILS = ("score", "drivers", "probability")
#: The column of each of :data:`DETAILS`.
_COLUMN_OF = {"score": "scores", "drivers": "drivers", "probability": "probability"}


@dataclass(frozen=True)
class LevelSet:
    """The levels one cycle gave the items of one hazard and kind at one lead, in the order of ``item_ids``.

    Attributes
    ----------
    item_ids
        The items.
    level
        Each item's level (−1 unknown … 4 red).
    score
        Each item's score, ``None`` without one (``None`` as a whole: not read).
    drivers
        Each item's readable reasons (``None`` as a whole: not read).
    probability
        Each item's ``{colour: fraction of members}`` (``None``: from a single run; ``None`` as a whole:
        none, or not read).
    """

    item_ids: Sequence[str]
    level: Sequence[int]
    score: Sequence[float | None] | None = None
    drivers: Sequence[tuple[str, ...]] | None = None
    probability: Sequence[dict[str, float | None] | None] | None = None

    def encoded(self) -> dict[str, Any]:
        """The set's columns as stored, but its item list (:meth:`ids_text`)."""
        if self.score is None or self.drivers is None:
            raise ValueError("a level set is stored with its scores and drivers")
        probability = self.probability
        return {"levels": _bytes("b", self.level),
                "scores": _bytes("d", [nan if s is None else s for s in self.score]),
                "drivers": json.dumps(self.drivers, ensure_ascii=False),
                "probability": None if probability is None or not any(p is not None for p in probability)
                else json.dumps(probability)}

    def in_id_order(self) -> LevelSet:
        """The set with its items in id order, as it is stored (its item list then is the same whatever
        order the items were scored in).

        Raises
        ------
        ValueError
            A column's length is not one value per item, or an item is given twice.
        """
        ids = self.item_ids
        columns = [c for c in (self.level, self.score, self.drivers, self.probability) if c is not None]
        if any(len(c) != len(ids) for c in columns):
            raise ValueError(f"{[len(c) for c in columns]} values for {len(ids)} items")
        order = sorted(range(len(ids)), key=ids.__getitem__)
        for a, b in zip(order, order[1:], strict=False):
            if ids[a] == ids[b]:
                raise ValueError(f"{ids[a]!r} is given twice")
        if all(a < b for a, b in zip(order, order[1:], strict=False)):
            return self

        def take(column: Sequence[Any] | None) -> list[Any] | None:
            return None if column is None else [column[i] for i in order]

        return LevelSet([ids[i] for i in order], [self.level[i] for i in order], take(self.score),
                        take(self.drivers), take(self.probability))

    def ids_text(self) -> tuple[str, str]:
        """The set's item list as stored (JSON text) and its digest (the first 32 hex digits of its SHA-256)."""
        text = json.dumps(list(self.item_ids), ensure_ascii=False)
        return text, hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def decode(row: dict[str, Any], item_ids: Sequence[str], where: str) -> LevelSet:
    """The :class:`LevelSet` of a ``level_sets`` row (``levels`` and whichever of ``scores``, ``drivers``,
    ``probability`` it has), over its item list ``item_ids``.

    Raises
    ------
    StoreError
        The row is damaged: a column that is not what a cycle writes, or not one value per item (``where``
        names the set).
    """
    try:
        level = _numbers("b", row["levels"])
        score = [None if isnan(s) else s for s in _numbers("d", row["scores"])] if "scores" in row else None
        drivers = [tuple(texts) for texts in json.loads(row["drivers"])] if "drivers" in row else None
        probability = json.loads(row["probability"]) if row.get("probability") is not None else None
    except (TypeError, ValueError) as err:
        raise StoreError(Problem(f"store level_sets {where}", "", "the levels, scores, drivers and probabilities "
                                 "a cycle writes", f"{type(err).__name__}: {err}")) from None
    counts = {name: len(column) for name, column in (("levels", level), ("scores", score), ("drivers", drivers),
                                                      ("probability", probability)) if column is not None}
    if any(count != len(item_ids) for count in counts.values()):
        raise StoreError(Problem(f"store level_sets {where}", "", f"one value per item of its list ({len(item_ids)})",
                                 ", ".join(f"{name} {count}" for name, count in counts.items())))
    return LevelSet(item_ids, level, score, drivers, probability)


def last_levels(query: Query, at: datetime, *, before: bool = False, hazard: str | None = None,
                item_id: str | None = None, lead: str | None = None, keys: Collection[Key] | None = None,
                details: Collection[str] = DETAILS) -> dict[Key, dict[str, Any]]:
    """Each item's last level at each lead recorded by a cycle at or before ``at``.

    Parameters
    ----------
    query
        Runs the statements (:data:`Query`).
    at
        The time (UTC-aware).
    before
        Recorded strictly before ``at`` (a cycle's baseline: a rerun compares with what came before it).
    hazard, item_id, lead
        Of this hazard, item and lead only (``None``: all).
    keys
        Of these items only.
    details
        Which of :data:`DETAILS` to read beside the level.

    Returns
    -------
    dict
        :data:`Key` → ``cycle_at`` (the cycle that recorded the level, as the query returns a time),
        ``level`` and ``details``. Items no cycle scored by then are left out.
    """
    bound = "<" if before else "<="
    where, params = _filters(hazard=hazard, lead=lead)
    groups = query(f"SELECT DISTINCT hazard, item_kind, lead FROM level_sets WHERE cycle_at {bound} :at{where}",
                   at=at, **params)
    if keys is not None:
        kept = {(h, k, ld) for h, k, _, ld in keys}
        groups = [g for g in groups if (g["hazard"], g["item_kind"], g["lead"]) in kept]
    wanted = None if keys is None else frozenset(keys)
    found: dict[Key, dict[str, Any]] = {}
    for group in groups:
        _last_of_group(query, (group["hazard"], group["item_kind"], group["lead"]), at, bound, item_id, wanted,
                       details, found)
    return found


def sets(query: Query, *, since: datetime | None = None, until: datetime | None = None, hazard: str | None = None,
         lead: str | None = None) -> Iterator[tuple[Any, str, str, str, LevelSet]]:
    """The sets recorded with ``since`` ≤ cycle time ≤ ``until`` (either open), of one hazard and lead
    (``None``: all), with every detail: (cycle time, hazard, item kind, lead, set), in cycle order."""
    where, params = _filters(hazard=hazard, lead=lead)
    if since is not None:
        where, params = where + " AND cycle_at >= :since", params | {"since": since}
    if until is not None:
        where, params = where + " AND cycle_at <= :until", params | {"until": until}
    lists: dict[int, list[str]] = {}
    for row in query(f"SELECT cycle_at, hazard, item_kind, lead, list_id, levels, {', '.join(_COLUMN_OF.values())} "
                     f"FROM level_sets WHERE 1 = 1{where} ORDER BY cycle_at, hazard, item_kind, lead", **params):
        if row["list_id"] not in lists:
            lists[row["list_id"]] = _item_ids(query, row["list_id"])
        key = (row["cycle_at"], row["hazard"], row["item_kind"], row["lead"])
        yield *key, decode(row, lists[row["list_id"]], _where(*key))


def _last_of_group(query: Query, group: tuple[str, str, str], at: datetime, bound: str, item_id: str | None,
                   keys: Collection[Key] | None, details: Collection[str], found: dict[Key, dict[str, Any]]) -> None:
    """Add to ``found`` the last level by ``at`` of the items of one hazard, kind and lead: from the newest
    set of each distinct item list, newest first, the items no newer set listed."""
    hazard, kind, lead = group
    columns = ", ".join(["cycle_at", "levels", *(_COLUMN_OF[d] for d in details)])
    lists = query(f"SELECT list_id, max(cycle_at) AS cycle_at FROM level_sets WHERE hazard = :hazard "
                  f"AND item_kind = :kind AND lead = :lead AND cycle_at {bound} :at GROUP BY list_id",
                  hazard=hazard, kind=kind, lead=lead, at=at)
    seen: set[str] = set()
    for listed in sorted(lists, key=lambda r: r["cycle_at"], reverse=True):
        item_ids = _item_ids(query, listed["list_id"], only=item_id)
        wanted = [i for i, name in enumerate(item_ids) if name not in seen and (item_id is None or name == item_id)
                  and (keys is None or (hazard, kind, name, lead) in keys)]
        seen.update(item_ids)
        if not wanted:
            continue
        row = query(f"SELECT {columns} FROM level_sets WHERE cycle_at = :cycle AND hazard = :hazard "
                    "AND item_kind = :kind AND lead = :lead", cycle=listed["cycle_at"], hazard=hazard, kind=kind,
                    lead=lead)[0]
        levels = decode(row, item_ids, _where(row["cycle_at"], hazard, kind, lead))
        for i in wanted:
            found[(hazard, kind, item_ids[i], lead)] = {"cycle_at": row["cycle_at"], "level": levels.level[i]} | {
                d: _detail(levels, d, i) for d in details}


def _where(cycle_at: Any, hazard: str, kind: str, lead: str) -> str:
    """A set as an error names it."""
    return f"{hazard} {kind} {lead} of the cycle at {cycle_at}"


def _detail(levels: LevelSet, detail: str, i: int) -> Any:
    values = getattr(levels, detail)
    return None if values is None else values[i]


def _item_ids(query: Query, list_id: int, *, only: str | None = None) -> list[str]:
    """The item ids of a stored list; with ``only``, an empty list unless ``only`` is among them (read without
    decoding the list when its text cannot hold it)."""
    text = query("SELECT item_ids FROM level_item_lists WHERE list_id = :list", list=list_id)[0]["item_ids"]
    if only is not None and json.dumps(only, ensure_ascii=False) not in text:
        return []
    return json.loads(text)


def _filters(**equal: str | None) -> tuple[str, dict[str, str]]:
    """`` AND column = :column`` for each column given a value, and the values by name."""
    given = {column: value for column, value in equal.items() if value is not None}
    return "".join(f" AND {column} = :{column}" for column in given), given


def _bytes(code: str, values: Sequence[float]) -> bytes:
    """``values`` as a little-endian array of ``code`` (``b``: int8, ``d``: float64)."""
    packed = array(code, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _numbers(code: str, blob: bytes) -> array:
    """The inverse of :func:`_bytes`."""
    packed = array(code)
    packed.frombytes(bytes(blob))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed
