"""The bundled demo forecast (demo/forecast): labelled as an analogue, CF-complete, intense enough to drill red."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

from warn.sources.forecast import open_forecast

DEMO = Path(__file__).parent.parent.parent / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
YUBEI = (106.44, 29.57, 106.99, 30.13)


def test_demo_file_is_labelled_a_transplanted_analogue_and_cf_complete():
    with netCDF4.Dataset(DEMO) as ds:
        for name in ("title", "summary", "source", "history", "comment"):
            assert getattr(ds, name)
        assert "TRANSPLANTED ANALOGUE" in ds.title and "TRANSPLANTED ANALOGUE" in ds.comment
        assert "MRMS" in ds.source and ds.Conventions == "CF-1.8"
        rain = ds["rain"]
        assert rain.units == "mm" and rain.cell_methods == "time: sum"
        assert rain.standard_name == "lwe_thickness_of_precipitation_amount"
        assert ds["time"].units.startswith("hours since") and ds["time"].bounds == "time_bnds"
        assert ds["lat"].units == "degrees_north" and ds["lon"].units == "degrees_east"
    assert DEMO.stat().st_size < 5_000_000


def test_demo_forecast_decodes_and_carries_a_red_level_storm():
    rain = open_forecast(DEMO, source="demo", bounds=YUBEI)
    assert rain.sizes["time"] == 24 and rain.attrs["step"] == "PT1H"
    assert rain.attrs["issued_at"] == "2026-07-15T00:00:00Z"
    district = rain.sel(lon=slice(YUBEI[0], YUBEI[2]), lat=slice(YUBEI[1], YUBEI[3]))
    hourly_max = district.max(("lat", "lon")).values
    assert np.all(hourly_max[:2] < 0.1) and np.all(hourly_max[-6:] < 0.1)  # dry at the start and the end
    three_hours = district.rolling(time=3).sum()
    assert float(three_hours.max()) > 100.0  # the CMA red criterion at the worst cells
    box = three_hours.rolling(lat=10, lon=10).mean()  # 0.1° × 0.1° ≈ 107 km²
    assert 50.0 < float(box.max()) < 100.0  # areal: orange, not everywhere red
