"""``warn check``: validate a deployment — config.yaml, the model files, the layers.

Collects every problem before reporting, so an engineer fixes a broken deployment in
one pass. Each problem names the file, the key path and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from warn.config import Settings, load_settings
from warn.errors import ConfigError, Problem, WarnError

#: Placeholders a configured feed URL may hold: the demo world's servers.
URL_PLACEHOLDERS = ("feed", "sensorthings")


def check_deployment(config_path: Path) -> list[Problem]:
    """Every problem in the deployment wired by ``config_path``; empty when it is valid."""
    try:
        settings = load_settings(config_path)
    except WarnError as err:
        return list(err.problems)
    where = str(config_path)
    checks: list[Callable[[Settings, str], Iterator[Problem]]] = [
        _models, _layers, _terrain, _forecasts, _sensors, _landslide, _official, _sim, _playbooks, _channels,
    ]
    return [problem for check in checks for problem in check(settings, where)]


def _collect(call: Callable[[], object]) -> list[Problem]:
    try:
        call()
    except WarnError as err:
        return list(err.problems)
    return []


def _models(settings: Settings, where: str) -> Iterator[Problem]:
    """The model files config.yaml names, then every other YAML file in their folders."""
    from warn.declarative import read_yaml
    from warn.modelfiles import load_model_file

    for name, path in settings.models.items():
        if not path.exists():
            yield Problem(where, f"models.{name}", "an existing model file", str(path))
            continue
        yield from _collect(lambda: load_model_file(name, path, where=where, key=f"models.{name}"))
    if "rainstorm" not in settings.models:
        yield Problem(where, "models.rainstorm", "the rain model file (models/rainstorm.yaml)", "nothing")
    named = {path.resolve() for path in settings.models.values()}
    folders = {path.resolve().parent for path in settings.models.values() if path.parent.is_dir()}
    for path in sorted(p for folder in folders for p in folder.glob("*.yaml") if p.resolve() not in named):
        def validate(path: Path = path) -> None:
            data = read_yaml(path)
            declared = data.get("model") if isinstance(data, dict) else None
            load_model_file(str(declared), path, where=str(path), key="model")

        yield from _collect(validate)


def _layers(settings: Settings, where: str) -> Iterator[Problem]:
    from warn.geo.layers import load_layer

    for name, spec in settings.layers.items():
        if not spec.path.exists():
            yield Problem(where, f"layers.{name}.path", "an existing GeoPackage or GeoJSON file", str(spec.path))
            continue
        yield from _collect(lambda: load_layer(spec.path, spec.layer, crs=spec.crs, id_field=spec.id_field))


def _terrain(settings: Settings, where: str) -> Iterator[Problem]:
    spec = settings.terrain
    if spec is None:
        return
    if not spec.path.exists():
        yield Problem(where, "terrain.path", "an existing NetCDF DEM", str(spec.path))
        return
    import xarray as xr

    try:
        with xr.open_dataset(spec.path) as ds:
            if spec.variable not in ds:
                yield Problem(str(spec.path), spec.variable, "the elevation variable named in terrain.variable",
                              f"variables {', '.join(map(str, ds.data_vars))}")
            elif set(ds[spec.variable].dims) != {"lat", "lon"}:
                yield Problem(str(spec.path), spec.variable, "dims (lat, lon)", str(ds[spec.variable].dims))
    except (OSError, ValueError) as err:
        yield Problem(str(spec.path), "", "a readable NetCDF file", str(err))


def _forecasts(settings: Settings, where: str) -> Iterator[Problem]:
    from warn.sources.forecast import DECODERS

    for name, spec in settings.forecasts.items():
        if spec.format != "auto" and spec.format not in DECODERS:
            yield from _collect(lambda: DECODERS.get(spec.format, where=where, key=f"forecasts.{name}.format"))
        if "{issued" not in spec.url:
            yield Problem(where, f"forecasts.{name}.url", "a template with the run time, e.g. {issued:%Y%m%d%H}",
                          spec.url)


def _sensors(settings: Settings, where: str) -> Iterator[Problem]:
    """The catalogue loads, and every per-sensor QC override names a catalogued sensor."""
    from warn.modelfiles import load_model_file
    from warn.sources.catalogue import load_catalogue

    if settings.sensors is None:
        return
    if not settings.sensors.catalogue.exists():
        yield Problem(where, "sensors.catalogue", "an existing sensor catalogue (CSV)", str(settings.sensors.catalogue))
        return
    try:
        catalogue = load_catalogue(settings.sensors.catalogue)
    except WarnError as err:
        yield from err.problems
        return
    path = settings.models.get("sensors")
    if path is None:
        yield Problem(where, "models.sensors", "the QC model file (models/sensors.yaml) for the sensors section",
                      "nothing")
        return
    try:
        params = load_model_file("sensors", path).params()
    except WarnError:
        return  # reported by _models
    for sensor_id in params.overrides:
        if sensor_id not in catalogue:
            yield Problem(str(path), f"overrides.{sensor_id}", "a sensor of the catalogue", repr(sensor_id),
                          f"catalogue: {settings.sensors.catalogue}")


def _landslide(settings: Settings, where: str) -> Iterator[Problem]:
    """Per-zone trigger thresholds name zones of the towns layer; a climatology file reads."""
    from warn.geo.layers import load_layer
    from warn.modelfiles import load_model_file

    path, spec = settings.models.get("landslide"), settings.layers.get("towns")
    if path is None or spec is None or not path.exists() or not spec.path.exists():
        return
    try:
        params = load_model_file("landslide", path).params()
        zones = set(load_layer(spec.path, spec.layer, crs=spec.crs, id_field=spec.id_field)[spec.id_field].astype(str))
    except WarnError:
        return  # reported by _models and _layers
    climatology = settings.landslide.climatology if settings.landslide else None
    if climatology is not None:
        yield from _collect(lambda: _read_climatology(climatology, params))
    for zone_id in params.zone_trigger:
        if zone_id not in zones:
            yield Problem(str(path), f"trigger.zones.{zone_id}", "a zone of the towns layer", repr(zone_id),
                          f"layer: {spec.path}#{spec.layer}")


def _read_climatology(path: Path, params) -> None:
    """Read a climatology file on its own grid (ConfigError if it does not hold)."""
    import xarray as xr

    from warn.cycle.landslide import load_climatology

    if not path.exists():
        raise ConfigError(Problem("config.yaml", "landslide.climatology", "an existing NetCDF file", str(path)))
    try:
        with xr.open_dataset(path) as ds:
            lat, lon = ds["lat"].values, ds["lon"].values
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(Problem(str(path), "lat/lon", "a NetCDF file with lat and lon coordinates", str(err))) from None
    load_climatology(path, lat, lon, params)


def _official(settings: Settings, where: str) -> Iterator[Problem]:
    """Every official source's URL is http(s) once the demo's placeholders are filled, its
    placeholders are known ones, and the towns layer its areas are matched with is configured."""
    from warn.config import fill

    for name, spec in settings.official.items():
        key = f"official.{name}.url"
        unknown = sorted(set(re.findall(r"{(\w*)}", spec.url)) - set(URL_PLACEHOLDERS))
        if unknown:
            yield Problem(where, key, f"placeholders among {', '.join('{' + p + '}' for p in URL_PLACEHOLDERS)}",
                          ", ".join("{" + p + "}" for p in unknown))
        elif not fill(spec.url, dict.fromkeys(URL_PLACEHOLDERS, "http://127.0.0.1:9")).startswith(
                ("http://", "https://")):
            yield Problem(where, key, "an http(s) URL of one CAP 1.2 message or of a JSON list of their URLs",
                          spec.url)
    if settings.official and "towns" not in settings.layers:
        yield Problem(where, "layers.towns", "the towns layer official warnings' areas are matched with",
                      "nothing", "the official section needs it")


def _sim(settings: Settings, where: str) -> Iterator[Problem]:
    sim = settings.sim
    if sim is None:
        return
    if not sim.feed_dir.is_dir():
        yield Problem(where, "sim.feed_dir", "an existing folder of demo forecast runs", str(sim.feed_dir))
    if sim.source not in settings.forecasts:
        yield Problem(where, "sim.source", f"one of the forecasts ({', '.join(settings.forecasts)})", repr(sim.source))


def _playbooks(settings: Settings, where: str) -> Iterator[Problem]:
    """playbooks/*.yaml validate (each problem names the file, the step id and the key), the roster
    reads, and every role a playbook names is on the roster."""
    from warn.command.loading import load_setup

    spec = settings.command
    if spec is None:
        return
    if not spec.playbooks.is_dir():
        yield Problem(where, "command.playbooks", "an existing folder of playbooks (*.yaml)", str(spec.playbooks))
        return
    if not spec.roster.exists():
        yield Problem(where, "command.roster", "an existing roster file (YAML or CSV)", str(spec.roster))
        return
    yield from _collect(lambda: load_setup(spec, settings.deployment.district_code))


def _channels(settings: Settings, where: str) -> Iterator[Problem]:
    """Every channel builds (kind known, the secrets its kind needs named, kind-specific keys such as an
    smtp sender or an mqtt topic) — without the secrets set: each named variable gets a placeholder.
    The drill's channels (``sim.channels``) are built with their placeholders filled as a drill fills them."""
    import tempfile

    from warn.broadcast.channels import build_channels
    from warn.config import drill_settings

    specs = dict(settings.channels)
    if settings.sim is not None and settings.sim.channels:
        drill = drill_settings(settings, Path(tempfile.gettempdir()) / "warn-check", {"receiver": "http://127.0.0.1:9"})
        specs |= {f"sim.{name}": spec for name, spec in drill.channels.items()}
    for name, spec in specs.items():
        placeholders = {var: "placeholder" for var in spec.secrets.values()}
        try:
            built = build_channels({name: spec}, env=placeholders)
        except WarnError as err:
            yield from (Problem(where if p.where == "config.yaml" else p.where, p.key, p.expected, p.got, p.hint)
                        for p in err.problems)
            continue
        for channel in built.values():
            channel.close()
