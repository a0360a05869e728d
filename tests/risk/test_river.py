"""River gauges (warn/risk/river.py): the MWR flood warning signal's stage ladder, by hand."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tests.conftest import ROOT
from warn import hazards
from warn.risk import river
from warn.vocab import Level

T0 = np.datetime64("2026-07-15T00:00:00", "s")
MIN = np.timedelta64(60, "s")
HOUR = np.timedelta64(3600, "s")


@pytest.fixture(scope="module")
def params() -> river.RiverParams:
    return hazards.load_model("river", ROOT / "models" / "river.yaml").params().ladder


def gauge(params, latest: float, rate_m_per_h: float, *, stale=False, highest=7.0) -> river.GaugeState:
    times = T0 + np.array([0, 20, 40, 60]) * MIN
    stages = latest + rate_m_per_h * (times - times[-1]) / HOUR
    return river.river_gauge(times, stages, warning_stage_m=5.0, guaranteed_stage_m=6.5, highest_stage_m=highest,
                             stale=stale, latest_flagged=False, params=params)


@pytest.mark.parametrize(("latest", "rate", "level"), [
    (3.5, 0.1, Level.NONE),      # 15 h to the warning stage, 1.5 m under it
    (4.2, 0.1, Level.BLUE),      # within 1 m of the warning stage and rising
    (4.5, -0.1, Level.NONE),     # within 1 m but falling
    (3.5, 0.5, Level.BLUE),      # 3 h to the warning stage ≤ 6 h
    (5.2, -0.2, Level.YELLOW),   # 超警戒, even when falling
    (6.6, 0.0, Level.ORANGE),    # 超保证
    (7.1, 0.3, Level.RED),       # above the highest recorded stage
])
def test_river_ladder(params, latest, rate, level):
    state = gauge(params, latest, rate)
    assert state.level is level
    assert state.rate_m_per_h == pytest.approx(rate, abs=1e-9)


def test_river_times_to_stages_and_unknown(params):
    state = gauge(params, 3.5, 0.5)
    assert state.hours_to_warning == pytest.approx(3.0) and state.hours_to_guaranteed == pytest.approx(6.0)
    assert gauge(params, 7.1, 0.3, highest=np.nan).level is Level.ORANGE  # red needs the record
    stale = gauge(params, 5.5, 0.3, stale=True)
    assert not stale.known and stale.level is Level.UNKNOWN and stale.reason == "stale"
    with pytest.raises(ValueError, match="guaranteed stage 4 m must be above the warning stage 5 m"):
        river.river_gauge([T0], [1.0], warning_stage_m=5, guaranteed_stage_m=4, stale=False, latest_flagged=False,
                          params=params)


def test_the_leads_take_the_stage_the_rate_reaches(params):
    state = gauge(params, 3.5, 0.5)  # warning stage in 3 h, guaranteed in 6 h
    assert river.level_within(state, timedelta(0)) is Level.BLUE
    assert river.level_within(state, timedelta(hours=2)) is Level.BLUE
    assert river.level_within(state, timedelta(hours=24)) is Level.ORANGE
    assert river.level_within(gauge(params, 6.6, -0.1), timedelta(hours=24)) is Level.ORANGE  # never below now
    assert river.level_within(gauge(params, 5.0, 0.1, stale=True), timedelta(hours=24)) is Level.UNKNOWN


def test_the_stage_and_drivers_read_like_a_hydrological_report(params):
    stages = dict(warning_stage_m=5.0, guaranteed_stage_m=6.5, highest_stage_m=7.0)
    above = river.stage_text(gauge(params, 5.2, 0.2), **stages)
    assert above.startswith("水位 5.20 m，超警戒水位 0.20 m（警戒水位 5.00 m）")
    near = river.stage_text(gauge(params, 4.2, 0.1), **stages)
    assert near.startswith("水位 4.20 m，接近警戒水位，低于警戒水位 0.80 m")
    assert river.stage_text(gauge(params, 5.0, 0.1, stale=True), **stages).startswith("水位未知（数据中断）")
    texts = [d.text() for d in river.gauge_drivers(gauge(params, 5.2, 0.2))]
    assert texts == ["河道水位 5.2 m ≥ 黄色阈值 5.0 m (现在 now)", "预计达保证水位 6.5 m ≥ 橙色阈值 6.5 m (+6.5 h)"]


def test_a_blue_by_the_rate_alone_says_the_stage_is_still_under_the_margin(params):
    texts = [d.text() for d in river.gauge_drivers(gauge(params, 3.5, 0.5))]  # 1.5 m under, 3 h to the warning stage
    assert texts == ["河道水位 3.5 m < 蓝色阈值 4.0 m (现在 now)", "预计达警戒水位 5.0 m ≥ 黄色阈值 5.0 m (+3 h)"]
