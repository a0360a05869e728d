""""Now" from observations: the hour the hazards' state reaches, the pass that advances it, the composed run.

With ``observed:`` in config.yaml a cycle at ``at`` no longer takes the forecast run's issue time as its
now. From the analysed rain (:mod:`warn.cycle.observed`, 10-minute steps on the forecast grid):

1. **t0** is the end of the latest hour whose analysis is complete (every step of it analysed), when that
   is the hour ending at ``floor(at, 1 h)`` or the one before it. Otherwise (radar and gauges both down,
   or the analysis lagging) t0 is ``floor(at, 1 h)`` and the hours since the last observed one are the
   forecast's — said in a data notice and in the drivers.
2. **Advance.** The hours from the previous cycle's t0 to this t0 that were observed form a run issued at
   the previous t0: :func:`advance_state` scores every rain hazard on it with ``remember=False``, which
   saves each hazard's state after every observed hour (and the hourly rain it keeps) — so the state at
   t0 follows the rain that fell, not the lead the previous cycle forecast for it. Cells the analysis did
   not cover take the rain the previous cycle composed for that hour (kept with the state, model
   :data:`STATE_MODEL`); an hour that still has a gap is not used, nor any after it, and the state keeps
   the forecast's hours there.
3. **Compose.** The leads after t0 are built on the 10-minute grid: the analysed steps of the current hour
   so far, then the nowcast from the latest analysed frame (:func:`warn.risk.nowcast.nowcast`) weighted
   into the NWP run by :func:`blend_weights` (``models/nowcast.yaml`` ``blend``), the run alone beyond;
   summed to hours, issued at t0. A cell the nowcast does not know (advected in from outside the radar
   domain) takes the run's rain. The run's hours are spread evenly over their 10-minute steps.
4. **Provenance.** Which hours up to t0 were observed (and from what: radar, gauges, both) and what
   drives the leads is said in the drivers of every rain hazard's items (:func:`provenance`) and kept in
   the cycle's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import xarray as xr

from warn import hazards
from warn.compute import Compute
from warn.config import Settings
from warn.cycle.observed import Observed
from warn.durations import floor_time, iso_duration
from warn.geo.weights import GridSpec
from warn.hazards.spec import Input
from warn.modelfiles import load_model_file
from warn.rainarray import MEMBER, add_history, as_hourly, control, issued_at, make_rain, reaccumulate, step_of
from warn.risk.analysis import MISSING, ORIGINS, RADAR, RADAR_GAUGES
from warn.risk.chunks import CellMap, in_process
from warn.risk.nowcast import BlendParams, NowcastParams, nowcast
from warn.store import Store


#: Model name of the composition kept in the store for the next cycle (t0, the first composed hours).
STATE_MODEL = "now"
HOUR = timedelta(hours=1)
#: Composed hours kept for the next cycle: they fill the cells its analysis does not cover.
KEPT_LEADS = 3
#: The most hours one advance pass takes; after a longer outage the hazards spin up from their kept rain.
MAX_ADVANCE_HOURS = 48


@dataclass(frozen=True)
class Now:
    """What the cycle scores from, when observations drive its now.

    Attributes
    ----------
    t0
        The hazards' now (UTC): the end of the latest observed hour, or the hour the forecast carried
        the state to when the observations are down.
    observed
        t0 is an observed hour's end.
    rain
        The composed run issued at t0: hourly, mm per step (with a ``member`` dim when the run or
        the nowcast is an ensemble).
    advance
        The hours from the previous t0 to t0 that advance the hazards' state (a run issued at the
        previous t0), ``None`` when there is nothing to advance.
    lead_ends, lead_mm
        The first composed hours (ends, depth mm (hour, lat, lon), the control's where the run is an
        ensemble), kept for the next cycle.
    drivers
        The lines each lead's drivers get (``now``: what the state follows; ``2h``: what the leads follow).
    notices
        Data notices (observations down, the now carried by the forecast).
    record
        JSON-ready, for the cycle's record.
    """

    t0: datetime
    observed: bool
    rain: xr.DataArray
    advance: xr.DataArray | None
    lead_ends: np.ndarray
    lead_mm: np.ndarray
    drivers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    record: Mapping[str, Any] = field(default_factory=dict)

    @property
    def basis(self) -> str:
        """What the composition was made of: t0 and the nowcast's issue time (part of the run's identity)."""
        return f"t0={self.t0.isoformat()};nowcast={(self.record.get('nowcast') or {}).get('issued')}"


def compose(settings: Settings, store: Store, run: xr.DataArray, observed: Observed, at: datetime,
            cells: CellMap = in_process) -> Now:
    """The cycle's now at ``at``: t0, the hours that advance the state, the composed run (module notes).

    Parameters
    ----------
    settings
        The deployment (``observed``, ``models.nowcast``).
    store
        Where the previous composition is read (nothing is written: :func:`keep` does, after scoring).
    run
        The due NWP run (rainfall contract array; the analysis is on its grid).
    observed
        The analysed rain up to ``at``.
    at
        The cycle's time (UTC).
    cells
        Where the nowcast's extrapolation is worked over the grid's cells (:func:`warn.risk.nowcast.advect`).
    """
    model = (load_model_file("nowcast", settings.models["nowcast"])
             if settings.observed is not None and settings.observed.nowcast else None)
    grid = GridSpec.from_coords(run["lat"].values, run["lon"].values, where=str(run.attrs.get("source", "")))
    hours = observed.hours()
    t0, is_observed = choose_t0(hours, at)
    prev = store.load_state(STATE_MODEL, grid.signature)
    kept = (prev.arrays["lead_ends"], prev.arrays["lead_mm"]) if prev is not None else None
    advance, advanced = _advance(hours, observed, kept, run, prev.valid_at if prev else None, t0)
    fresh = _nowcast(observed, model.params(), cells) if model is not None else None
    blend = model.blending() if model is not None else None
    rain = _composed(run, observed.frames, fresh, t0, blend, kept)
    ends = rain["time"].values[:KEPT_LEADS].astype("datetime64[s]")
    lead_mm = control(rain).isel(time=slice(0, KEPT_LEADS)).values.astype(np.float32)
    drivers = _drivers(settings, t0, is_observed, observed, fresh, blend)
    notices = tuple(observed.notices) + (() if is_observed else (
        f"现时状态由预报推算至 {settings.local(t0):%H:%M}（无完整的实测降雨）/ the state now is carried by the forecast "
        f"to {t0:%H:%MZ}: no complete observed hour",))
    record = {"t0": t0.isoformat(), "observed": is_observed, "advanced": advanced,
              "nowcast": {"issued": issued_at(fresh).isoformat(), "method": fresh.attrs.get("nowcast_method", ""),
                          "members": int(fresh.sizes.get(MEMBER, 1)),
                          "skipped": fresh.attrs.get("nowcast_skipped", "")} if fresh is not None else None,
              "analysis": dict(observed.record)}
    return Now(t0, is_observed, rain, advance, ends, lead_mm, drivers, notices, record)


def choose_t0(hours: xr.DataArray | None, at: datetime) -> tuple[datetime, bool]:
    """The hazards' now: the latest complete observed hour's end if it is the hour ending at
    ``floor(at, 1 h)`` or the one before it (``True``), else ``floor(at, 1 h)`` (``False``)."""
    top = floor_time(at, HOUR)
    if hours is not None and hours.sizes["time"]:
        ends = [_aware(t) for t in hours["time"].values]
        latest = max((end for end in ends if end <= top), default=None)
        if latest is not None and latest >= top - HOUR:
            return latest, True
    return top, False


def _advance(hours: xr.DataArray | None, observed: Observed, kept: tuple[np.ndarray, np.ndarray] | None,
             run: xr.DataArray, since: datetime | None, t0: datetime) -> tuple[xr.DataArray | None, list[dict]]:
    """The hours (since, t0] as a run issued at ``since`` when at least one of them is observed.

    Each hour is the analysis with its uncovered cells filled from the previous composition (``kept``);
    the hours are taken from ``since`` on while they are whole, observed or not; the run stops at the
    first hour with a gap, and is ``None`` when none of its hours is observed.

    Returns
    -------
    (run, hours)
        The advance run (or ``None``) and, for the record, each hour taken: end, origin, cells filled.
    """
    if since is None or since >= t0 or hours is None or t0 - since > MAX_ADVANCE_HOURS * HOUR:
        return None, []
    shape = (run.sizes["lat"], run.sizes["lon"])
    taken, arrays, record = [], [], []
    for k in range(1, int((t0 - since) / HOUR) + 1):
        end = since + k * HOUR
        guess = _kept_hour(kept, end, shape)
        seen = _hour(hours, end)
        if seen is None:
            depth, origin, filled = guess, "forecast", 0
        else:
            gaps = np.isnan(seen)
            depth, origin, filled = np.where(gaps, guess, seen), _origin(observed, end), int(gaps.sum())
        if np.isnan(depth).any():
            break
        taken.append(end)
        arrays.append(depth)
        record.append({"end": end.isoformat(), "origin": origin, "filled_cells": filled})
    if not any(r["origin"] != "forecast" for r in record):
        return None, []
    advance = make_rain(np.stack(arrays), time=np.array([_naive(t) for t in taken], dtype="datetime64[ns]"),
                        lat=run["lat"].values, lon=run["lon"].values, step=HOUR, source="analysis",
                        issued_at=np.datetime64(_naive(since), "s"),
                        history="the observed hours since the previous t0 (cells the analysis did not cover: "
                                "the previous cycle's composed rain)")
    return advance, record


def _composed(run: xr.DataArray, frames: xr.DataArray | None, fresh: xr.DataArray | None, t0: datetime,
              blend: BlendParams | None, kept: tuple[np.ndarray, np.ndarray] | None) -> xr.DataArray:
    """The leads after ``t0``: analysed steps, then the nowcast weighted into the run by ``blend`` (given with
    ``fresh``), then the run (hourly)."""
    hourly = as_hourly(run)
    after = hourly.sel(time=hourly["time"] > np.datetime64(_naive(t0)))
    reach = [t0]
    if frames is not None and frames.sizes["time"]:
        reach.append(_aware(frames["time"].values[-1]))
    if fresh is not None:
        reach.append(_aware(fresh["time"].values[-1]))
    covered = int(np.ceil((max(reach) - t0) / HOUR))
    ends = [t0 + k * HOUR for k in range(1, max(covered, 1) + 1)]
    steps = _ten_minutes(frames, fresh)
    first = _first_hours(after, ends, kept)
    if steps is not None:
        first = _with_steps(first, steps, frames, fresh, t0, blend)
    rest = after.sel(time=after["time"] > np.datetime64(_naive(ends[-1])))
    rain = xr.concat([first, rest], dim="time") if rest.sizes["time"] else first
    rain = rain.astype(np.float32).rename("rain").transpose(*((MEMBER,) if MEMBER in rain.dims else ()),
                                                            "time", "lat", "lon")
    rain.attrs = {**hourly.attrs, "step": iso_duration(HOUR), "issued_at": f"{np.datetime64(_naive(t0), 's')}Z",
                  "source": f"now:{run.attrs.get('source', '')}"}
    if MEMBER in rain.dims and "control_member" not in rain.attrs:  # a nowcast ensemble on a single run
        rain.attrs["control_member"] = int(rain[MEMBER].values[0])
    return add_history(rain, f"composed at t0 {t0.isoformat()}: the analysed steps, the nowcast weighted into "
                             "the run, the run beyond")


def _first_hours(after: xr.DataArray, ends: list[datetime], kept: tuple[np.ndarray, np.ndarray] | None
                 ) -> xr.DataArray:
    """The run's hours ending at ``ends``; an hour the run does not cover (issued after its start) takes the
    previous composition's, else stays missing."""
    times = np.array([_naive(end) for end in ends], dtype="datetime64[ns]")
    first = after.reindex(time=times)
    if kept is not None and bool(first.isnull().any()):
        shape = (after.sizes["lat"], after.sizes["lon"])
        guess = np.stack([_kept_hour(kept, end, shape) for end in ends])
        first = first.fillna(xr.DataArray(guess, dims=("time", "lat", "lon"), coords={"time": times}))
    return first


def _ten_minutes(frames: xr.DataArray | None, fresh: xr.DataArray | None) -> timedelta | None:
    """The step of the analysis and nowcast (they share it), ``None`` without either."""
    for array in (frames, fresh):
        if array is not None and array.sizes["time"]:
            return step_of(array)
    return None


def _with_steps(first: xr.DataArray, step: timedelta, frames: xr.DataArray | None, fresh: xr.DataArray | None,
                t0: datetime, blend: BlendParams | None) -> xr.DataArray:
    """The first hours rebuilt on the ``step`` grid: analysed steps, then nowcast × w + run × (1 − w)."""
    per_hour = int(HOUR / step)
    sub = np.array([_naive(t0) + step * (k + 1) for k in range(first.sizes["time"] * per_hour)],
                   dtype="datetime64[ns]")
    run_steps = (first / per_hour).reindex(time=sub, method="bfill")  # each hour spread evenly over its steps
    mixed = run_steps
    if fresh is not None and blend is not None:
        issued = issued_at(fresh)
        weight = xr.DataArray([blend.weight(_aware(t) - issued) for t in sub], dims="time", coords={"time": sub})
        nc = fresh.reindex(time=sub)
        if MEMBER in nc.dims and MEMBER in run_steps.dims and nc.sizes[MEMBER] != run_steps.sizes[MEMBER]:
            nc = nc.mean(MEMBER)
        weight = weight.where(nc.notnull(), 0.0)
        mixed = (weight * nc.fillna(0.0) + (1.0 - weight) * run_steps).fillna(nc)  # no run there: the nowcast
    if frames is not None and frames.sizes["time"]:
        seen = frames.reindex(time=sub)
        mixed = xr.where(seen.notnull(), seen, mixed)
    hourly = reaccumulate(mixed.assign_attrs(first.attrs, step=iso_duration(step)), HOUR)
    return hourly.assign_coords(time=first["time"].values)


def _nowcast(observed: Observed, params: NowcastParams, cells: CellMap) -> xr.DataArray | None:
    """The nowcast from the latest analysed frames that have radar in them, ``None`` without enough of them."""
    frames = observed.frames
    if frames is None or observed.origin is None or frames.sizes["time"] < params.frames:
        return None
    recent = frames.isel(time=slice(-params.frames, None))
    radar = observed.origin.isel(time=slice(-params.frames, None))
    if not bool(((radar == RADAR) | (radar == RADAR_GAUGES)).any(("lat", "lon")).all()):
        return None
    return nowcast(add_history(recent, "analysed frames handed to the nowcast"), params, cells=cells)


def _drivers(settings: Settings, t0: datetime, is_observed: bool, observed: Observed, fresh: xr.DataArray | None,
             blend: BlendParams | None) -> dict[str, tuple[str, ...]]:
    """The provenance lines of the leads: what the state now follows, what the first leads follow."""
    local = f"{settings.local(t0):%H:%M}"
    if is_observed:
        zh, en = ORIGINS[_origin_code(observed, t0)].split(" / ")
        now = f"现时状态：实测降雨驱动至 {local}（{zh}）/ state now: observed rain up to {t0:%H:%MZ} ({en})"
    else:
        now = (f"现时状态：观测缺失，由预报推算至 {local} / state now: carried by the forecast to {t0:%H:%MZ} "
               "(observations missing)")
    if fresh is not None and blend is not None:
        issued = issued_at(fresh)
        full, none = (int(blend.full_until / timedelta(minutes=1)), int(blend.none_after / timedelta(minutes=1)))
        lead = (f"未来2小时：雷达外推临近预报（{settings.local(issued):%H:%M} 起），{full}–{none} 分钟渐并入数值预报 / "
                f"next 2 h: radar extrapolation nowcast from {issued:%H:%MZ}, merged into the NWP run between "
                f"+{full} and +{none} min")
    else:
        lead = "未来2小时：无临近预报，采用数值预报 / next 2 h: no nowcast, the NWP run"
    return {"now": (now,), "2h": (lead,)}


def _hour(hours: xr.DataArray | None, end: datetime) -> np.ndarray | None:
    if hours is None:
        return None
    at = np.datetime64(_naive(end), "ns")
    match = np.nonzero(hours["time"].values == at)[0]
    return hours.isel(time=int(match[0])).values.astype(np.float64) if match.size else None


def _kept_hour(kept: tuple[np.ndarray, np.ndarray] | None, end: datetime, shape: tuple[int, int]) -> np.ndarray:
    """The previous composition's depth for the hour ending ``end`` (NaN where it has none)."""
    if kept is not None:
        match = np.nonzero(kept[0] == np.datetime64(_naive(end), "s"))[0]
        if match.size and kept[1].shape[1:] == shape:
            return kept[1][int(match[0])].astype(np.float64)
    return np.full(shape, np.nan)


def _origin(observed: Observed, end: datetime) -> str:
    """What observed the hour ending ``end``, in English (the record's word)."""
    return ORIGINS[_origin_code(observed, end)].split(" / ")[1]


def _origin_code(observed: Observed, end: datetime) -> int:
    """The most common origin over the cells and steps of the hour ending ``end`` (``MISSING`` when unknown)."""
    if observed.origin is None:
        return MISSING
    times = observed.origin["time"].values
    stop = np.datetime64(_naive(end), "ns")
    inside = (times > stop - np.timedelta64(1, "h")) & (times <= stop)
    codes = observed.origin.values[inside].ravel()
    codes = codes[codes > 0]
    return int(np.bincount(codes).argmax()) if codes.size else MISSING


def keep(store: Store, now: Now, run: xr.DataArray) -> None:
    """Keep t0 and the first composed hours for the next cycle (after the hazards were scored on them)."""
    grid = GridSpec.from_coords(run["lat"].values, run["lon"].values, where=str(run.attrs.get("source", "")))
    store.save_state(STATE_MODEL, grid.signature, valid_at=now.t0,
                     arrays={"lead_ends": now.lead_ends, "lead_mm": now.lead_mm},
                     detail="observed" if now.observed else "forecast")


def advance_state(settings: Settings, store: Store, now: Now, at: datetime, compute: Compute | None = None
                  ) -> list[str]:
    """Score every rain hazard on ``now.advance`` with its state saved and its remembered levels left alone
    (the gridded steps on ``compute``, ``None``: here).

    Returns
    -------
    list of str
        The hazards' notes on their state (for the cycle's record).
    """
    if now.advance is None:
        return []
    notes = []
    for deployed in hazards.deployed(settings):
        if Input.RAIN not in deployed.spec.inputs:
            continue
        ctx = replace(hazards.context(settings, deployed, now.advance, at, store=store, persist=True,
                                      compute=compute), remember=False)
        notes.extend(deployed.spec.score(ctx).notes)
    return notes


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: np.datetime64) -> datetime:
    return np.datetime64(moment, "us").astype(datetime).replace(tzinfo=UTC)
