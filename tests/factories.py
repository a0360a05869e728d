"""Test factories: small hand-made inputs in the shapes the code expects."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import xarray as xr

from warn.durations import parse_duration


def rain_series(values, *, step: str = "PT1H", start: str = "2026-07-15T01:00",
                zones: Sequence[str] | None = None) -> xr.DataArray:
    """Zone rain (time, zone) in mm per step, from a list (one zone) or a 2-D list (time × zone).

    ``start`` is the end of the first step (UTC).
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    step_ns = np.timedelta64(int(parse_duration(step).total_seconds()), "s").astype("timedelta64[ns]")
    times = np.datetime64(start, "ns") + np.arange(array.shape[0]) * step_ns
    zones = list(zones or [f"z{i}" for i in range(array.shape[1])])
    return xr.DataArray(array, dims=("time", "zone"), coords={"time": times, "zone": zones},
                        name="rain", attrs={"units": "mm", "step": step})


def hazard_context(settings, name: str, rain, *, store=None, persist: bool = False, now=None,
                   without: tuple[str, ...] = ()):
    """The context hazard ``name`` of ``settings`` is scored in on ``rain`` (roles in ``without`` left out)."""
    from warn import hazards
    from warn.rainarray import issued_at

    deployed = hazards.deployed(settings, only=name)[0]
    if without:
        layers = {role: layer for role, layer in deployed.section.layers.items() if role not in without}
        deployed = dataclasses.replace(deployed, section=deployed.section.model_copy(update={"layers": layers}))
    return hazards.context(settings, deployed, rain, now or issued_at(rain), store=store, persist=persist)
