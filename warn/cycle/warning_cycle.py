"""One warning cycle at time ``at``: score → crossings → plan/execute → publish → record.

:func:`run` is the single entry point of a cycle (DESIGN.md: ``cycle.run(at)``). The caller
fetches the forecast ``rain`` (fetching stays outside for now). In order:

1. **Score** landslide (zones + hazard points) and waterlogging (points + river gauges)
   with ``persist=True`` (:mod:`warn.cycle.landslide`, :mod:`warn.cycle.flood`).
2. **Crossings.** Each item's ``now`` level is compared with the one of the previous cycle,
   kept in ``model_states`` (model :data:`MODEL`, key :data:`KEY`, JSON). A changed level is
   a :class:`~warn.command.model.LevelCrossing` (a crossing to ``unknown`` is passed on: the
   planner keeps the thread's level). An item seen for the first time crosses from
   ``none`` only when its level is blue or above.
3. **Command.** The crossings and a :class:`~warn.command.model.Tick` are planned and
   executed as :func:`warn.cycle.command.run_command` does (load state, plan, execute, save),
   inlined because its :class:`~warn.store.ExecutionReport` carries counts, not the actions
   that :func:`~warn.cycle.broadcast.publish` needs.
4. **Publish** the run's ``Broadcast`` actions (:func:`warn.cycle.broadcast.publish`).
5. **Record** one timeline entry of kind ``cycle``, key ``cycle/<at ISO>``.

Idempotence: a cycle whose ``cycle/<at>`` entry is already in the timeline is not run
again (nothing is written; the report says ``repeated``). A cycle interrupted before its
entry was appended runs again against the same baseline levels (the saved state keeps
the levels *before* ``at`` as well as after), so the planner sees the same crossings and
the store's idempotency keys keep it from writing anything twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import xarray as xr
from sqlalchemy import select

from warn.broadcast.cap import Status
from warn.command.model import Broadcast, Hazard, ItemKind, LevelCrossing, Tick
from warn.command.planner import Setup, plan
from warn.config import Settings
from warn.cycle.broadcast import publish
from warn.cycle.command import execute, load_state, save_state
from warn.cycle.flood import score_flood
from warn.cycle.landslide import score_landslide
from warn.store import NewEntry, Store
from warn.store.schema import timeline
from warn.vocab import Level

#: Model name / key of the levels the previous cycle saw, in ``model_states``.
MODEL = "cycle"
KEY = "levels"
#: Timeline entry kind of a cycle's summary.
ENTRY_KIND = "cycle"
_JSON = "json"
#: Layer attributes a crossing carries for the playbooks' texts, when the item's layer has them.
_ATTRIBUTES = ("name", "threatened_people", "type", "kind")
_POINT_LAYERS = {("landslide", "point"): "hazard_points", ("waterlogging", "point"): "waterlogging_points",
                 ("waterlogging", "gauge"): "river_gauges"}


@dataclass(frozen=True)
class CycleReport:
    """What one :func:`run` did.

    Attributes
    ----------
    at
        The cycle's time (UTC).
    key
        The timeline key of the cycle (``cycle/<at ISO>``).
    repeated
        The cycle had already been recorded: nothing was run or written.
    items
        Items scored (landslide + waterlogging).
    crossings
        The level crossings given to the planner.
    applied, repeated_actions
        Actions the executor applied, and the ones already recorded.
    messages
        Identifiers of the CAP messages recorded (and queued) by this cycle.
    notes, notices
        The scorers' notes (cold start, spin-up) and notices (stale sensors, gauges).
    """

    at: datetime
    key: str
    repeated: bool = False
    items: int = 0
    crossings: tuple[LevelCrossing, ...] = ()
    applied: int = 0
    repeated_actions: int = 0
    messages: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Item:
    hazard: Hazard
    item_id: str
    kind: str  # zone, point, gauge
    level: Level
    drivers: tuple[str, ...]

    @property
    def slot(self) -> str:
        return f"{self.hazard.value}:{self.kind}:{self.item_id}"


def cycle_key(at: datetime) -> str:
    """Timeline key of the cycle at ``at``."""
    return f"cycle/{_utc(at).isoformat()}"


def run(settings: Settings, store: Store, at: datetime, *, rain: xr.DataArray, status: Status = Status.ACTUAL,
        sender: str, setup: Setup | None = None) -> CycleReport:
    """Run one warning cycle at ``at`` on the forecast run ``rain``.

    Parameters
    ----------
    settings
        The deployment (layers, models, ``command``, channels).
    store
        A migrated store.
    at
        The cycle's time (timezone-aware; UTC is used).
    rain
        Rainfall contract array (time, lat, lon) with ``issued_at``, as fetched by the caller.
    status
        CAP status of the messages (``Exercise`` for drills and the demo).
    sender
        CAP ``sender``.
    setup
        The planner's setup; loaded from ``settings.command`` when ``None``.

    Returns
    -------
    CycleReport
    """
    at = _utc(at)
    key = cycle_key(at)
    if _recorded(store, key):
        return CycleReport(at=at, key=key, repeated=True)
    if setup is None:
        from warn.command.loading import load_setup

        setup = load_setup(settings.command, settings.deployment.district_code)

    landslide = score_landslide(settings, rain, store=store, persist=True)
    flood = score_flood(settings, rain, store=store, persist=True)
    items = [_Item(Hazard.LANDSLIDE, i.item_id, i.kind, Level(i.levels["now"]), _texts(i.drivers.get("now", ())))
             for i in landslide.items]
    items += [_Item(Hazard.WATERLOGGING, i.item_id, i.kind, Level(i.levels["now"]), _texts(i.drivers.get("now", ())))
              for i in flood.items]

    baseline = _baseline(store, at)
    current = {item.slot: int(item.level) for item in items}
    places = _places(settings)
    crossings = tuple(c for item in items if (c := _crossing(item, baseline, at, places)) is not None)
    _save_levels(store, at, baseline, current)

    # run_command's steps (load, plan, execute, save), keeping the actions for publishing;
    # publishing before the state is saved means an interrupted cycle plans and publishes again
    # (both no-ops for what was already recorded) rather than losing its broadcasts.
    state, actions = plan(load_state(store), [*crossings, Tick(at)], at, setup=setup)
    report = execute(store, actions)
    broadcasts = [a for a in actions if isinstance(a, Broadcast)]
    messages = tuple(publish(store, settings, broadcasts, status=status, sender=sender))
    save_state(store, state)
    notes = tuple(landslide.notes + flood.notes)
    notices = tuple(flood.notices)
    details = {"items": len(items), "crossings": len(crossings), "actions": len(actions),
               "applied": report.applied, "repeated": report.repeated, "messages": len(messages),
               "status": str(status.value if hasattr(status, "value") else status),
               "crossed": [f"{c.hazard.value}:{c.item_id}:{int(c.from_level)}->{int(c.to_level)}" for c in crossings],
               "message_ids": list(messages)}
    summary = (f"预警周期 {at:%Y-%m-%d %H:%M}Z：评估 {len(items)} 项，等级变化 {len(crossings)} 次，"
               f"行动 {len(actions)} 项（新执行 {report.applied}），发布 {len(messages)} 条消息 / "
               f"warning cycle {at:%Y-%m-%d %H:%MZ}: {len(items)} items scored, {len(crossings)} crossings, "
               f"{len(actions)} actions ({report.applied} applied), {len(messages)} messages queued")
    store.timeline.append([NewEntry(occurred_at=at, actor="cycle", role="system", kind=ENTRY_KIND,
                                    summary=summary, org_unit=f"district.{settings.deployment.district_code}",
                                    details=details, key=key)])
    return CycleReport(at=at, key=key, items=len(items), crossings=crossings, applied=report.applied,
                       repeated_actions=report.repeated, messages=messages, notes=notes, notices=notices,
                       details=details)


# --- the levels of the previous cycle -----------------------------------------------------------


def _baseline(store: Store, at: datetime) -> dict[str, int]:
    """Levels before ``at``: the saved levels after the previous cycle, or — when the saved
    state is this very cycle's (a rerun after an interruption) — the ones it started from."""
    saved = store.load_state(MODEL, KEY)
    if saved is None:
        return {}
    data = json.loads(saved.arrays[_JSON].tobytes().decode("utf-8"))
    saved_at = datetime.fromisoformat(data["at"])
    if saved_at >= at:
        return {k: int(v) for k, v in data["before"].items()}
    return {k: int(v) for k, v in data["after"].items()}


def _save_levels(store: Store, at: datetime, before: Mapping[str, int], after: Mapping[str, int]) -> None:
    text = json.dumps({"at": at.isoformat(), "before": dict(before), "after": dict(after)}, sort_keys=True)
    store.save_state(MODEL, KEY, valid_at=at, arrays={_JSON: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)},
                     detail="上一周期各项等级 JSON / the items' levels at the last cycle, as JSON")


def _crossing(item: _Item, baseline: Mapping[str, int], at: datetime,
              places: Mapping[tuple[str, str], dict[str, Any]]) -> LevelCrossing | None:
    before = baseline.get(item.slot)
    if before is None:
        if item.level < Level.BLUE:
            return None
        previous = Level.NONE
    else:
        previous = Level(before)
        if previous == item.level:
            return None
    town, attributes = _place(item, places)
    return LevelCrossing(
        hazard=item.hazard, item_id=item.item_id,
        item_kind=ItemKind.ZONE if item.kind == "zone" else ItemKind.POINT, town=town,
        from_level=previous, to_level=item.level, at=at, drivers=item.drivers, attributes=attributes,
        reason=f"{previous.zh}→{item.level.zh} L{int(previous)}→L{int(item.level)}",
    )


def _place(item: _Item, places: Mapping[tuple[str, str], dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
    if item.kind == "zone":
        record = places.get(("towns", item.item_id), {})
        return item.item_id, _attributes(record)
    layer = _POINT_LAYERS.get((item.hazard.value, item.kind))
    record = places.get((layer, item.item_id), {}) if layer else {}
    town = record.get("town_code")
    return (str(town) if _present(town) else None), _attributes(record)


def _places(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """Records of the towns and the point layers by (layer, id)."""
    from warn.cycle.rain import zone_layer

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for name in ("towns", *_POINT_LAYERS.values()):
        if name not in settings.layers:
            continue
        spec, layer = zone_layer(settings, name)
        for record in layer.drop(columns="geometry").to_dict("records"):
            out[(name, str(record[spec.id_field]))] = record
    return out


def _attributes(record: Mapping[str, Any]) -> dict[str, str | int | float]:
    out: dict[str, str | int | float] = {}
    for name in _ATTRIBUTES:
        value = record.get(name)
        if not _present(value):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        out[name] = value if isinstance(value, (str, int, float)) else str(value)
    return out


def _present(value: object) -> bool:
    if value is None:
        return False
    try:
        return not (isinstance(value, (float, np.floating)) and math.isnan(value))
    except TypeError:
        return True


def _texts(drivers) -> tuple[str, ...]:
    return tuple(d.text() if hasattr(d, "text") else str(d) for d in drivers)


def _recorded(store: Store, key: str) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(select(timeline.c.seq).where(timeline.c.idempotency_key == key)).first() is not None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the cycle's time must be timezone-aware")
    return moment.astimezone(UTC)
