"""Scoring 山洪 (flash flood) for one cycle: catchment rain against dynamic critical rainfall.

For one forecast run issued at t0 (rain on a grid, hourly or re-accumulated to hours):

1. Catchment-mean hourly rain by exact coverage (:func:`warn.geo.weights.build_weights`,
   :func:`~warn.geo.weights.zonal_mean_max`) over the ``catchments`` layer.
2. The state carried from the previous cycle (``store.load_state``, numpy arrays only): the
   three-tank storages of each catchment at the times that run covered, the time the tanks
   were last started empty, and the hourly catchment rain and SWI of the hours around them.
   Without storages for t0 (cold start, or a run more than :data:`SAVED_HOURS` after the
   last) the tanks start empty at t0: the SWI of the forecast is a lower bound (so is the
   lowering of the thresholds), the wetness before t0 is unknown (the plan's critical
   rainfall is used unlowered for the windows now) and, with no kept rain, the "now" level
   is unknown, never "none"; a note says so, and another while the tanks have run for less
   than the model's ``wetness.spin_up``.
3. Rolling 1/3/6 h rain at t0 (from the kept hours before it) and at every forecast hour;
   the antecedent wetness of a window is the SWI at its start (the storm's own rain is not
   counted twice); the critical rainfall lowered by it; the score and level
   (:mod:`warn.risk.flashflood`). Hours before t0 that the store did not keep make the
   "now" windows unknown; in the forecast windows they count as dry (a lower bound, noted).
   A missing forecast hour makes the windows holding it unknown; the tanks take it as dry.
4. Levels at each lead of :data:`~warn.hazards.spec.LEADS` (the highest within each) with
   their drivers; the "now" level through levels with memory.
5. With ``persist``, the storages at t0 and after each of the first :data:`SAVED_HOURS`
   hours, and the hourly rain and SWI, are saved for the next cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np

from warn.config import LayerSpec
from warn.errors import ConfigError, Problem
from warn.geo.weights import build_weights, zonal_mean_max
from warn.hazards.leads import lead_seconds, lead_windows, peak
from warn.hazards.memory import remember
from warn.hazards.spec import LEADS, Context, Scored, ScoredItem
from warn.rainarray import reaccumulate, step_of
from warn.risk.flashflood import (
    FlashFloodParams,
    driver_text,
    dynamic_threshold,
    flash_score,
    rolling_rain,
    threshold_reduction,
)
from warn.risk.landslide import soil_water_index
from warn.risk.levels import level_of
from warn.vocab import Level

#: Model name of the saved state in the store, and the hazard of the remembered levels.
STATE_MODEL = "flashflood"
#: Hours of the run whose storages are saved (the next run is expected within them).
SAVED_HOURS = 12
#: The stages of the plans, as the catchment layer's field prefixes.
STAGES = ("prepare", "evacuate")
HOUR = np.timedelta64(1, "h")


def critical_fields(params: FlashFloodParams) -> tuple[str, ...]:
    """The catchment-layer fields of the critical rainfall (mm): ``prepare_1h_mm`` … ``evacuate_6h_mm``."""
    return tuple(f"{stage}_{hours}h_mm" for stage in STAGES for hours in params.durations_h)


def score(ctx: Context) -> Scored:
    """山洪 levels of every catchment for one cycle (see the module docstring).

    Parameters
    ----------
    ctx
        The cycle: ``params`` (:class:`~warn.risk.flashflood.FlashFloodParams`), ``rain``
        (rainfall contract array, mm per step), the ``catchments`` layer, the store.

    Returns
    -------
    Scored
        One item per catchment, with the columns of the hazard (maximum 1/3/6 h rain from
        now to +24 h, the SWI and the threshold reduction now, the 3 h plan thresholds).

    Raises
    ------
    ConfigError
        The catchment layer lacks a critical-rainfall field of the model's durations.
    """
    params: FlashFloodParams = ctx.params
    spec, layer = ctx.layer("catchments")
    ids = layer[spec.id_field].astype(str).tolist()
    names = layer[spec.name_field].astype(str).tolist() if spec.name_field in layer else ids
    critical, notices = _critical(spec, layer, params)
    if ctx.rain is None:
        return Scored([_unknown(i, n, "无降雨预报 no forecast run") for i, n in zip(ids, names, strict=True)],
                      ["无降雨预报，山洪等级未知 / no forecast run: flash-flood levels unknown"], notices)
    t0 = np.datetime64(ctx.issued_at.replace(tzinfo=None), "s")
    hourly = ctx.rain if step_of(ctx.rain) == timedelta(hours=1) else reaccumulate(ctx.rain, timedelta(hours=1))
    weights = build_weights(layer, hourly["lat"].values, hourly["lon"].values, id_column=spec.id_field,
                            cache_dir=ctx.settings.cache_dir / "weights", where=f"{spec.path}#{spec.layer}")
    forecast = zonal_mean_max(hourly, weights, want=("mean",),  # (hour, item)
                              workers=ctx.workers)[0].values.astype(np.float64)
    forecast_end = hourly["time"].values.astype("datetime64[s]")
    saved = ctx.store.load_state(STATE_MODEL, weights.layer) if ctx.store is not None else None
    state = _State.of(saved.arrays if saved is not None else None, t0, len(ids), max(params.durations_h))
    notes = [state.note(saved.detail if saved is not None else "", params.spin_up)]
    swi_forecast, _ = soil_water_index(np.nan_to_num(forecast), 1.0, state.tanks, params=params.tank, cells=ctx.cells)
    swi = np.concatenate([state.swi, swi_forecast])
    rain = np.concatenate([state.rain, forecast])
    lookback = state.rain.shape[0]  # index of t0 in the series of hour ends
    if np.isnan(state.rain).any():
        notes.append("t0 前部分小时雨量未存档：现时窗口未知，预报窗口按无雨计（偏低） / hours before t0 not kept: "
                     "the windows now are unknown, the forecast windows count them as dry (a lower bound)")
    exact = rolling_rain(rain, params.durations_h, cells=ctx.cells)[:, lookback - 1:]
    bound = rolling_rain(np.concatenate([np.nan_to_num(state.rain), forecast]), params.durations_h,
                         cells=ctx.cells)[:, lookback - 1:]
    windows = np.concatenate([exact[:, :1], bound[:, 1:]], axis=1)  # (duration, t0 + hours, item)
    starts = np.stack([swi[lookback - 1 - d:swi.shape[0] - d] for d in params.durations_h])
    reduction = threshold_reduction(starts, params=params.wetness)
    lowered = {stage: dynamic_threshold(critical[stage][:, None, :], reduction) for stage in STAGES}
    good = np.isfinite(critical["prepare"]).all(axis=0) & np.isfinite(critical["evacuate"]).all(axis=0)
    times = np.concatenate([[t0], forecast_end])
    scores, governing = _scores(windows, lowered, good, params)
    items = [_item(ids[i], names[i], i, times, scores[:, i], governing[:, i], windows, lowered, reduction, swi,
                   lookback, critical, params) for i in range(len(ids))]
    if ctx.store is not None:
        memory = remember(ctx.store, STATE_MODEL, [f"catchment:{i}" for i in ids],
                          np.array([item.score_now for item in items]), ctx.issued_at, params.levels,
                          persist=ctx.persist and ctx.remember)
        items = [_with_now(item, Level(int(level))) for item, level in zip(items, memory, strict=True)]
    if ctx.persist and ctx.store is not None:
        _save(ctx, weights.layer, state, forecast, forecast_end, swi[lookback:], params)
    return Scored(items, notes, notices)


class _State:
    """What the previous cycle left for t0: storages, and the hourly rain and SWI before t0."""

    def __init__(self, tanks: np.ndarray, continued: bool, spun_from: np.datetime64, ends: np.ndarray,
                 rain: np.ndarray, swi: np.ndarray, kept: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.tanks, self.continued, self.spun_from = tanks, continued, spun_from  # storages at t0, mm
        self.ends, self.rain, self.swi = ends, rain, swi  # the hours ending t0 − (L−1) h … t0
        self.kept = kept  # every kept hour ending at or before t0: ends, rain, swi

    @classmethod
    def of(cls, arrays: dict[str, np.ndarray] | None, t0: np.datetime64, n: int, longest: int) -> _State:
        """The state at ``t0`` for ``n`` catchments, with the ``2 × longest`` hours before it."""
        ends = t0 - np.arange(2 * longest)[::-1] * HOUR
        rain, swi = np.full((ends.size, n), np.nan), np.full((ends.size, n), np.nan)
        empty = (np.empty(0, "datetime64[s]"), np.empty((0, n)), np.empty((0, n)))
        if arrays is None or arrays["tanks"].shape[-1] != n:
            return cls(np.zeros((3, n)), False, t0, ends, rain, swi, empty)
        keep = arrays["hours_end"] <= t0
        kept = (arrays["hours_end"][keep], arrays["hours_mm"][keep].astype(np.float64),
                arrays["swi_mm"][keep].astype(np.float64))
        at = np.searchsorted(ends, kept[0])
        inside = (at < ends.size) & (ends[np.minimum(at, ends.size - 1)] == kept[0])
        rain[at[inside]], swi[at[inside]] = kept[1][inside], kept[2][inside]
        match = np.nonzero(arrays["valid"] == t0)[0]
        if match.size:
            return cls(arrays["tanks"][match[0]].astype(np.float64), True, arrays["spun_from"][0], ends, rain, swi,
                       kept)
        return cls(np.zeros((3, n)), False, t0, ends, rain, np.full_like(swi, np.nan), kept)

    def note(self, detail: str, spin_up: timedelta) -> str:
        """The note on the wetness state for the cycle's record."""
        if not self.continued:
            return ("冷启动：无 t0 时刻的土壤含水状态，水箱自空起算（阈值下调偏小），t0 前前期含水未知 / cold start: no "
                    "wetness state for t0; the tanks start empty (threshold reductions are lower bounds) and the "
                    "wetness before t0 is unknown")
        ran = (self.ends[-1] - self.spun_from).astype("timedelta64[h]").astype(int)
        if ran < spin_up.total_seconds() / 3600:
            return (f"土壤含水状态仅自冷启动起算 {ran} h，阈值下调偏小 / the wetness state has run only {ran} h since a "
                    f"cold start: threshold reductions are lower bounds (continued from the state of {detail})")
        return f"续算土壤含水状态 / wetness continued from the state of {detail}"


def critical_problems(spec: LayerSpec, layer: gpd.GeoDataFrame, params: FlashFloodParams) -> list[Problem]:
    """What ``warn check`` says of the catchments' critical rainfall.

    A field of the model's durations missing from the layer, or a catchment whose critical
    rainfall is missing or not 0 < 准备转移 < 立即转移 for each duration (mm).
    """
    where = f"{spec.path}#{spec.layer}"
    missing = [f for f in critical_fields(params) if f not in layer]
    if missing:
        return [Problem(where, ", ".join(missing), "the critical rainfall (mm) of each duration of "
                        "models/flashflood.yaml durations.hours", "no such field",
                        "add the 准备转移/立即转移 临界雨量 of the county plan")]
    table, bad = _table(layer, params)
    ids = layer[spec.id_field].astype(str).to_numpy()
    return [Problem(where, f"{ids[k]}", "critical rainfall 0 < 准备转移 (prepare) < 立即转移 (evacuate) for each duration",
                    ", ".join(f"{h} h {table['prepare'][d, k]:g}/{table['evacuate'][d, k]:g} mm"
                              for d, h in enumerate(params.durations_h)))
            for k in np.nonzero(bad)[0]]


def _table(layer: gpd.GeoDataFrame, params: FlashFloodParams) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The critical rainfall (duration, item) of each stage, mm, and which catchments are out of order."""
    table = {stage: np.stack([layer[f"{stage}_{h}h_mm"].to_numpy(dtype=np.float64) for h in params.durations_h])
             for stage in STAGES}
    return table, ~((table["prepare"] > 0) & (table["evacuate"] > table["prepare"])).all(axis=0)


def _critical(spec: LayerSpec, layer: gpd.GeoDataFrame, params: FlashFloodParams
              ) -> tuple[dict[str, np.ndarray], list[str]]:
    """The plan's critical rainfall (duration, item) of each stage, mm, and notices on bad catchments.

    A catchment whose thresholds are missing or not 0 < 准备转移 < 立即转移 gets NaN (its level is unknown).

    Raises
    ------
    ConfigError
        A field of the model's durations is missing from the layer.
    """
    missing = [problem for problem in critical_problems(spec, layer, params) if "no such field" in problem.got]
    if missing:
        raise ConfigError(*missing)
    table, bad = _table(layer, params)
    where = f"{spec.path}#{spec.layer}"
    ids = layer[spec.id_field].astype(str).to_numpy()
    notices = [f"小流域 {i} 临界雨量缺失或不满足 0 < 准备转移 < 立即转移，等级未知 / catchment {i}: critical rainfall "
               f"missing or not 0 < prepare < evacuate, level unknown ({where})" for i in ids[bad]]
    return {stage: np.where(bad, np.nan, values) for stage, values in table.items()}, notices


def _scores(windows: np.ndarray, lowered: dict[str, np.ndarray], good: np.ndarray, params: FlashFloodParams
            ) -> tuple[np.ndarray, np.ndarray]:
    """Score (time, item) and governing duration of the catchments with valid thresholds; NaN/−1 for the others."""
    scores = np.full(windows.shape[1:], np.nan)
    governing = np.full(windows.shape[1:], -1, dtype=np.int8)
    if good.any():
        scores[:, good], governing[:, good] = flash_score(windows[:, :, good], lowered["prepare"][:, :, good],
                                                          lowered["evacuate"][:, :, good], params=params)
    return scores, governing


def _item(item_id: str, name: str, i: int, times: np.ndarray, score: np.ndarray, governing: np.ndarray,
          windows: np.ndarray, lowered: dict[str, np.ndarray], reduction: np.ndarray, swi: np.ndarray,
          lookback: int, critical: dict[str, np.ndarray], params: FlashFloodParams) -> ScoredItem:
    """One catchment's levels and drivers at each lead, and its columns."""
    lead = lead_seconds(times)
    levels, drivers = {}, {}
    for name_, window in lead_windows(times).items():
        at = peak(score, window)
        if at is None:
            levels[name_] = Level.UNKNOWN
            first = int(np.argmax(window))
            drivers[name_] = (driver_text(params.durations_h[0], float("nan"), float("nan"), float("nan"), 0.0,
                                          Level.UNKNOWN, timedelta(seconds=int(lead[first])), params=params),)
            continue
        level = Level(int(level_of(score[at], params.levels.boundaries)))
        d = int(governing[at])
        levels[name_] = level
        drivers[name_] = (driver_text(params.durations_h[d], float(windows[d, at, i]),
                                      float(lowered["prepare"][d, at, i]), float(lowered["evacuate"][d, at, i]),
                                      float(reduction[d, at, i]), level, timedelta(seconds=int(lead[at])),
                                      params=params),)
    upto = lead <= max(LEADS.values()).total_seconds()
    values: dict[str, float | None] = {
        f"rain_{h}h_mm": _max(windows[k, upto, i]) for k, h in enumerate(params.durations_h)}
    values["swi_mm"] = _known(swi[lookback - 1, i])
    values["lowered_pct"] = _known(100 * np.nanmax(reduction[:, 0, i]) if np.isfinite(reduction[:, 0, i]).any()
                                   else np.nan)
    if 3 in params.durations_h:
        k = params.durations_h.index(3)
        values["prepare_3h_mm"] = _known(critical["prepare"][k, i])
        values["evacuate_3h_mm"] = _known(critical["evacuate"][k, i])
    return ScoredItem(item_id, name, "catchment", levels, drivers, float(score[0]), values)


def _with_now(item: ScoredItem, level: Level) -> ScoredItem:
    return ScoredItem(item.item_id, item.name, item.item, {**item.levels, "now": level}, item.drivers,
                      item.score_now, item.values, item.official)


def _unknown(item_id: str, name: str, why: str) -> ScoredItem:
    return ScoredItem(item_id, name, "catchment", {lead: Level.UNKNOWN for lead in LEADS},
                      {lead: (why,) for lead in LEADS})


def _max(values: np.ndarray) -> float | None:
    return float(np.nanmax(values)) if np.isfinite(values).any() else None


def _known(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _save(ctx: Context, key: str, state: _State, forecast: np.ndarray, forecast_end: np.ndarray,
          swi_forecast: np.ndarray, params: FlashFloodParams) -> None:
    """Storages at t0 (when continued) and after each of the first :data:`SAVED_HOURS` hours; the hourly
    rain and SWI from 2 × the longest duration before the first of them to the end of the run."""
    hours = min(SAVED_HOURS, forecast.shape[0])
    tanks, current = ([state.tanks] if state.continued else []), state.tanks
    for k in range(hours):
        _, current = soil_water_index(np.nan_to_num(forecast[k:k + 1]), 1.0, current, params=params.tank)
        tanks.append(current)
    t0 = state.ends[-1]
    valid = np.concatenate([[t0], forecast_end[:hours]]) if state.continued else forecast_end[:hours]
    ends = np.concatenate([state.kept[0], forecast_end])
    rain = np.concatenate([state.kept[1], forecast])
    swi = np.concatenate([state.kept[2], swi_forecast])
    keep = ends > valid[0] - 2 * max(params.durations_h) * HOUR
    origin = "续算 continued" if state.continued else "冷启动 cold start from empty tanks"
    ctx.store.save_state(STATE_MODEL, key, valid_at=_as_datetime(valid[-1]),
                         arrays={"valid": valid, "tanks": np.stack(tanks), "spun_from": np.array([state.spun_from]),
                                 "hours_end": ends[keep],
                                 "hours_mm": rain[keep].astype(np.float32), "swi_mm": swi[keep].astype(np.float32)},
                         detail=f"run of {ctx.issued_at.isoformat()} ({origin})")


def _as_datetime(moment: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(moment.astype("datetime64[s]")) + "+00:00")
