"""The rainfall array contract: building, checking, rate conversion and re-accumulation."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from warn.errors import DataContractError
from warn.rainarray import (
    check_rain,
    control,
    iso_duration,
    make_rain,
    member,
    members,
    parse_duration,
    rate_to_depth,
    reaccumulate,
)

HOUR = timedelta(hours=1)


def grid(values, *, step=HOUR, times=None):
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    if times is None:
        times = np.datetime64("2026-07-15T01:00") + np.arange(n) * np.timedelta64(int(step.total_seconds()), "s")
    return make_rain(values, time=times, lat=[29.6, 29.7], lon=[106.5, 106.6, 106.7], step=step, source="test")


@pytest.mark.parametrize(("text", "step"), [("PT1H", HOUR), ("PT10M", timedelta(minutes=10)),
                                             ("PT1H30M", timedelta(minutes=90)), ("PT72H", timedelta(hours=72))])
def test_durations_round_trip(text, step):
    assert parse_duration(text) == step
    assert iso_duration(step) == text


def test_parse_duration_rejects_other_forms():
    with pytest.raises(ValueError, match="ISO-8601 duration"):
        parse_duration("3h")


def test_contract_attributes():
    rain = grid(np.ones((3, 2, 3)))
    assert rain.dims == ("time", "lat", "lon")
    assert rain.attrs["units"] == "mm" and rain.attrs["step"] == "PT1H"
    assert rain.attrs["standard_name"] == "lwe_thickness_of_precipitation_amount"
    assert rain.attrs["cell_methods"] == "time: sum"


def test_check_clips_rounding_negatives_and_keeps_nan():
    values = np.ones((2, 2, 3))
    values[0, 0, 0] = -0.005
    values[1, 1, 1] = np.nan
    checked = check_rain(grid(values), where="f.nc")
    assert checked.values[0, 0, 0] == 0.0
    assert np.isnan(checked.values[1, 1, 1])
    assert checked.attrs["step"] == "PT1H"


def test_check_rejects_negative_depths():
    values = np.ones((2, 2, 3))
    values[1, 0, 2] = -2.0
    with pytest.raises(DataContractError, match=r"f\.nc: rain: expected depths ≥ -0\.01 mm, got -2\.000 mm"):
        check_rain(grid(values), where="f.nc")


def test_check_rejects_all_nan_steps():
    values = np.ones((3, 2, 3))
    values[1] = np.nan
    with pytest.raises(DataContractError, match="expected at least one value per time step, got 1 all-NaN step"):
        check_rain(grid(values), where="f.nc")


def test_check_rejects_times_that_do_not_increase():
    times = np.array(["2026-07-15T02:00", "2026-07-15T01:00"], dtype="datetime64[ns]")
    with pytest.raises(DataContractError, match="rain.time: expected strictly increasing times"):
        check_rain(grid(np.ones((2, 2, 3)), times=times), where="f.nc")


def test_check_rejects_a_step_that_does_not_match_the_spacing():
    rain = grid(np.ones((3, 2, 3)))
    rain.attrs["step"] = "PT3H"
    with pytest.raises(DataContractError, match="regular spacing equal to step PT3H"):
        check_rain(rain, where="f.nc")


def test_check_rejects_wrong_units():
    rain = grid(np.ones((2, 2, 3)))
    rain.attrs["units"] = "m"
    with pytest.raises(DataContractError, match=r"rain\.units: expected 'mm', got 'm'"):
        check_rain(rain, where="f.nc")


def test_rate_to_depth_records_the_assumption():
    rate = grid(np.full((2, 2, 3), 12.0), step=timedelta(minutes=10))
    depth = rate_to_depth(rate, timedelta(minutes=10), assumption="mean rate over the step")
    assert np.allclose(depth.values, 2.0)
    assert "assumption: mean rate over the step" in depth.attrs["history"]


def test_reaccumulate_sums_and_keeps_missing_missing():
    values = np.ones((6, 2, 3))
    values[4, 0, 0] = np.nan
    three = reaccumulate(grid(values), timedelta(hours=3))
    assert three.attrs["step"] == "PT3H"
    assert three.values[0, 0, 0] == 3.0 and np.isnan(three.values[1, 0, 0])
    assert str(three["time"].values[0])[:16] == "2026-07-15T03:00"  # end of the first 3 h
    with pytest.raises(ValueError, match="not a multiple"):
        reaccumulate(grid(values), timedelta(minutes=90))


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_check_rejects_infinite_depths_naming_the_cell_and_time(bad):
    values = np.ones((2, 2, 3))
    values[1, 0, 2] = bad
    with pytest.raises(DataContractError, match=r"f\.nc: rain: expected finite depths, got (-)?inf mm "
                                                r"at lat 29\.6, lon 106\.7, time 2026-07-15T02:00"):
        check_rain(grid(values), where="f.nc")


def test_check_rejects_depths_above_the_physical_maximum_rate_scaled_to_the_step():
    values = np.ones((2, 2, 3))
    values[0, 1, 0] = 1e30
    with pytest.raises(DataContractError, match=r"f\.nc: rain: expected depths ≤ 500 mm per PT1H \(500 mm/h\), "
                                                r"got 1e\+30 mm at lat 29\.7, lon 106\.5, time 2026-07-15T01:00"):
        check_rain(grid(values), where="f.nc")
    ten_minutes = np.full((2, 2, 3), 80.0)  # 480 mm/h: extreme but possible
    check_rain(grid(ten_minutes, step=timedelta(minutes=10)), where="f.nc")
    ten_minutes[1, 1, 1] = 90.0  # 540 mm/h
    with pytest.raises(DataContractError, match=r"expected depths ≤ 83\.3 mm per PT10M \(500 mm/h\), got 90 mm"):
        check_rain(grid(ten_minutes, step=timedelta(minutes=10)), where="f.nc")


def test_check_rejects_an_array_without_time_steps():
    empty = grid(np.ones((0, 2, 3)), times=np.array([], dtype="datetime64[ns]"))
    with pytest.raises(DataContractError, match=r"f\.nc: rain\.time: expected at least one time step, got none"):
        check_rain(empty, where="f.nc")


def ensemble(values, *, member=(0, 1), control=None):
    """A (member, time, lat, lon) contract array on the grid of :func:`grid`, hourly from 01:00."""
    values = np.asarray(values, dtype=float)
    times = np.datetime64("2026-07-15T01:00") + np.arange(values.shape[1]) * np.timedelta64(1, "h")
    return make_rain(values, time=times, lat=[29.6, 29.7], lon=[106.5, 106.6, 106.7], step=HOUR, source="test",
                     member=np.asarray(member), control_member=control)


def test_an_ensemble_has_the_member_dim_first_its_ids_and_its_control():
    rain = ensemble(np.ones((2, 3, 2, 3)), member=(4, 9), control=9)
    assert rain.dims == ("member", "time", "lat", "lon")
    assert members(rain) == [4, 9] and rain.attrs["control_member"] == 9
    check_rain(rain, where="ens")
    assert ensemble(np.ones((2, 1, 2, 3)), member=(4, 9)).attrs["control_member"] == 4  # none named: the first
    one = member(rain, 4)
    assert one.dims == ("time", "lat", "lon") and "control_member" not in one.attrs
    assert one.attrs["history"].endswith("ensemble member 4")
    assert control(rain).attrs["history"].endswith("ensemble member 9 (control)")
    with pytest.raises(KeyError, match=r"no ensemble member 5 \(members: 4, 9\)"):
        member(rain, 5)


def test_check_rejects_repeated_member_ids_and_a_control_that_is_not_a_member():
    with pytest.raises(DataContractError, match=r"ens: rain\.member: expected distinct integer member ids, got 1, 1"):
        check_rain(ensemble(np.ones((2, 1, 2, 3)), member=(1, 1)), where="ens")
    with pytest.raises(DataContractError, match=r"ens: rain\.control_member: expected one of the member ids 0, 1, "
                                                r"got 3"):
        check_rain(ensemble(np.ones((2, 1, 2, 3)), control=3), where="ens")


def test_a_single_run_is_its_own_control_and_has_no_members():
    rain = grid(np.ones((2, 2, 3)))
    assert control(rain) is rain and members(rain) == []
