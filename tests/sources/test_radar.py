"""Radar frames over a real local HTTP server (FeedServer): MRMS GRIB2 and CF-NetCDF mosaics."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from warn import rainarray
from warn.config import FilesSpec, RadarSpec
from warn.errors import DataContractError, SourceError
from warn.sim.feedserver import FeedServer
from warn.sources.radar import RadarSource

DATA = Path(__file__).parent.parent / "data"
MRMS = "mrms_preciprate_{time:%Y%m%d-%H%M%S}_wide.grib2"
T0 = datetime(2019, 6, 10, 0, 0, tzinfo=timezone.utc)
AT = datetime(2026, 7, 15, 0, 10, tzinfo=timezone.utc)
LAT = np.round(np.arange(29.60, 29.70, 0.01), 2)
LON = np.round(np.arange(106.40, 106.52, 0.01), 2)


def mosaic(path: Path, rate: np.ndarray, at: datetime, *, name: str = "rainfall_rate", units: str = "mm h-1",
           standard_name: str = "rainfall_rate", projected: bool = False, bounds_min: int | None = None,
           lat: np.ndarray = LAT, lon: np.ndarray = LON) -> Path:
    """A CF-NetCDF radar mosaic of one time written 2-D with a scalar ``time`` (as composites often are)."""
    y, x = ("y", "x") if projected else ("lat", "lon")
    coords = {"time": ((), np.datetime64(at.replace(tzinfo=None), "ns"), {"standard_name": "time"}),
              y: (y, lat * (1e5 if projected else 1), {"units": "m" if projected else "degrees_north"}),
              x: (x, lon * (1e5 if projected else 1), {"units": "m" if projected else "degrees_east"})}
    ds = xr.Dataset({name: ((y, x), rate, {"units": units, "standard_name": standard_name})}, coords=coords)
    encoding = {"time": {"units": "minutes since 2026-07-15 00:00:00"}}
    if bounds_min is not None:
        end = np.datetime64(at.replace(tzinfo=None), "ns")
        ds["time_bnds"] = (("nv",), np.array([end - np.timedelta64(bounds_min, "m"), end]))
        ds["time"].attrs["bounds"] = "time_bnds"
        ds[name].attrs["cell_methods"] = "time: mean"
        encoding["time_bnds"] = {"units": "minutes since 2026-07-15 00:00:00"}
    ds.to_netcdf(path, encoding=encoding)
    return path


@pytest.fixture
def served(tmp_path: Path) -> Path:
    directory = tmp_path / "served"
    directory.mkdir()
    return directory


def source(url: str, tmp_path: Path, **spec) -> RadarSource:
    return RadarSource(RadarSpec(url=url, **spec), urls={}, cache_dir=tmp_path / "cache", limits=FilesSpec())


def test_mrms_grib2_frames_over_http_are_depths_per_frame(served, tmp_path):
    for t in ("000000", "002000", "004000"):
        shutil.copy(DATA / f"mrms_preciprate_20190610-{t}_wide.grib2", served)
    times = [T0 + timedelta(minutes=m) for m in (40, 0, 20)]
    with FeedServer(served) as server:
        radar = RadarSource(RadarSpec(url="{feed}/" + MRMS, every=timedelta(minutes=20)), urls={"feed": server.url},
                            cache_dir=tmp_path / "cache", limits=FilesSpec())
        frames, problems = radar.frames(times)
        requested = [path for _, path, _ in server.requests]
    assert problems == []
    assert requested == ["/" + MRMS.format(time=t) for t in sorted(times)]
    assert frames is not None and frames.sizes == {"time": 3, "lat": 128, "lon": 128}
    assert list(frames["time"].values) == [np.datetime64(f"2019-06-10T00:{m:02d}", "ns") for m in (0, 20, 40)]
    assert frames.attrs["step"] == "PT20M" and "issued_at" not in frames.attrs
    assert frames.attrs["source"] == f"{server.url}/{MRMS}"
    assert float(frames.max(("lat", "lon")).values[0]) == pytest.approx(148.8 / 3, abs=0.01)
    assert "instantaneous rate at the end of the step, held over the step" in frames.attrs["history"]
    rainarray.check_rain(frames, where="radar")


def test_a_cf_netcdf_mosaic_rate_becomes_depth_per_ten_minutes(served, tmp_path):
    rate = np.full((LAT.size, LON.size), 12.0)
    rate[0, 0] = np.nan  # outside the radar's coverage
    mosaic(served / "radar_202607150010.nc", rate, AT)
    with FeedServer(served) as server:
        frame = source(f"{server.url}/radar_{{time:%Y%m%d%H%M}}.nc", tmp_path).frame(AT)
    assert frame.dims == ("time", "lat", "lon") and frame["time"].values[0] == np.datetime64("2026-07-15T00:10", "ns")
    assert frame.attrs["step"] == "PT10M" and frame.attrs["units"] == "mm"
    assert float(frame.values[0, 1, 1]) == pytest.approx(2.0)
    assert np.isnan(frame.values[0, 0, 0])
    np.testing.assert_allclose(frame["lat"].values, LAT)


def test_a_lwe_precipitation_rate_in_kg_per_square_metre_and_second(served, tmp_path):
    rate = np.full((LAT.size, LON.size), 6.0 / 3600)  # 6 mm/h
    mosaic(served / "radar.nc", rate, AT, name="precip", units="kg m-2 s-1", standard_name="lwe_precipitation_rate")
    frame = source(str(served / "radar.nc"), tmp_path).frame(AT)
    assert float(frame.max()) == pytest.approx(1.0)


def test_a_missing_frame_is_left_out_and_said_in_both_languages(served, tmp_path):
    for minutes in (10, 30):
        mosaic(served / f"radar_2026071500{minutes}.nc", np.ones((LAT.size, LON.size)), AT.replace(minute=minutes))
    with FeedServer(served) as server:
        radar = source(f"{server.url}/radar_{{time:%Y%m%d%H%M}}.nc", tmp_path)
        frames, problems = radar.frames([AT.replace(minute=m) for m in (10, 20, 30)])
        with pytest.raises(SourceError, match="radar_202607150020.nc") as missing:
            radar.frame(AT.replace(minute=20))
    assert frames is not None and frames.sizes["time"] == 2
    assert len(problems) == 1
    assert problems[0].startswith("雷达 2026-07-15 00:20Z 缺测 / radar frame 2026-07-15 00:20Z missing: ")
    assert "radar_202607150020.nc" in problems[0] and "404" in str(missing.value)
    none, all_missing = radar.frames([AT.replace(minute=40)])
    assert none is None and len(all_missing) == 1


def test_the_frames_found_are_re_checked_not_decoded_again_in_the_next_overlapping_window(served, tmp_path):
    for minutes in (10, 20, 30):
        mosaic(served / f"radar_2026071500{minutes}.nc", np.ones((LAT.size, LON.size)), AT.replace(minute=minutes))
    with FeedServer(served) as server:
        radar = source(f"{server.url}/radar_{{time:%Y%m%d%H%M}}.nc", tmp_path)
        radar.frames([AT.replace(minute=m) for m in (10, 20)])
        decoded = radar.held[AT.replace(minute=20)].frame
        frames, problems = radar.frames([AT.replace(minute=m) for m in (20, 30)])
        answered = [(path, status) for _, path, status in server.requests]
    # the frame held is asked for conditionally: 304, no bytes, nothing decoded
    assert answered == [("/radar_202607150010.nc", 200), ("/radar_202607150020.nc", 200),
                        ("/radar_202607150020.nc", 304), ("/radar_202607150030.nc", 200)]
    assert radar.held[AT.replace(minute=20)].frame is decoded
    assert problems == [] and frames is not None and frames.sizes["time"] == 2
    assert sorted(radar.held) == [AT.replace(minute=20), AT.replace(minute=30)]  # the window's frames only


def test_a_frame_re_published_under_its_time_is_decoded_again(served, tmp_path):
    target = served / "radar_202607150010.nc"
    mosaic(target, np.full((LAT.size, LON.size), 6.0), AT)
    with FeedServer(served) as server:
        radar = source(f"{server.url}/radar_{{time:%Y%m%d%H%M}}.nc", tmp_path)
        first, _ = radar.frames([AT])
        mosaic(target, np.full((LAT.size, LON.size), 12.0), AT)  # a corrected frame, the same name
        corrected, problems = radar.frames([AT])
        again, _ = radar.frames([AT])
        statuses = [status for _, _, status in server.requests]
    assert statuses == [200, 200, 304]
    assert problems == [] and first is not None and corrected is not None and again is not None
    assert float(first.max()) == pytest.approx(1.0) and float(corrected.max()) == pytest.approx(2.0)
    assert float(again.max()) == pytest.approx(2.0)


def test_a_local_frame_is_decoded_again_only_when_its_bytes_change(served, tmp_path):
    target = served / "radar_202607150010.nc"
    mosaic(target, np.full((LAT.size, LON.size), 6.0), AT)
    radar = source(str(served / "radar_{time:%Y%m%d%H%M}.nc"), tmp_path)
    radar.frames([AT])
    decoded = radar.held[AT].frame
    radar.frames([AT])
    assert radar.held[AT].frame is decoded
    mosaic(target, np.full((LAT.size, LON.size), 3.0), AT)
    corrected, _ = radar.frames([AT])
    assert corrected is not None and float(corrected.max()) == pytest.approx(0.5)


def test_a_frame_that_failed_is_asked_for_afresh_next_time(served, tmp_path):
    target = served / "radar_202607150010.nc"
    target.write_bytes(b"CDF\x01 not a mosaic")
    with FeedServer(served) as server:
        radar = source(f"{server.url}/radar_{{time:%Y%m%d%H%M}}.nc", tmp_path)
        _, broken = radar.frames([AT])
        _, still = radar.frames([AT])  # the same bytes: fetched whole (200, not 304) and refused again
        mosaic(target, np.full((LAT.size, LON.size), 6.0), AT)
        fixed, problems = radar.frames([AT])
        statuses = [status for _, _, status in server.requests]
    assert len(broken) == 1 and len(still) == 1 and "radar_202607150010.nc" in still[0]
    assert statuses == [200, 200, 200]
    assert problems == [] and fixed is not None and float(fixed.max()) == pytest.approx(1.0)


def test_a_held_frame_stays_when_its_re_check_fails(served, tmp_path):
    mosaic(served / "radar_202607150010.nc", np.ones((LAT.size, LON.size)), AT)
    with FeedServer(served) as server:
        radar = source(f"{server.url}/radar_{{time:%Y%m%d%H%M}}.nc", tmp_path, retries=0)
        radar.frames([AT])
    frames, problems = radar.frames([AT, AT.replace(minute=20)])  # the feed is gone
    assert frames is not None and list(frames["time"].values) == [np.datetime64("2026-07-15T00:10", "ns")]
    assert len(problems) == 1 and problems[0].startswith("雷达 2026-07-15 00:20Z 缺测")


def test_frames_on_one_grid_are_stacked_as_xarray_concatenates_them_and_a_change_of_grid_is_joined(served, tmp_path):
    for minutes in (10, 20):
        mosaic(served / f"radar_2026071500{minutes}.nc", np.full((LAT.size, LON.size), float(minutes)),
               AT.replace(minute=minutes))
    mosaic(served / "radar_202607150030.nc", np.ones((LAT.size, LON.size + 1)), AT.replace(minute=30),
           lon=np.round(np.arange(106.40, 106.53, 0.01), 2))
    radar = source(str(served / "radar_{time:%Y%m%d%H%M}.nc"), tmp_path)
    times = [AT.replace(minute=m) for m in (10, 20, 30)]
    for window in (times[:2], times):
        frames, _ = radar.frames(window)
        singles = [radar.frame(at) for at in window]
        expected = xr.concat(singles, dim="time", join="outer", combine_attrs="override")
        expected.attrs.update(source=radar.source.template, history="\n".join(f.attrs["history"] for f in singles))
        xr.testing.assert_identical(frames, expected)
        assert frames is not None and frames.dtype == np.float32 and frames.attrs == expected.attrs
    rainarray.check_rain(frames, where="radar")


def test_a_placeholder_nothing_fills_makes_every_frame_missing_and_says_which(tmp_path):
    radar = source("{feed}/radar_{time:%Y%m%d%H%M}.nc", tmp_path)
    frames, problems = radar.frames([AT])
    assert frames is None and len(problems) == 1
    assert "observed.radar.url" in problems[0] and "{feed} not filled" in problems[0]


def test_a_frame_of_another_time_is_refused(served, tmp_path):
    mosaic(served / "radar_202607150010.nc", np.ones((LAT.size, LON.size)), AT + timedelta(minutes=10))
    with pytest.raises(SourceError, match=r"rain.time: expected one frame at 2026-07-15T00:10Z, got 2026-07-15T00:20"):
        source(str(served / "radar_{time:%Y%m%d%H%M}.nc"), tmp_path).frame(AT)


def test_a_frame_of_another_interval_is_refused(served, tmp_path):
    mosaic(served / "radar.nc", np.ones((LAT.size, LON.size)), AT, bounds_min=5)
    with pytest.raises(SourceError, match=r"rain.step: expected a frame of PT10M \(observed.radar.every, "
                                          r"models/nowcast.yaml step\), got an interval of PT5M"):
        source(str(served / "radar.nc"), tmp_path).frame(AT)


def test_a_projected_mosaic_is_refused_naming_its_coordinates(served, tmp_path):
    mosaic(served / "radar.nc", np.ones((LAT.size, LON.size)), AT, projected=True)
    with pytest.raises(DataContractError, match=r"rainfall_rate.x: expected a regular lon/lat grid in degrees "
                                                r"\(WGS84\), got projected coordinates in 'm'"):
        source(str(served / "radar.nc"), tmp_path).frame(AT)
