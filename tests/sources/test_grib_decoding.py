"""Real GRIB fixtures → the rain contract, checked against values read with eccodes directly.

The expected millimetres are computed here from the raw messages (``codes_get_values``
times a factor derived by hand), not through cfgrib or warn: ECMWF ``tp`` is metres
accumulated since the run start (× 1000, one 12 h interval); GFS ``cpr`` is kg m-2 s-1
= mm/s (× 3600 s/h × 5 h for the 0–5 h average); MRMS PrecipRate is mm/h (× 2/60 h for
a 2-minute step, × 20/60 h for two frames 20 minutes apart), −3 meaning no coverage.
See tests/data/PROVENANCE.md for the files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import eccodes
import numpy as np
import pytest

from warn.errors import DataContractError, SourceError
from warn.sources.forecast import open_forecast

DATA = Path(__file__).parent.parent / "data"
TP = DATA / "tp_on_different_grid_resolutions.grib"
GFS = DATA / "cfrzr_and_cprat.grib"
CORE = [DATA / f"mrms_preciprate_20190610-{t}_core.grib2" for t in ("000000", "002000")]
EDGE = DATA / "mrms_preciprate_20190610-000000_edge.grib2"


def messages(path: Path) -> list[dict]:
    """Every message of ``path``: a few keys and its values as (Nj, Ni), as eccodes gives them."""
    out = []
    with open(path, "rb") as handle:
        while (gid := eccodes.codes_grib_new_from_file(handle)) is not None:
            keys = ("shortName", "stepType", "Ni", "Nj", "latitudeOfFirstGridPointInDegrees",
                    "longitudeOfFirstGridPointInDegrees", "iDirectionIncrementInDegrees", "jDirectionIncrementInDegrees",
                    "dataDate", "dataTime", "endStep")
            item = {k: eccodes.codes_get(gid, k) for k in keys}
            item["values"] = eccodes.codes_get_values(gid).reshape(item["Nj"], item["Ni"])
            out.append(item)
            eccodes.codes_release(gid)
    return out


def expected_on(rain, message: dict, factor: float) -> np.ndarray:
    """The raw message × ``factor`` placed on the (ascending lat, −180…180 lon) grid of ``rain``."""
    lat0, lon0 = message["latitudeOfFirstGridPointInDegrees"], message["longitudeOfFirstGridPointInDegrees"]
    di, dj = message["iDirectionIncrementInDegrees"], message["jDirectionIncrementInDegrees"]
    rows = np.rint((lat0 - rain["lat"].values) / dj).astype(int)  # north row first, scanning south
    cols = np.rint(((rain["lon"].values - lon0) % 360) / di).astype(int)
    return message["values"][np.ix_(rows, cols)] * factor


def test_ecmwf_tp_metres_accumulated_since_the_run_to_mm_per_interval():
    for ni, run in ((72, "2017-10-18T12:00"), (90, "2017-10-17T12:00")):
        raw = next(m for m in messages(TP) if m["Ni"] == ni)
        rain = open_forecast(TP, source="ecmwf", filter_by_keys={"Ni": ni})
        assert rain.attrs["step"] == "PT12H" and raw["endStep"] == 12
        assert rain.attrs["issued_at"] == run + ":00Z"
        assert rain["time"].values[0] == np.datetime64(run) + np.timedelta64(12, "h")
        assert rain["lon"].values.min() >= -180 and np.all(np.diff(rain["lat"].values) > 0)
        np.testing.assert_allclose(rain.values[0], expected_on(rain, raw, 1000.0), rtol=1e-6, atol=1e-4)
        assert float(rain.max()) == pytest.approx(raw["values"].max() * 1000, rel=1e-6)  # 52.0 / 161.1 mm
        assert "accumulated since the run start" in rain.attrs["history"]


def test_ecmwf_file_with_two_grids_needs_a_filter():
    with pytest.raises(SourceError, match=r"tp_on_different_grid_resolutions\.grib: tp: expected one precipitation "
                                          r"record set, got tp stepType=instant Ni=72 .*Ni=90 .*pass filter_by_keys"):
        open_forecast(TP, source="ecmwf")


def test_gfs_cpr_mean_rate_kg_m2_s1_to_mm_per_step():
    raw = next(m for m in messages(GFS) if m["shortName"] == "cpr" and m["stepType"] == "avg")
    rain = open_forecast(GFS, source="gfs")  # the 0–5 h average is preferred to the instantaneous record
    assert rain.attrs["step"] == "PT5H"
    assert rain["time"].values[0] == np.datetime64("2023-05-10T23:00")
    np.testing.assert_allclose(rain.values[0], expected_on(rain, raw, 3600.0 * 5), rtol=1e-5, atol=1e-4)
    assert float(rain.max()) == pytest.approx(0.00059668 * 3600 * 5, rel=1e-4)  # 10.74 mm in 5 h
    assert "mean rate over the PT5H interval" in rain.attrs["history"]


def test_gfs_cpr_instantaneous_record_held_over_a_given_step():
    raw = next(m for m in messages(GFS) if m["shortName"] == "cpr" and m["stepType"] == "instant")
    with pytest.raises(SourceError, match=r"cfrzr_and_cprat\.grib: cpr: expected several times, or step= for an "
                                          r"instantaneous rate at a single time"):
        open_forecast(GFS, source="gfs", filter_by_keys={"stepType": "instant"})
    rain = open_forecast(GFS, source="gfs", filter_by_keys={"stepType": "instant"}, step=timedelta(hours=1))
    np.testing.assert_allclose(rain.values[0], expected_on(rain, raw, 3600.0), rtol=1e-5, atol=1e-5)


def test_mrms_preciprate_local_table_mm_per_hour_to_mm_per_step():
    raw = messages(CORE[0])[0]
    rain = open_forecast(CORE[0], source="mrms", step=timedelta(minutes=2))
    assert rain.attrs["step"] == "PT2M" and rain.sizes["lat"] == 29 and rain.sizes["lon"] == 29
    np.testing.assert_allclose(rain.values[0], expected_on(rain, raw, 2 / 60), rtol=1e-6, atol=1e-6)
    assert float(rain.max()) == pytest.approx(148.8 * 2 / 60, rel=1e-4)
    assert float(rain.isel(time=0).sel(lat=33.085, lon=-86.285, method="nearest")) == pytest.approx(148.8 / 30, rel=1e-4)
    assert "MRMS PrecipRate (local table (209, 6, 1))" in rain.attrs["history"]


def test_mrms_no_coverage_becomes_nan():
    raw = messages(EDGE)[0]
    rain = open_forecast(EDGE, source="mrms", step=timedelta(minutes=2))
    expected = expected_on(rain, raw, 2 / 60)
    no_coverage = expected_on(rain, raw, 1.0) == -3
    assert no_coverage.sum() == 130
    np.testing.assert_array_equal(np.isnan(rain.values[0]), no_coverage)
    np.testing.assert_allclose(rain.values[0][~no_coverage], expected[~no_coverage], rtol=1e-6, atol=1e-6)
    assert float(rain.max()) == pytest.approx(103.8 / 30, rel=1e-4)


def test_two_mrms_frames_in_one_file_take_their_spacing_as_step(tmp_path):
    both = tmp_path / "mrms_two_frames.grib2"
    both.write_bytes(CORE[0].read_bytes() + CORE[1].read_bytes())
    rain = open_forecast(both, source="mrms")
    assert rain.attrs["step"] == "PT20M"
    assert list(rain["time"].values) == [np.datetime64("2019-06-10T00:00", "ns"), np.datetime64("2019-06-10T00:20", "ns")]
    for k, path in enumerate(CORE):
        np.testing.assert_allclose(rain.values[k], expected_on(rain, messages(path)[0], 20 / 60), rtol=1e-6, atol=1e-6)


def test_grib_rejects_a_variable_that_is_not_precipitation():
    with pytest.raises(DataContractError, match=r"cfrzr_and_cprat\.grib: cfrzr\.units: expected a precipitation depth "
                                                r".* got '\(Code table 4\.222\)'"):
        open_forecast(GFS, source="gfs", var="cfrzr", filter_by_keys={"stepType": "avg"})


def test_grib_without_precipitation_lists_the_variables(tmp_path):
    path = tmp_path / "cfrzr_only.grib"
    with open(GFS, "rb") as source, open(path, "wb") as target:
        while (gid := eccodes.codes_grib_new_from_file(source)) is not None:
            if eccodes.codes_get(gid, "shortName") == "cfrzr":
                eccodes.codes_write(gid, target)
            eccodes.codes_release(gid)
    with pytest.raises(DataContractError, match=r"cfrzr_only\.grib: expected a precipitation variable \(tp, apcp, "
                                                r"prate, cpr, MRMS PrecipRate\), got variables cfrzr \(Categorical freezing rain\)"):
        open_forecast(path, source="gfs")


def test_grib_rejects_a_truncated_file(tmp_path):
    path = tmp_path / "cut.grib2"
    path.write_bytes(CORE[0].read_bytes()[:200])
    with pytest.raises(SourceError, match=r"cut\.grib2: expected a readable GRIB file, got (EOFError|PrematureEndOfFileError)"):
        open_forecast(path, source="mrms", step=timedelta(minutes=2))


def test_grib_coverage_check_names_the_file():
    with pytest.raises(DataContractError, match=r"000000_core\.grib2: rain\.lat/lon: expected a grid covering the zones"):
        open_forecast(CORE[0], source="mrms", step=timedelta(minutes=2), bounds=(106.44, 29.57, 106.99, 30.13))
