"""Exact grid → zone coverage weights, and zonal rain from them (MODELS.md, "Rain").

Contract
--------
- A grid is regular in lon/lat: ascending cell-centre coordinates in degrees, cell
  edges midway, cells numbered row-major ``lat_index * nlon + lon_index`` (the order
  of ``rain.values.reshape(time, -1)``).
- Zones are polygons in EPSG:4326 whose edges are straight lines in lon/lat, as they
  are drawn. For every zone z and cell c, :func:`cell_coverage` gives the exact part
  of c that z covers, two ways: as a fraction of the cell's lon/lat (planar, degree²)
  area — the quantity exactextract reports — and as an area in m² on the WGS84
  ellipsoid (the area element integrated over the piece, not the cell's mean scale).
- The weights are w_zc = area(z ∩ c) / Σ_c area(z ∩ c), a row-normalised CSR matrix
  (zones × cells). Its sparsity pattern is the set of covered cells, which the
  per-zone maximum runs over. A zone smaller than a cell has one weight, 1.
- Zones must lie inside the grid and cover some cell; anything else is an error that
  names the zones. Missing rain is NaN and is never counted as 0.

The geometry is a signed-trapezoid decomposition of my own: each ring edge, split at
grid lines, contributes ∫(x − x_cell) dA to the cell it crosses and full-width strips
to every cell left of it in the same row (Green's theorem); a reversed running sum
along each row turns those strips into the covered area of every cell, interior cells
included. It is exact up to rounding, vectorised in numpy, and needs no polygon
intersection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
import xarray as xr

from warn.errors import DataContractError, Problem
from warn.rainarray import history_with
from warn.risk.chunks import Workers, here

log = logging.getLogger(__name__)

#: Cells covered by less than this fraction of their area count as not covered. It is
#: far above the rounding of the computation (about 1e-14) and far below any real
#: overlap (1e-10 of a 1 km cell is 1e-4 m²).
COVERAGE_TOLERANCE = 1e-10
#: Bumped whenever the weights or the cache layout change, so old cache files rebuild.
FORMAT_VERSION = 1

# WGS84 ellipsoid: semi-major axis (m) and first eccentricity squared.
_A = 6378137.0
_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
# Three-point Gauss–Legendre rule on [0, 1]: exact for polynomials of degree 5.
_GL_T = np.array([0.5 - np.sqrt(0.15), 0.5, 0.5 + np.sqrt(0.15)])
_GL_W = np.array([5.0, 8.0, 5.0]) / 18.0


@dataclass(frozen=True)
class GridSpec:
    """A regular lon/lat grid, by its cell edges.

    Parameters
    ----------
    lat0, lon0
        South and west edge of the grid, degrees.
    dlat, dlon
        Cell size, degrees (positive).
    nlat, nlon
        Number of rows and columns.
    """

    lat0: float
    lon0: float
    dlat: float
    dlon: float
    nlat: int
    nlon: int

    @classmethod
    def from_coords(cls, lat: np.ndarray, lon: np.ndarray, *, where: str = "grid") -> GridSpec:
        """Describe the grid of ascending, regularly spaced cell-centre coordinates.

        Parameters
        ----------
        lat, lon
            Cell-centre coordinates in degrees, shape (nlat,) and (nlon,), at least two
            each, ascending, regular to 1e-3 of the spacing.
        where
            Name of the grid's origin, for messages.

        Raises
        ------
        DataContractError
            If either axis is too short, not ascending or not regular.
        """
        problems, spec = [], {}
        for name, values in (("lat", np.asarray(lat, dtype=np.float64)), ("lon", np.asarray(lon, dtype=np.float64))):
            if values.ndim != 1 or values.size < 2:
                problems.append(Problem(where, name, "at least two cell centres", f"shape {values.shape}"))
                continue
            step = (values[-1] - values[0]) / (values.size - 1)
            if not step > 0 or np.abs(np.diff(values) - step).max() > 1e-3 * step:
                problems.append(Problem(where, name, "ascending, regularly spaced cell centres",
                                        f"steps from {np.diff(values).min():g} to {np.diff(values).max():g}°"))
                continue
            spec[name] = (float(values[0] - step / 2), float(step), int(values.size))
        if problems:
            raise DataContractError(*problems)
        (lat0, dlat, nlat), (lon0, dlon, nlon) = spec["lat"], spec["lon"]
        return cls(lat0=lat0, lon0=lon0, dlat=dlat, dlon=dlon, nlat=nlat, nlon=nlon)

    @property
    def shape(self) -> tuple[int, int]:
        """(nlat, nlon)."""
        return self.nlat, self.nlon

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) edges, degrees."""
        return (self.lon0, self.lat0, self.lon0 + self.nlon * self.dlon, self.lat0 + self.nlat * self.dlat)

    @property
    def signature(self) -> str:
        """Hash of shape, origin and spacing (rounded to 1e-7°, 1e-11°): the grid's cache key."""
        text = f"{self.nlat}x{self.nlon}@{self.lat0:.7f},{self.lon0:.7f}/{self.dlat:.11f},{self.dlon:.11f}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class CoverageWeights:
    """Row-normalised coverage weights of grid cells by zones.

    Parameters
    ----------
    matrix
        CSR, shape (zones, cells), float64: w_zc = area(z ∩ c) / area(z), area on the
        WGS84 ellipsoid; rows sum to 1; stored entries are exactly the covered cells.
    zone_ids
        Zone ids as strings, shape (zones,), in the order of the layer.
    shape
        Grid shape (nlat, nlon); cells = nlat × nlon.
    grid
        :attr:`GridSpec.signature` of the grid the weights belong to.
    layer
        :func:`layer_hash` of the zone layer.
    """

    matrix: sp.csr_matrix
    zone_ids: np.ndarray
    shape: tuple[int, int]
    grid: str
    layer: str

    @cached_property
    def zone_index(self) -> pd.Index:
        """The zone ids as the index of the ``zone`` dimension (built once)."""
        return pd.Index(self.zone_ids, name="zone")

    @cached_property
    def plan(self) -> _Plan:
        """How the zonal kernels walk the matrix; derived once per object, never stored."""
        return _make_plan(self)


def layer_hash(zones: gpd.GeoDataFrame, id_column: str) -> str:
    """Content hash of a zone layer: its ids and the WKB of its geometries.

    Parameters
    ----------
    zones
        The zone layer.
    id_column
        Column holding the zone ids.

    Returns
    -------
    str
        Hex SHA-256, which also covers :data:`FORMAT_VERSION`.
    """
    digest = hashlib.sha256(f"warn.geo.weights v{FORMAT_VERSION}\n".encode())
    digest.update("\0".join(zones[id_column].astype(str)).encode())
    wkb = shapely.to_wkb(zones.geometry.values, output_dimension=2, byte_order=1, include_srid=False)
    digest.update(b"".join(wkb.tolist()))
    return digest.hexdigest()


def build_weights(
    zones: gpd.GeoDataFrame,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    id_column: str,
    cache_dir: Path | str | None = None,
    where: str = "zones",
) -> CoverageWeights:
    """Coverage weights of a grid's cells by a zone layer, from the cache when it holds them.

    Weights are also remembered in memory: a layer whose geometries are the very objects
    weights were built from in this process (as :func:`warn.geo.layers.load_layer` hands
    out while its file is unchanged), with the same ids and CRS, on the same grid and with
    the cache file unchanged, gets the same :class:`CoverageWeights` without being checked,
    hashed or read again.

    Parameters
    ----------
    zones
        Zone layer in EPSG:4326: valid (Multi)Polygons, unique ids, inside the grid.
    lat, lon
        Cell-centre coordinates of the grid, degrees, ascending and regular.
    id_column
        Column holding the zone ids.
    cache_dir
        Directory for cache files, keyed by grid signature and layer hash; ``None``
        computes without caching. A cache file that cannot be read or does not match
        is rebuilt and replaced.
    where
        Name of the layer (its file), for messages.

    Returns
    -------
    CoverageWeights

    Raises
    ------
    DataContractError
        If the layer is not in EPSG:4326, has repeated ids, null, empty, invalid or
        non-polygon geometries, zones reaching outside the grid or zones too small to
        cover any cell; the message names the zones.
    """
    grid = GridSpec.from_coords(lat, lon, where=f"{where}: grid")
    key = _Remembered.key_of(zones, id_column, grid, cache_dir)
    remembered = _REMEMBERED.get(key)
    if remembered is not None and remembered.holds(zones, id_column):
        return remembered.weights
    weights = _build_weights(zones, grid, id_column=id_column, cache_dir=cache_dir, where=where)
    path = _cache_path(cache_dir, grid, weights.layer)
    geometries = np.array(zones.geometry.values, dtype=object)  # a copy: the caller may change its layer
    _REMEMBERED.put(key, _Remembered(geometries, weights.zone_ids, zones.crs, weights, path, _stamp(path)))
    return weights


def _build_weights(zones: gpd.GeoDataFrame, grid: GridSpec, *, id_column: str, cache_dir: Path | str | None,
                   where: str) -> CoverageWeights:
    """:func:`build_weights`' work: check and hash the layer, then read the cache file or compute."""
    _check_layer(zones, id_column, grid, where)
    layer = layer_hash(zones, id_column)
    zone_ids = zones[id_column].astype(str).to_numpy(dtype=str)
    path = _cache_path(cache_dir, grid, layer)
    if path is not None and path.exists():
        try:
            return _load(path, grid, layer, zone_ids)
        except Exception as err:  # noqa: BLE001 - any unreadable cache file is rebuilt
            log.warning("weights cache %s is unusable (%s: %s); rebuilding it", path, type(err).__name__, err)
    _, area = cell_coverage(zones.geometry.values, grid)
    total = np.asarray(area.sum(axis=1)).ravel()
    empty = total <= 0
    if empty.any():
        raise DataContractError(Problem(where, "geometry", "zones that cover part of at least one grid cell",
                                        f"zone(s) too small to cover any: {_names(zone_ids[empty])}"))
    matrix = sp.csr_matrix((area.data / np.repeat(total, np.diff(area.indptr)), area.indices, area.indptr),
                           shape=area.shape)
    weights = CoverageWeights(matrix=matrix, zone_ids=zone_ids, shape=grid.shape, grid=grid.signature, layer=layer)
    if path is not None:
        _save(path, weights)
    return weights


def _cache_path(cache_dir: Path | str | None, grid: GridSpec, layer: str) -> Path | None:
    """The cache file of the weights of ``layer`` (:func:`layer_hash`) on ``grid``; ``None`` without a cache."""
    return None if cache_dir is None else Path(cache_dir) / f"weights-{grid.signature}-{layer[:32]}.npz"


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    """(inode, modification time in ns, size) of a cache file; ``None`` without one or when it is missing."""
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return None if stat is None else (stat.st_ino, stat.st_mtime_ns, stat.st_size)


#: Key of remembered weights: grid signature, id column, cache folder, identities of the geometries.
_Key = tuple[str, str, str, bytes]


@dataclass(frozen=True, eq=False)
class _Remembered:
    """Weights built in this process, with what they were built from.

    Shapely geometries are immutable and :func:`warn.geo.layers.load_layer` hands out
    copies that share them for as long as the layer file is unchanged (a changed file is
    read again, into new geometries). Holding the geometries keeps them alive, so a layer
    whose geometries are these very objects (compared by identity), with the same ids and
    CRS, has these weights: the layer need not be checked, hashed or looked up again.
    The cache file the weights were read from or written to must also be unchanged (its
    ``stamp``), so that a file replaced or damaged meanwhile is read, or rebuilt, again.
    """

    geometries: np.ndarray
    zone_ids: np.ndarray
    crs: object
    weights: CoverageWeights
    path: Path | None
    stamp: tuple[int, int, int] | None

    @staticmethod
    def key_of(zones: gpd.GeoDataFrame, id_column: str, grid: GridSpec,
               cache_dir: Path | str | None) -> _Key:
        """The lookup key: grid, id column, cache folder and the identities of the layer's geometries."""
        geoms = zones.geometry.values
        identity = np.fromiter(map(id, geoms), dtype=np.int64, count=len(geoms)).tobytes()
        return grid.signature, id_column, "" if cache_dir is None else str(Path(cache_dir).resolve()), identity

    def holds(self, zones: gpd.GeoDataFrame, id_column: str) -> bool:
        """Whether these are the weights of ``zones`` (same ids and CRS; cache file unchanged)."""
        if id_column not in zones.columns or not (zones.crs is self.crs or zones.crs == self.crs):
            return False
        if self.path is not None and _stamp(self.path) != self.stamp:
            return False
        return bool(np.array_equal(zones[id_column].astype(str).to_numpy(dtype=str), self.zone_ids))


class _Memory:
    """The last :data:`_MEMORY_SIZE` :class:`_Remembered` weights by key, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[_Key, _Remembered] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: _Key) -> _Remembered | None:
        """The entry of ``key``, or ``None``."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: _Key, entry: _Remembered) -> None:
        """Remember ``entry`` under ``key``."""
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


#: Weights remembered per process: a few layers × grids (the cycle's towns, catchments, landslide zones).
_MEMORY_SIZE = 32
_REMEMBERED = _Memory(_MEMORY_SIZE)


def _names(ids: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {ids.size - limit} more" if ids.size > limit else "")


def _check_layer(zones: gpd.GeoDataFrame, id_column: str, grid: GridSpec, where: str) -> None:
    """Raise DataContractError listing every problem of a zone layer for this grid."""
    if zones.crs is None or zones.crs.to_epsg() != 4326:
        raise DataContractError(Problem(where, "crs", "EPSG:4326 (lon/lat degrees)", str(zones.crs),
                                        "reproject the layer (GCJ-02 layers are converted on load)"))
    if id_column not in zones.columns:
        raise DataContractError(Problem(where, id_column, "a zone id column", f"columns {list(zones.columns)}"))
    ids = zones[id_column].astype(str).to_numpy(dtype=str)
    geoms = zones.geometry.values
    problems = []
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        problems.append(Problem(where, id_column, "unique zone ids", f"repeated: {_names(unique[counts > 1])}"))
    bad = ~np.isin(shapely.get_type_id(geoms), (3, 6)) | shapely.is_empty(geoms)
    if bad.any():
        problems.append(Problem(where, "geometry", "non-empty Polygon or MultiPolygon", f"zone(s) {_names(ids[bad])}"))
    invalid = ~bad & ~shapely.is_valid(geoms)
    if invalid.any():
        problems.append(Problem(where, "geometry", "valid polygons", f"invalid: zone(s) {_names(ids[invalid])}",
                                "repair with shapely.make_valid"))
    west, south, east, north = grid.bounds
    box = shapely.bounds(geoms)
    slack = 1e-9 * min(grid.dlat, grid.dlon)
    outside = ~bad & ((box[:, 0] < west - slack) | (box[:, 1] < south - slack)
                      | (box[:, 2] > east + slack) | (box[:, 3] > north + slack))
    if outside.any():
        problems.append(Problem(where, "geometry",
                                f"zones inside the grid (lon {west:.4f}–{east:.4f}°, lat {south:.4f}–{north:.4f}°)",
                                f"zone(s) reaching outside it: {_names(ids[outside])}",
                                "use a grid that covers the layer"))
    if problems:
        raise DataContractError(*problems)


def _save(path: Path, weights: CoverageWeights) -> None:
    """Write a cache file atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp", delete=False) as out:
        np.savez(out, version=FORMAT_VERSION, grid=weights.grid, layer=weights.layer, zone_ids=weights.zone_ids,
                 data=weights.matrix.data, indices=weights.matrix.indices, indptr=weights.matrix.indptr)
    os.replace(out.name, path)


def _load(path: Path, grid: GridSpec, layer: str, zone_ids: np.ndarray) -> CoverageWeights:
    """Read a cache file and check it is whole and belongs to this grid and layer."""
    with np.load(path, allow_pickle=False) as saved:
        if (int(saved["version"]), str(saved["grid"]), str(saved["layer"])) != (FORMAT_VERSION, grid.signature, layer):
            raise ValueError("written for another grid, layer or format version")
        if not np.array_equal(saved["zone_ids"], zone_ids):
            raise ValueError("zone ids differ from the layer's")
        data, indices, indptr = saved["data"], saved["indices"], saved["indptr"]
    matrix = sp.csr_matrix((data, indices, indptr), shape=(zone_ids.size, grid.nlat * grid.nlon))
    matrix.check_format(full_check=True)
    if not (np.all(data > 0) and np.allclose(matrix.sum(axis=1), 1.0, rtol=0, atol=1e-9)):
        raise ValueError("weights are not positive or rows do not sum to 1")
    return CoverageWeights(matrix=matrix, zone_ids=zone_ids, shape=grid.shape, grid=grid.signature, layer=layer)


def cell_coverage(geometries: np.ndarray, grid: GridSpec) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Exact coverage of every grid cell by every polygon.

    Parameters
    ----------
    geometries
        Valid Polygons or MultiPolygons in lon/lat degrees, shape (zones,), inside the
        grid (not checked here; see :func:`build_weights`).
    grid
        The grid.

    Returns
    -------
    fraction : scipy.sparse.csr_matrix
        Shape (zones, cells): covered part of each cell's lon/lat (degree²) area,
        dimensionless in (0, 1]; entries at or below :data:`COVERAGE_TOLERANCE` dropped.
    area : scipy.sparse.csr_matrix
        Same pattern: covered area on the WGS84 ellipsoid, m².
    """
    ua, va, ub, vb, edge_zone = _edges(geometries, grid)
    u1, v1, u2, v2, piece_zone = _split_at_grid_lines(ua, va, ub, vb, edge_zone)
    col = np.clip(np.floor((u1 + u2) / 2), 0, grid.nlon - 1)
    row = np.clip(np.floor((v1 + v2) / 2), 0, grid.nlat - 1).astype(np.int64)
    dv = v2 - v1
    # planar, in cell units: ∫(u − col) dv over the piece, and the full-width strip dv
    d_frac = dv * ((u1 + u2) / 2 - col)
    # ellipsoidal: the same integrals against the area element g(v) dv, m²
    t = _GL_T[:, None]
    g = _area_element(grid.lat0 + (v1 + t * dv) * grid.dlat) * np.radians(grid.dlon) * np.radians(grid.dlat)
    e_area = dv * (_GL_W @ g)
    d_area = dv * (_GL_W @ (g * (u1 + t * (u2 - u1) - col)))
    key = (piece_zone * grid.nlat + row) * grid.nlon + col.astype(np.int64)
    cells, inverse = np.unique(key, return_inverse=True)
    sums = [np.bincount(inverse, weights=w, minlength=cells.size) for w in (d_frac, dv, d_area, e_area)]
    zone, cell, frac, area = _fill_rows(cells, *sums, nlon=grid.nlon, ncells=grid.nlat * grid.nlon)
    keep = frac > COVERAGE_TOLERANCE
    order = np.argsort(zone[keep] * grid.nlat * grid.nlon + cell[keep], kind="stable")
    zone, cell = zone[keep][order], cell[keep][order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(zone, minlength=len(geometries)))])
    shape = (len(geometries), grid.nlat * grid.nlon)
    indices = cell.astype(np.int32)
    return (sp.csr_matrix((np.minimum(frac[keep][order], 1.0), indices, indptr), shape=shape),
            sp.csr_matrix((area[keep][order], indices, indptr), shape=shape))


def _area_element(lat_deg: np.ndarray) -> np.ndarray:
    """WGS84 area per radian² of lon × lat at latitude ``lat_deg``, m² rad⁻²."""
    phi = np.radians(lat_deg)
    return _A**2 * (1 - _E2) * np.cos(phi) / (1 - _E2 * np.sin(phi) ** 2) ** 2


def _edges(geometries: np.ndarray, grid: GridSpec):
    """Ring edges in cell units, oriented so that ∮ u dv gives +area for each zone."""
    parts, part_zone = shapely.get_parts(geometries, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    exterior = np.concatenate([[True], ring_part[1:] != ring_part[:-1]])
    sign = np.where(exterior == shapely.is_ccw(rings), 1.0, -1.0)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    u = (xy[:, 0] - grid.lon0) / grid.dlon
    v = (xy[:, 1] - grid.lat0) / grid.dlat
    same = ring[1:] == ring[:-1]
    flip = sign[ring[:-1][same]] < 0
    ua, va, ub, vb = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
    ua, ub = np.where(flip, ub, ua), np.where(flip, ua, ub)
    va, vb = np.where(flip, vb, va), np.where(flip, va, vb)
    return ua, va, ub, vb, part_zone[ring_part[ring[:-1][same]]]


def _split_at_grid_lines(ua, va, ub, vb, edge_zone):
    """Cut edges where they cross grid lines: every piece lies in one cell."""
    points = [(np.arange(ua.size), np.zeros(ua.size), ua, va), (np.arange(ua.size), np.ones(ua.size), ub, vb)]
    for a, b in ((ua, ub), (va, vb)):
        lo = np.floor(np.minimum(a, b)) + 1
        count = np.maximum(np.ceil(np.maximum(a, b)) - lo, 0).astype(np.int64)
        edge = np.repeat(np.arange(a.size), count)
        line = lo[edge] + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        t = (line - a[edge]) / (b[edge] - a[edge])
        u, v = ua[edge] + t * (ub[edge] - ua[edge]), va[edge] + t * (vb[edge] - va[edge])
        if a is ua:
            u = line
        else:
            v = line
        points.append((edge, t, u, v))
    edge, t, u, v = (np.concatenate(p) for p in zip(*points))
    order = np.lexsort((t, edge))
    edge, u, v = edge[order], u[order], v[order]
    pair = edge[1:] == edge[:-1]
    return u[:-1][pair], v[:-1][pair], u[1:][pair], v[1:][pair], edge_zone[edge[:-1][pair]]


def _fill_rows(key, d_frac, e_frac, d_area, e_area, *, nlon, ncells):
    """Covered part of every cell from the per-cell edge integrals.

    ``key`` (sorted, unique) is ``zone * ncells + cell`` of the touched cells. Each gets
    its own edge term plus the strips of every edge to its right in the same zone and
    row; untouched cells between two touched ones get the strips to their right
    (≈ 1 inside the zone, ≈ 0 outside it).

    Returns
    -------
    zone, cell, fraction, area
        One entry per touched or in-between cell, unsorted.
    """
    group = key // nlon
    first = np.concatenate([[True], group[1:] != group[:-1]])
    last = np.concatenate([first[1:], [True]])
    index = np.cumsum(first) - 1
    right = []
    for strips in (e_frac, e_area):
        running = np.cumsum(strips)
        right.append(running[last][index] - running)
    gap = np.where(last, 0, np.diff(key, append=key[-1]) - 1)
    of = np.repeat(np.arange(key.size), gap)
    all_key = np.concatenate([key, key[of] + 1 + np.arange(of.size) - np.repeat(np.cumsum(gap) - gap, gap)])
    frac = np.concatenate([d_frac + right[0], right[0][of]])
    area = np.concatenate([d_area + right[1], right[1][of]])
    return all_key // ncells, all_key % ncells, frac, area


def zonal_mean(rain: xr.DataArray, weights: CoverageWeights, *, workers: Workers = here) -> xr.DataArray:
    """Coverage-weighted mean rain per zone (MODELS.md, "Rain": R_z = Σ_c w_zc R_c).

    Parameters
    ----------
    rain
        Contract array, depth in mm per step, dims (..., time, lat, lon), on the grid
        the weights were built for.
    weights
        From :func:`build_weights`.
    workers
        Where the zones' shares are worked (:func:`zonal_values`); this process by default.

    Returns
    -------
    xarray.DataArray
        Depth in mm per step, float32, dims (..., time, zone). Where some covered cells
        are NaN the mean is over the rest, with the weights renormalised; where all are,
        NaN. Attributes are kept; ``cell_methods`` gains ``area: mean`` and ``history``
        a line.
    """
    return zonal_mean_max(rain, weights, want=("mean",), workers=workers)[0]


def zonal_max(rain: xr.DataArray, weights: CoverageWeights, *, workers: Workers = here) -> xr.DataArray:
    """Maximum rain over the cells each zone covers (any part of), per zone.

    Parameters and returns as :func:`zonal_mean`: NaN cells are skipped, a zone whose
    covered cells are all NaN is NaN; ``cell_methods`` gains ``area: maximum``.
    """
    return zonal_mean_max(rain, weights, want=("max",), workers=workers)[0]


def zonal_mean_max(
    rain: xr.DataArray, weights: CoverageWeights, *, want: tuple[str, ...] = ("mean", "max"),
    workers: Workers = here
) -> tuple[xr.DataArray, ...]:
    """Zonal mean and maximum in one pass over the grid (see :func:`zonal_mean`, :func:`zonal_max`).

    Parameters
    ----------
    rain
        Contract array, dims (..., time, lat, lon), mm per step.
    weights
        From :func:`build_weights` for the grid of ``rain``.
    want
        Which statistics, in the order returned: ``"mean"``, ``"max"``.
    workers
        Where the zones' shares are worked (:func:`zonal_values`); this process by default.

    Returns
    -------
    tuple of xarray.DataArray
        One per entry of ``want``, dims (..., time, zone), mm per step, float32.

    Raises
    ------
    DataContractError
        If ``rain`` is not on the grid the weights were built for.
    """
    grid = GridSpec.from_coords(rain["lat"].values, rain["lon"].values, where=str(rain.attrs.get("source", "rain")))
    if grid.signature != weights.grid:
        raise DataContractError(Problem(str(rain.attrs.get("source", "rain")), "lat/lon",
                                        f"the grid the weights were built for (signature {weights.grid})",
                                        f"{grid.nlat}×{grid.nlon} cells from ({grid.lat0:g}°N, {grid.lon0:g}°E), "
                                        f"signature {grid.signature}", "rebuild the weights for this grid"))
    rain = rain if rain.dims[-2:] == ("lat", "lon") else rain.transpose(..., "lat", "lon")
    coords = {name: coord.variable for name, coord in rain.coords.items() if not {"lat", "lon"} & set(coord.dims)}
    coords["zone"] = weights.zone_index
    methods = {"mean": "mean", "max": "maximum"}
    done = []
    for name, values in zip(want, zonal_values(rain.values, weights, want, workers=workers)):
        text = ("exact-coverage weighted mean" if name == "mean" else "maximum over covered cells")
        attrs = {**rain.attrs, "cell_methods": f"{rain.attrs.get('cell_methods', '')} area: {methods[name]}".strip(),
                 "history": history_with(rain.attrs, f"zonal_{name}: {text}, {weights.zone_ids.size} zones "
                                                     f"(layer {weights.layer[:12]}, grid {weights.grid})")}
        done.append(xr.DataArray(values, coords=coords, dims=(*rain.dims[:-2], "zone"), name=rain.name, attrs=attrs))
    return tuple(done)


def zonal_values(values: np.ndarray, weights: CoverageWeights, want: tuple[str, ...] = ("mean", "max"), *,
                 workers: Workers = here) -> tuple[np.ndarray, ...]:
    """:func:`zonal_mean_max` on plain arrays, for callers that hold the grid's values already.

    The zones are worked in shares of about equal work: on the process's threads, or — when
    ``workers`` distributes a grid of this many cells — each share on a worker with the series of
    just the cells its zones cover. Every zone's statistics are computed the same way either way
    (the same cells, weights and order of summation), so the results are equal to the last bit.

    Parameters
    ----------
    values
        Any quantity per cell, shape (..., nlat, nlon) of the grid the weights were built
        for; NaN where missing.
    weights
        From :func:`build_weights`.
    want
        Which statistics, in the order returned: ``"mean"``, ``"max"``.
    workers
        Where the shares are worked: this process (its threads) by default, or a cluster
        (:class:`warn.compute.Compute`) when it distributes ``nlat × nlon`` cells.

    Returns
    -------
    tuple of numpy.ndarray
        One per entry of ``want``, shape (..., zone), float32: the coverage-weighted mean
        over the covered cells that are not NaN, and the maximum over them; NaN where all are.

    Raises
    ------
    DataContractError
        If the last two axes of ``values`` are not the weights' grid shape.
    """
    values = np.asarray(values)
    if values.shape[-2:] != tuple(weights.shape):
        raise DataContractError(Problem("zonal statistics", "shape", f"(..., {weights.shape[0]}, {weights.shape[1]}): "
                                        f"the grid the weights were built for", str(values.shape)))
    return _kernel(values, weights.plan, want, workers)


@dataclass(frozen=True)
class _Plan:
    """How the zonal kernels walk the weights: zones in chunks, chunks in grid order.

    A chunk holds zones of one width k (covered cells, padded up to one of ``_WIDTHS``
    by repeating a zone's first cell with weight 0) whose first cell lies in one band
    of grid rows, so that the cells gathered for consecutive chunks stay in cache.

    Attributes
    ----------
    nzones
        Number of zones.
    empty
        Zones that cover no cell (their statistics are NaN).
    chunks
        Per chunk: zone rows (n,), cell indices (k × n, flattened, k-major) and
        float32 weights (k, n).
    shares
        Per thread, a range of chunks with about equal work; one share, run in the
        calling thread, when the work is too little for two (:data:`_WORK_PER_THREAD`).
    """

    nzones: int
    empty: np.ndarray
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    shares: list[range]


#: Widths zones are padded to: 1, 2, …, 9, 10, 12, 13, 15, …, each at most 1/8 above the last.
_WIDTHS = np.unique(np.ceil(1.125 ** np.arange(190))).astype(np.int64)
#: Cell series gathered per chunk: 4096 × 72 steps × 4 B ≈ 1.2 MB, about the L2 cache.
_CHUNK = 4096
#: Cells gathered per time step (over all zones) that are worth a thread of their own: below this,
#: starting threads costs more than they save, and the kernels run in the calling thread.
_WORK_PER_THREAD = 16384
#: Grid rows per band: 32 rows × 500 cells × 72 steps × 4 B ≈ 4.6 MB stays in L3.
_BAND_ROWS = 32
#: Gathered cells per part sent to a worker: its series are at most 250,000 × 72 steps × 4 B ≈ 72 MB.
_PART_WORK = 250_000


def _make_plan(weights: CoverageWeights) -> _Plan:
    """The execution plan of the zonal kernels for ``weights``."""
    matrix = weights.matrix
    counts = np.diff(matrix.indptr)
    full = np.flatnonzero(counts > 0)
    first = matrix.indices[matrix.indptr[full]]
    width = _WIDTHS[np.searchsorted(_WIDTHS, counts[full])]
    band = first // (_BAND_ROWS * weights.shape[1])
    sort = np.lexsort((first, width, band))
    full, width, band = full[sort], width[sort], band[sort]
    run_start = np.flatnonzero(np.concatenate([[True], (width[1:] != width[:-1]) | (band[1:] != band[:-1])]))
    chunks, work = [], []
    for a, b in zip(run_start, np.append(run_start[1:], full.size)):
        k = int(width[a])
        step = max(1, _CHUNK // k)
        for lo in range(a, b, step):
            rows = full[lo:min(lo + step, b)]
            pos = np.minimum(np.arange(k)[:, None], counts[rows] - 1) + matrix.indptr[rows]
            pad = np.arange(k)[:, None] >= counts[rows]
            chunks.append((rows, matrix.indices[pos].ravel(), np.where(pad, 0.0, matrix.data[pos]).astype(np.float32)))
            work.append(rows.size * k)
    threads = max(1, min(os.cpu_count() or 1, 8, int(np.sum(work)) // _WORK_PER_THREAD))
    return _Plan(nzones=counts.size, empty=np.flatnonzero(counts == 0), chunks=chunks,
                 shares=_equal_work(np.asarray(work, dtype=np.int64), threads))


def _equal_work(work: np.ndarray, parts: int) -> list[range]:
    """Consecutive ranges of the chunks whose ``work`` (n,) adds up to about equal parts (at most ``parts``)."""
    cut = np.searchsorted(np.cumsum(work), np.sum(work) * np.arange(1, parts) / parts) if work.size else []
    bounds = np.unique(np.concatenate([[0], cut, [work.size]])).astype(int)
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass(frozen=True)
class _Part:
    """A share of the zones worked on a worker: its plan (the share's zones numbered from 0, their cells
    numbered into ``series``) and the series of just the cells they cover, (cells, steps) float32."""

    plan: _Plan
    series: np.ndarray


def _kernel(values: np.ndarray, plan: _Plan, want: tuple[str, ...], workers: Workers) -> tuple[np.ndarray, ...]:
    """Zonal statistics of ``values`` (..., lat, lon) → arrays (..., zone), float32."""
    lead = values.shape[:-2]
    flat = values.reshape(-1, values.shape[-2] * values.shape[-1])
    out = {name: np.empty((plan.nzones, flat.shape[0]), dtype=np.float32) for name in want}
    for name in want:
        out[name][plan.empty] = np.nan
    threads = len(plan.shares)
    with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:  # no thread starts before a task
        series = (_cell_series(flat, pool, threads) if threads > 1
                  else np.ascontiguousarray(flat.T, dtype=np.float32))
        if workers.distributes(flat.shape[1]) and len(plan.chunks) > 1:
            _run_parts(plan, series, out, workers)
        elif threads > 1:
            for done in [pool.submit(_run_share, share, plan, series, out) for share in plan.shares]:
                done.result()
        else:
            for share in plan.shares:
                _run_share(share, plan, series, out)
    return tuple(out[name].T.reshape(*lead, plan.nzones) for name in want)


def _run_parts(plan: _Plan, series: np.ndarray, out: dict[str, np.ndarray], workers: Workers) -> None:
    """The zones in parts of about :data:`_PART_WORK` gathered cells (at least two), each on a worker."""
    work = np.array([rows.size * w.shape[0] for rows, _, w in plan.chunks], dtype=np.int64)
    parts = _equal_work(work, max(2, -(-int(work.sum()) // _PART_WORK)))
    done = workers.map(partial(_part_statistics, want=tuple(out)), [_part(plan, part, series) for part in parts],
                       size=series.shape[0])
    for part, statistics in zip(parts, done, strict=True):
        rows = np.concatenate([plan.chunks[i][0] for i in part])
        for name, values in statistics.items():
            out[name][rows] = values


def _part(plan: _Plan, part: range, series: np.ndarray) -> _Part:
    """The chunks ``part`` of ``plan`` as a plan of their own, with the series of the cells they cover."""
    chunks = [plan.chunks[i] for i in part]
    cells = np.unique(np.concatenate([cells for _, cells, _ in chunks]))
    starts = np.cumsum([0] + [rows.size for rows, _, _ in chunks])
    local = [(np.arange(lo, lo + rows.size), np.searchsorted(cells, chunk_cells), w)
             for lo, (rows, chunk_cells, w) in zip(starts, chunks)]
    return _Part(_Plan(nzones=int(starts[-1]), empty=np.empty(0, np.int64), chunks=local,
                       shares=[range(len(local))]), series[cells])


def _part_statistics(part: _Part, want: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Worked on a worker: the statistics ``want`` of a part's zones, each (zones, steps) float32."""
    out = {name: np.empty((part.plan.nzones, part.series.shape[1]), dtype=np.float32) for name in want}
    _run_share(part.plan.shares[0], part.plan, part.series, out)
    return out


def _cell_series(values: np.ndarray, pool: ThreadPoolExecutor, threads: int) -> np.ndarray:
    """(steps, cells) → contiguous float32 (cells, steps), transposed in blocks on threads."""
    series = np.empty(values.shape[::-1], dtype=np.float32)
    edges = np.linspace(0, values.shape[1], threads * 8 + 1).astype(int)

    def copy(a: int, b: int) -> None:
        series[a:b] = values[:, a:b].T

    list(pool.map(copy, edges[:-1], edges[1:]))
    return series


def _run_share(share: range, plan: _Plan, series: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Mean and/or max of one thread's chunks of zones, written into their rows of ``out``."""
    steps = series.shape[1]
    for rows, cells, w in (plan.chunks[i] for i in share):
        k, n = w.shape
        gathered = np.take(series, cells, axis=0).reshape(k, n, steps)
        if "mean" in out:
            out["mean"][rows] = _weighted_mean(gathered, w)
        if "max" in out:
            out["max"][rows] = _fold_max(gathered)


def _weighted_mean(gathered: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_k w·x / Σ_k w over non-NaN x: (k, n, steps), (k, n) → (n, steps)."""
    out = np.einsum("kn,knt->nt", w, gathered)
    missing = np.isnan(out).any(axis=1)
    if missing.any():
        part = gathered[:, missing]
        valid = ~np.isnan(part)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[missing] = (np.einsum("kn,knt->nt", w[:, missing], np.where(valid, part, 0.0))
                            / np.einsum("kn,knt->nt", w[:, missing], valid.astype(np.float32)))
    return out


def _fold_max(gathered: np.ndarray) -> np.ndarray:
    """NaN-skipping max over axis 0 of (k, n, steps) → (n, steps); folds ``gathered`` in place."""
    k = gathered.shape[0]
    while k > 1:
        half = (k + 1) // 2
        np.fmax(gathered[: k - half], gathered[half:k], out=gathered[: k - half])
        k = half
    return gathered[0]
