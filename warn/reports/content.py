"""事件报告的内容 / what an incident report says, read from the store once for every renderer.

:func:`build` reads the store (never around ``command/``: only its tables) and returns one
frozen :class:`Report`; :mod:`warn.reports.markdown`, :mod:`warn.reports.html` and
:mod:`warn.reports.pdf` render it and :mod:`warn.reports.figures` draws its map and plots.
Nothing is typed twice: every figure is counted from the tables at render time.

Kinds (``kind``), after OPERATIONS.md "Reporting (信息报送)", with the due times of the
situation-report tasks the planner created (:mod:`warn.command.reports`, config.yaml
``command.reports``):

``initial`` (初报)
    From the incident's opening to the first initial report due during it (else opening +
    ``command.reports.initial``).
``followup`` (续报)
    The whole incident up to ``at``; :attr:`Report.highlight_from` is the due time of the
    last report that fell due at or before ``at`` (what is new since then is highlighted).
``final`` (终报)
    The whole incident to its close (``at`` while open); the timeline runs on to ``at``, so
    what happened after the close (tasks finished late, the stand-down) is in it too.

Levels are :class:`warn.vocab.Level` values: −1 unknown, 0 none, 1 blue … 4 red. Times are
timezone-aware UTC.

Sources
-------
Zones and points
    A point's level is the highest level any version of the incident's warning threads about it
    reached within the period; a zone's is the highest of its own threads and of the
    points inside it (the layer's ``town_code``).
Rain
    The hourly rain per town the cycles recorded of the runs they used (``store.rain``, the layer
    ``areas.towns``: zone means with exact coverage weights): each hour as
    the newest run issued before its end gave it (the forecasts the cycles used). The worst town's
    depth in each window of the rainstorm signal (``models/rain.yaml``) is summed over the hours
    before the period too, so a window is whole from the period's first hour where the store has them.
    Observed rain is the rain gauges' (sensors of kind ``rain_gauge``) good readings summed per hour,
    averaged over the gauges that reported; without any, the report says so.
Loop figures
    处置率 and 按期办理率 over the warning threads and the incident that required action as well as
    over tasks (:mod:`warn.reports.loop`; :data:`warn.reports.loop.HANDLING` says what counts).
Water levels
    The ``readings`` of the sensors serving the waterlogging points and river gauges that
    warned, with their QC flags; thresholds from the layer attributes (``depth_*_cm`` in m,
    ``warning_stage_m``, ``guaranteed_stage_m``).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from warn import hazards
from warn.reports.loop import HANDLING, Loop, handling, loop_of
from warn.vocab import Level

if TYPE_CHECKING:
    from warn.config import Settings
    from warn.store import Store
    from warn.store.integrity import StoreIntegrity

#: Report kinds, in the order they are sent.
KINDS = ("initial", "followup", "final")
#: Kind → zh-CN name.
KIND_ZH = {"initial": "初报", "followup": "续报", "final": "终报"}
#: Kinds of district-wide timeline entries (no incident) a report includes when they fall in its period.
DISTRICT_KINDS = ("mode", "report")
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ModeChangeRow:
    """平急转换 / a decided mode change: when, from → to, response level (0 none, 1 IV … 4 I), who decided, rule."""

    at: datetime
    from_mode: str
    to_mode: str
    response_level: int
    decided_by: str
    rule_id: str
    reason: str


@dataclass(frozen=True)
class IncidentHead:
    """报告抬头 / the incident: id, hazard (English and zh-CN), area (towns warned), opened and closed
    (``None`` while open), highest warning level during the period, and the decided mode changes."""

    incident_id: str
    hazard: str
    hazard_zh: str
    area: list[str]
    opened_at: datetime
    closed_at: datetime | None
    highest_level: int
    mode_changes: list[ModeChangeRow]


@dataclass(frozen=True)
class Integrity:
    """时间线校验 / the timeline's hash chain and the rows under it verified at render time
    (:func:`warn.store.integrity.verify_store`; anchors are ``warn verify --anchors``'s).

    ``head_hash`` is the hash of the last entry that verified, ``entries`` how many did;
    ``rows`` the mode change, task, request and CAP message rows that matched the entry recording
    them, ``uncovered`` those written before row digests (not verified); ``problem`` names the first
    bad entry or the rows changed outside the chain and why (zh-CN then English), ``None`` when ``ok``.
    """

    ok: bool
    head_hash: str
    entries: int
    problem: str | None
    rows: int = 0
    uncovered: int = 0


@dataclass(frozen=True)
class ZoneLevel:
    """A town's highest level during the period (−1 unknown, 0 none, 1 blue … 4 red)."""

    zone_id: str
    name: str
    level: int


@dataclass(frozen=True)
class PointMark:
    """A point of a hazard's role (a hazard point, a waterlogging point …) on the map, with its
    highest level during the period: its layer and what kind of point it is, for people."""

    point_id: str
    name: str
    layer: str
    level: int
    kind: str = ""


@dataclass(frozen=True)
class SignalCriterion:
    """One rung of the rainstorm signal (``models/rain.yaml`` ``signal.criteria``): ``depth_mm`` or more
    within ``window_h`` hours gives ``level`` (1 blue … 4 red)."""

    level: int
    depth_mm: float
    window_h: float

    @property
    def label(self) -> str:
        """``橙色 orange ≥50 mm/3 h``."""
        return f"{level_label(self.level)} ≥{self.depth_mm:g} mm/{self.window_h:g} h"


@dataclass(frozen=True)
class RainSeries:
    """雨量过程 / hourly rain over the period, mm in the hour ending at each of ``times`` (every hour,
    NaN where none was recorded).

    ``worst_mm`` is the zone mean of the town with the largest total, ``district_mean_mm`` the
    area-weighted mean over all towns; ``criteria`` the rainstorm signal's rungs and ``accumulations``
    the worst town's depth in each of their windows (hours → mm in the window ending at each time,
    NaN until the window is whole). ``observed_mm`` is the mean over the rain gauges that reported in
    each hour (good readings only), with ``observed_accumulations`` likewise, and ``gauges`` how many
    gauges there are (0: the store has no observed rain, and ``observed_mm`` is ``None``).
    """

    times: list[datetime]
    worst_zone_id: str
    worst_zone_name: str
    worst_mm: list[float]
    district_mean_mm: list[float]
    criteria: list[SignalCriterion]
    accumulations: dict[float, list[float]]
    observed_mm: list[float] | None = None
    observed_accumulations: dict[float, list[float]] = field(default_factory=dict)
    gauges: int = 0


@dataclass(frozen=True)
class LevelSeries:
    """水位过程 / a warned point's water-level sensor over the period.

    ``values`` in ``unit`` (m; ``nan`` for a missing reading), ``flags`` the QC flag of each
    reading (good / doubtful / bad / missing), ``thresholds`` label → value in ``unit``.
    """

    point_id: str
    name: str
    sensor_id: str
    unit: str
    times: list[datetime]
    values: list[float]
    flags: list[str]
    thresholds: dict[str, float]


@dataclass(frozen=True)
class Entry:
    """一条时间线记录 / one timeline entry as the report lists it."""

    seq: int
    occurred_at: datetime
    actor: str
    role: str
    org_unit: str
    kind: str
    summary: str


@dataclass(frozen=True)
class BroadcastRow:
    """发布 / one CAP message: identifier, type (Alert/Update/Cancel), level, sent, channel → outbox status."""

    identifier: str
    msg_type: str
    level: int
    sent_at: datetime
    channels: dict[str, str]


@dataclass(frozen=True)
class Report:
    """An incident report: everything the renderers need (see the module notes for each part).

    ``period`` is (start, end) of what the report covers; ``highlight_from`` (续报 only) the
    start of what is new since the previous report; ``due_at`` when this report is due (from the
    situation-report tasks, else config.yaml ``command.reports``); ``notes`` zh-CN / English lines
    about the sources and what is missing.
    """

    incident: IncidentHead
    kind: str
    period: tuple[datetime, datetime]
    rendered_at: datetime
    integrity: Integrity
    zones: list[ZoneLevel]
    points: list[PointMark]
    rain: RainSeries | None
    levels: list[LevelSeries]
    timeline: list[Entry]
    loop: Loop
    broadcasts: list[BroadcastRow]
    notes: list[str]
    highlight_from: datetime | None = None
    due_at: datetime | None = None
    timezone: str = "UTC"

    def local(self, moment: datetime | None) -> str:
        """``moment`` on the deployment's clock, ``2026-07-15 18:20`` (``—`` for none)."""
        return "—" if moment is None else f"{moment.astimezone(ZoneInfo(self.timezone)):%Y-%m-%d %H:%M}"

    @property
    def title(self) -> str:
        """``城市内涝事件 INC-… 初报 / initial report``."""
        return f"{self.incident.hazard_zh}事件 {self.incident.incident_id} {KIND_ZH[self.kind]} / {self.kind} report"


def minutes_between(start: datetime, end: datetime | None) -> str:
    """Elapsed time from ``start`` to ``end`` as ``35 min`` or ``2 h 05 min`` (``—`` when ``end`` is none)."""
    if end is None:
        return "—"
    total = round((end - start) / timedelta(minutes=1))
    return f"{total} min" if abs(total) < 60 else f"{total // 60} h {total % 60:02d} min"


def percent(value: float | None) -> str:
    """A fraction 0–1 as ``97.5%`` (``—`` when none)."""
    return "—" if value is None else f"{100 * value:.1f}%"


def level_label(level: int) -> str:
    """``红色 red`` / ``无 none`` / ``未知 unknown``."""
    value = Level(level)
    return f"{value.zh} {value.colour}"


class UnknownIncident(LookupError):
    """No incident with this id in the store."""


def build(store: Store, settings: Settings, incident_id: str, *, kind: str, at: datetime) -> Report:
    """The report of ``kind`` on ``incident_id`` as of ``at``.

    Parameters
    ----------
    store
        The store (read only).
    settings
        The deployment (layers, models, ``command.reports``).
    incident_id
        The incident.
    kind
        ``initial``, ``followup`` or ``final`` (:data:`KINDS`).
    at
        Render time (aware): the "as of" time for overdue and the end of a follow-up.

    Raises
    ------
    UnknownIncident
        The store has no such incident.
    ValueError
        ``kind`` is not one of :data:`KINDS`.
    """
    from warn.store.integrity import verify_store

    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    integrity = _integrity(verify_store(store))
    notes: list[str] = []
    row = store.command.incident(incident_id)
    if row is None:
        raise UnknownIncident(incident_id)
    dues = _report_dues(store, row.opened_at, row.closed_at or at)
    period, highlight, due = _period(kind, row.opened_at, row.closed_at, at, dues, settings)
    threads = store.warnings.threads(incident_id)
    versions = sorted(store.warnings.versions([t.thread_id for t in threads]), key=lambda v: (v.at, v.id))
    changed = [v for v in versions if v.at <= period[1]]
    messages = sorted(store.warnings.messages([b.bulletin_id for b in store.warnings.bulletins(incident_id)]),
                      key=lambda m: (m.sent_at, m.id))
    in_period = [m for m in messages if m.sent_at <= period[1]]
    changes = store.command.mode_changes(decided=True, since=period[0], until=period[1])
    entries = _entries(store, incident_id, period, at if kind == "final" else period[1])
    loop = _loop(store, incident_id, threads, versions, period[1] if kind == "initial" else at)
    broadcasts = _broadcasts(store, in_period)
    levels = _levels(store, settings, threads, changed, period)
    item_levels: dict[str, int] = defaultdict(int)
    item_of = {t.thread_id: t.item_id for t in threads}
    for v in changed:
        item = item_of[v.thread_id]
        item_levels[item] = max(item_levels[item], v.level)
    zones, points = _map(settings, item_levels)
    rain = _rain(store, settings, period, notes)
    if not integrity.ok:
        notes.insert(0, f"时间线校验失败，本报告内容不可信 / the timeline failed verification; this report cannot be "
                        f"trusted: {integrity.problem}")
    head = IncidentHead(
        incident_id=incident_id, hazard=row.hazard, hazard_zh=hazards.incident_names_zh().get(row.hazard, row.hazard),
        area=sorted({z.name for z in zones if z.level > 0}), opened_at=row.opened_at, closed_at=row.closed_at,
        highest_level=max(item_levels.values(), default=0),
        mode_changes=[ModeChangeRow(c.at, c.from_mode, c.to_mode, c.response_level, c.decided_by, c.rule_id, c.reason)
                      for c in changes])
    return Report(head, kind, period, at, integrity, zones, points, rain, levels, entries, loop, broadcasts, notes,
                  highlight_from=highlight, due_at=due, timezone=settings.deployment.timezone)


def _integrity(found: StoreIntegrity) -> Integrity:
    """The report's integrity from what :func:`warn.store.integrity.verify_store` found."""
    chain = found.chain
    problems = ([] if chain.ok else [f"第 {chain.first_bad_seq} 条（{chain.first_bad_kind}）校验失败 / entry "
                                     f"{chain.first_bad_seq} ({chain.first_bad_kind}) failed verification: "
                                     f"{chain.reason}"]) + found.rows.problems
    return Integrity(found.ok, chain.head_hash, chain.count, "; ".join(problems) or None, found.rows.checked,
                     found.rows.uncovered)


def _report_dues(store: Store, start: datetime, end: datetime) -> dict[str, list[datetime]]:
    """Due times of the situation-report tasks created between ``start`` and ``end``, by rule id."""
    dues: dict[str, list[datetime]] = defaultdict(list)
    for entry in store.timeline.entries(since=start, until=end, kinds=("report",)):
        dues[entry.details["rule_id"]].append(datetime.fromisoformat(entry.details["due"]))
    return dues


def _period(kind: str, opened: datetime, closed: datetime | None, at: datetime, dues: dict[str, list[datetime]],
            settings: Settings) -> tuple[tuple[datetime, datetime], datetime | None, datetime | None]:
    """(start, end) covered, the start of what is new (follow-ups), and the report's due time."""
    if kind == "initial":
        due = (dues.get("SITREP-INITIAL") or [opened + settings.command.reports.initial])[0]
        return (opened, due), None, due
    if kind == "followup":
        fell_due = sorted(d for rule in ("SITREP-INITIAL", "SITREP-FOLLOW-UP") for d in dues.get(rule, []) if d <= at)
        coming = sorted(d for d in dues.get("SITREP-FOLLOW-UP", []) if d > at)
        return (opened, at), (fell_due[-1] if fell_due else None), (coming[0] if coming else None)
    final_due = dues.get("SITREP-FINAL")
    end = closed if closed is not None and closed <= at else at
    return (opened, end), None, (final_due[-1] if final_due else end + settings.command.reports.final)


def _entries(store: Store, incident_id: str, period: tuple[datetime, datetime], until: datetime) -> list[Entry]:
    """The incident's entries, and the district-wide mode and report entries of the period, in occurred-at order."""
    district = [e for e in store.timeline.entries(since=period[0], until=period[1], kinds=DISTRICT_KINDS)
                if e.incident is None]
    chosen = sorted([*store.timeline.entries(incident_id, until=until), *district],
                    key=lambda e: (e.occurred_at, e.seq))
    return [Entry(e.seq, e.occurred_at, e.actor, e.role, e.org_unit, e.kind, e.summary) for e in chosen]


def _loop(store: Store, incident_id: str, threads, versions, at: datetime) -> Loop:
    """Warnings, tasks and calls of the incident as of ``at`` (:func:`loop_of`)."""
    return loop_of(incident_id, threads, versions, store.command.tasks(incident_id=incident_id),
                   store.command.ack_requests(prefix=f"{incident_id}/"), at)


def _broadcasts(store: Store, messages) -> list[BroadcastRow]:
    """Every CAP message with its outbox rows (key ``<identifier>/<channel>…``) by channel → status."""
    queued = store.outbox.rows() if messages else []
    rows = []
    for m in messages:
        sent = [(q.message.channel, str(q.status)) for q in queued
                if q.message.idempotency_key.startswith(f"{m.identifier}/")]
        rows.append(BroadcastRow(m.identifier, m.kind, m.level, m.sent_at, {c: s for c, s in sorted(sent)}))
    return rows


def _map(settings: Settings, item_levels: dict[str, int]) -> tuple[list[ZoneLevel], list[PointMark]]:
    """Every town, and every point of the deployed hazards' point roles, with the highest level of
    itself and (towns) of the items in it (points and catchments, by their layer's town)."""
    from warn import hazards
    from warn.geo.layers import zone_layer
    from warn.vocab import ItemKind

    spec, towns = zone_layer(settings, settings.areas.towns)
    zone_level = {str(z): item_levels.get(str(z), 0) for z in towns[spec.id_field]}
    points = []
    for deployed in hazards.deployed(settings):
        for role in deployed.spec.roles:
            layer_name = deployed.section.layers.get(role.name)
            if layer_name is None or role.kind is ItemKind.ZONE:
                continue
            pspec, layer = zone_layer(settings, layer_name)
            for record in layer.to_dict("records"):
                item_id = str(record[pspec.id_field])
                level = item_levels.get(item_id, 0)
                if role.kind is ItemKind.POINT:
                    points.append(PointMark(item_id, str(record.get(pspec.name_field, item_id)), layer_name, level,
                                            f"{role.zh} {role.en}"))
                town = str(record.get(pspec.town_field, "")) if pspec.town_field else ""
                if town in zone_level:
                    zone_level[town] = max(zone_level[town], level)
    zones = [ZoneLevel(str(z), str(name), zone_level[str(z)])
             for z, name in zip(towns[spec.id_field], towns.get(spec.name_field, towns[spec.id_field]), strict=True)]
    return zones, points


def _levels(store: Store, settings: Settings, threads, versions, period: tuple[datetime, datetime]
            ) -> list[LevelSeries]:
    """The water-level series of the warned items that carry a sensor (the point roles of the hazards
    that read sensors: waterlogging points, river gauges), readings of the period."""
    from warn import hazards
    from warn.geo.layers import zone_layer
    from warn.hazards.spec import Input

    warned = {t.item_id for t in threads if any(v.thread_id == t.thread_id and v.level > 0 for v in versions)}
    sensor_of = {s.point_id: s.sensor_id for s in store.sensors() if s.point_id in warned}
    layers = dict.fromkeys(layer for d in hazards.deployed(settings) if Input.SENSORS in d.spec.inputs
                           for layer in d.section.layers.values())
    out = []
    for layer_name in layers:
        spec, layer = zone_layer(settings, layer_name)
        for record in layer.to_dict("records"):
            point_id = str(record[spec.id_field])
            if point_id not in sensor_of:
                continue
            rows = store.readings(sensor_of[point_id], since=period[0], until=period[1] + _MICROSECOND)
            out.append(LevelSeries(point_id, str(record.get(spec.name_field, point_id)), sensor_of[point_id],
                                   rows[0].reading.unit if rows else "m", [r.reading.phenomenon_time for r in rows],
                                   [float("nan") if r.reading.value is None else r.reading.value for r in rows],
                                   [str(r.qc_flag) for r in rows], _level_thresholds(record)))
    return out


def _level_thresholds(record: dict[str, Any]) -> dict[str, float]:
    """A point's thresholds in m: ponding depths (``depth_*_cm``) or a gauge's warning and guaranteed stages."""
    labels = {"depth_blue_cm": "蓝色 blue", "depth_yellow_cm": "黄色 yellow", "depth_red_cm": "红色 red",
              "warning_stage_m": "警戒水位 warning stage", "guaranteed_stage_m": "保证水位 guaranteed stage"}
    return {label: float(record[key]) / (100 if key.endswith("_cm") else 1)
            for key, label in labels.items() if key in record and not math.isnan(float(record[key]))}


def _rain(store: Store, settings: Settings, period: tuple[datetime, datetime], notes: list[str]) -> RainSeries | None:
    """Hourly rain of the period per town as the cycles recorded it (module notes), the worst town's
    accumulations over the signal's windows, and the rain gauges' observations; ``None`` with a note
    when the store holds no hourly rain."""
    import numpy as np

    from warn.geo.layers import area_km2, zone_layer
    from warn.modelfiles import load_model_file

    params = load_model_file("rain", settings.models["rain"]).params()
    windows = sorted({c.window for c in params.signal})
    lead_in = max(windows) - timedelta(hours=1)  # the hours before the period its first windows reach back to
    kept = store.rain.hourly(settings.areas.towns, period[0] - lead_in, period[1])
    inside = [r.hour_end for r in kept if r.hour_end >= period[0]]
    if not inside:
        notes.append("无本时段逐时雨量记录，未绘雨量过程 / no hourly rain recorded for the period: no hyetograph")
        return None
    spec, towns = zone_layer(settings, settings.areas.towns)
    zone_ids = [str(z) for z in towns[spec.id_field]]
    column = {zone_id: k for k, zone_id in enumerate(zone_ids)}
    first, last = min(inside) - lead_in, max(inside)
    every = [first + timedelta(hours=h) for h in range(round((last - first) / timedelta(hours=1)) + 1)]
    row = {t: k for k, t in enumerate(every)}
    values = np.full((len(every), len(zone_ids)), np.nan)
    for r in kept:
        if r.zone_id in column and r.mean_mm is not None:
            values[row[r.hour_end], column[r.zone_id]] = r.mean_mm
    skip = round(lead_in / timedelta(hours=1))
    times = every[skip:]
    area = area_km2(towns).to_numpy()
    worst = int(np.nanargmax(np.nansum(values[skip:], axis=0)))
    district = np.nansum(values[skip:] * area, axis=1) / area.sum()
    criteria = [SignalCriterion(int(c.level), c.depth_mm, c.window / timedelta(hours=1))
                for c in sorted(params.signal, key=lambda c: (c.window, c.level))]
    observed, gauges = observed_rain(store, every)
    notes.append("雨量为各时次预报（模式所用逐时雨量），镇街面平均；暴雨信号按最不利格点判定，面平均可低于信号所用雨量 / rain: "
                 "the hourly rain the cycles used (each hour from the newest run issued before it), town means; the "
                 "signal is judged on the worst grid cell, so a town mean can stay below what set the signal")
    notes.append(f"雨量站实测：{gauges} 站，逐时取报告站平均 / observed rain: the mean of the {gauges} rain gauges "
                 "that reported in each hour" if observed is not None else
                 "存储中无雨量站实测雨量，仅有预报 / no rain-gauge observations in the store: forecast rain only")
    names = towns[spec.name_field] if spec.name_field in towns else towns[spec.id_field]
    return RainSeries(times=times, worst_zone_id=zone_ids[worst], worst_zone_name=str(names.iloc[worst]),
                      worst_mm=[float(v) for v in values[skip:, worst]], district_mean_mm=[float(v) for v in district],
                      criteria=criteria, accumulations=_accumulations(every, values[:, worst], windows, skip),
                      observed_mm=None if observed is None else [float(v) for v in observed[skip:]],
                      observed_accumulations={} if observed is None else _accumulations(every, observed, windows, skip),
                      gauges=gauges)


def _accumulations(times: list[datetime], hourly: Any, windows: list[timedelta], skip: int) -> dict[float, list[float]]:
    """Window (h) → depth in the window ending at each time after the first ``skip`` (the lead-in), mm
    (:func:`warn.risk.rain.rolling_depth`: NaN where the window holds a missing hour)."""
    import numpy as np
    import xarray as xr

    from warn.risk.rain import rolling_depth

    series = xr.DataArray(np.asarray(hourly, dtype=float), dims=("time",),
                          coords={"time": np.array([t.replace(tzinfo=None) for t in times], dtype="datetime64[ns]")},
                          attrs={"units": "mm", "step": "PT1H"})
    return {w / timedelta(hours=1): [float(v) for v in rolling_depth(series, w).values[skip:]] for w in windows}


def observed_rain(store: Store, times: list[datetime]) -> tuple[Any, int]:
    """The rain gauges' hourly rain over ``times`` (hour ends): per hour the mean over the gauges with a good
    reading in it (NaN where none did), mm, and how many gauges the catalogue has; ``(None, n)`` when no
    gauge reported in the period."""
    import numpy as np

    from warn.vocab import QCFlag, SensorKind

    gauges = [s.sensor_id for s in store.sensors() if s.kind is SensorKind.RAIN_GAUGE]
    hour = timedelta(hours=1)
    index = {t: k for k, t in enumerate(times)}
    sums = np.full((len(times), len(gauges)), np.nan)
    for g, sensor_id in enumerate(gauges):
        for r in store.readings(sensor_id, since=times[0] - hour + _MICROSECOND, until=times[-1] + _MICROSECOND):
            if r.qc_flag is not QCFlag.GOOD or r.reading.value is None:
                continue
            end = r.reading.phenomenon_time
            key = end if end in index else end.replace(minute=0, second=0, microsecond=0) + hour
            if key in index:
                k = index[key]
                sums[k, g] = (0.0 if np.isnan(sums[k, g]) else sums[k, g]) + r.reading.value
    if not np.isfinite(sums).any():
        return None, len(gauges)
    with warnings.catch_warnings():  # an hour no gauge reported is NaN (missing), never 0
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(sums, axis=1), len(gauges)


@dataclass(frozen=True)
class Table:
    """One table of a report as text, for every renderer: ``key`` (``timeline``, ``tasks`` …), zh-CN /
    English title, column heads, rows of cells, which rows are new since :attr:`Report.highlight_from`, and
    a ``note`` under the title (what the figures count)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    new: list[bool]
    note: str = ""


def verification_line(report: Report) -> str:
    """The integrity status, one line: ``✓ 时间线校验通过 …`` or ``✗ 时间线校验失败 …``; the head hash either way."""
    i = report.integrity
    if i.ok:
        older = f"，{i.uncovered} 行早于行摘要未校验 / {i.uncovered} older rows not covered" if i.uncovered else ""
        return (f"✓ 时间线校验通过 / timeline verified: 哈希链 {i.entries} 条 entries (hash chain), 其上行记录 {i.rows} "
                f"行 rows under it (mode changes, tasks, requests, CAP messages){older}; 未核对锚定 / anchors not "
                f"checked here (warn verify --anchors); head hash {i.head_hash}")
    return (f"✗ 时间线校验失败 / timeline verification failed — {i.problem}; 此前 {i.entries} 条完好 / "
            f"{i.entries} entries before it verified, head hash {i.head_hash}")


def facts(report: Report) -> list[tuple[str, str]]:
    """The header: (label, value) pairs — incident, hazard, area, period, due, highest level, response, rendered."""
    head = report.incident
    changes = "; ".join(f"{report.local(c.at)} {c.from_mode} → {c.to_mode}"
                        f"{f'（{_RESPONSE_ZH[c.response_level]}）' if c.response_level else ''}，"
                        f"{c.decided_by} 决定 decided ({c.rule_id})" for c in head.mode_changes)
    rows = [("事件 Incident", head.incident_id), ("灾种 Hazard", f"{head.hazard_zh} {head.hazard}"),
            ("影响范围 Area", "、".join(head.area) or "—"),
            ("开启 / 关闭 Opened / closed", f"{report.local(head.opened_at)} / {report.local(head.closed_at)}"),
            ("报告时段 Period", f"{report.local(report.period[0])} — {report.local(report.period[1])}")]
    if report.highlight_from is not None:
        rows.append(("上次报告以来 New since", report.local(report.highlight_from)))
    rows += [("本报告时限 Due", report.local(report.due_at)),
             ("最高预警等级 Highest level", level_label(head.highest_level)),
             ("响应与平急转换 Response and mode changes", changes or "—"),
             ("生成时间 Rendered", f"{report.local(report.rendered_at)} ({report.timezone})")]
    return rows


def tables(report: Report) -> list[Table]:
    """The report's tables in order: zones warned, water levels, loop (warnings, tasks, calls, figures, the
    warnings that required action and were not handled or not on time), broadcasts, timeline."""
    since = report.highlight_from
    loop = report.loop

    def new(moment: datetime | None) -> bool:
        return since is not None and moment is not None and moment > since

    out = [Table("zones", "预警区域与点位 Zones and points warned", ["编号 id", "名称 name", "最高等级 highest level"],
                 [[z.zone_id, z.name, level_label(z.level)] for z in report.zones if z.level > 0]
                 + [[p.point_id, p.name, level_label(p.level)] for p in report.points if p.level > 0],
                 [False] * (sum(z.level > 0 for z in report.zones) + sum(p.level > 0 for p in report.points)))]
    out.append(Table("levels", "水位 Water levels", ["点位 point", "传感器 sensor", "最高 max", "阈值 thresholds",
                                                     "质控标记 QC-flagged"],
                     [[f"{s.point_id} {s.name}", s.sensor_id, _max_value(s),
                       ", ".join(f"{k} {v:g} {s.unit}" for k, v in s.thresholds.items()),
                       str(sum(f != "good" for f in s.flags))] for s in report.levels], [False] * len(report.levels)))
    out.append(Table("warnings", "预警闭环 Warning loop", ["预警 thread", "最高 level", "首发 first",
                                                          "→ 签收 ack", "→ 首次处置 first action", "→ 解除 closed",
                                                          "处置 handled"],
                     [[w.thread_id, level_label(w.level), report.local(w.first_at),
                       minutes_between(w.first_at, w.acked_at), minutes_between(w.first_at, w.first_action_at),
                       minutes_between(w.first_at, w.closed_at), handling(w)] for w in loop.warnings],
                     [new(w.first_at) for w in loop.warnings]))
    out.append(Table("tasks", "任务 Tasks", ["任务 task", "责任 owner", "时限 due", "完成 done", "状态 status",
                                            "超期 overdue", "升级 escalated"],
                     [[t.summary, t.owner, report.local(t.due_at), report.local(t.done_at), t.status,
                       "是 yes" if t.overdue else "", "是 yes" if t.escalated else ""] for t in loop.tasks],
                     [new(t.done_at) or new(t.due_at) for t in loop.tasks]))
    out.append(Table("calls", "叫应 Calls", ["对象 addressee", "发起 asked", "应答人 answered by", "应答 answered",
                                            "升级 escalations"],
                     [[c.addressee, report.local(c.created_at), c.answered_by or "未应答 unanswered",
                       report.local(c.answered_at), str(c.escalations)] for c in loop.calls],
                     [new(c.created_at) for c in loop.calls]))
    out.append(Table("figures", "指标 Figures", ["指标 figure", "统计对象 counted over", "完成/总数 of", "值 value"],
                     [[k.name, k.over, f"{k.part}/{k.whole}", percent(k.value)] for k in loop.figures],
                     [False] * len(loop.figures), note=f"指标口径 what counts: {HANDLING}"))
    out.append(Table("unhandled", "需处置而未处置或未按期 Required action, not handled or not on time",
                     ["对象 warning / incident", "点位 item", "最高 level", "首发 first", "原因 why"],
                     [[u.what, u.item_id, level_label(u.level), report.local(u.first_at), u.reason]
                      for u in loop.unhandled], [new(u.first_at) for u in loop.unhandled]))
    out.append(Table("broadcasts", "发布 Broadcasts (CAP)", ["标识 identifier", "类型 type", "等级 level",
                                                             "时间 sent", "渠道 channels"],
                     [[b.identifier, b.msg_type, level_label(b.level), report.local(b.sent_at),
                       ", ".join(f"{c}: {s}" for c, s in b.channels.items()) or "—"] for b in report.broadcasts],
                     [new(b.sent_at) for b in report.broadcasts]))
    out.append(Table("timeline", "时间线 Timeline", ["序号 seq", "时间 time", "操作者 actor", "角色 role",
                                                    "单位 org unit", "类型 kind", "摘要 summary"],
                     [[str(e.seq), report.local(e.occurred_at), e.actor, e.role, e.org_unit, e.kind, e.summary]
                      for e in report.timeline], [new(e.occurred_at) for e in report.timeline]))
    return out


#: Response level → zh-CN name.
_RESPONSE_ZH = {1: "四级响应 IV", 2: "三级响应 III", 3: "二级响应 II", 4: "一级响应 I"}


def _max_value(series: LevelSeries) -> str:
    """The highest good reading, ``1.23 m`` (``—`` when there is none)."""
    good = [v for v, f in zip(series.values, series.flags, strict=True) if f == "good" and not math.isnan(v)]
    return f"{max(good):.2f} {series.unit}" if good else "—"
