"""A forecast file read in parts (its members or steps, each by a worker) decodes to what one read gives.

The workers here are this process behind the :class:`~warn.risk.chunks.Workers` seam
(:class:`tests.helpers.Shipped`: each part and the function reading it sent through pickle as dask sends
them); tests/cycle/test_compute.py reads a file on a real LocalCluster. Compared: every value to the last bit, the coordinates and every attribute.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import numpy as np

from tests.helpers import Shipped
from tests.sources.conftest import LAT, LON, RUN
from tests.sources.test_ensemble_decoding import ensemble_file, grib_ensemble
from warn import rainarray
from warn.sources import forecast
from warn.sources.forecast import open_forecast, write_forecast


def contract_file(path: Path, steps: int = 7) -> Path:
    """A contract NetCDF of ``steps`` hours of gamma rain with gaps (NaN)."""
    rng = np.random.default_rng(11)
    values = rng.gamma(0.4, 5.0, (steps, LAT.size, LON.size))
    values[rng.random(values.shape) < 0.05] = np.nan
    times = RUN + np.arange(1, steps + 1) * np.timedelta64(1, "h")
    rain = rainarray.make_rain(values, time=times, lat=LAT, lon=LON, step=timedelta(hours=1), source="test",
                               issued_at=RUN)
    return write_forecast(rain, path, title="parts")


def test_a_run_read_in_parts_of_its_steps_is_the_run_read_at_once(tmp_path, monkeypatch):
    path = contract_file(tmp_path / "run.nc")
    monkeypatch.setattr(forecast, "PART_VALUES", 2 * LAT.size * LON.size)  # two steps a part: four parts
    workers = Shipped()
    parted = open_forecast(path, source="x", workers=workers)
    whole = open_forecast(path, source="x")
    assert [part for _, part in workers.jobs] == [slice(0, 2), slice(2, 4), slice(4, 5), slice(5, 7)]
    assert parted.identical(whole) and np.isnan(whole.values).any()
    assert parted.values.tobytes() == whole.values.tobytes()


def test_an_ensemble_is_read_in_parts_of_its_members_the_control_in_one_of_them(tmp_path, monkeypatch):
    rng = np.random.default_rng(12)
    path = ensemble_file(tmp_path / "ens.nc", rng.gamma(0.5, 3.0, (4, 3, LAT.size, LON.size)), ids=[0, 1, 2, 3],
                         member_attrs={"control_member": 3}, attrs={"standard_name": "precipitation_amount"})
    monkeypatch.setattr(forecast, "PART_VALUES", 3 * LAT.size * LON.size)  # a member a part
    workers = Shipped()
    parted = open_forecast(path, source="ens", workers=workers)
    whole = open_forecast(path, source="ens")
    assert len(workers.jobs) == 4 and parted.attrs["control_member"] == 3
    assert parted.identical(whole)


def test_a_grib_ensemble_of_several_steps_is_read_in_parts_as_at_once(tmp_path):
    path = grib_ensemble(tmp_path / "steps.grib2", "instant", 1, hours=(5, 6))
    workers = Shipped()
    parted = open_forecast(path, source="gfs-ens", workers=workers)
    whole = open_forecast(path, source="gfs-ens")
    assert [part for _, part in workers.jobs] == [slice(0, 2), slice(2, 3)]  # at least two parts, of members
    assert parted.identical(whole)


def test_a_part_the_workers_cannot_read_is_read_here_and_the_log_says_so(tmp_path, caplog):
    path = contract_file(tmp_path / "run.nc")
    hidden = tmp_path / "elsewhere.nc"

    def hide() -> None:  # the workers' file system does not hold the file (restored once they have tried)
        path.rename(hidden)

    class Elsewhere(Shipped):
        def map(self, work, jobs, *, size):
            try:
                return super().map(work, jobs, size=size)
            finally:
                hidden.rename(path)

    workers = Elsewhere(before=hide)
    with caplog.at_level(logging.WARNING, logger="warn.sources.forecast"):
        parted = open_forecast(path, source="x", workers=workers)
    assert len(workers.jobs) == 2 and parted.identical(open_forecast(path, source="x"))
    assert "the workers cannot read" in caplog.text and str(path) in caplog.text


def test_a_file_replaced_after_this_process_opened_it_is_not_read_by_the_workers(tmp_path, caplog):
    path = contract_file(tmp_path / "run.nc")
    expected = open_forecast(path, source="x")
    other = contract_file(tmp_path / "other.nc", steps=9)  # another run, of another length, in its place

    workers = Shipped(before=lambda: os.replace(other, path))
    with caplog.at_level(logging.WARNING, logger="warn.sources.forecast"):
        parted = open_forecast(path, source="x", workers=workers)
    assert len(workers.jobs) == 2 and parted.identical(expected)  # the parts of the file this process opened
    assert "as this process opened it" in caplog.text


def test_small_work_is_read_at_once_here(tmp_path):
    class Here(Shipped):
        def distributes(self, size: int) -> bool:
            return size >= 10**9

    workers = Here()
    rain = open_forecast(contract_file(tmp_path / "run.nc"), source="x", workers=workers)
    assert not workers.jobs and rain.sizes["time"] == 7


def test_a_single_step_is_never_split(tmp_path):
    workers = Shipped()
    rain = open_forecast(contract_file(tmp_path / "one.nc", 1), source="x", workers=workers)
    assert not workers.jobs and rain.sizes["time"] == 1
