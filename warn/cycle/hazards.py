"""One orchestrator for every hazard: each registered hazard of the deployment scored the same way.

For each hazard of ``config.yaml``'s ``hazards:`` (:func:`warn.hazards.deployed`), in order:

1. **Inputs.** A hazard that reads the forecast run is not scored without one — that is a
   data outage (recorded by :mod:`warn.cycle.inputs`), never "all clear"; its items keep
   the levels they had. A hazard judged on official bulletins alone is not scored where no
   source of them is configured.
2. **When.** A hazard whose levels depend only on the run and its official floors
   (:attr:`~warn.hazards.spec.Rescore.NEW_BASIS`, e.g. landslide) is scored again only when
   the run or those floors changed since the levels it has; every other hazard is scored
   every cycle.
3. **Score.** ``spec.score(context)`` with the run, the store (state and remembered levels
   persisted), the cycle's time and the official bulletins of that hazard in force. On an
   ensemble run (a ``member`` dim) the levels are the control member's, and each item gets the
   probability of each level at each lead over all members
   (:func:`warn.hazards.ensemble.score_members`: the other members scored read-only).
4. **Items.** Every scored item becomes an :class:`Item` — hazard, item, planner kind,
   level now, drivers, probabilities — from which the cycle finds the level crossings; the layer record of
   each item (its town, name, people threatened) is looked up by its role
   (:func:`places`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from warn import hazards
from warn.compute import Compute
from warn.config import Settings
from warn.cycle.inputs import Inputs
from warn.hazards.ensemble import score_members
from warn.hazards.spec import Input, Rescore, Scored, ScoredItem
from warn.store import Store
from warn.vocab import ItemKind, Level

#: Layer attributes a crossing carries for the playbooks' texts, when the item's layer has them.
ATTRIBUTES = ("type", "kind")


@dataclass(frozen=True)
class Item:
    """One item's level now, as the cycle compares it with the previous cycle's.

    Attributes
    ----------
    hazard
        Registered hazard name.
    item_id, item
        The item's id and its label (``zone``, ``point``, ``gauge``, ``catchment``, ``district``).
    kind
        The planner's item kind.
    role
        The hazard's layer role the item comes from (``None`` for the district).
    level
        Level now.
    drivers
        Why, in words.
    probability
        On an ensemble run: for each lead, the fraction of members reaching at least each level
        (:attr:`~warn.hazards.spec.ScoredItem.probability`); empty otherwise.
    """

    hazard: str
    item_id: str
    item: str
    kind: ItemKind
    role: str | None
    level: Level
    drivers: tuple[str, ...]
    probability: Mapping[str, Mapping[Level, float]] = field(default_factory=dict)

    @property
    def slot(self) -> str:
        """``hazard:item:id``, the key of the item's level across cycles."""
        return f"{self.hazard}:{self.item}:{self.item_id}"


@dataclass(frozen=True)
class Scores:
    """What scoring the hazards of one cycle gave.

    Attributes
    ----------
    items
        The items scored this cycle (a hazard not scored contributes none).
    scored
        Each scored hazard's full result (every lead), by hazard name.
    notes, notices
        The scorers' notes and data-quality notices.
    floors
        For each hazard judged on its run and official floors alone
        (:attr:`~warn.hazards.spec.Rescore.NEW_BASIS`) scored this cycle: the official floors
        it was judged under, level by item id.
    added
        For each hazard that read a composed run: the lines (what the hours were made of) that follow
        the drivers of every one of its items at each lead — in its :attr:`items`' drivers, not in the
        items of :attr:`scored` (a city's 14,000 items are not copied to add the same lines).
    """

    items: list[Item] = field(default_factory=list)
    scored: dict[str, Scored] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    floors: dict[str, dict[str, int]] = field(default_factory=dict)
    added: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def drivers(self, hazard: str, item: ScoredItem, lead: str) -> tuple[str, ...]:
        """The drivers of a scored ``item`` of ``hazard`` at ``lead``, with the lines :attr:`added` to them."""
        return tuple(item.drivers[lead]) + self.added.get(hazard, {}).get(lead, ())


def floors_by_hazard(settings: Settings, inputs: Inputs) -> dict[str, dict[str, int]]:
    """For every deployed hazard judged on its run and official floors alone: the highest official
    level in force for each item id its bulletins cover."""
    out: dict[str, dict[str, int]] = {d.spec.name: {} for d in hazards.deployed(settings)
                                      if d.spec.rescore is Rescore.NEW_BASIS}
    for bulletin in inputs.official:
        if bulletin.hazard in out:
            for zone in bulletin.zones:
                out[bulletin.hazard][zone] = max(out[bulletin.hazard].get(zone, 0), int(bulletin.level))
    return out


def score(settings: Settings, store: Store, inputs: Inputs, at: datetime, *, rescore: frozenset[str],
          compute: Compute | None = None, added: Mapping[str, Iterable[str]] | None = None) -> Scores:
    """Score every hazard of the deployment for the cycle at ``at``.

    Parameters
    ----------
    settings
        The deployment.
    store
        Where each hazard keeps its state and remembered levels (written).
    inputs
        What the cycle pulled: the run (or none), the official bulletins in force and the
        hazards whose official source is down.
    at
        The cycle's time (UTC).
    rescore
        The :attr:`~warn.hazards.spec.Rescore.NEW_BASIS` hazards to score (their run or
        official floors changed); the others of them keep the levels they have.
    compute
        Where the gridded steps and an ensemble's members run (:mod:`warn.compute`); ``None``: here.
    added
        By lead: the lines the drivers of every item of each hazard that reads the run get (what a composed
        run's hours were made of, :attr:`warn.cycle.now.Now.drivers`); :attr:`Scores.added`.
    """
    out = Scores()
    lines = {lead: tuple(texts) for lead, texts in (added or {}).items() if texts}
    floors = floors_by_hazard(settings, inputs)
    for deployed in hazards.deployed(settings):
        spec = deployed.spec
        if Input.RAIN in spec.inputs and inputs.rain is None:
            continue
        if spec.rescore is Rescore.NEW_BASIS and spec.name not in rescore:
            continue
        if spec.inputs == {Input.OFFICIAL} and not any(o.hazard == spec.name for o in settings.official.values()):
            continue  # judged on official bulletins alone, and no source of them is configured
        ctx = hazards.context(settings, deployed, inputs.rain, at, store=store, persist=True,
                              official=tuple(b for b in inputs.official if b.hazard == spec.name),
                              official_unknown=spec.name in inputs.official_unknown, compute=compute)
        scored = score_members(spec, ctx)
        out.scored[spec.name] = scored
        if spec.rescore is Rescore.NEW_BASIS:
            out.floors[spec.name] = floors[spec.name]
        out.notes.extend(scored.notes)
        out.notices.extend(scored.notices)
        if lines and Input.RAIN in spec.inputs:
            out.added[spec.name] = lines
        now = out.added.get(spec.name, {}).get("now", ())
        roles = {role.item: role for role in spec.roles}
        for item in scored.items:
            role = roles.get(item.item)
            out.items.append(Item(spec.name, item.item_id, item.item, role.kind if role else ItemKind.DISTRICT,
                                  role.name if role else None, Level(item.levels["now"]), item.drivers["now"] + now,
                                  item.probability))
    return out


def places(settings: Settings) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The layer record of every item of every deployed hazard, by (hazard, role, item id).

    Each record holds the layer's attributes plus ``town`` (from the layer's ``town_field``),
    ``name`` (``name_field``) and ``threatened_people`` (``people_field``) where the layer has them.
    """
    from warn.geo.layers import zone_records

    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for deployed in hazards.deployed(settings):
        for role, layer_name in deployed.section.layers.items():
            spec, records = zone_records(settings, layer_name)
            for record in records:
                named = {"town": record.get(spec.town_field) if spec.town_field else None,
                         "name": record.get(spec.name_field),
                         "threatened_people": record.get(spec.people_field) if spec.people_field else None}
                out[(deployed.spec.name, role, str(record[spec.id_field]))] = {**record, **named}
    return out


def place(item: Item, records: Mapping[tuple[str, str, str], Mapping[str, Any]], wanted: Iterable[str] = ()
          ) -> tuple[str | None, dict[str, str | int | float]]:
    """The town of ``item`` and the attributes its crossing carries for the playbooks' texts: its name,
    the people threatened, :data:`ATTRIBUTES` and the ``wanted`` ones the playbooks declare."""
    if item.role is None:
        return None, {}
    record = records.get((item.hazard, item.role, item.item_id), {})
    town = record.get("town")
    attributes: dict[str, str | int | float] = {}
    for name in dict.fromkeys(("name", "threatened_people", *ATTRIBUTES, *wanted)):
        value = record.get(name)
        if not _present(value):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        attributes[name] = value if isinstance(value, (str, int, float)) else str(value)
    return (str(town) if _present(town) else None), attributes


def _present(value: object) -> bool:
    if value is None:
        return False
    return not (isinstance(value, (float, np.floating)) and math.isnan(value))
