"""GCJ-02 ↔ WGS84 coordinate conversion (火星坐标 ↔ WGS84).

GCJ-02 is the obfuscated lon/lat frame that Chinese web maps (Amap/高德, Tencent)
publish in. It is WGS84 plus a smooth, non-linear offset of a few hundred metres
inside China (about +0.0037° lon / −0.0028° lat, ≈ 480 m, at Yubei) and zero
outside it. The offset is defined in metres by an empirical polynomial-plus-harmonic
field of the position relative to (105° E, 35° N) and converted to degrees with the
radii of curvature of the Krasovsky ellipsoid (a = 6 378 245 m, e² ≈ 0.006693).

- :func:`wgs84_to_gcj02` applies the offset (exact, vectorised).
- :func:`gcj02_to_wgs84` inverts it by fixed-point iteration; because the offset
  changes by less than 1e-4 of a degree per degree, each iteration gains about four
  decimal digits and the residual falls below :data:`TOLERANCE_DEG` (≈ 0.01 mm)
  within three iterations (bounded by :data:`MAX_ITERATIONS`).
- :func:`gcj02_geometry_to_wgs84` and :func:`wgs84_geometry_to_gcj02` do the same
  for shapely geometries and geometry arrays (z, where present, is kept).

"Outside China" is the conventional rectangle lon 72.004–137.8347° E,
lat 0.8293–55.8271° N: an approximation of the border that is right for every
place inside Chongqing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import shapely

#: Semi-major axis of the Krasovsky 1940 ellipsoid (m).
KRASOVSKY_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid (dimensionless).
KRASOVSKY_EE = 0.00669342162296594323
#: Origin of the offset field (degrees): 105° E, 35° N.
ORIGIN_LON, ORIGIN_LAT = 105.0, 35.0
#: Rectangle (degrees) outside which the offset is zero: lon_min, lat_min, lon_max, lat_max.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
#: Residual (degrees) at which the inverse stops; 1e-10° is about 0.01 mm.
TOLERANCE_DEG = 1e-10
#: Upper bound on inverse iterations (three are enough inside China).
MAX_ITERATIONS = 10

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
Converter = Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]
Geometries = shapely.Geometry | npt.NDArray[np.object_]


def _harmonics(u: FloatArray, v: FloatArray, w: FloatArray, c1: float, c2: float) -> FloatArray:
    """Periodic part shared by both components (metres).

    ``u`` is the relative longitude (fast terms, periods 1/3° and 1°); ``v`` carries
    the component's own terms with periods 2° and 6°; ``w`` its long terms with
    periods 24° and 60° and amplitudes ``c1`` and ``c2``.
    """
    fast = 20.0 * np.sin(6.0 * np.pi * u) + 20.0 * np.sin(2.0 * np.pi * u)
    own = 20.0 * np.sin(np.pi * v) + 40.0 * np.sin(np.pi * v / 3.0)
    long = c1 * np.sin(np.pi * w / 12.0) + c2 * np.sin(np.pi * w / 30.0)
    return 2.0 / 3.0 * (fast + own + long)


def _offset_metres(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Offset field (east, north) in metres at relative position ``x``, ``y`` (degrees)."""
    root = np.sqrt(np.abs(x))
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root
    north = north + _harmonics(x, y, y, 160.0, 320.0)
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root
    east = east + _harmonics(x, x, x, 150.0, 300.0)
    return east, north


def inside_china(lon: ArrayLike, lat: ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether points fall inside :data:`CHINA_BOX`, where the offset applies.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (any broadcastable shapes).

    Returns
    -------
    numpy.ndarray of bool
        True where the GCJ-02 offset is applied.
    """
    lon_min, lat_min, lon_max, lat_max = CHINA_BOX
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def gcj02_offset(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 at WGS84 positions, in degrees.

    The metric offset (east, north) is divided by the prime-vertical radius times
    cos φ (longitude) and by the meridian radius (latitude) of the Krasovsky
    ellipsoid: N = a / √(1 − e² sin² φ), M = a (1 − e²) / (1 − e² sin² φ)^{3/2}.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude in degrees (broadcastable shapes).

    Returns
    -------
    dlon, dlat : numpy.ndarray
        Offsets in degrees; zero outside :data:`CHINA_BOX`.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    east, north = _offset_metres(lon - ORIGIN_LON, lat - ORIGIN_LAT)
    phi = np.deg2rad(lat)
    w2 = 1.0 - KRASOVSKY_EE * np.sin(phi) ** 2
    prime_vertical = KRASOVSKY_A / np.sqrt(w2)
    meridian = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * np.sqrt(w2))
    dlon = np.rad2deg(east / (prime_vertical * np.cos(phi)))
    dlat = np.rad2deg(north / meridian)
    inside = inside_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 lon/lat (degrees) to GCJ-02 lon/lat (degrees).

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude in degrees (broadcastable shapes).

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees; unchanged outside China.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dlon, dlat = gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 lon/lat (degrees) to WGS84 lon/lat (degrees).

    Solves ``wgs84_to_gcj02(w) = g`` by the fixed-point iteration
    ``w ← g − offset(w)`` from ``w = g``, until the largest residual is below
    :data:`TOLERANCE_DEG` or :data:`MAX_ITERATIONS` have run.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees (broadcastable shapes).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitude and latitude in degrees; unchanged outside China.
    """
    lon_g, lat_g = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    lon_w, lat_w = lon_g.copy(), lat_g.copy()
    for _ in range(MAX_ITERATIONS):
        dlon, dlat = gcj02_offset(lon_w, lat_w)
        res_lon = lon_w + dlon - lon_g
        res_lat = lat_w + dlat - lat_g
        if max(_max_abs(res_lon), _max_abs(res_lat)) < TOLERANCE_DEG:
            break
        lon_w = lon_g - dlon
        lat_w = lat_g - dlat
    return lon_w, lat_w


def _max_abs(values: FloatArray) -> float:
    """Largest absolute finite value (0 for an empty or all-NaN array)."""
    return float(np.abs(values).max(initial=0.0, where=~np.isnan(values)))


def _transformer(func: Converter) -> Callable[..., tuple[FloatArray, ...]]:
    """Wrap a lon/lat conversion for :func:`shapely.transform` (``interleaved=False``)."""

    def apply(x: FloatArray, y: FloatArray, z: FloatArray | None = None) -> tuple[FloatArray, ...]:
        lon, lat = func(x, y)
        return (lon, lat) if z is None else (lon, lat, z)

    return apply


def gcj02_geometry_to_wgs84(geom: Geometries) -> Geometries:
    """Convert a shapely geometry (or array of geometries) from GCJ-02 to WGS84.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Geometries with lon/lat coordinates in degrees, GCJ-02.

    Returns
    -------
    shapely.Geometry or numpy.ndarray of shapely.Geometry
        The same geometries with WGS84 coordinates; z values are kept.
    """
    return shapely.transform(geom, _transformer(gcj02_to_wgs84), include_z=None, interleaved=False)


def wgs84_geometry_to_gcj02(geom: Geometries) -> Geometries:
    """Convert a shapely geometry (or array of geometries) from WGS84 to GCJ-02.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Geometries with lon/lat coordinates in degrees, WGS84.

    Returns
    -------
    shapely.Geometry or numpy.ndarray of shapely.Geometry
        The same geometries with GCJ-02 coordinates; z values are kept.
    """
    return shapely.transform(geom, _transformer(wgs84_to_gcj02), include_z=None, interleaved=False)
