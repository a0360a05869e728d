"""The observed rain of a cycle: radar frames and rain gauges analysed on the model grid.

:func:`observe` gives the cycle the analysed rain of the steps (``models/analysis.yaml``
``step``, 10 min) ending in ``(at − lookback, latest]``, with each cell's origin, the data
notices and a JSON-ready record. Per step:

- the radar: the frames the cycle fetched (a contract array, depth per frame step, on any
  regular grid), summed to the step (every frame of the step present, else no radar for it)
  and put on the model grid — as they are when the grids match; a finer radar grid by the
  mean of the radar cells whose centres fall in each model cell (NaN when fewer than half of
  them are observed), the conservative choice for depths; a coarser one bilinearly
  (interpolation between cell centres, NaN outside the radar's extent);
- the gauges: the catalogue's sensors of kind ``rain_gauge``, their QC-good readings (depth
  per report, decoded at ingest) summed over the step; a gauge counts for a step only when its
  reports cover the whole step (``step / interval`` of them), else it is missing there;
- :func:`warn.risk.analysis.analyse_step` merges them (method, fallbacks and each cell's origin
  there), the bias estimated over the step's bias window (the gauges' and the radar's depths at
the gauges in the steps before it are kept with each step).

The analysed steps are kept in the store (``save_state``, model ``analysis``, key the grid's
signature), so a step is analysed once and a restart keeps the window; the steps of the last
hour are analysed again each cycle (late gauge reports and radar frames) — but a step analysed with
radar only when this cycle has its radar frames too —, older ones are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy.interpolate import RegularGridInterpolator
import xarray as xr

from warn.config import Settings
from warn.durations import iso_duration
from warn.errors import ConfigError, DataContractError, Problem
from warn.geo.weights import GridSpec
from warn.modelfiles import load_model_file
from warn.rainarray import make_rain, reaccumulate, step_of
from warn.risk.analysis import MISSING, RADAR, RADAR_GAUGES, AnalysisParams, analyse_step
from warn.risk.chunks import CellMap, in_process
from warn.sources.readings import Sensor
from warn.store import Store
from warn.vocab import QCFlag, SensorKind

#: The store's model name for the analysed window.
STATE_MODEL = "analysis"
#: The data notices (zh-CN / English).
RADAR_DOWN = "雷达中断 / radar down"
GAUGES_SILENT = "雨量站无数据 / gauges silent"
BOTH_DOWN = "雷达与雨量站均无数据，现时由预报推算 / radar and gauges both down: now from the forecast"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Observed:
    """The observed rain of one cycle.

    Attributes
    ----------
    frames
        Contract array (time, lat, lon) on the model grid, depth mm per step, times the ends of the
        steps in ``(at − lookback, latest analysed]`` (the latest step with any observed cell), NaN
        where nothing was observed; attrs ``source`` "analysis" and ``history``. ``None`` when no
        step of the window has any observation.
    origin
        int8 (time, lat, lon): 0 missing, 1 radar, 2 gauges, 3 radar adjusted to gauges
        (:data:`warn.risk.analysis.ORIGINS`); ``None`` with ``frames``.
    notices
        Data notices: radar down, gauges silent, both down (then "now" comes from the forecast).
    record
        JSON-ready: method and step, the latest analysed step, the radar's newest frame and its age,
        the gauges reporting, the last bias factor and why it was missing, steps analysed this cycle.
    """

    frames: xr.DataArray | None
    origin: xr.DataArray | None
    notices: tuple[str, ...]
    record: Mapping[str, Any]

    def hours(self) -> xr.DataArray | None:
        """The complete hours of :attr:`frames` as an hourly contract array (no ``issued_at``).

        An hour is complete when every step of it is in the window with some observed cell; its
        depth (mm per hour) is the sum of its steps, NaN in a cell any step left missing. ``None``
        when no hour is complete.
        """
        if self.frames is None or self.origin is None:
            return None
        step = step_of(self.frames)
        per_hour = HOUR // step
        times = self.frames["time"].values
        seen = (self.origin.values != MISSING).any(axis=(1, 2))
        ends = np.unique(times.astype("datetime64[h]") + np.where(
            times == times.astype("datetime64[h]"), np.timedelta64(0, "h"), np.timedelta64(1, "h")))
        keep: list[int] = []
        for end in ends.astype("datetime64[ns]"):
            within = (times > end - np.timedelta64(HOUR)) & (times <= end)
            if within.sum() == per_hour and seen[within].all():
                keep.extend(np.flatnonzero(within))
        if not keep:
            return None
        return reaccumulate(self.frames.isel(time=keep), HOUR)


def observe(settings: Settings, store: Store, radar: xr.DataArray | None, at: datetime,
            lat: np.ndarray, lon: np.ndarray, cells: CellMap = in_process) -> Observed:
    """Analyse the observed rain of the window ending at ``at`` on the model grid (module docstring).

    Parameters
    ----------
    settings
        The deployment: ``observed`` (radar configured, gauges on) and ``models.analysis``.
    store
        Readings of the rain gauges in, the analysed window kept (``save_state``).
    radar
        The radar frames the cycle fetched: contract array (time, lat, lon), depth per frame step
        (a step dividing the analysis step), any regular ascending grid; ``None`` when there are none.
    at
        The cycle's time, timezone-aware.
    lat, lon
        The model (forecast) grid's cell centres, degrees, ascending and regular.
    cells
        Where the gauges' field is worked over the grid's cells (the service's cluster for a large grid,
        :func:`warn.risk.analysis.analyse_step`); this process by default.

    Returns
    -------
    Observed

    Raises
    ------
    ConfigError
        No ``observed`` section or no ``models.analysis`` file.
    DataContractError
        Radar frames coarser in time than the analysis step, or not a whole number of them per step.
    """
    if settings.observed is None:
        raise ConfigError(Problem("config.yaml", "observed", "an observed section (radar, gauges)", "nothing"))
    if "analysis" not in settings.models:
        raise ConfigError(Problem("config.yaml", "models.analysis", "the analysis model file (models/analysis.yaml)",
                                  "nothing"))
    if at.utcoffset() is None:
        raise ValueError(f"observe: a timezone-aware time, got {at!r}")
    params: AnalysisParams = load_model_file("analysis", settings.models["analysis"]).params()
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    grid = GridSpec.from_coords(lat, lon, where="the model grid")
    step = np.timedelta64(params.step)
    latest = _floor(at, params.step)
    n_steps = params.lookback // params.step
    ends = latest - step * np.arange(n_steps - 1, -1, -1)
    gauges = [s for s in store.sensors() if s.kind is SensorKind.RAIN_GAUGE] if settings.observed.gauges else []
    ids = [s.sensor_id for s in gauges]
    kept = _load(store, grid.signature, ends, ids)
    final = ends <= latest - np.timedelta64(HOUR)
    open_steps = [t for t, done in zip(ends, final) if not (done and t in kept)]
    radar_steps = {} if radar is None else _radar_on_grid(radar, open_steps, params.step, lat, lon)
    # a step analysed with radar is not analysed again without it (the frames may be gone by now)
    todo = [t for t in open_steps if t not in kept or t in radar_steps or not kept[t].had_radar]
    gauge_mm = _gauge_steps(store, gauges, todo, params.step)
    glat = np.array([s.lat for s in gauges])
    glon = np.array([s.lon for s in gauges])
    missing = np.full(len(gauges), np.nan)
    for t in todo:  # in time order: a step's bias window holds the steps just analysed
        before = [kept.get(t - step * k) for k in range(params.bias_steps - 1, 0, -1)]
        window = (np.array([missing if b is None else b.gauge_mm for b in before]).reshape(len(before), len(gauges)),
                  np.array([missing if b is None else b.radar_at for b in before]).reshape(len(before), len(gauges)))
        mm = gauge_mm.get(t, missing)
        result = analyse_step(radar_steps.get(t), glat, glon, mm, lat=lat, lon=lon, params=params, history=window,
                              cells=cells)
        kept[t] = _Step(result.depth, result.origin, np.nan if result.bias is None else result.bias,
                        result.gauges, result.reason, mm, result.radar_at_gauges)
    _save(store, grid.signature, ends, kept, latest, ids)

    observed_ends = [t for t in ends if (kept[t].origin != MISSING).any()]
    last = observed_ends[-1] if observed_ends else None
    notices, record = _notices_and_record(settings, params, radar, at, ends, kept, last, len(gauges), len(todo))
    if last is None:
        return Observed(None, None, notices, record)
    times = ends[ends <= last]
    history = (f"observe: {params.method} analysis of radar frames and {len(gauges)} rain gauge(s) at "
               f"{iso_duration(params.step)} on grid {grid.signature}, as of {at.astimezone(UTC).isoformat()}")
    frames = make_rain(np.stack([kept[t].depth for t in times]), time=times, lat=lat, lon=lon, step=params.step,
                       source="analysis", history=history)
    origin = xr.DataArray(np.stack([kept[t].origin for t in times]).astype(np.int8), dims=frames.dims,
                          coords=frames.coords, name="origin",
                          attrs={"flag_values": "0 1 2 3",
                                 "flag_meanings": "missing radar gauges radar_adjusted_to_gauges"})
    return Observed(frames, origin, notices, record)


@dataclass(frozen=True)
class _Step:
    """One analysed step as kept: the fields, the bias, and the gauges' and radar's depths at the gauges."""

    depth: np.ndarray
    origin: np.ndarray
    bias: float
    gauges: int
    reason: str
    gauge_mm: np.ndarray
    radar_at: np.ndarray

    @property
    def had_radar(self) -> bool:
        """Whether any cell came from the radar."""
        return bool(np.isin(self.origin, (RADAR, RADAR_GAUGES)).any())


def _floor(at: datetime, step: timedelta) -> np.datetime64:
    """The latest step end at or before ``at`` (UTC, naive datetime64[ns])."""
    ns = round(at.timestamp() * 1e9)
    size = round(step.total_seconds() * 1e9)
    return np.datetime64(ns - ns % size, "ns")


def _load(store: Store, key: str, ends: np.ndarray, ids: list[str]) -> dict[np.datetime64, _Step]:
    """The kept steps in the window, their gauge columns in the order of ``ids`` (NaN for a gauge not kept)."""
    saved = store.load_state(STATE_MODEL, key)
    if saved is None:
        return {}
    a = saved.arrays
    window = set(ends.tolist())
    reasons = [str(r) for r in a["reason"]]
    column = {str(sid): j for j, sid in enumerate(a["gauge_ids"])}
    take = np.array([column.get(sid, -1) for sid in ids], np.int64)

    def gauges(values: np.ndarray) -> np.ndarray:
        return np.where(take >= 0, values[np.maximum(take, 0)] if values.size else np.nan, np.nan)

    return {t: _Step(a["depth"][i], a["origin"][i], float(a["bias"][i]), int(a["gauges"][i]), reasons[i],
                     gauges(a["gauge_mm"][i]), gauges(a["radar_at"][i]))
            for i, t in enumerate(a["time"].astype("datetime64[ns]")) if t.item() in window}


def _save(store: Store, key: str, ends: np.ndarray, kept: Mapping[np.datetime64, _Step], latest: np.datetime64,
          ids: list[str]) -> None:
    times = [t for t in ends if t in kept]
    steps = [kept[t] for t in times]
    store.save_state(STATE_MODEL, key, valid_at=_aware(latest), arrays={
        "gauge_ids": np.array(ids, dtype=str),
        "gauge_mm": np.array([s.gauge_mm for s in steps], np.float64).reshape(len(steps), len(ids)),
        "radar_at": np.array([s.radar_at for s in steps], np.float64).reshape(len(steps), len(ids)),
        "time": np.array(times, "datetime64[ns]").astype(np.int64),
        "depth": np.stack([s.depth for s in steps]).astype(np.float32),
        "origin": np.stack([s.origin for s in steps]).astype(np.int8),
        "bias": np.array([s.bias for s in steps], np.float64),
        "gauges": np.array([s.gauges for s in steps], np.int32),
        "reason": np.array([s.reason for s in steps], dtype=str),
    }, detail=f"analysed steps of the last {len(times)} × step, the last hour's analysed again each cycle")


def _aware(t: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(t.astype("datetime64[s]"))).replace(tzinfo=UTC)


def _radar_on_grid(radar: xr.DataArray, ends: list[np.datetime64], step: timedelta, lat: np.ndarray,
                   lon: np.ndarray) -> dict[np.datetime64, np.ndarray]:
    """The radar's depth per analysis step on the model grid, for the steps all of whose frames are there."""
    frame = step_of(radar)
    if frame > step or step % frame:
        raise DataContractError(Problem(str(radar.attrs.get("source", "radar")), "step",
                                        f"radar frames whose step divides the analysis step {iso_duration(step)}",
                                        iso_duration(frame)))
    per_step = step // frame
    times = radar["time"].values.astype("datetime64[ns]")
    wanted: dict[np.datetime64, np.ndarray] = {}
    for t in ends:
        within = np.flatnonzero((times > t - np.timedelta64(step)) & (times <= t))
        if within.size == per_step:
            wanted[t] = radar.isel(time=within).sum("time", skipna=False).values
    if not wanted:
        return {}
    stack = np.stack(list(wanted.values()))
    regridded = _regrid(stack, radar["lat"].values, radar["lon"].values, lat, lon)
    return dict(zip(wanted, regridded))


def _regrid(frames: np.ndarray, rlat: np.ndarray, rlon: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, rlat, rlon) depths onto (n, lat, lon): as is, box mean of a finer grid, or bilinear from a coarser."""
    if rlat.shape == lat.shape and rlon.shape == lon.shape and np.allclose(rlat, lat) and np.allclose(rlon, lon):
        return frames.astype(np.float64)
    finer = np.abs(np.diff(rlat)).mean() < np.abs(np.diff(lat)).mean()
    if not finer:
        bilinear = RegularGridInterpolator((rlat, rlon), np.moveaxis(frames, 0, -1), method="linear",
                                           bounds_error=False, fill_value=np.nan)
        return np.moveaxis(bilinear(np.stack(np.meshgrid(lat, lon, indexing="ij"), axis=-1)), -1, 0)
    rows = _cell_of(lat, rlat)
    cols = _cell_of(lon, rlon)
    inside_r, inside_c = rows >= 0, cols >= 0
    sub = frames[:, inside_r][:, :, inside_c]
    r, c = np.meshgrid(rows[inside_r], cols[inside_c], indexing="ij")
    flat = (r * lon.size + c).ravel()
    count = np.bincount(flat, minlength=lat.size * lon.size)
    out = np.full((frames.shape[0], lat.size, lon.size), np.nan)
    for k, field in enumerate(sub.reshape(frames.shape[0], -1)):
        seen = np.isfinite(field)
        total = np.bincount(flat[seen], weights=field[seen], minlength=lat.size * lon.size)
        n_seen = np.bincount(flat[seen], minlength=lat.size * lon.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where((count > 0) & (n_seen * 2 >= count), total / n_seen, np.nan)
        out[k] = mean.reshape(lat.size, lon.size)
    return out


def _cell_of(centres: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the cell (between the midpoints of ``centres``) each value falls in, −1 outside."""
    half = (centres[-1] - centres[0]) / (centres.size - 1) / 2
    edges = np.concatenate([[centres[0] - half], (centres[1:] + centres[:-1]) / 2, [centres[-1] + half]])
    index = np.searchsorted(edges, values, side="right") - 1
    return np.where((index >= 0) & (index < centres.size), index, -1)


def _gauge_steps(store: Store, gauges: list[Sensor], ends: list[np.datetime64],
                 step: timedelta) -> dict[np.datetime64, np.ndarray]:
    """Each gauge's depth (mm) per step: the sum of its good readings in the step when they cover it, else NaN."""
    out = {t: np.full(len(gauges), np.nan) for t in ends}
    if not ends or not gauges:
        return out
    since = _aware(min(ends)) - step
    until = _aware(max(ends)) + timedelta(microseconds=1)
    size = np.timedelta64(step)
    # reports longer than the step, or not dividing it, never cover a step exactly
    covering = [sensor.sensor_id for sensor in gauges if not step % sensor.interval]
    held = store.readings_of(covering, since=since, until=until)
    for g, sensor in enumerate(gauges):
        if sensor.sensor_id not in held:
            continue
        need = step // sensor.interval
        good = [r.reading for r in held[sensor.sensor_id]
                if r.qc_flag is QCFlag.GOOD and r.reading.value is not None]
        times = np.array([np.datetime64(r.phenomenon_time.astimezone(UTC).replace(tzinfo=None), "ns") for r in good],
                         dtype="datetime64[ns]")
        values = np.array([r.value for r in good], np.float64)
        for t in ends:
            within = (times > t - size) & (times <= t)
            if within.sum() == need:
                out[t][g] = values[within].sum()
    return out


def _notices_and_record(settings: Settings, params: AnalysisParams, radar: xr.DataArray | None, at: datetime,
                        ends: np.ndarray, kept: Mapping[np.datetime64, _Step], last: np.datetime64 | None,
                        n_gauges: int, recomputed: int) -> tuple[tuple[str, ...], dict[str, Any]]:
    assert settings.observed is not None
    spec = settings.observed.radar
    newest = None if radar is None or radar.sizes.get("time", 0) == 0 else radar["time"].values.max()
    age_min = None if newest is None else (at.astimezone(UTC) - _aware(newest)).total_seconds() / 60
    radar_down = spec is not None and (age_min is None or age_min > spec.max_age.total_seconds() / 60)
    recent = [t for t in ends if t > ends[-1] - np.timedelta64(params.silent_after)]
    reporting = max((kept[t].gauges for t in recent if t in kept), default=0)
    gauges_silent = settings.observed.gauges and reporting == 0
    notices: list[str] = []
    if radar_down:
        notices.append(f"{RADAR_DOWN}: " + ("无雷达图 / no frame" if newest is None
                                            else f"最新一帧 / newest frame {_aware(newest).isoformat()}, "
                                                 f"{age_min:.0f} min"))
    if gauges_silent:
        notices.append(f"{GAUGES_SILENT}: {n_gauges} 个雨量站近 {params.silent_after.total_seconds() / 60:.0f} 分钟无完整"
                       f"时段 / {n_gauges} gauge(s) without a whole step in "
                       f"{params.silent_after.total_seconds() / 60:.0f} min")
    if (radar_down or spec is None) and (gauges_silent or not settings.observed.gauges):
        notices.append(BOTH_DOWN)
    biased = [t for t in ends if t in kept and np.isfinite(kept[t].bias)]
    record = {
        "method": params.method,
        "step": iso_duration(params.step),
        "latest": None if last is None else _aware(last).isoformat(),
        "radar": {"configured": spec is not None, "newest": None if newest is None else _aware(newest).isoformat(),
                  "age_min": None if age_min is None else round(age_min, 1), "down": bool(radar_down)},
        "gauges": {"catalogue": n_gauges, "reporting": int(reporting), "silent": bool(gauges_silent)},
        "bias": None if not biased else round(kept[biased[-1]].bias, 3),
        "bias_at": None if not biased else _aware(biased[-1]).isoformat(),
        "reason": "" if last is None else kept[last].reason,
        "analysed_steps": recomputed,
    }
    return tuple(notices), record
