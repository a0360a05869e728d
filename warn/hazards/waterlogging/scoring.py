"""Waterlogging scoring: per waterlogging point, levels now, +2 h, +24 h.

For one forecast run issued at t0 (hourly rain on a grid):

1. Each waterlogging point takes the rain of the grid cell it stands in. The
   return-period screen (``risk.waterlogging.rain_screen``) runs over the rain the store kept
   for the last hours and the forecast, so the windows ending at t0 are complete; the
   storage bucket (``risk.waterlogging.bucket``) starts from the storage the previous cycle
   saved for t0 (empty, and said so, without one).
2. The sensors (``risk.waterlogging.sensor_terms``, all points at once) read each point's QC-passed water
   levels from the store up to the cycle's time; a sensor that is stale, whose latest
   reading failed QC, or that has no readings is "unknown".
3. Sensor-first (``risk.waterlogging.now_score``): where the sensor is healthy its observed
   depth sets the level now; the model (screen and bucket) sets +2 h and +24 h, and "now"
   only where the sensor is unknown — the level is then a lower bound, the point's result
   is marked incomplete and a data-quality notice says why. The first driver now says which
   governed (``实测积水 0.20 m（传感器正常）`` / ``模型估算（传感器失效：…）``).
4. Levels per lead time (the highest within each), drivers from ``risk.waterlogging``; the
   "now" level goes through levels with memory, kept in the store (a level held above what
   governs now says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import xarray as xr

from warn.config import Settings
from warn.geo.cells import cell_series
from warn.hazards.leads import lead_seconds, lead_windows
from warn.hazards.memory import remember
from warn.hazards.sensing import Series, naive, series_of, silence_limits
from warn.hazards.spec import LEADS, Context, Scored, ScoredItem
from warn.modelfiles import load_model_file
from warn.rainarray import as_hourly, issued_at
from warn.risk import waterlogging
from warn.risk.drivers import Driver
from warn.risk.levels import level_of
from warn.risk.series import REASON_ZH, Readings
from warn.store import Store
from warn.vocab import LEVEL_OF, Level

#: Model name of the saved bucket state and the remembered levels in the store.
STATE_MODEL = "waterlogging"
#: Hours of the run whose bucket storages are saved, and hours of rain kept before t0.
SAVED_HOURS = 12
KEPT_HOURS = 3


@dataclass(frozen=True)
class WaterloggingItem:
    """One waterlogging point and its levels.

    Attributes
    ----------
    item_id, name
        The point's id and name.
    levels
        ``{"now": Level, "2h": …, "24h": …}``.
    drivers
        The reasons of each lead's level.
    basis
        What governed the level now, in words (:func:`warn.risk.waterlogging.now_basis`),
        and, where memory holds the level above it, a line saying so.
    depth_cm
        Ponding depth now, cm: the sensor's when it is known, else the model's.
    minutes_to_next
        Minutes until the next depth at the current rate; None when not rising or unknown.
    score_now
        Score now (0–100) that levels with memory follow; NaN when the level now is unknown.
    complete
        The level now is not a lower bound: the sensor governed (False: the sensor is
        unknown and the model's estimate stands, see the notices).
    """

    item_id: str
    name: str
    levels: dict[str, Level]
    drivers: dict[str, list[Driver]]
    basis: tuple[str, ...]
    depth_cm: float | None
    minutes_to_next: float | None
    score_now: float
    complete: bool


@dataclass(frozen=True)
class WaterloggingResult:
    """The waterlogging step's output for one run: items, notes on the state, data-quality notices."""

    issued_at: datetime
    items: list[WaterloggingItem]
    notes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def score_waterlogging(ctx: Context) -> WaterloggingResult:
    """Waterlogging levels of every waterlogging point for one forecast run.

    Parameters
    ----------
    ctx
        The cycle's context: the run (rainfall contract array (time, lat, lon), mm per step,
        with ``issued_at``), the layer of the role ``points``, the store the bucket state, the
        remembered levels and the sensor readings are read from (the state and levels
        written with ``ctx.persist``; ``None``: no sensors, a cold bucket), and the cycle's
        time ``ctx.now`` up to which the sensor readings are taken and the levels' memory steps.
    """
    settings, rain, store, persist = ctx.settings, ctx.rain, ctx.store, ctx.persist
    params: waterlogging.WaterloggingParams = ctx.params
    rain_params = load_model_file("rain", settings.models["rain"]).params()
    t0 = issued_at(rain)
    hourly = as_hourly(rain)
    spec, layer = ctx.layer("points")
    points = _layer_points(layer, params, rain_params.default_formula)
    ids = layer[spec.id_field].astype(str).tolist()
    forecast = cell_series(hourly, layer)  # (time, point)
    times = np.concatenate([[naive(t0)], hourly["time"].values.astype("datetime64[s]")])
    storage, warm, kept, notes = _initial_state(store, t0, len(ids))
    point_rain = _point_rain(np.concatenate([kept[1], forecast]), np.concatenate([kept[0], times[1:]]),
                             rain.attrs.get("source", ""))
    screen = waterlogging.rain_screen(point_rain, points, rain_params=rain_params, params=params)
    screen = screen.sel(time=times.astype("datetime64[ns]"), method=None) if kept[0].size else \
        _with_unknown_now(screen, times)
    buckets = waterlogging.bucket(point_rain.sel(time=point_rain["time"] > np.datetime64(naive(t0), "ns")),
                           storage, points, rain_params=rain_params, params=params, cells=ctx.cells)
    now_depth = storage / points.ponding_area_fraction / 10.0 if warm else np.full(len(ids), np.nan)
    depth_cm = np.concatenate([now_depth[None], buckets["depth_cm"].values])
    x_bucket = np.clip(depth_cm * 10.0 / params.full_depth_mm, 0.0, 1.0)
    observed = max(t0, ctx.now)
    _, records = ctx.records("points")
    read = _series(store, settings, records, observed)
    sensors, notices = _sensors(read, records, spec.id_field, points, params)
    score, complete = waterlogging.model_score(screen["x_rain"].values, x_bucket, known_point=points.known_point[None],
                                               bonus=params.known_point_bonus)
    now = waterlogging.now_score(score[0], sensors, params.levels.boundaries)
    run = _Run(screen["return_period_yr"].values, screen["duration_min"].values, lead_seconds(times),
               lead_windows(times))
    items = _point_items(ids, [str(record.get(spec.name_field, item_id)) for item_id, record in zip(ids, records, strict=True)],
                         np.concatenate([now[None], score[1:]]), run, depth_cm, sensors,
                         [(_basis(sensor, series, record.get("sensor_id")),)
                          for sensor, series, record in zip(sensors, read, records, strict=True)], points, params)
    if store is not None:
        items = _remember(store, items, observed, params, persist and ctx.remember)
    if persist and store is not None:
        _save_state(store, t0, storage, point_rain, buckets, times, kept, warm=warm)
    return WaterloggingResult(t0, items, notes, notices)


def _layer_points(layer: gpd.GeoDataFrame, params: waterlogging.WaterloggingParams,
                  default_formula: str) -> waterlogging.WaterloggingPoints:
    """The layer's attributes as the waterlogging model's points (missing ones from models/waterlogging.yaml)."""
    def column(name: str) -> np.ndarray | None:
        return layer[name].to_numpy(dtype=float) if name in layer else None

    depths = [column(f"depth_{level}_cm") for level in ("blue", "yellow", "red")]
    return params.points(
        formula=[f if isinstance(f, str) and f else default_formula
                 for f in layer.get("storm_formula", [None] * len(layer))],
        impervious_fraction=layer["impervious_fraction"].to_numpy(dtype=float),
        pipe_return_period_yr=column("design_return_period_yr"),
        ponding_area_fraction=column("ponding_area_fraction"),
        kind=layer["kind"].tolist() if "kind" in layer else None,
        depth_thresholds_cm=np.column_stack(depths) if all(d is not None for d in depths) else None,
        known_point=np.ones(len(layer), bool),
    )


def _point_rain(values: np.ndarray, ends: np.ndarray, source: str) -> xr.DataArray:
    return xr.DataArray(values, dims=("time", "point"), coords={"time": ends.astype("datetime64[ns]")},
                        attrs={"units": "mm", "step": "PT1H", "source": source})


def _with_unknown_now(screen: xr.Dataset, times: np.ndarray) -> xr.Dataset:
    """The screen with a first, unknown time t0 (no rain kept before the run: its windows are incomplete)."""
    now = screen.isel(time=[0]).assign_coords(time=[times[0].astype("datetime64[ns]")])
    for name in now.data_vars:
        now[name] = now[name].where(False)
    return xr.concat([now, screen], dim="time")


def _initial_state(store: Store | None, t0: datetime, n: int
                   ) -> tuple[np.ndarray, bool, tuple[np.ndarray, np.ndarray], list[str]]:
    """Bucket storage at t0 (mm), whether it is known, the hourly rain kept up to t0 without a
    gap (ends, (hours, point)), and notes. Without a state for t0 the forecast starts empty
    and the bucket term now is unknown."""
    empty = (np.empty(0, "datetime64[s]"), np.empty((0, n)))
    saved = store.load_state(STATE_MODEL, "waterlogging_points") if store is not None else None
    at = naive(t0)
    if saved is None or saved.arrays["storage"].shape[1] != n:
        return np.zeros(n), False, empty, ["积水模型无前期状态，蓄水从零起算，现时模型项未知 / no bucket state: the "
                                           "storage starts empty and the model term now is unknown"]
    kept = _contiguous_before(saved.arrays["hours_end"], saved.arrays["hours_mm"], at)
    match = np.nonzero(saved.arrays["valid"] == at)[0]
    if match.size:
        return saved.arrays["storage"][match[0]], True, kept, [f"续算 / continued from {saved.detail}"]
    return np.zeros(n), False, kept, [f"积水模型状态时间不符，蓄水从零起算 / the bucket state holds for other times "
                                      f"({saved.detail}): the storage starts empty"]


def _contiguous_before(ends: np.ndarray, mm: np.ndarray, at: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    """The kept hours that run without a gap up to ``at`` (at most :data:`KEPT_HOURS`); none if ``at`` is not kept."""
    wanted = at - np.arange(KEPT_HOURS)[::-1] * np.timedelta64(1, "h")
    found = np.isin(wanted, ends)
    if not found[-1]:
        return np.empty(0, "datetime64[s]"), np.empty((0, *mm.shape[1:]))
    first = KEPT_HOURS - int(np.argmin(found[::-1])) if not found.all() else 0
    run = wanted[first:]
    return run, mm[np.searchsorted(ends, run)].astype(np.float64)


def _series(store: Store | None, settings: Settings, records: list[dict[str, Any]], now: datetime) -> list[Series]:
    """Each point's sensor readings up to ``now`` (:func:`warn.hazards.sensing.series`)."""
    limits = silence_limits(store, settings)
    return series_of(store, [record.get("sensor_id") for record in records], now, limits)


def _sensors(read: list[Series], records: list[dict[str, Any]], id_field: str, points: waterlogging.WaterloggingPoints,
             params: waterlogging.WaterloggingParams) -> tuple[list[waterlogging.SensorState], list[str]]:
    """Each point's sensor (all points at once), and a notice for every unknown one."""
    states = waterlogging.sensor_terms(Readings.of([r.times for r in read], [r.values for r in read]),
                                       thresholds_cm=points.depth_thresholds_cm, stale=[r.stale for r in read],
                                       latest_flagged=[r.latest_flagged for r in read], params=params.sensor)
    notices = []
    for record, readings, state in zip(records, read, states, strict=True):
        if not state.known:
            rule = f"（{readings.rule}）" if readings.rule else ""
            sensor_id = record.get("sensor_id")
            notices.append(f"数据质量：积水点 {record[id_field]} 传感器 {sensor_id} {REASON_ZH[state.reason]}{rule}，"
                           f"监测项未知，等级为模型下限 / data quality: sensor {sensor_id} at {record[id_field]}: "
                           f"{state.reason}; the sensor term is unknown and the level a lower bound")
    return states, notices


def _basis(sensor: waterlogging.SensorState, readings: Series, sensor_id: object) -> str:
    has_sensor = isinstance(sensor_id, str) and bool(sensor_id)
    return waterlogging.now_basis(sensor, has_sensor=has_sensor, rule=readings.rule)


@dataclass(frozen=True)
class _Run:
    """What every point's item reads of the run: the screen's P* (years) and its window (min),
    (time, point), and each time's lead (s) and which times each lead covers."""

    return_period_yr: np.ndarray
    duration_min: np.ndarray
    lead: np.ndarray
    windows: dict[str, np.ndarray]


def _point_items(ids: list[str], names: list[str], score: np.ndarray, run: _Run, depth_cm: np.ndarray,
                 sensors: list[waterlogging.SensorState], bases: list[tuple[str, ...]],
                 points: waterlogging.WaterloggingPoints, params: waterlogging.WaterloggingParams
                 ) -> list[WaterloggingItem]:
    """Every point's item, all points at once: ``score`` (time, point) is the score now (sensor-first) then the
    model's at each forecast time, ``depth_cm`` (time, point) the bucket's depth."""
    point = np.arange(len(ids))
    sensed = np.array([sensor.known for sensor in sensors], dtype=bool)
    levels: dict[str, list[int]] = {}
    drivers: dict[str, list[list[Driver]]] = {}
    for name_, window in run.windows.items():
        evidence = window[:, None] & ~np.isnan(score)
        known = evidence.any(axis=0)
        at = np.where(known, np.argmax(np.where(evidence, score, -np.inf), axis=0), int(np.argmax(window)))
        level = np.where(known, level_of(score[at, point], params.levels.boundaries), int(Level.UNKNOWN))
        if name_ == "now":  # missing evidence is never "all clear": a model's lower bound that says none is unknown
            level = np.where(~sensed & (level == int(Level.NONE)), int(Level.UNKNOWN), level)
        levels[name_] = level.tolist()
        modelled = point[~sensed] if name_ == "now" else point
        by_model = iter(waterlogging.model_drivers_of(
            return_period_yr=run.return_period_yr[at[modelled], modelled],
            duration_min=run.duration_min[at[modelled], modelled],
            pipe_return_period_yr=points.pipe_return_period_yr[modelled], depth_cm=depth_cm[at[modelled], modelled],
            depth_thresholds_cm=points.depth_thresholds_cm[modelled], known_point=points.known_point[modelled],
            params=params, lead_s=run.lead[at[modelled]]))
        drivers[name_] = [waterlogging.sensor_drivers(sensors[i], points.depth_thresholds_cm[i])
                          if name_ == "now" and sensed[i] else next(by_model) for i in point.tolist()]
    return [WaterloggingItem(item_id, names[i], {lead: LEVEL_OF[levels[lead][i]] for lead in levels},
                             {lead: drivers[lead][i] for lead in drivers}, bases[i],
                             sensor.depth_cm if sensor.known else float(depth_cm[0, i]),
                             sensor.minutes_to_next if sensor.known and sensor.minutes_to_next is not None
                             and np.isfinite(sensor.minutes_to_next) else None,
                             float("nan") if levels["now"][i] == Level.UNKNOWN else float(score[0, i]), sensor.known)
            for i, (item_id, sensor) in enumerate(zip(ids, sensors, strict=True))]


def _remember(store: Store, items: list[WaterloggingItem], t0: datetime, params: waterlogging.WaterloggingParams,
              persist: bool) -> list[WaterloggingItem]:
    """The points' "now" level through levels with memory (up at once, down after the hold); a level
    held above what governs now says so in its basis."""
    levels = remember(store, STATE_MODEL, [f"point:{item.item_id}" for item in items],
                      np.array([item.score_now for item in items]), t0, params.levels, persist=persist)
    minutes = f"{params.levels.hold.total_seconds() / 60:g} min"
    held = f"{{}}保持：回落未满 {minutes} / {{}} held: below it for less than {minutes}"
    return [replace(item, levels={**item.levels, "now": Level(int(level))},
                    basis=item.basis + ((held.format(Level(int(level)).zh, Level(int(level)).colour),)
                                        if item.levels["now"] >= Level.NONE and level > item.levels["now"] else ()))
            for item, level in zip(items, levels, strict=True)]


def _save_state(store: Store, t0: datetime, storage: np.ndarray, point_rain: xr.DataArray, buckets: xr.Dataset,
                times: np.ndarray, kept: tuple[np.ndarray, np.ndarray], *, warm: bool) -> None:
    """Bucket storage at t0 (when known, so that a cycle run again for t0 starts where it started) and
    after each of the first hours of the run, and the rain of the hours before each."""
    hours = min(SAVED_HOURS, buckets.sizes["time"])
    ends = point_rain["time"].values.astype("datetime64[s]")
    upto = ends <= times[hours]
    storages = buckets["storage_mm"].values[:hours]
    if warm:
        storages = np.concatenate([storage[None], storages])
    store.save_state(STATE_MODEL, "waterlogging_points", valid_at=t0 + timedelta(hours=hours),
                     arrays={"valid": times[0 if warm else 1:hours + 1], "storage": storages,
                             "hours_end": ends[upto], "hours_mm": point_rain.values[upto]},
                     detail=f"run of {t0.isoformat()}")


def score(ctx: Context) -> Scored:
    """The waterlogging hazard's scoring for the cycle (:class:`~warn.hazards.spec.HazardSpec` ``score``)."""
    result = score_waterlogging(ctx)
    return Scored([scored_item(item) for item in result.items], result.notes, result.notices)


def scored_item(item: WaterloggingItem) -> ScoredItem:
    """One point as the registry's item: drivers as text, the level now led by what governed it."""
    drivers = {lead: (item.basis if lead == "now" else ()) + tuple(d.text() for d in item.drivers.get(lead, ()))
               for lead in LEADS}
    return ScoredItem(item.item_id, item.name, "point", dict(item.levels), drivers, item.score_now,
                      {"depth_cm": item.depth_cm, "minutes_to_next": item.minutes_to_next})
