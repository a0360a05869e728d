"""Zone layers: load, validate, bring to WGS84, measure.

A zone layer is one layer of a GeoPackage or one GeoJSON file (towns, grid cells,
hazard points, waterlogging points) with an id field. :func:`load_layer` is the one
way in; it returns WGS84 lon/lat (EPSG:4326) or raises one
:class:`~warn.errors.ConfigError` that lists every problem found, each naming the
file and layer (``geodata/yubei.gpkg#towns``), the key and what was expected.

CRS rules (DESIGN.md, "Conventions"):

- the file must carry a CRS; a layer without one is rejected, never guessed;
- the deployment declares the CRS it expects for the layer. ``"gcj02"`` means the
  coordinates are GCJ-02 lon/lat (Amap and other Chinese web maps) stored under a
  geographic CRS; they are converted to WGS84 on load with
  :func:`warn.geo.gcj02.gcj02_geometry_to_wgs84`. Any other value is a CRS that
  pyproj understands (``EPSG:4326``, ``EPSG:4490``, ``EPSG:32648``); the file's CRS
  must equal it, and the layer is reprojected to EPSG:4326;
- areas are measured in a local equal-area CRS (:func:`equal_area_crs`), never in degrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from warn.errors import ConfigError, Problem
from warn.geo.gcj02 import gcj02_geometry_to_wgs84

if TYPE_CHECKING:
    from warn.config import LayerSpec, Settings

#: The CRS every loaded layer is returned in.
WGS84 = "EPSG:4326"
#: Declared-CRS value meaning "GCJ-02 lon/lat, convert on load".
GCJ02 = "gcj02"
#: Centre of :func:`equal_area_crs` is rounded to this many decimals of a degree.
_CENTRE_DECIMALS = 2
_SQ_M_PER_SQ_KM = 1e6


def _where(path: Path, layer: str | None) -> str:
    """Location text for messages: ``file#layer`` or ``file``."""
    return f"{path}#{layer}" if layer else str(path)


def _open(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read one layer with pyogrio, turning every read failure into a ConfigError."""
    if not path.is_file():
        raise ConfigError(
            Problem(str(path), "", "an existing GeoPackage or GeoJSON file", "no such file")
        )
    try:
        names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise ConfigError(
            Problem(str(path), "", "a GeoPackage or GeoJSON file that GDAL can read", str(exc))
        ) from exc
    if layer is None and len(names) > 1:
        raise ConfigError(
            Problem(
                str(path), "layer", f"a layer name, one of {', '.join(names)}", "none",
                "name the layer in the deployment config",
            )
        )
    if layer is not None and layer not in names:
        raise ConfigError(
            Problem(str(path), "layer", f"one of {', '.join(names)}", repr(layer))
        )
    return pyogrio.read_dataframe(path, layer=layer)


def _declared_problems(crs: str, where: str) -> tuple[CRS | None, list[Problem]]:
    """Parse the declared CRS; ``None`` for ``gcj02`` or when it cannot be parsed."""
    if crs == GCJ02:
        return None, []
    try:
        return CRS.from_user_input(crs), []
    except CRSError:
        return None, [
            Problem(
                where, "crs", f"'{GCJ02}' or a CRS such as EPSG:4326", repr(crs),
                "fix the crs declared for this layer in the deployment config",
            )
        ]


def _crs_problems(gdf: gpd.GeoDataFrame, crs: str, declared: CRS | None, where: str) -> list[Problem]:
    """Problems with the file's CRS against the declared one."""
    if gdf.crs is None:
        return [
            Problem(
                where, "crs", f"a CRS stored in the file (declared: {crs})", "none",
                "write the layer with its CRS, e.g. GeoDataFrame.set_crs('EPSG:4326').to_file(...)",
            )
        ]
    if crs == GCJ02 and not gdf.crs.is_geographic:
        return [
            Problem(
                where, "crs", "a geographic lon/lat CRS for GCJ-02 coordinates",
                gdf.crs.to_string(), "GCJ-02 exists only as lon/lat degrees",
            )
        ]
    if declared is not None and not gdf.crs.equals(declared, ignore_axis_order=True):
        return [
            Problem(
                where, "crs", f"{crs} as declared in the deployment config", gdf.crs.to_string(),
                "the file and the config disagree: correct whichever is wrong",
            )
        ]
    return []


def _id_problems(gdf: gpd.GeoDataFrame, id_field: str, where: str) -> list[Problem]:
    """Problems with the id field: missing, empty values, duplicates."""
    if id_field not in gdf.columns:
        fields = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "no fields"
        return [Problem(where, id_field, f"an id field named '{id_field}'", f"fields {fields}")]
    ids = gdf[id_field]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    problems = [
        Problem(where, id_field, "a non-empty id in every feature", f"empty in feature #{i}")
        for i in np.flatnonzero(blank.to_numpy())
    ]
    counts = ids[~blank].value_counts(sort=False)
    for value, count in counts[counts > 1].items():
        rows = ", ".join(f"#{i}" for i in np.flatnonzero((ids == value).to_numpy()))
        problems.append(
            Problem(where, id_field, "unique ids", f"{value!r} in {count} features ({rows})")
        )
    return problems


def _geometry_problems(gdf: gpd.GeoDataFrame, id_field: str, where: str) -> list[Problem]:
    """Problems with geometries: missing, empty or invalid (with GEOS's explanation)."""
    labels = (
        [f"{id_field}={v!r}" for v in gdf[id_field]]
        if id_field in gdf.columns
        else [f"feature #{i}" for i in range(len(gdf))]
    )
    geoms = gdf.geometry.to_numpy()
    reasons = shapely.is_valid_reason(geoms)
    problems = []
    for label, geom, reason in zip(labels, geoms, reasons, strict=True):
        if geom is None:
            got = "no geometry"
        elif shapely.is_empty(geom):
            got = "an empty geometry"
        elif reason != "Valid Geometry":
            got = f"invalid geometry ({reason})"
        else:
            continue
        problems.append(
            Problem(
                where, "geometry", "a non-empty valid geometry", f"{label}: {got}",
                "repair it in a GIS (e.g. shapely.make_valid) and save the layer again",
            )
        )
    return problems


def load_layer(
    path: Path, layer: str | None = None, *, crs: str = WGS84, id_field: str
) -> gpd.GeoDataFrame:
    """Load one zone layer, validate it and return it in WGS84 (EPSG:4326).

    A layer is read once per version of its file (path, modification time, size); each
    call returns its own copy.

    Parameters
    ----------
    path
        GeoPackage or GeoJSON file.
    layer
        Layer name; may be omitted only for a single-layer file.
    crs
        The CRS the deployment declares for the layer: ``"gcj02"`` for GCJ-02 lon/lat
        (converted to WGS84), otherwise a CRS string the file's CRS must equal.
    id_field
        Field holding each feature's unique, non-empty id.

    Returns
    -------
    geopandas.GeoDataFrame
        The features with their fields, geometry in EPSG:4326 lon/lat degrees.

    Raises
    ------
    warn.errors.ConfigError
        Listing every problem found: unreadable file or unknown layer; missing,
        mismatched or non-geographic (for ``gcj02``) CRS; missing id field, empty or
        duplicate ids; missing, empty or invalid geometries (with the feature id and
        GEOS's explanation).
    """
    return _load(*_version(path), layer, crs, id_field).copy()


def _version(path: Path | str) -> tuple[Path, int, int]:
    """What a layer file's work is remembered by: its resolved path, modification time (ns) and size; the path
    as given with 0 and 0 when it cannot be read (loading it then says what is wrong)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return path, 0, 0
    return path.resolve(), stat.st_mtime_ns, stat.st_size


def load_records(path: Path, layer: str | None = None, *, crs: str = WGS84, id_field: str) -> list[dict[str, Any]]:
    """The attributes of every feature of a zone layer (without the geometry), in the layer's order.

    Read, like :func:`load_layer`, once per version of the file; each call returns fresh dicts, so a
    caller may change them. Parameters and errors as :func:`load_layer`.
    """
    return [dict(record) for record in _records(*_version(path), layer, crs, id_field)]


def load_circles(path: Path, layer: str | None = None, *, crs: str = WGS84, id_field: str,
                 radius_m: float) -> Mapping[str, BaseGeometry]:
    """The WGS 84 polygon ``radius_m`` around each point feature of a zone layer, by id (:func:`point_circles`).

    Made, like :func:`load_layer` reads, once per version of the file (and radius): a storm's cycles
    draw the same warned points. Parameters and errors as :func:`load_layer`; ``radius_m`` in metres.
    """
    return _circles(*_version(path), layer, crs, id_field, radius_m)


def point_circles(frame: gpd.GeoDataFrame, id_field: str, radius_m: float) -> dict[str, BaseGeometry]:
    """Each point feature's WGS 84 polygon ``radius_m`` (metres) around it, by id (the first feature of each id),
    buffered in the WGS 84 / UTM zone holding it (:func:`utm_zone`); other geometries are left out."""
    first = frame[~frame[id_field].astype(str).duplicated()]
    points = first[first.geom_type == "Point"]
    by_zone: dict[str, list[tuple[str, BaseGeometry]]] = {}
    for ident, point in zip(points[id_field].astype(str), points.geometry, strict=True):
        by_zone.setdefault(utm_zone(point), []).append((ident, point))
    out: dict[str, BaseGeometry] = {}
    for zone, members in by_zone.items():
        series = gpd.GeoSeries([point for _, point in members], crs=WGS84)
        out.update(zip([ident for ident, _ in members], series.to_crs(zone).buffer(radius_m).to_crs(WGS84),
                       strict=True))
    return out


def utm_zone(point: BaseGeometry) -> str:
    """The WGS 84 / UTM zone CRS holding ``point`` (lon/lat degrees): EPSG 326zz north, 327zz south."""
    zone = min(int((point.x + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{(32600 if point.y >= 0 else 32700) + zone}"


@lru_cache(maxsize=16)
def _circles(path: Path, mtime_ns: int, size: int, layer: str | None, crs: str, id_field: str,
             radius_m: float) -> Mapping[str, BaseGeometry]:
    """:func:`load_circles`' work, remembered by the file's identity and the radius (read-only)."""
    return MappingProxyType(point_circles(_load(path, mtime_ns, size, layer, crs, id_field), id_field, radius_m))


@lru_cache(maxsize=64)
def _records(path: Path, mtime_ns: int, size: int, layer: str | None, crs: str, id_field: str
             ) -> tuple[dict[str, Any], ...]:
    """:func:`load_records`' work, remembered by the file's identity."""
    return tuple(_load(path, mtime_ns, size, layer, crs, id_field).drop(columns="geometry").to_dict("records"))


@lru_cache(maxsize=64)
def _load(path: Path, _mtime_ns: int, _size: int, layer: str | None, crs: str, id_field: str) -> gpd.GeoDataFrame:
    """:func:`load_layer`'s work, remembered by the file's identity (path, modification time, size)."""
    where = _where(path, layer)
    gdf = _open(path, layer)
    declared, problems = _declared_problems(crs, where)
    problems += _crs_problems(gdf, crs, declared, where)
    problems += _id_problems(gdf, id_field, where)
    problems += _geometry_problems(gdf, id_field, where)
    if problems:
        raise ConfigError(*problems)
    if crs == GCJ02:
        converted = gcj02_geometry_to_wgs84(gdf.geometry.to_numpy())
        return gdf.set_geometry(gpd.GeoSeries(converted, index=gdf.index, crs=WGS84))
    return gdf.to_crs(WGS84)


def equal_area_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """A Lambert azimuthal equal-area CRS centred on the layer, for areas.

    Parameters
    ----------
    gdf
        Any layer with a CRS.

    Returns
    -------
    pyproj.CRS
        LAEA on WGS84, metres, centred on the middle of the layer's lon/lat bounds
        (rounded to 0.01° so the same layer always gives the same CRS).
    """
    lon_min, lat_min, lon_max, lat_max = gdf.to_crs(WGS84).total_bounds
    lon_0 = round(float(lon_min + lon_max) / 2.0, _CENTRE_DECIMALS)
    lat_0 = round(float(lat_min + lat_max) / 2.0, _CENTRE_DECIMALS)
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat_0} +lon_0={lon_0} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


def area_km2(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Area of each feature in km², measured in :func:`equal_area_crs` of the layer."""
    return gdf.to_crs(equal_area_crs(gdf)).area / _SQ_M_PER_SQ_KM


def layer_hash(path: Path, layer: str | None) -> str:
    """Cache key of a layer: sha256 (hex) of the file's bytes followed by the layer name.

    Parameters
    ----------
    path
        GeoPackage or GeoJSON file.
    layer
        Layer name, or ``None`` for a single-layer file.

    Returns
    -------
    str
        64 hexadecimal digits; changes when the file's bytes or the layer name change.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(b"\0" + (layer or "").encode("utf-8"))
    return digest.hexdigest()


def zone_layer(settings: Settings, name: str) -> tuple[LayerSpec, gpd.GeoDataFrame]:
    """The configured zone layer ``name``, loaded and validated, in WGS84."""
    spec = _spec(settings, name)
    return spec, load_layer(spec.path, spec.layer, crs=spec.crs, id_field=spec.id_field)


def zone_records(settings: Settings, name: str) -> tuple[LayerSpec, list[dict[str, Any]]]:
    """The configured zone layer ``name``'s attributes, a dict per feature (:func:`load_records`)."""
    spec = _spec(settings, name)
    return spec, load_records(spec.path, spec.layer, crs=spec.crs, id_field=spec.id_field)


def zone_circles(settings: Settings, name: str, radius_m: float) -> Mapping[str, BaseGeometry]:
    """The WGS 84 polygon ``radius_m`` (metres) around each point of the configured zone layer ``name``, by id
    (:func:`load_circles`)."""
    spec = _spec(settings, name)
    return load_circles(spec.path, spec.layer, crs=spec.crs, id_field=spec.id_field, radius_m=radius_m)


def _spec(settings: Settings, name: str) -> LayerSpec:
    try:
        return settings.layers[name]
    except KeyError:
        raise ConfigError(Problem("config.yaml", "layers", f"a layer among {', '.join(settings.layers)}",
                                  repr(name))) from None
