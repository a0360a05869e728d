"""`warn nowcast` on CF-NetCDF radar frames over Yubei: the motion it prints, the file it writes, `warn rain` on it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.sources.test_radar import mosaic
from warn.cli.main import app

CONFIG = str(ROOT / "config.yaml")
LAT = np.round(np.arange(29.45, 30.255, 0.01), 2)
LON = np.round(np.arange(106.30, 107.135, 0.01), 2)
START = datetime(2026, 7, 15, 0, 0, tzinfo=timezone.utc)


def frames(folder: Path, count: int = 3, *, minutes: tuple[int, ...] | None = None) -> list[Path]:
    """Radar mosaics every 10 min of a rain band (peak 60 mm/h) moving east 1 cell (0.01°) per frame."""
    y, x = np.mgrid[0:LAT.size, 0:LON.size]
    paths = []
    for k, m in enumerate(minutes or [10 * (i + 1) for i in range(count)]):
        rate = 60.0 * np.exp(-((x - 30 - k) ** 2 / (2 * 6.0**2) + (y - 40) ** 2 / (2 * 12.0**2)))
        paths.append(mosaic(folder / f"radar_{m:03d}.nc", rate, START + timedelta(minutes=m), lat=LAT, lon=LON))
    return paths


def text(result) -> str:
    """The command's output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


def run(*args: str):
    return CliRunner().invoke(app, ["nowcast", *args, "--config", CONFIG])


def test_a_band_moving_east_is_nowcast_and_warn_rain_reads_it(tmp_path):
    first, second, third = frames(tmp_path)
    out = tmp_path / "nowcast.nc"
    result = run(str(third), str(first), str(second), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Pysteps configuration file" not in result.output
    speed, toward = re.search(r"motion: ([\d.]+) km/h 向 toward (\d+)° \((\w+)\)", text(result)).group(1, 2)
    cell_km = 0.01 * 111.195 * np.cos(np.radians(LAT.mean()))
    assert float(speed) == pytest.approx(cell_km * 6, rel=0.1)
    assert abs(int(toward) - 90) <= 5
    assert "nowcast.nc: 12 步 steps of PT10M, 起报 issued 2026-07-15T00:30:00Z, extrapolation (proesmans)" \
        in text(result)
    with xr.open_dataset(out) as ds:
        assert ds["rain"].dims == ("time", "lat", "lon") and ds.sizes["time"] == 12
        assert ds["rain"].attrs["standard_name"] == "lwe_thickness_of_precipitation_amount"
        assert ds["rain"].attrs["cell_methods"] == "time: sum" and ds["rain"].attrs["units"] == "mm"
        assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["nowcast_method"] == "extrapolation"
        assert ds["time"].values[0] == np.datetime64("2026-07-15T00:40", "ns")
        assert (ds["time_bnds"].values[:, 1] - ds["time_bnds"].values[:, 0] == np.timedelta64(10, "m")).all()
        assert ds["forecast_reference_time"].values == np.datetime64("2026-07-15T00:30", "ns")
        # the band's peak, 10 mm per 10 min, moved on one cell per step
        peak = ds["rain"].isel(time=5).fillna(0).argmax(...)
        assert int(peak["lon"]) == 30 + 2 + 6 and int(peak["lat"]) == 40
        assert float(ds["rain"].isel(time=5).max()) == pytest.approx(10.0, rel=0.05)
    scored = CliRunner().invoke(app, ["rain", str(out), "--json", "--config", CONFIG])
    assert scored.exit_code == 0, scored.output
    records = json.loads(scored.output)
    assert len(records) == 21 and any((r["max_1h"] or 0) > 10 for r in records)


def test_an_ensemble_has_members(tmp_path):
    out = tmp_path / "ensemble.nc"
    result = run(*map(str, frames(tmp_path)), "--lead", "30", "--members", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "steps (proesmans), 3 成员 members" in text(result)
    with xr.open_dataset(out) as ds:
        assert ds["rain"].dims == ("member", "time", "lat", "lon") and ds.sizes["member"] == 4  # control + 3
        assert ds["member"].attrs["standard_name"] == "realization" and ds.sizes["time"] == 3
    scored = CliRunner().invoke(app, ["rain", str(out), "--json", "--config", CONFIG])  # on the control
    assert scored.exit_code == 0, scored.output
    assert len(json.loads(scored.output)) == 21


def test_a_file_that_is_not_a_frame_is_named(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not radar")
    result = run(*map(str, frames(tmp_path, 2)), str(bad), "--out", str(tmp_path / "x.nc"))
    assert result.exit_code == 1
    assert "notes.txt" in text(result) and "a GRIB (starts 'GRIB') or NetCDF" in text(result)
    assert not (tmp_path / "x.nc").exists()


def test_frames_with_a_gap_are_refused_naming_the_times(tmp_path):
    result = run(*map(str, frames(tmp_path, minutes=(10, 20, 40))), "--out", str(tmp_path / "x.nc"))
    assert result.exit_code == 1
    assert "frames PT10M apart, none missing or repeated" in text(result)
    assert "2026-07-15T00:20, 2026-07-15T00:40" in text(result)


def test_too_few_frames_and_a_lead_off_the_step_are_refused(tmp_path):
    few = run(*map(str, frames(tmp_path, 2)), "--out", str(tmp_path / "x.nc"))
    assert few.exit_code == 1 and "at least 3 frames" in text(few)
    off = run(*map(str, frames(tmp_path)), "--lead", "25", "--out", str(tmp_path / "x.nc"))
    assert off.exit_code == 2 and "--lead" in text(off) and "a multiple of the step, 10 min" in text(off)
