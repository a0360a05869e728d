"""The rain step of the cycle: fetch a forecast run, decode it, score it per zone.

Fetches through ``sources/`` (httpx, the configured decoder), aggregates with
``geo/`` (exact coverage weights; the worst cell of a zone is the maximum over its
cells of each window's sums), and scores with ``risk/rain`` (accumulations, CMA
signal, storm-formula return period).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import xarray as xr

from warn.config import Settings, fill
from warn.errors import ConfigError, Problem
from warn.geo.layers import zone_layer
from warn.geo.weights import build_weights, zonal_max, zonal_mean_max
from warn.modelfiles import RainFile, load_model_file
from warn.rainarray import as_hourly, check_coverage, control, issued_at, step_of
from warn.risk.chunks import Workers, here
from warn.risk.rain import RainstormParams, window_depths, zone_rain_summary
from warn.sources.forecast import Fetched, ForecastSource, open_forecast
from warn.sources.http import policy_of

if TYPE_CHECKING:
    from warn.store import Store

HISTORY_CAP = 200

#: Layer attribute naming a zone's storm-intensity formula.
FORMULA_FIELD = "storm_formula"


def fetch_run(settings: Settings, name: str, issued: datetime, *, feed: str = "") -> tuple[Fetched, xr.DataArray]:
    """Fetch the run of forecast source ``name`` issued at ``issued`` and decode it.

    Parameters
    ----------
    settings
        The deployment.
    name
        A configured forecast source.
    issued
        Run time (timezone-aware).
    feed
        Base URL filling a ``{feed}`` placeholder in the URL template (the demo feed server).

    Returns
    -------
    The fetch record and the rainfall contract array.
    """
    spec = settings.forecasts[name]
    template = fill(spec.url, {"feed": feed}) if feed else spec.url
    source = ForecastSource(template, directory=settings.cache_dir / "forecasts" / name,
                            policy=policy_of(spec), attempts=spec.retries + 1)
    fetched = source.fetch(issued)
    rain = open_forecast(fetched.path, var=spec.var, source=fetched.url, issued_at=issued,
                         decoder=None if spec.format == "auto" else spec.format, limits=settings.files)
    return fetched, rain


def open_location(settings: Settings, location: str, *, var: str | None = None) -> xr.DataArray:
    """Decode a forecast given as a local path, or as an http(s)/file URL fetched to the cache."""
    if Path(location).exists():
        return open_forecast(location, var=var, source=location, limits=settings.files)
    literal = location.replace("{", "{{").replace("}", "}}")  # a URL, not a template
    fetched = ForecastSource(literal, directory=settings.cache_dir / "forecasts" / "adhoc").fetch(datetime.now())
    return open_forecast(fetched.path, var=var, source=location, limits=settings.files)


def score_rain(settings: Settings, rain: xr.DataArray, layer: str) -> xr.Dataset:
    """Aggregate ``rain`` over the zones of ``layer`` and score it with the rain model.

    Parameters
    ----------
    settings
        The deployment.
    rain
        Rainfall contract array (time, lat, lon), mm per step; of an ensemble (a ``member`` dim
        first), its control member is scored.
    layer
        Name of a configured zone layer.

    Returns
    -------
    xarray.Dataset
        :func:`warn.risk.rain.zone_rain_summary` on the model's basis (the worst covered
        cell or the zone mean), with coordinates ``name`` and ``storm_formula`` per zone,
        and the zone-mean 3 h peak as ``mean_max_3h``.
    """
    spec, zones = zone_layer(settings, layer)
    rain = control(rain)
    check_coverage(rain, tuple(zones.total_bounds), where=rain.attrs.get("source", "forecast"))
    model: RainFile = load_model_file("rain", settings.models["rain"])
    params = model.params()
    weights = build_weights(zones, rain["lat"].values, rain["lon"].values, id_column=spec.id_field,
                            cache_dir=settings.cache_dir / "weights", where=f"{spec.path}#{spec.layer}")
    windows = params.windows_for(step_of(rain))
    grid_depths = window_depths(rain, windows)
    stacked = xr.concat([grid_depths[w] for w in windows], dim="window")
    mean, worst_cell = zonal_mean_max(stacked, weights)
    basis = worst_cell if model.basis == "cell_max" else mean
    missing = rain.isnull().astype(np.float32).assign_attrs(rain.attrs)
    complete = (zonal_max(missing, weights) == 0).all("time")  # no covered cell missing at any step
    formulas = _formulas(zones, params, f"{spec.path}#{spec.layer}", spec.id_field)
    summary = zone_rain_summary({w: basis.isel(window=i) for i, w in enumerate(windows)}, complete, params, formulas)
    if timedelta(hours=3) in windows:
        summary["mean_max_3h"] = mean.isel(window=windows.index(timedelta(hours=3))).max("time")
    names = zones[spec.name_field].astype(str).to_numpy() if spec.name_field in zones else zones[spec.id_field]
    summary = summary.assign_coords(name=("zone", np.asarray(names)), storm_formula=("zone", np.asarray(formulas)))
    summary.attrs = {"basis": model.basis, "layer": layer, "step": rain.attrs["step"],
                     "source": rain.attrs.get("source", ""), "issued_at": rain.attrs.get("issued_at", "")}
    return summary


def _formulas(zones: gpd.GeoDataFrame, params: RainstormParams, where: str, id_field: str) -> list[str]:
    if FORMULA_FIELD not in zones:
        return [params.default_formula] * len(zones)
    names = [value if isinstance(value, str) and value else params.default_formula for value in zones[FORMULA_FIELD]]
    unknown = [Problem(where, f"{zone_id}.{FORMULA_FIELD}", f"a formula of models/rain.yaml "
                       f"({', '.join(sorted(params.formulas))})", repr(name))
               for zone_id, name in zip(zones[id_field], names, strict=True) if name not in params.formulas]
    if unknown:
        raise ConfigError(*unknown)
    return names



def record_zone_rain(settings: Settings, store: Store, rain: xr.DataArray | None, *, workers: Workers = here
                     ) -> None:
    """Record the hourly rain of the run ``rain`` per town (``areas.towns``; ``store.rain``).

    The zone mean (exact coverage weights) and the wettest covered cell of every hour of the run,
    in mm; once per run (a run already recorded is not aggregated again). Nothing without a run
    or without the layer.

    Parameters
    ----------
    settings
        The deployment (the layer and the weights' cache).
    store
        Where to record it.
    rain
        The cycle's run (rainfall contract array with ``issued_at``), ``None`` without one; of an
        ensemble, its control member.
    workers
        Where the zonal statistics are worked (the service's cluster for a large grid); this process by default.
    """
    towns = settings.areas.towns
    if rain is None or towns not in settings.layers:
        return
    rain = control(rain)
    source, issued = str(rain.attrs.get("source", "")), issued_at(rain)
    if store.rain.has(source, issued, towns):
        return
    spec, zones = zone_layer(settings, towns)
    hourly = as_hourly(rain)
    weights = build_weights(zones, hourly["lat"].values, hourly["lon"].values, id_column=spec.id_field,
                            cache_dir=settings.cache_dir / "weights", where=f"{spec.path}#{spec.layer}")
    mean, worst = (a.transpose("time", "zone") for a in zonal_mean_max(hourly, weights, workers=workers))
    ends = [datetime.fromisoformat(str(t.astype("datetime64[us]"))).replace(tzinfo=timezone.utc)
            for t in hourly["time"].values]
    store.rain.record_hours(source, issued, towns, [str(z) for z in mean["zone"].values], ends, mean.values,
                            worst.values)
