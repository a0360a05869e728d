"""Points on a grid: the cell each point stands in, and its series."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import xarray as xr


def nearest_cells(lat: np.ndarray, lon: np.ndarray, points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the grid cell whose centre is nearest each point (lon/lat degrees)."""
    rows = np.abs(lat[None, :] - points.geometry.y.to_numpy()[:, None]).argmin(axis=1)
    cols = np.abs(lon[None, :] - points.geometry.x.to_numpy()[:, None]).argmin(axis=1)
    return rows, cols


def cell_series(field: xr.DataArray, points: gpd.GeoDataFrame) -> np.ndarray:
    """The values of ``field`` (…, lat, lon) at each point's cell: shape (…, point)."""
    rows, cols = nearest_cells(field["lat"].values, field["lon"].values, points)
    return field.values[..., rows, cols]
