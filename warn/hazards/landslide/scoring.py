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
5. With ``persist``, the storages at t0 and the rain of the first hours of the run are saved
   for the next cycle (which runs its start forward from them), the rain of those hours is
   appended to the store's hourly rain (never the whole history again), and the remembered
   levels are saved.

Steps 3–4 run on all zones (and all points) at once as arrays; only the items' levels are built
one by one: their drivers stay columns (:class:`~warn.risk.drivers.DriverColumns`), read as text
column by column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import xarray as xr

from warn.errors import ConfigError, Problem
from warn.geo.cells import nearest_cells
from warn.geo.weights import GridSpec, build_weights, zonal_values
from warn.hazards.memory import remember
from warn.hazards.leads import lead_seconds, lead_windows
from warn.hazards.spec import LEADS, Context, Scored, ScoredItem
from warn.rainarray import as_hourly, issued_at
from warn.risk.chunks import CellMap, in_process
from warn.risk.drivers import Driver, DriverColumns
from warn.risk.landslide import (
    RAIN_60MIN,
    TRIGGER_QUANTITIES,
    LandslideParams,
    TriggerThresholds,
    apply_floor,
    effective_rainfall,
    effective_rainfall_at_end,
    plane_failure_k,
    quantity_score,
    rock_fill,
    rock_level,
    soil_water_index,
    trigger_score,
    trigger_scores,
    zone_level,
)
from warn.risk.levels import level_of
from warn.store import Store
from warn.vocab import LEVEL_OF, Level

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
SWI, RAIN_NOW, EFFECTIVE = 0, 1, 2


@dataclass(frozen=True)
class ItemLevels:
    """One zone or hazard point: its level at each lead time, with the reasons.

    Attributes
    ----------
    item_id, name, kind
        Which zone (``kind="zone"``) or hazard point (``"point"``).
    levels
        ``{"now": Level, "2h": …, "24h": …}``.
    reasons, index
        The drivers of each lead's level (SWI, 60-minute rain and effective rain of the worst
        cell at the time it peaked) of every item judged with this one, and this item's place in
        them (:attr:`drivers` gives its own).
    swi_max, effective_rain_max
        The largest SWI and effective rainfall (mm) from now to +24 h.
    susceptibility
        Landslide susceptibility class 1–5 of the zone or point (the matrix row).
    score_now
        The rain-trigger score now (0–100; NaN unknown), which levels with memory follow.
    official
        The official bulletin level in force for the item (a floor), ``NONE`` if none.
    extra
        Drivers of a lead beyond the rain trigger's (a dangerous-rock block's stability).
    """

    item_id: str
    name: str
    kind: str
    levels: dict[str, Level]
    reasons: Mapping[str, DriverColumns]
    index: int
    swi_max: float
    effective_rain_max: float
    susceptibility: int
    score_now: float
    official: Level
    extra: Mapping[str, tuple[Driver, ...]] = field(default_factory=dict)

    @property
    def drivers(self) -> dict[str, tuple[Driver, ...]]:
        """The drivers of each lead's level."""
        return {lead: columns.of(self.index) + tuple(self.extra.get(lead, ())) for lead, columns in self.reasons.items()}

    def texts(self) -> dict[str, tuple[str, ...]]:
        """The drivers of each lead's level as people read them (:meth:`Driver.text`)."""
        if not self.extra:  # most items: the columns' texts alone (a city cycle asks 14,000 items)
            return {lead: columns.texts[self.index] for lead, columns in self.reasons.items()}
        return {lead: columns.texts[self.index] + tuple(d.text() for d in self.extra.get(lead, ()))
                for lead, columns in self.reasons.items()}


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
        return trigger_scores(swi, rain_60min, effective, swi_intercepts=self.swi_mm[:, None],
                              rain_intercepts=self.rain_60min_mm, effective_thresholds=self.effective_rain_mm[:, None],
                              scores=self.scores)[0]

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
    start, known, history, notes = _initial_state(store, grid, t0, hourly.shape[1:], params, ctx.cells)
    forecast = hourly.values.astype(np.float64)
    times = np.concatenate([[np.datetime64(t0.replace(tzinfo=None), "s")], hourly["time"].values.astype("datetime64[s]")])
    values = np.empty((3, len(times), *hourly.shape[1:]))  # SWI, 60-minute rain, effective rainfall at t0 and ahead
    values[SWI, 0] = np.where(known, start.sum(axis=0), np.nan)
    values[SWI, 1:] = soil_water_index(forecast, 1.0, start, params=params.tank, cells=ctx.cells)[0]
    values[RAIN_NOW, 0] = _last_hour(history, times[0], hourly.shape[1:])
    values[RAIN_NOW, 1:] = forecast
    _effective_rain(history, times, forecast, params, known, ctx.cells, out=values[EFFECTIVE])
    fields = xr.DataArray(values, dims=("quantity", "time", "lat", "lon"),
                          coords={"time": times.astype("datetime64[ns]"), "lat": hourly["lat"], "lon": hourly["lon"]},
                          attrs={"source": rain.attrs.get("source", "")})
    climatology = None
    if ctx.section.climatology is not None:
        climatology = load_climatology(ctx.section.climatology, fields["lat"].values, fields["lon"].values, params)
        notes.append(f"逐格气候阈值 / per-cell climatological thresholds from {ctx.section.climatology}")
    items = _judge_zones(ctx, fields, params, times, floors(ctx), climatology)
    if ctx.has("points"):
        items += _judge_points(ctx, fields, history, forecast, params, times, alarms or {}, climatology)
    if store is not None:
        items = _remember(store, items, t0, params, persist and ctx.remember)
    if persist and store is not None:
        _save_state(store, grid, t0, start, hourly.values, times, params, cold=not known)
    return LandslideResult(t0, items, notes)


def _initial_state(store: Store | None, grid: GridSpec, t0: datetime, shape: tuple[int, ...],
                   params: LandslideParams, cells: CellMap = in_process
                   ) -> tuple[np.ndarray, bool, tuple[np.ndarray, np.ndarray], list[str]]:
    """Storages at t0, whether they are known, the hourly rain kept before t0, and notes.

    The storages saved for t0 by the previous cycle are used as they are, with the hourly rain
    the store kept for the hours the effective rainfall looks back on (:func:`_history_start`).
    Without them (no state, or one for other times) the tanks are spun up from empty over the
    hourly rain kept for the last :data:`SPIN_UP_DAYS` days: with all of it the state is known;
    with less the forecast starts from what it gives (a lower bound) and the level now is
    unknown; with none of it (and no state) the cycle starts cold. ``cells`` runs the spin-up's kernel.

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
        return storages_at(saved.arrays, int(match[0]), params), True, history, [
            f"续算 / continued from the state of {saved.detail}"]
    spin_up_start = at - np.timedelta64(SPIN_UP_DAYS * 24, "h")
    history = _kept_rain(store, grid, at, min(spin_up_start, _history_start(at, params)), shape)
    if saved is None and not history[0].size:
        return np.zeros((3, *shape)), False, history, [
            "冷启动：无土壤含水状态与前30天降雨资料，现时等级未知，预报从空水箱起算（偏低） / cold start: no "
            "soil-water state and no rain of the last 30 days; the level now is unknown and the forecast starts "
            "from empty tanks (a lower bound)"]
    tanks, days = _spin_up(history, at, shape, params, cells)
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


def _aware(moment: np.datetime64) -> datetime:
    """A numpy UTC time as an aware datetime."""
    return np.datetime64(moment, "us").astype(datetime).replace(tzinfo=UTC)


def _spin_up(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, shape: tuple[int, ...],
             params: LandslideParams, cells: CellMap) -> tuple[np.ndarray, float]:
    """Storages at ``at`` from empty tanks over the kept hourly rain of the last
    :data:`SPIN_UP_DAYS` days (hours not kept count as dry), and how many days it covered; the
    kernel runs on ``cells``."""
    ends = history[0]
    recent = ends[(ends > at - HOUR * SPIN_UP_DAYS * 24) & (ends <= at)]
    _, tanks = soil_water_index(_on_hours(history, at, SPIN_UP_DAYS * 24, shape), 1.0, np.zeros((3, *shape)),
                                params=params.tank, cells=cells)
    covered = (at - recent.min()).astype("timedelta64[s]").astype(int) / 86400 + 1 / 24 if recent.size else 0.0
    return tanks, covered


def _on_hours(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, hours: int,
              shape: tuple[int, ...]) -> np.ndarray:
    """The kept rain of the ``hours`` hours ending at ``at`` on consecutive hours (hour, lat, lon), mm,
    oldest first; hours not kept and NaN readings count as dry."""
    places, recent = _in_window(history, at, hours)
    series = np.zeros((hours, *shape))
    series[places] = np.nan_to_num(history[1][recent])
    return series


def _in_window(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, hours: int) -> tuple[np.ndarray, np.ndarray]:
    """The kept hours among the ``hours`` hours ending at ``at``: each one's place in them (0 the oldest)
    and its index in the kept ones, both (kept,)."""
    axis = at - np.arange(hours)[::-1] * HOUR
    ends = history[0]
    recent = np.flatnonzero((ends > axis[0] - HOUR) & (ends <= at))
    return np.searchsorted(axis, ends[recent]), recent


def _last_hour(history: tuple[np.ndarray, np.ndarray], at: np.datetime64, shape: tuple[int, ...]) -> np.ndarray:
    """The 60-minute rain at ``at`` (lat, lon), mm: the kept hour ending at ``at``, NaN if not kept."""
    ends, mm = history
    return mm[-1].astype(np.float64) if ends.size and ends[-1] == at else np.full(shape, np.nan)


def _effective_rain(history: tuple[np.ndarray, np.ndarray], times: np.ndarray, forecast: np.ndarray,
                    params: LandslideParams, known: bool, cells: CellMap, out: np.ndarray) -> None:
    """Fill ``out`` (time, lat, lon) with the effective rainfall (mm) at t0 = ``times[0]`` and at the end of
    each forecast hour.

    The kept hours of the last :func:`_lookback_hours` (hours not kept count as dry: a lower
    bound), then the forecast, weighed by their half-life (``effective_rainfall``). A missing
    forecast hour is NaN at its end and counts as dry after it, as the SWI does; without a
    known state the value at t0 is NaN. The kernel runs on ``cells``.
    """
    hours = _lookback_hours(params)
    places, recent = _in_window(history, times[0], hours)
    at_t0 = effective_rainfall_at_end([history[1][i] for i in recent], places, hours,
                                      half_life_h=params.half_life_h) if recent.size else np.zeros(forecast.shape[1:])
    # the recursion carried on from t0: the same operations in the same order as over the whole series
    out[0] = at_t0 if known else np.nan
    out[1:] = effective_rainfall(np.nan_to_num(forecast), half_life_h=params.half_life_h, start=at_t0, cells=cells)
    out[1:][np.isnan(forecast)] = np.nan


def _rain_24h(times: np.ndarray, history: tuple[np.ndarray, np.ndarray], forecast: np.ndarray, rows: np.ndarray,
              cols: np.ndarray) -> np.ndarray:
    """Rain of the 24 h up to each of ``times`` in the cells (``rows``, ``cols``), (time, cell), mm: the kept
    hours within 24 h of t0 = ``times[0]``, then the forecast (hours not kept and NaN count as dry)."""
    ends, mm = history
    recent = ends > times[0] - np.timedelta64(24, "h")
    hours_end = np.concatenate([ends[recent], times[1:]])
    hours_mm = np.concatenate([mm[:, rows, cols][recent], forecast[:, rows, cols]])
    cumulative = np.concatenate([np.zeros((1, rows.size)), np.nancumsum(hours_mm, axis=0)])
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
    zone's thresholds, or each cell's climatological ones (all zones at once)."""
    spec, zones = ctx.layer("zones")
    weights = build_weights(zones, fields["lat"].values, fields["lon"].values, id_column=spec.id_field,
                            cache_dir=ctx.settings.cache_dir / "weights", where=f"{spec.path}#{spec.layer}")
    ids = zones[spec.id_field].astype(str).tolist()
    values = fields.values
    # (quantity, time, zone): each quantity's largest
    worst = zonal_values(values, weights, ("max",), workers=ctx.workers)[0]
    flat = values.reshape(3, len(times), -1)  # (quantity, time, cell)
    sets = [params.trigger if climatology is not None else params.thresholds_for(zone_id) for zone_id in ids]
    groups, group_of = _groups(sets)
    cells, score = [], np.empty((len(times), len(ids)))
    for g, thresholds in enumerate(groups):
        scores = climatology.cell_scores(*values) if climatology is not None else \
            trigger_score(*values, thresholds=thresholds)[0]
        zone_max = zonal_values(scores, weights, ("max",), workers=ctx.workers)[0]
        members = group_of == g
        score[:, members] = zone_max[:, members]
        cells.append(scores.reshape(len(times), -1))

    each_zone = Bounds.of(groups, group_of)

    def reasons(at: np.ndarray) -> DriverColumns:
        """The drivers of each zone's worst cell at its time index ``at``."""
        cell = _worst_cells(weights.matrix, cells, group_of, at)
        if climatology is not None:
            bounds = Bounds(climatology.swi_mm.reshape(4, -1)[:, cell],
                            np.repeat(np.asarray(climatology.rain_60min_mm, float)[:, None], cell.size, axis=1),
                            climatology.effective_rain_mm.reshape(4, -1)[:, cell])
        else:
            bounds = each_zone
        return _drivers(flat[:, at, cell], bounds, times[at] - times[0])

    return _judge(ids, _names(zones, spec.name_field, ids), "zone", score, reasons, worst[SWI],
                  worst[EFFECTIVE], params, times, _classes(zones),
                  np.array([official.get(zone_id, Level.NONE) for zone_id in ids], dtype=np.int8))


def _groups(sets: list[TriggerThresholds]) -> tuple[list[TriggerThresholds], np.ndarray]:
    """The distinct threshold sets, in order of first use, and the index of each item's set."""
    index: dict[TriggerThresholds, int] = {}
    of = np.array([index.setdefault(s, len(index)) for s in sets], dtype=np.int64)
    return list(index), of


def _worst_cells(matrix: sp.csr_matrix, cells: list[np.ndarray], group_of: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Flat index of each zone's worst covered cell at its time index ``at`` (zone,): the first of the
    highest trigger scores in the zone's row of ``matrix`` (NaN counted as −1), scored with the cell
    scores (time, cell) of the zone's threshold set ``cells[group_of[zone]]``."""
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(lengths.size), lengths)
    values = np.empty(matrix.indices.size)
    for g, scores in enumerate(cells):
        entries = group_of[rows] == g
        values[entries] = scores[at[rows[entries]], matrix.indices[entries]]
    values = np.nan_to_num(values, nan=-1.0)
    starts = matrix.indptr[:-1]
    highest = np.maximum.reduceat(values, starts)
    reaching = np.flatnonzero(values == np.repeat(highest, lengths))
    return matrix.indices[reaching[np.searchsorted(reaching, starts)]]


def _judge_points(ctx: Context, fields: xr.DataArray, history: tuple[np.ndarray, np.ndarray], forecast: np.ndarray,
                  params: LandslideParams, times: np.ndarray, alarms: Mapping[str, Level],
                  climatology: Climatology | None) -> list[ItemLevels]:
    """Each hazard point on the cell it stands in (all points at once); dangerous rock also on its
    block's stability and the 24-hour rain of its cell (from the kept hours and the forecast)."""
    spec, points = ctx.layer("points")
    lat, lon = fields["lat"].values, fields["lon"].values
    rows, cols = nearest_cells(lat, lon, points)
    values = fields.values[:, :, rows, cols]  # (quantity, time, point)
    ids = points[spec.id_field].astype(str).tolist()
    towns = points[spec.town_field].astype(str).tolist() if spec.town_field in points else ids
    cell = rows * lon.size + cols
    if climatology is not None:
        bounds = Bounds(climatology.swi_mm.reshape(4, -1)[:, cell],
                        np.repeat(np.asarray(climatology.rain_60min_mm, float)[:, None], cell.size, axis=1),
                        climatology.effective_rain_mm.reshape(4, -1)[:, cell])
        scores = climatology.scores
    else:
        bounds = Bounds.of(*_groups([params.thresholds_for(town) for town in towns]))
        scores = params.trigger.scores
    score = bounds.scores(*values, scores)
    items = _judge(ids, _names(points, spec.name_field, ids), "point", score,
                   lambda at: _drivers(values[:, at, np.arange(len(ids))], bounds, times[at] - times[0]),
                   values[SWI], values[EFFECTIVE], params, times, _classes(points),
                   np.full(len(ids), Level.NONE, dtype=np.int8))
    rain_24h = _rain_24h(times, history, forecast, rows, cols)
    for p, record in enumerate(ctx.records("points")[1]):
        if record.get("type") == "dangerous_rock" and all(_finite(record.get(c)) for c in BLOCK_FIELDS):
            thresholds = params.thresholds_for(towns[p]) if climatology is None else climatology.at(int(cell[p]))
            items[p] = _with_rock(items[p], record, values[SWI, :, p], rain_24h[:, p], thresholds,
                                  params, times, alarms.get(ids[p], Level.NONE))
    return items


@dataclass(frozen=True)
class Bounds:
    """The trigger thresholds of many items (zones, points or cells), blue … red on the first axis.

    Attributes
    ----------
    swi_mm, rain_60min_mm
        The critical lines' SWI and 60-minute-rain intercepts (4, item…), mm.
    effective_rain_mm
        Effective rainfall thresholds (4, item…), mm.
    """

    swi_mm: np.ndarray
    rain_60min_mm: np.ndarray
    effective_rain_mm: np.ndarray

    @classmethod
    def of(cls, sets: list[TriggerThresholds], set_of: np.ndarray) -> Bounds:
        """The thresholds (4, item) of items whose sets are ``sets[set_of[item]]`` (the distinct sets and each item's
        index into them, as :func:`_groups` gives them: a city's 10,000 zones share a few)."""
        return cls(*(np.array([getattr(s, name) for s in sets], dtype=np.float64).T.reshape(4, len(sets))[:, set_of]
                     for name in ("swi_mm", "rain_60min_mm", "effective_rain_mm")))

    def scores(self, swi: np.ndarray, rain_60min: np.ndarray, effective: np.ndarray,
               boundaries: tuple[float, float, float, float]) -> np.ndarray:
        """Trigger score (time, item…), 0–100, NaN where a quantity is NaN, of the quantities (time, item…)
        against the items' thresholds, scored as :func:`warn.risk.landslide.trigger_score` scores one set."""
        return trigger_scores(swi, rain_60min, effective, swi_intercepts=self.swi_mm[:, None],
                              rain_intercepts=self.rain_60min_mm[:, None],
                              effective_thresholds=self.effective_rain_mm[:, None], scores=boundaries)[0]


def _drivers(values: np.ndarray, bounds: Bounds, lead: np.ndarray) -> DriverColumns:
    """The SWI, 60-minute-rain and effective-rain drivers of each item, as
    :func:`warn.risk.landslide.drivers_for` gives them for one, for all items at once.

    Parameters
    ----------
    values
        SWI, 60-minute rain and effective rain of each item (3, item), mm.
    bounds
        The items' thresholds (4, item).
    lead
        Each item's lead (item,), ``timedelta64``.
    """
    swi, rain, effective = values
    item = np.arange(swi.size)
    with np.errstate(invalid="ignore"):
        reach = rain / bounds.rain_60min_mm + swi / bounds.swi_mm
    line_level = np.where(np.isnan(swi) | np.isnan(rain), Level.UNKNOWN, np.count_nonzero(reach >= 1.0, axis=0))
    line = np.maximum(line_level, 1) - 1
    a, b = bounds.rain_60min_mm[line, item], bounds.swi_mm[line, item]
    with np.errstate(invalid="ignore"):
        on_line_swi = np.where(np.isnan(rain), b, b * np.maximum(0.0, 1.0 - rain / a))
        on_line_rain = np.where(np.isnan(swi), a, a * np.maximum(0.0, 1.0 - swi / b))
        reached = np.count_nonzero(bounds.effective_rain_mm <= effective, axis=0)
    rain_level = np.where(np.isnan(effective), Level.UNKNOWN, reached)
    rain_threshold = bounds.effective_rain_mm[np.where(np.isnan(effective), 0, np.maximum(reached, 1) - 1), item]
    return DriverColumns((TRIGGER_QUANTITIES[0], RAIN_60MIN, TRIGGER_QUANTITIES[1]), ("mm", "mm", "mm"),
                         np.stack([swi, rain, effective]), np.stack([on_line_swi, on_line_rain, rain_threshold]),
                         np.stack([line_level, line_level, rain_level]),
                         np.asarray(lead, dtype="timedelta64[s]").astype(np.int64))


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
    levels, extra = dict(item.levels), dict(item.extra)
    for name, window in lead_windows(times).items():
        at = int(np.argmax(np.where(window & storm, rock, -9)))
        worst = max(Level(int(rock[at])) if window[at] and storm[at] else Level.NONE, alarm)
        if worst > Level.NONE and worst > levels[name]:
            levels[name] = worst
        if window[at] and storm[at]:  # the block is judged only in the rainstorm case
            reached = [below for below, _ in params.rock.stability if k[at] < below]
            threshold = min(reached) if reached else max(below for below, _ in params.rock.stability)
            extra[name] = (*extra.get(name, ()), Driver("危岩稳定系数K", float(k[at]), "", float(threshold),
                                                        Level(int(rock[at])), timedelta(seconds=int(lead[at])),
                                                        worse_below=True))
    return replace(item, levels=levels, extra=extra)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and value == value


def _judge(ids: list[str], names: list[str], kind: str, score: np.ndarray,
           reasons: Callable[[np.ndarray], DriverColumns], swi: np.ndarray, effective: np.ndarray,
           params: LandslideParams, times: np.ndarray, susceptibility: np.ndarray, official: np.ndarray
           ) -> list[ItemLevels]:
    """Levels and drivers of every item from its trigger-score series, all items at once.

    Parameters
    ----------
    ids, names, kind
        The items (``kind`` ``"zone"`` or ``"point"``).
    score
        Trigger score (time, item), 0–100, NaN unknown; time index 0 is now.
    reasons
        ``reasons(at)``: the SWI, 60-minute-rain and effective-rain drivers of each item at its
        time index ``at`` (item,).
    swi, effective
        The items' series (time, item), mm, for the maxima reported.
    susceptibility, official
        Each item's class 1–5 and official floor (item,).
    """
    lead = lead_seconds(times)
    item = np.arange(len(ids))
    levels, drivers = {}, {}
    for name_, window in lead_windows(times).items():
        candidates = np.where(window[:, None] & ~np.isnan(score), score, -np.inf)
        pick = np.argmax(candidates, axis=0)  # the highest known score within the window (peak)
        known = np.isfinite(candidates[pick, item])
        trigger = np.where(known, level_of(score[pick, item], params.levels.boundaries), Level.UNKNOWN)
        levels[name_] = _level(susceptibility, trigger, params, official).tolist()
        drivers[name_] = reasons(np.where(known, pick, int(np.argmax(window))))
    upto = lead <= LEADS["24h"].total_seconds()
    swi_max, effective_max = _nanmax(swi[upto]).tolist(), _nanmax(effective[upto]).tolist()
    return [ItemLevels(item_id, names[i], kind, {lead_: LEVEL_OF[levels[lead_][i]] for lead_ in levels},
                       drivers, i, swi_max[i], effective_max[i], cls, now, LEVEL_OF[floor])
            for i, (item_id, cls, now, floor) in enumerate(zip(ids, susceptibility.tolist(), score[0].tolist(),
                                                               official.tolist(), strict=True))]


def _nanmax(values: np.ndarray) -> np.ndarray:
    """The largest value of each column (time, item) → (item,), NaN where none is finite."""
    return np.where(np.isfinite(values).any(axis=0), np.fmax.reduce(values, axis=0), np.nan)


def _names(layer: gpd.GeoDataFrame, field_name: str, ids: list[str]) -> list[str]:
    return layer[field_name].astype(str).tolist() if field_name in layer else ids


def _classes(layer: gpd.GeoDataFrame) -> np.ndarray:
    """Susceptibility class 1–5 of each feature (feature,); a feature without one is judged class 3 (moderate)."""
    if "susceptibility" not in layer:
        return np.full(len(layer), 3, dtype=np.int64)
    return np.array([int(c) if c == c else 3 for c in layer["susceptibility"]], dtype=np.int64)


def _remember(store: Store, items: list[ItemLevels], t0: datetime, params: LandslideParams,
              persist: bool) -> list[ItemLevels]:
    """The "now" level through levels with memory: the trigger score's level rises at once and
    falls only after the score has stayed below its boundary − margin for the hold time;
    the matrix and the official floor then apply to the remembered trigger level."""
    triggers = remember(store, STATE_MODEL, [f"{item.kind}:{item.item_id}" for item in items],
                        np.array([item.score_now for item in items]), t0, params.levels, persist=persist)
    now = _level(np.array([item.susceptibility for item in items], dtype=np.int64), triggers, params,
                 np.array([item.official for item in items], dtype=np.int8)).tolist()
    for item, level in zip(items, now, strict=True):
        item.levels["now"] = LEVEL_OF[level]  # the items were built by this cycle's judging: no one else holds them
    return items


def _level(susceptibility: np.ndarray, trigger: np.ndarray, params: LandslideParams,
           official: np.ndarray) -> np.ndarray:
    """The level of each zone or point (item,): the susceptibility matrix on the trigger level, over the
    official floor."""
    return np.asarray(apply_floor(zone_level(susceptibility, trigger, matrix=params.matrix), official), dtype=np.int8)


def _save_state(store: Store, grid: GridSpec, t0: datetime, start: np.ndarray, rain: np.ndarray,
                times: np.ndarray, params: LandslideParams, *, cold: bool) -> None:
    """Keep what gives the storages at t0 (when known, so that a cycle run again for t0 starts where it
    started) and after each of the first :data:`SAVED_HOURS` hours — the storages at t0 and the rain
    of those hours as the run gave it (``rain`` (time, lat, lon), mm: float32 for a contract array, whose
    float64 copy the forecast ran on exactly), uncompressed (tank storages hardly compress) — and append
    the rain of those hours to the store's hourly rain (which forgets the hours older than the
    :data:`SPIN_UP_DAYS` days, or the effective rainfall's look-back if longer, it keeps)."""
    hours = min(SAVED_HOURS, rain.shape[0])
    keep = timedelta(hours=max(SPIN_UP_DAYS * 24, _lookback_hours(params)))
    store.hourly_rain.append(STATE_MODEL, grid.signature, times[1:hours + 1], rain[:hours], issued_at=t0,
                             keep=keep)
    origin = "冷启动，空土壤水箱 / cold start from empty tanks" if cold else "续算 / continued"
    store.save_state(STATE_MODEL, grid.signature, valid_at=t0 + timedelta(hours=hours),
                     arrays={"valid": times[1 if cold else 0:hours + 1], "start": times[:1], "tanks": start[None],
                             "rain": np.ascontiguousarray(rain[:hours])},
                     detail=f"run of {t0.isoformat()} ({origin})", compress=False)


def storages_at(arrays: Mapping[str, np.ndarray], index: int, params: LandslideParams) -> np.ndarray:
    """The storages (3, lat, lon), mm, a saved state gives for its ``index``-th valid time.

    A state holds the storages at its run's t0 (``start``) and the rain of the hours it covers
    (``rain``): the storages at the valid time are run forward from t0 an hour at a time, as the run's
    cycle ran them. A state saved before that form holds the storages of every valid time (``tanks``).
    """
    if "rain" not in arrays:
        return arrays["tanks"][index]
    current = arrays["tanks"][0]
    for k in range(index + int(arrays["valid"][0] != arrays["start"][0])):  # a cold run keeps no t0
        _, current = soil_water_index(arrays["rain"][k:k + 1], 1.0, current, params=params.tank)
    return current


def score(ctx: Context) -> Scored:
    """The landslide hazard's scoring for the cycle (:class:`~warn.hazards.spec.HazardSpec` ``score``)."""
    result = score_landslide(ctx)
    return Scored([scored_item(item) for item in result.items], result.notes)


def scored_item(item: ItemLevels) -> ScoredItem:
    """One zone or hazard point as the registry's item: drivers as text, the official floor said."""
    floor = (f"官方地质灾害气象风险预警{item.official.zh}（下限）/ official geohazard warning {item.official.colour} "
             "(a floor)",) if item.official >= Level.BLUE else ()
    texts = item.texts()
    drivers = {lead: texts.get(lead, ()) + floor for lead in LEADS}
    return ScoredItem(item.item_id, item.name, item.kind, dict(item.levels), drivers, item.score_now,
                      {"swi_max_mm": item.swi_max, "effective_rain_max_mm": item.effective_rain_max,
                       "susceptibility": float(item.susceptibility)}, item.official)
