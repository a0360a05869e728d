"""Rain gauges' running totals decoded to depth per report: each convention, its resets in
Asia/Shanghai, drops, gaps, late and repeated readings; the catalogue's accumulation column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warn.errors import ConfigError
from warn.sources.accumulation import DROP_RULE, GAP_RULE, decode, period_start
from warn.sources.catalogue import load_catalogue
from warn.sources.readings import Reading, Sensor
from warn.vocab import Accumulation, SensorKind

TEN = timedelta(minutes=10)
NOW = datetime(2026, 7, 16, 0, 0, tzinfo=UTC)


def gauge(accumulation: Accumulation, interval: timedelta = TEN) -> Sensor:
    return Sensor("RG-1", SensorKind.RAIN_GAUGE, "测试雨量站", 106.6, 29.7, interval, "", accumulation)


def readings(*pairs: tuple[datetime, float | None]) -> list[Reading]:
    return [Reading("RG-1", t, v, "mm", t) for t, v in pairs]


def depths(decoded) -> list[tuple[datetime, float | None, str]]:
    return [(d.reading.phenomenon_time, d.reading.value, d.rule) for d in decoded]


def bj(day: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing time of July 2026, as aware UTC."""
    return datetime(2026, 7, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_the_period_of_a_time_is_the_latest_reset_strictly_before_it():
    assert period_start(bj(15, 9, 0), Accumulation.HOURLY) == bj(15, 8)  # the value at 09:00 closes 08–09
    assert period_start(bj(15, 9, 10), Accumulation.HOURLY) == bj(15, 9)
    assert period_start(bj(15, 8, 0), Accumulation.DAY_08) == bj(14, 8)  # 08:00 closes the day ending then
    assert period_start(bj(15, 8, 10), Accumulation.DAY_08) == bj(15, 8)
    assert period_start(bj(15, 7, 50), Accumulation.DAY_08) == bj(14, 8)
    assert period_start(bj(15, 20, 0), Accumulation.DAY_20) == bj(14, 20)
    assert period_start(bj(15, 20, 10), Accumulation.DAY_20) == bj(15, 20)
    assert period_start(bj(16, 2, 0), Accumulation.DAY_20) == bj(15, 20)  # across midnight
    assert bj(15, 8) == datetime(2026, 7, 15, 0, tzinfo=UTC)  # 08:00 Beijing is 00:00 UTC


def test_report_values_pass_unchanged():
    batch = readings((bj(15, 9, 10), 1.5), (bj(15, 9, 20), 0.5))
    got, totals = decode(gauge(Accumulation.REPORT), batch, {}, now=NOW)
    assert [d.reading for d in got] == batch and all(d.rule == "" for d in got) and totals == {}


def test_hourly_totals_are_differenced_and_reset_at_the_hour():
    batch = readings((bj(15, 8, 40), 2.0), (bj(15, 8, 50), 3.5), (bj(15, 9, 0), 4.0), (bj(15, 9, 10), 0.7),
                     (bj(15, 9, 20), 1.0))
    got, _ = decode(gauge(Accumulation.HOURLY), batch, {bj(15, 8, 30): 1.2}, now=NOW)
    assert depths(got) == [(bj(15, 8, 40), 0.8, ""), (bj(15, 8, 50), 1.5, ""), (bj(15, 9, 0), 0.5, ""),
                           (bj(15, 9, 10), 0.7, ""), (bj(15, 9, 20), pytest.approx(0.3), "")]


@pytest.mark.parametrize(("accumulation", "hour"), [(Accumulation.DAY_08, 8), (Accumulation.DAY_20, 20)])
def test_daily_totals_reset_at_08_or_20_beijing_time(accumulation, hour):
    t = bj(15, hour)
    batch = readings((t - TEN, 30.0), (t, 31.5), (t + TEN, 2.0), (t + 2 * TEN, 2.5))
    got, _ = decode(gauge(accumulation), batch, {t - 2 * TEN: 29.0}, now=NOW)
    assert depths(got) == [(t - TEN, 1.0, ""), (t, 1.5, ""), (t + TEN, 2.0, ""), (t + 2 * TEN, 0.5, "")]
    # the other convention's reset is an ordinary report: a total of 2.0 after 31.5 would be a drop there
    other = Accumulation.DAY_20 if accumulation is Accumulation.DAY_08 else Accumulation.DAY_08
    assert [d.rule for d in decode(gauge(other), batch, {t - 2 * TEN: 29.0}, now=NOW)[0]] == ["", "", DROP_RULE, ""]


def test_a_drop_without_a_reset_is_never_a_negative_depth_and_the_counter_restarts():
    batch = readings((bj(15, 10, 10), 5.0), (bj(15, 10, 20), 1.0), (bj(15, 10, 30), 1.4))
    got, totals = decode(gauge(Accumulation.DAY_08), batch, {bj(15, 10, 0): 4.0}, now=NOW)
    assert depths(got) == [(bj(15, 10, 10), 1.0, ""), (bj(15, 10, 20), None, DROP_RULE),
                           (bj(15, 10, 30), pytest.approx(0.4), "")]
    assert "1 mm below 5 mm" in got[1].reason and "never negative" in got[1].reason
    assert totals[bj(15, 10, 20)] == 1.0  # the raw total is kept: the next report counts from it


def test_a_gap_gives_one_report_covering_it_flagged_and_saying_so():
    batch = readings((bj(15, 10, 40), 9.0))
    got, _ = decode(gauge(Accumulation.DAY_08), batch, {bj(15, 10, 0): 4.0}, now=NOW)
    assert depths(got) == [(bj(15, 10, 40), 5.0, GAP_RULE)]
    assert "covering 40 min" in got[0].reason and "10:00" in got[0].reason


def test_the_first_report_of_a_period_is_its_own_total_and_a_late_first_one_covers_the_gap():
    on_time, _ = decode(gauge(Accumulation.HOURLY), readings((bj(15, 9, 10), 0.6)), {bj(15, 9, 0): 7.0}, now=NOW)
    assert depths(on_time) == [(bj(15, 9, 10), 0.6, "")]
    late, _ = decode(gauge(Accumulation.HOURLY), readings((bj(15, 9, 30), 2.0)), {bj(15, 9, 0): 7.0}, now=NOW)
    assert depths(late) == [(bj(15, 9, 30), 2.0, GAP_RULE)] and "since the reset" in late[0].reason


def test_a_late_reading_decodes_the_known_one_after_it_again_and_repeats_decode_the_same():
    known = {bj(15, 10, 0): 4.0, bj(15, 10, 20): 6.0}
    got, _ = decode(gauge(Accumulation.DAY_08), readings((bj(15, 10, 10), 5.5)), known, now=NOW)
    assert depths(got) == [(bj(15, 10, 10), 1.5, ""), (bj(15, 10, 20), 0.5, "")]  # was a gap of 2.0
    assert got[1].reading.arrival_time == NOW
    again, _ = decode(gauge(Accumulation.DAY_08), readings((bj(15, 10, 0), 4.0), (bj(15, 10, 10), 5.5)),
                      {**known, bj(15, 10, 10): 5.5}, now=NOW)
    assert depths(again)[1] == (bj(15, 10, 10), 1.5, "")


def test_a_missing_value_stays_missing():
    got, totals = decode(gauge(Accumulation.HOURLY), readings((bj(15, 9, 10), None)), {}, now=NOW)
    assert depths(got) == [(bj(15, 9, 10), None, "")] and totals == {}


def catalogue(tmp_path, *rows: str, header: str = "sensor_id,kind,name,lon,lat,interval,point_id,accumulation"):
    path = tmp_path / "sensors.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_the_catalogue_reads_the_accumulation_column_and_defaults_to_report(tmp_path):
    sensors = load_catalogue(catalogue(tmp_path, "RG-1,rain_gauge,甲,106.6,29.7,PT10M,,day_08",
                                       "RG-2,rain_gauge,乙,106.6,29.7,PT5M,,", "W-1,water_level,丙,106.6,29.7,PT5M,P1,"))
    assert [s.accumulation for s in sensors.values()] == [Accumulation.DAY_08, Accumulation.REPORT,
                                                         Accumulation.REPORT]
    old = load_catalogue(catalogue(tmp_path, "RG-1,rain_gauge,甲,106.6,29.7,PT10M,",
                                   header="sensor_id,kind,name,lon,lat,interval,point_id"))
    assert old["RG-1"].accumulation is Accumulation.REPORT


def test_the_catalogue_refuses_an_unknown_accumulation_and_a_running_total_of_a_water_level(tmp_path):
    path = catalogue(tmp_path, "RG-1,rain_gauge,甲,106.6,29.7,PT10M,,daily", "W-1,water_level,丙,106.6,29.7,PT5M,P1,hourly")
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    text = str(err.value)
    assert f"{path}:2: accumulation: expected one of report, hourly, day_08, day_20" in text and "'daily'" in text
    assert f"{path}:3: accumulation: expected report for a water_level sensor" in text
