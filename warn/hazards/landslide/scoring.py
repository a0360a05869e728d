"""Landslide scoring: soil water and effective rain per cell, levels per zone and hazard point.

For one forecast run issued at t0 (hourly rain on a grid):

1. Soil water: the three-tank storages of every grid cell at t0 come from the store
   (saved by the previous cycle for the times its run covered); without them they are
   spun up from the 30 days of hourly rain the store keeps (``store.hourly_rain``, one row
   per hour); without those the cycle starts cold — empty tanks, and a "now" level of
   unknown, never "none".
2. The SWI is run forward over the forecast (``risk.landslide.soil_water_index``); the
   60-minute rain is the hour ending at each time (at t0 the last hour the store kept);
   the effective rainfall (half-life weights) comes from the hourly rain the store kept for
   the last ten half-lives (only those are read) plus the forecast.
3. Each cell gets a trigger score (``trigger_score``: the point (60-minute rain, SWI)
   against the critical lines, and the effective rainfall, against the zone's thresholds or
   the cell's climatological ones); each zone is judged on its worst cell (the highest score
   over the cells it covers, exact coverage), each hazard point on the cell it stands in.
   The score gives a trigger level, and the susceptibility matrix the level of the zone or
   point.
4. Three lead times: now (t0), +2 h and +24 h (the highest level within each), each
   with its drivers. The "now" level goes through levels with memory (up at once, down
   after the hold), kept in the store.
5. With ``persist``, the storages after each of the first hours of the run are saved for
   the next cycle, the rain of those hours is appended to the store's hourly rain (never
   the whole history again), and the remembered levels are saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr

from warn.errors import ConfigError, Problem
from warn.geo.cells import nearest_cells
from warn.geo.weights import GridSpec, build_weights, zonal_mean_max
from warn.hazards.memory import remember
from warn.hazards.leads import lead_seconds, lead_windows, peak
from warn.hazards.spec import LEADS, Context, Scored, ScoredItem
from warn.rainarray import as_hourly, issued_at
from warn.risk.drivers import Driver
from warn.risk.landslide import (
    LandslideParams,
    TriggerThresholds,
    apply_floor,
    critical_line_score,
    drivers_for,
    effective_rainfall,
    plane_failure_k,
    quantity_score,
    rock_fill,
    rock_level,
    soil_water_index,
    trigger_score,
    zone_level,
)
from warn.risk.levels import level_of
from warn.store import Store
from warn.vocab import Level

#: Model name of the saved soil-water state in the store.
STATE_MODEL = "landslide"
#: Hours of the run whose storages are saved (the next run is expected within them).
SAVED_HOURS = 12
#: Days of hourly rain kept in the store: a lost or mismatched state is spun up from them.
SPIN_UP_DAYS = 30
#: Block fields a dangerous-rock point needs for its plane-failure stability.
BLOCK_FIELDS = ("block_weight_kn", "plane_dip_deg", "plane_length_m", "cohesion_kpa", "friction_deg", "crack_depth_m")
HOUR = np.timedelta64(1, "h")
#: Half-lives of hourly rain the effective rainfall looks back on (older rain weighs < 0.1 %).
HALF_LIVES = 10
#: Index of each quantity in the fields scored.
SWI, RAIN_60MIN, EFFECTIVE = 0, 1, 2


@dataclass(frozen=True)
class ItemLevels:
    """One zone or hazard point: its level at each lead time, with the reasons.

    Attributes
    ----------
    item_id, name, kind
        Which zone (``kind="zone"``) or hazard point (``"point"``).
    levels
        ``{"now": Level, "2h": …, "24h": …}``.
    drivers
        The drivers of each lead's level (SWI, 60-minute rain and effective rain of the worst
        cell at the time it peaked).
    swi_max, effective_rain_max
        The largest SWI and effective rainfall (mm) from now to +24 h.
    susceptibility
        Landslide susceptibility class 1–5 of the zone or point (the matrix row).
    score_now
        The rain-trigger score now (0–100; NaN unknown), which levels with memory follow.
    official
        The official bulletin level in force for the item (a floor), ``NONE`` if none.
    """

    item_id: str
    name: str
    kind: str
    levels: dict[str, Level]
    drivers: dict[str, tuple[Driver, ...]]
    swi_max: float
    effective_rain_max: float
    susceptibility: int
    score_now: float
    official: Level


@dataclass(frozen=True)
class Climatology:
    """Per-cell climatological trigger thresholds on the forecast grid.

    Attributes
    ----------
    swi_mm, effective_rain_mm
        Thresholds (4, nlat, nlon), blue … red, mm: the climatology file's where it covers
        the cell, the default thresholds of models/landslide.yaml elsewhere; ``swi_mm`` are the
        critical lines' SWI intercepts.
    rain_60min_mm
        The critical lines' 60-minute-rain intercepts, mm: the default ones, every cell.
    scores
        The level boundaries the thresholds map to.
    """

    swi_mm: np.ndarray
    effective_rain_mm: np.ndarray
    rain_60min_mm: tuple[float, float, float, float]
    scores: tuple[float, float, float, float]

    def cell_scores(self, swi: np.ndarray, rain_60min: np.ndarray, effective: np.ndarray) -> np.ndarray:
        """Trigger score of every cell at every time, (time, lat, lon), 0–100, from the quantities (time, lat, lon)."""
        lines = critical_line_score(swi, rain_60min, swi_intercepts=self.swi_mm[:, None],
                                    rain_intercepts=self.rain_60min_mm, scores=self.scores)
        by_rain = quantity_score(effective, thresholds=self.effective_rain_mm[:, None], scores=self.scores)
        return np.where(np.isnan(lines) | np.isnan(by_rain), np.nan, np.maximum(lines, by_rain))

    def at(self, cell: int) -> TriggerThresholds:
        """The thresholds of one cell (flat index), as a zone's would be."""
        return TriggerThresholds(tuple(self.swi_mm.reshape(4, -1)[:, cell]), self.rain_60min_mm,
                                 tuple(self.effective_rain_mm.reshape(4, -1)[:, cell]), self.scores, True)


def load_climatology(path: Path, lat: np.ndarray, lon: np.ndarray, params: LandslideParams) -> Climatology:
    """Per-cell thresholds from a NetCDF file on the forecast grid (nearest cell within half a spacing).

    The file holds ``swi_mm`` and ``effective_rain_mm`` with dims (level, lat, lon), level
    1–4 (blue … red), mm, e.g. the 1/2/5/10-year annual maxima of each cell (MODELS.md); the
    SWI ones are the cell's critical lines' SWI intercepts, the 60-minute-rain intercepts
    stay those of models/landslide.yaml.

    Raises
    ------
    ConfigError
        The file is unreadable, lacks a variable, or has thresholds that do not increase.
    """
    try:
        with xr.open_dataset(path) as ds:
            missing = [v for v in ("swi_mm", "effective_rain_mm") if v not in ds]
            if missing:
                raise ConfigError(Problem(str(path), ", ".join(missing), "variables swi_mm and effective_rain_mm "
                                          "(level, lat, lon)", f"variables {', '.join(map(str, ds.data_vars))}"))
            tolerance = float(min(np.diff(lat).min(), np.diff(lon).min())) / 2
            grids = [ds[v].transpose("level", "lat", "lon").reindex(lat=lat, lon=lon, method="nearest",
                                                                     tolerance=tolerance).values
                     for v in ("swi_mm", "effective_rain_mm")]
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(Problem(str(path), "", "a readable NetCDF climatology (level, lat, lon)", str(err))) from None
    for name, grid in zip(("swi_mm", "effective_rain_mm"), grids, strict=True):
        if grid.shape[0] != 4 or (np.diff(grid, axis=0) <= 0)[:, np.isfinite(grid).all(axis=0)].any():
            raise ConfigError(Problem(str(path), name, "4 thresholds per cell, increasing blue → red",
                                      f"shape {grid.shape}"))
    defaults = (params.trigger.swi_mm, params.trigger.effective_rain_mm)
    filled = [np.where(np.isfinite(grid).all(axis=0), grid, np.asarray(d, dtype=float)[:, None, None])
              for grid, d in zip(grids, defaults, strict=True)]
    return Climatology(filled[0], filled[1], params.trigger.rain_60min_mm, params.trigger.scores)


@dataclass(frozen=True)
class LandslideResult:
    """The landslide step's output for one run."""

    issued_at: datetime
    items: list[ItemLevels]
    notes: list[str] = field(default_factory=list)


def score_landslide(ctx: Context, *, alarms: Mapping[str, Level] | None = None) -> LandslideResult:
    """Landslide levels of every zone and hazard point for one forecast run.

    Parameters
    ----------
    ctx
        The cycle's context: the run (rainfall contract array (time, lat, lon), mm per step,
        with ``issued_at``), the layers of the roles ``zones`` and ``points`` (optional), the
        store the soil-water state and the remembered levels are read from (and written to
        with ``ctx.persist``; ``None`` runs cold), and the official bulletins in force (a
        floor under the model's level of every zone they cover).
    alarms
        Monitoring alarm levels (crack meter, tilt, GNSS) by hazard point id: they raise
        a dangerous-rock point's level.

    Returns
    -------
    LandslideResult
    """
    params: LandslideParams = ctx.params
    rain, store, persist = ctx.rain, ctx.store, ctx.persist
    t0 = issued_at(rain)
    hourly = as_hourly(rain)
    grid = GridSpec.from_coords(hourly["lat"].values, hourly["lon"].values, where=str(rain.attrs.get("source", "")))
    start, known, history, notes = _initial_state(store, grid, t0, hourly.shape[1:], params)
    forecast = hourly.values.astype(np.float64)
    swi_forecast, _ = soil_water_index(forecast, 1.0, start, params=params.tank)
    swi = np.concatenate([np.where(known, start.sum(axis=0), np.nan)[None], swi_forecast])
    times = np.concatenate([[np.datetime64(t0.replace(tzinfo=None), "s")], hourly["time"].values.astype("datetime64[s]")])
    rain_60min = np.concatenate([_last_hour(history, times[0], hourly.shape[1:])[None], forecast])
    effective = _effective_rain(history, times, forecast, params, known)
    history_times, history_mm = _collapse(history, times)
    fields = xr.DataArray(np.stack([swi, rain_60min, effective]), dims=("quantity", "time", "lat", "lon"),
                          coords={"time": times.astype("datetime64[ns]"), "lat": hourly["lat"], "lon": hourly["lon"]},
                          attrs={"source": rain.attrs.get("source", "")})
    climatology = None
    if ctx.section.climatology is not None:
        climatology = load_climatology(ctx.section.climatology, fields["lat"].values, fields["lon"].values, params)
        notes.append(f"逐格气候阈值 / per-cell climatological thresholds from {ctx.section.climatology}")
    items = _judge_zones(ctx, fields, params, times, floors(ctx), climatology)
    if ctx.has("points"):
        rain_24h = _rain_24h(times, np.concatenate([history_times, times[1:]]), np.concatenate([history_mm, forecast]))
        items += _judge_points(ctx, fields, rain_24h, params, times, alarms or {}, climatology)
    if store is not None:
        items = _remember(store, items, t0, params, persist and ctx.remember)
    if persist and store is not None:
        _save_state(store, grid, t0, start, forecast, times, params, cold=not known)
    return LandslideResult(t0, items, notes)


def _initial_state(store: Store | None, grid: GridSpec, t0: datetime, shape: tuple[int, ...],
                   params: LandslideParams) -> tuple[np.ndarray, bool, tuple[np.ndarray, np.ndarray], list[str]]:
    """Storages at t0, whether they are known, the hourly rain kept before t0, and notes.

    The storages saved for t0 by the previous cycle are used as they are, with the hourly rain
    the store kept for the hours the effective rainfall looks back on (:func:`_history_start`).
    Without them (no state, or one for other times) the tanks are spun up from empty over the
    hourly rain kept for the last :data:`SPIN_UP_DAYS` days: with all of it the state is known;
    with less the forecast starts from what it gives (a lower bound) and the level now is
    unknown; with none of it (and no state) the cycle starts cold.

    Returns
    -------
    tuple
        Storages (3, lat, lon), mm; whether they are known; the kept hours ending at or before
        t0 as (ends ``datetime64[s]`` (time,), depths mm (time, lat, lon)); notes.
    """
    at = np.datetime64(t0.replace(tzinfo=None), "s")
    saved = store.load_state(STATE_MODEL, grid.signature) if store is not None else None
    match = np.nonzero(saved.arrays["valid"] == at)[0] if saved is not None else np.empty(0, int)
    if saved is not None and match.size:
        history = _kept_rain(store, grid, at, _history_start(at, params), shape)
        return saved.arrays["tanks"][match[0]], True, history, [f"续算 / continued from the state of {saved.detail}"]
    spin_up_start = at - np.timedelta64(SPIN_UP_DAYS * 24, "h")
    history = _kept_rain(store, grid, at, min(spin_up_start, _history_start(at, params)), shape)
    if saved is None and not history[0].size:
        return np.zeros((3, *shape)), False, history, [
            "冷启动：无土壤含水状态与前30天降雨资料，现时等级未知，预报从空水箱起算（偏低） / cold start: no "
            "soil-water state and no rain of the last 30 days; the level now is unknown and the forecast starts "
            "from empty tanks (a lower bound)"]
    tanks, days = _spin_up(history, at, shape, params)
    if days >= SPIN_UP_DAYS:
        return tanks, True, history, [f"由存档降雨起算 / spun up from {SPIN_UP_DAYS} days of kept hourly rain"]
    return tanks, False, history, [
        f"仅 {days:.1f} 天存档降雨，现时等级未知，预报由其起算（偏低） / only {days:.1f} days of kept rain for the "
        "spin-up: the level now is unknown; the forecast starts from them (a lower bound)"]


def _history_start(at: np.datetime64, params: LandslideParams) -> np.datetime64:
    """The end of the last hour the cycle at ``at`` does not need: the effective rainfall looks
    back :data:`HALF_LIVES` half-lives, the 24-hour rain 24 h."""
    return at - HOUR * max(_lookback_hours(params), 24)


def _lookback_hours(params: LandslideParams) -> int:
    """Hours of kept rain the effective rainfall weighs: :data:`HALF_LIVES` half-lives."""
    return ceil(HALF_LIVES * params.half_life_h)


def _kept_rain(store: Store | None, grid: GridSpec, at: np.datetime64, after: np.datetime64,
               shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The hours the store kept for the grid with ``after`` < end ≤ ``at``: (ends ``datetime64[s]``
    (time,), depths mm float32 (time, lat, lon))."""
    if store is None:
        return np.empty(0, "datetime64[s]"), np.empty((0, *shape), np.float32)
    ends, mm = store.hourly_rain.read(STATE_MODEL, grid.signature, after=_aware(after), until=_aware(at))
    return ends, mm.reshape(len(ends), *shape)


def _collapse(history: tuple[np.ndarray, np.ndarray], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kept hours summed between the moments the 24-hour rain looks back to.

    It only asks how much rain fell up to a moment: each of ``times`` and 24 h before it.
    Summing the kept hours between consecutive such moments (NaN counted as 0) keeps every
    answer and leaves a few sums instead of days of hourly grids.

    Parameters
    ----------
    history
        The kept hours: ends ``datetime64[s]`` (hour,), increasing and at or before ``times[0]``;
        depths mm (hour, lat, lon) (NaN set to 0 in place).
    times
        t0 and the forecast's hour ends, ``datetime64[s]`` (time,).

    Returns
    -------
    tuple
        Ends of the sums ``datetime64[s]`` (segment,) and the sums, mm float64 (segment, lat, lon).
    """
    ends, mm = history
    if not ends.size:
        return ends, mm.astype(np.float64)
    edges = np.unique(np.concatenate([times, times - np.timedelta64(24, "h")]))
    edges = edges[edges <= times[0]]
    upper = np.searchsorted(edges, ends, side="left")  # each hour goes to the first moment at or after its end
    starts = np.flatnonzero(np.r_[True, upper[1:] != upper[:-1]])
    sums = np.add.reduceat(np.nan_to_num(mm, copy=False), starts, axis=0, dtype=np.float64)
    return edges[upper[starts]], sums


def _aware(moment: np.datetime64) -> datetime:
    """A numpy UTC time as an aware datetime."""
    return np.datetime64(moment, "us").astype(datetime).replace(tzinfo=UTC)


def _spin_up(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, shape: tuple[int, ...],
             params: LandslideParams) -> tuple[np.ndarray, float]:
    """Storages at ``at`` from empty tanks over the kept hourly rain of the last
    :data:`SPIN_UP_DAYS` days (hours not kept count as dry), and how many days it covered."""
    ends = history[0]
    recent = ends[(ends > at - HOUR * SPIN_UP_DAYS * 24) & (ends <= at)]
    _, tanks = soil_water_index(_on_hours(history, at, SPIN_UP_DAYS * 24, shape), 1.0, np.zeros((3, *shape)),
                                params=params.tank)
    covered = (at - recent.min()).astype("timedelta64[s]").astype(int) / 86400 + 1 / 24 if recent.size else 0.0
    return tanks, covered


def _on_hours(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, hours: int,
              shape: tuple[int, ...]) -> np.ndarray:
    """The kept rain of the ``hours`` hours ending at ``at`` on consecutive hours (hour, lat, lon), mm,
    oldest first; hours not kept and NaN readings count as dry."""
    axis = at - np.arange(hours)[::-1] * HOUR
    ends, mm = history
    recent = (ends > axis[0] - HOUR) & (ends <= at)
    series = np.zeros((hours, *shape))
    series[np.searchsorted(axis, ends[recent])] = np.nan_to_num(mm[recent])
    return series


def _last_hour(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, shape: tuple[int, ...]) -> np.ndarray:
    """The 60-minute rain at ``at`` (lat, lon), mm: the kept hour ending at ``at``, NaN if not kept."""
    ends, mm = history
    return mm[-1].astype(np.float64) if ends.size and ends[-1] == at else np.full(shape, np.nan)


def _effective_rain(history: tuple[np.ndarray, np.ndarray], times: np.ndarray, forecast: np.ndarray,
                    params: LandslideParams, known: bool) -> np.ndarray:
    """Effective rainfall (mm) at t0 = ``times[0]`` and at the end of each forecast hour, (time, lat, lon).

    The kept hours of the last :func:`_lookback_hours` (hours not kept count as dry: a lower
    bound), then the forecast, weighed by their half-life (``effective_rainfall``). A missing
    forecast hour is NaN at its end and counts as dry after it, as the SWI does; without a
    known state the value at t0 is NaN.
    """
    lookback = _lookback_hours(params)
    series = np.concatenate([_on_hours(history, times[0], lookback, forecast.shape[1:]), forecast])
    out = effective_rainfall(np.nan_to_num(series), half_life_h=params.half_life_h)[lookback - 1:]
    out[1:][np.isnan(forecast)] = np.nan
    if not known:
        out[0] = np.nan
    return out


def _rain_24h(times: np.ndarray, hours_end: np.ndarray, hours_mm: np.ndarray) -> np.ndarray:
    """Rain of the 24 h up to each of ``times`` (mm; hours before the kept ones count as dry)."""
    cumulative = np.concatenate([np.zeros((1, *hours_mm.shape[1:])), np.nancumsum(hours_mm, axis=0)])
    upto = cumulative[np.searchsorted(hours_end, times, side="right")]
    since = cumulative[np.searchsorted(hours_end, times - np.timedelta64(24, "h"), side="right")]
    return upto - since


def floors(ctx: Context) -> dict[str, Level]:
    """The official floor of every zone a landslide bulletin in force covers: the highest level."""
    out: dict[str, Level] = {}
    for bulletin in ctx.official:
        for zone in bulletin.zones:
            out[zone] = max(out.get(zone, Level.NONE), bulletin.level)
    return out


def _judge_zones(ctx: Context, fields: xr.DataArray, params: LandslideParams, times: np.ndarray,
                 official: Mapping[str, Level], climatology: Climatology | None) -> list[ItemLevels]:
    """Each zone on its worst cell: the highest trigger score over the cells it covers, against the
    zone's thresholds, or each cell's climatological ones."""
    spec, zones = ctx.layer("zones")
    weights = build_weights(zones, fields["lat"].values, fields["lon"].values, id_column=spec.id_field,
                            cache_dir=ctx.settings.cache_dir / "weights", where=f"{spec.path}#{spec.layer}")
    ids = zones[spec.id_field].astype(str).tolist()
    names = _names(zones, spec.name_field, ids)
    classes = _classes(zones)
    lead = lead_seconds(times)
    _, worst = zonal_mean_max(fields, weights)  # (quantity, time, zone): each quantity's largest
    flat = fields.values.reshape(3, len(times), -1)  # (quantity, time, cell)
    by_set: dict[TriggerThresholds, tuple[np.ndarray, np.ndarray]] = {}

    def scored(zone_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Trigger scores as the zone judges its cells: every cell's (time, cell) and every zone's worst (time, zone)."""
        thresholds = params.trigger if climatology is not None else params.thresholds_for(zone_id)
        if thresholds not in by_set:
            cells = climatology.cell_scores(*fields.values) if climatology is not None else \
                trigger_score(*fields.values, thresholds=thresholds)[0]
            zone_max = zonal_mean_max(fields.isel(quantity=0).copy(data=cells), weights, want=("max",))[0].values
            by_set[thresholds] = cells.reshape(len(times), -1), zone_max
        return by_set[thresholds]

    def reasons(at: int, zone_id: str, covered: np.ndarray) -> tuple[Driver, ...]:
        """The drivers of the zone's worst cell at time index ``at``."""
        cells = scored(zone_id)[0][at, covered]
        cell = int(covered[np.argmax(np.nan_to_num(cells, nan=-1.0))])
        thresholds = params.thresholds_for(zone_id) if climatology is None else climatology.at(cell)
        return drivers_for(*flat[:, at, cell], thresholds=thresholds, lead=timedelta(seconds=int(lead[at])))

    items = []
    for z, zone_id in enumerate(ids):
        covered = weights.matrix[z].indices
        items.append(_judge(zone_id, names[z], "zone", scored(zone_id)[1][:, z],
                            lambda at, zone_id=zone_id, covered=covered: reasons(at, zone_id, covered),
                            worst.values[SWI, :, z], worst.values[EFFECTIVE, :, z], params, times, classes[z],
                            official.get(zone_id, Level.NONE)))
    return items


def _judge_points(ctx: Context, fields: xr.DataArray, rain_24h: np.ndarray, params: LandslideParams,
                  times: np.ndarray, alarms: Mapping[str, Level], climatology: Climatology | None
                  ) -> list[ItemLevels]:
    """Each hazard point on the cell it stands in; dangerous rock also on its block's stability."""
    spec, points = ctx.layer("points")
    lat, lon = fields["lat"].values, fields["lon"].values
    rows, cols = nearest_cells(lat, lon, points)
    values = fields.values[:, :, rows, cols]  # (quantity, time, point)
    ids = points[spec.id_field].astype(str).tolist()
    names = _names(points, spec.name_field, ids)
    classes = _classes(points)
    towns = points[spec.town_field].astype(str).tolist() if spec.town_field in points else ids
    lead = lead_seconds(times)
    items = []
    for p, record in enumerate(points.to_dict("records")):
        series = values[:, :, p]  # (quantity, time)
        thresholds = params.thresholds_for(towns[p]) if climatology is None else \
            climatology.at(rows[p] * lon.size + cols[p])
        score, _ = trigger_score(*series, thresholds=thresholds)
        item = _judge(ids[p], names[p], "point", score,
                      lambda at, series=series, thresholds=thresholds: drivers_for(
                          *series[:, at], thresholds=thresholds, lead=timedelta(seconds=int(lead[at]))),
                      series[SWI], series[EFFECTIVE], params, times, classes[p], Level.NONE)
        if record.get("type") == "dangerous_rock" and all(_finite(record.get(c)) for c in BLOCK_FIELDS):
            item = _with_rock(item, record, series[SWI], rain_24h[:, rows[p], cols[p]], thresholds, params,
                              times, alarms.get(ids[p], Level.NONE))
        items.append(item)
    return items


def _with_rock(item: ItemLevels, block: Mapping[str, object], swi: np.ndarray, rain_24h: np.ndarray, thresholds,
               params: LandslideParams, times: np.ndarray, alarm: Level) -> ItemLevels:
    """Raise a dangerous-rock point to its block's level where the rainstorm case makes it unstable.

    In a rainstorm (24 h ≥ 50 mm, or SWI at yellow or above) the crack fills to 2/3 and the
    plane-failure K is judged against the stability rungs (K < 1.05 orange, < 1.00 red);
    outside a rainstorm the block does not raise the level. A monitoring alarm raises it too.
    """
    swi_level = level_of(quantity_score(swi, thresholds=thresholds.swi_mm, scores=thresholds.scores),
                         params.levels.boundaries)
    fill = rock_fill(rain_24h, swi_level, params=params.rock)
    k = plane_failure_k(block["block_weight_kn"], block["plane_dip_deg"], block["plane_length_m"],
                        block["cohesion_kpa"], block["friction_deg"], block["crack_depth_m"], fill)
    # raised only where the rainstorm case is known to hold (rock_fill also assumes it for unknown inputs)
    storm = (rain_24h >= params.rock.rainstorm_rain_24h_mm) | (swi_level >= params.rock.rainstorm_swi_level)
    rock = np.where(storm, rock_level(k, params=params.rock), Level.NONE).astype(np.int8)
    lead = lead_seconds(times)
    levels, drivers = dict(item.levels), dict(item.drivers)
    for name, window in lead_windows(times).items():
        at = int(np.argmax(np.where(window & storm, rock, -9)))
        worst = max(Level(int(rock[at])) if window[at] and storm[at] else Level.NONE, alarm)
        if worst > Level.NONE and worst > levels[name]:
            levels[name] = worst
        if window[at] and storm[at]:  # the block is judged only in the rainstorm case
            reached = [below for below, _ in params.rock.stability if k[at] < below]
            threshold = min(reached) if reached else max(below for below, _ in params.rock.stability)
            drivers[name] = (*item.drivers[name], Driver("危岩稳定系数K", float(k[at]), "", float(threshold),
                                                          Level(int(rock[at])), timedelta(seconds=int(lead[at])),
                                                          worse_below=True))
    return replace(item, levels=levels, drivers=drivers)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and value == value


def _judge(item_id: str, name: str, kind: str, score: np.ndarray, reasons: Callable[[int], tuple[Driver, ...]],
           swi: np.ndarray, effective: np.ndarray, params: LandslideParams, times: np.ndarray, susceptibility: int,
           official: Level) -> ItemLevels:
    """Levels and drivers of one item from its trigger-score series (index 0 = now).

    ``reasons(index)`` gives the SWI, 60-minute-rain and effective-rain drivers at a time index; ``swi``
    and ``effective`` are the item's series (mm) for the maxima reported.
    """
    lead = lead_seconds(times)
    levels, drivers = {}, {}
    for name_, window in lead_windows(times).items():
        pick = peak(score, window)
        trigger = Level(int(level_of(score[pick], params.levels.boundaries))) if pick is not None else Level.UNKNOWN
        levels[name_] = _level(susceptibility, trigger, params, official)
        drivers[name_] = reasons(pick if pick is not None else int(np.argmax(window)))
    upto = lead <= LEADS["24h"].total_seconds()
    return ItemLevels(item_id, name, kind, levels, drivers, _nanmax(swi[upto]), _nanmax(effective[upto]),
                      susceptibility, float(score[0]), official)


def _nanmax(values: np.ndarray) -> float:
    return float(np.nanmax(values)) if np.isfinite(values).any() else float("nan")


def _names(layer: gpd.GeoDataFrame, field_name: str, ids: list[str]) -> list[str]:
    return layer[field_name].astype(str).tolist() if field_name in layer else ids


def _classes(layer: gpd.GeoDataFrame) -> list[int]:
    """Susceptibility class 1–5 of each feature; a feature without one is judged class 3 (moderate)."""
    if "susceptibility" not in layer:
        return [3] * len(layer)
    return [int(c) if c == c else 3 for c in layer["susceptibility"]]


def _remember(store: Store, items: list[ItemLevels], t0: datetime, params: LandslideParams,
              persist: bool) -> list[ItemLevels]:
    """The "now" level through levels with memory: the trigger score's level rises at once and
    falls only after the score has stayed below its boundary − margin for the hold time;
    the matrix and the official floor then apply to the remembered trigger level."""
    triggers = remember(store, STATE_MODEL, [f"{item.kind}:{item.item_id}" for item in items],
                        np.array([item.score_now for item in items]), t0, params.levels, persist=persist)
    return [replace(item, levels={**item.levels, "now": _level(item.susceptibility, Level(int(trigger)), params,
                                                              item.official)})
            for item, trigger in zip(items, triggers, strict=True)]


def _level(susceptibility: int, trigger: Level, params: LandslideParams, official: Level) -> Level:
    """The level of a zone or point: the susceptibility matrix on the trigger level, over the official floor."""
    return Level(int(apply_floor(zone_level(susceptibility, trigger, matrix=params.matrix), official)))


def _save_state(store: Store, grid: GridSpec, t0: datetime, start: np.ndarray, forecast: np.ndarray,
                times: np.ndarray, params: LandslideParams, *, cold: bool) -> None:
    """Keep the storages at t0 (when known, so that a cycle run again for t0 starts where it
    started) and after each of the first :data:`SAVED_HOURS` hours, and append the rain of those
    hours to the store's hourly rain (which forgets the hours older than the
    :data:`SPIN_UP_DAYS` days, or the effective rainfall's look-back if longer, it keeps)."""
    hours = min(SAVED_HOURS, forecast.shape[0])
    tanks, current = ([] if cold else [start]), start
    for k in range(hours):
        _, current = soil_water_index(forecast[k:k + 1], 1.0, current, params=params.tank)
        tanks.append(current)
    keep = timedelta(hours=max(SPIN_UP_DAYS * 24, _lookback_hours(params)))
    store.hourly_rain.append(STATE_MODEL, grid.signature, times[1:hours + 1], forecast[:hours], issued_at=t0,
                             keep=keep)
    origin = "冷启动，空土壤水箱 / cold start from empty tanks" if cold else "续算 / continued"
    store.save_state(STATE_MODEL, grid.signature, valid_at=t0 + timedelta(hours=hours),
                     arrays={"valid": times[1 if cold else 0:hours + 1], "tanks": np.stack(tanks)},
                     detail=f"run of {t0.isoformat()} ({origin})")


def score(ctx: Context) -> Scored:
    """The landslide hazard's scoring for the cycle (:class:`~warn.hazards.spec.HazardSpec` ``score``)."""
    result = score_landslide(ctx)
    return Scored([scored_item(item) for item in result.items], result.notes)


def scored_item(item: ItemLevels) -> ScoredItem:
    """One zone or hazard point as the registry's item: drivers as text, the official floor said."""
    floor = (f"官方地质灾害气象风险预警{item.official.zh}（下限）/ official geohazard warning {item.official.colour} "
             "(a floor)",) if item.official >= Level.BLUE else ()
    drivers = {lead: tuple(d.text() for d in item.drivers.get(lead, ())) + floor for lead in LEADS}
    return ScoredItem(item.item_id, item.name, item.kind, dict(item.levels), drivers, item.score_now,
                      {"swi_max_mm": item.swi_max, "effective_rain_max_mm": item.effective_rain_max,
                       "susceptibility": float(item.susceptibility)}, item.official)
