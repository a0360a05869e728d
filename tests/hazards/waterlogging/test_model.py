"""`warn check` on models/waterlogging.yaml: each broken parameter is named by file, key and expectation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import ROOT
from tests.helpers import drop as _drop
from tests.helpers import edit_yaml, messages
from tests.helpers import set_value as _set
from warn import hazards

CASES = {
    "P_lz not above P_pipe": (_set(2, "screen", "waterlogging_return_period_yr"),
                              "screen: expected waterlogging_return_period_yr above pipe_return_period_yr (3)"),
    "negative P_pipe": (_set(-3, "screen", "pipe_return_period_yr"),
                        "screen.pipe_return_period_yr: expected greater than 0"),
    "screen duration not ISO": (_set("3h", "screen", "max_duration"),
                                "screen.max_duration: expected an ISO-8601 duration like PT1H"),
    "runoff coefficient above one": (_set(1.2, "bucket", "runoff_coefficient", "impervious"),
                                     "bucket.runoff_coefficient.impervious: expected less than or equal to 1"),
    "runoff coefficient without source": (_drop("bucket", "runoff_coefficient", "source"),
                                          "bucket.runoff_coefficient.source: expected this key"),
    "zero capacity duration": (_set("PT0S", "bucket", "capacity_duration"),
                               "bucket.capacity_duration: expected a duration longer than zero"),
    "ponding fraction zero": (_set(0, "bucket", "ponding_area_fraction", "sag"),
                              "bucket.ponding_area_fraction.sag: expected greater than 0"),
    "default kind not listed": (_set("alley", "bucket", "default_kind"),
                                "bucket: expected default_kind 'alley' to be one of sag, steep, street, underpass"),
    "full depth zero": (_set(0, "bucket", "full_depth_mm"), "bucket.full_depth_mm: expected greater than 0"),
    "depths out of order": (_set(40, "depth_thresholds_cm", "yellow"),
                            "depth_thresholds_cm: expected strictly increasing values (got 5, 40, 30)"),
    "missing red depth": (_drop("depth_thresholds_cm", "red"), "depth_thresholds_cm.red: expected this key"),
    "one reading for a slope": (_set(1, "sensor", "min_readings"),
                                "sensor.min_readings: expected greater than or equal to 2"),
    "the river is not waterlogging": (_set({"rate_window": "PT1H"}, "river"), "river: expected no such key"),
    "negative bonus": (_set(-0.25, "score", "known_point_bonus"),
                       "score.known_point_bonus: expected greater than or equal to 0"),
    "boundaries beyond the scale": (_set([25, 50, 70, 120], "levels", "boundaries"),
                                    "levels: expected boundaries between 0 and 100"),
    "wrong model name": (_set("floods", "model"), "model: expected a model among analysis, flashflood, landslide, rain, river, sensors, waterlogging, got 'floods'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_waterlogging_file(deployment, case):
    change, expected = CASES[case]
    edit_yaml(deployment.parent / "models" / "waterlogging.yaml", change)
    text = messages(deployment)
    assert "models/waterlogging.yaml: " in text
    assert expected in text


def test_waterlogging_is_a_registered_hazard_with_a_model():
    assert hazards.get("waterlogging").model is not None


def test_committed_file_loads_with_the_documented_defaults():
    params = hazards.load_model("waterlogging", ROOT / "models" / "waterlogging.yaml").params()
    assert (params.pipe_return_period_yr, params.waterlogging_return_period_yr) == (3, 50)
    assert params.screen_max_duration == timedelta(minutes=180)
    assert (params.runoff_impervious, params.runoff_pervious) == (0.90, 0.15)
    assert params.capacity_duration == timedelta(minutes=20)
    assert params.ponding_area_fraction == {"street": 0.10, "steep": 0.05, "sag": 0.20, "underpass": 0.20}
    assert params.default_kind == "street" and params.full_depth_mm == 300
    assert params.depth_thresholds_cm == (5, 15, 30)
    assert params.known_point_bonus == 0.25
    assert params.sensor.window == timedelta(minutes=30) and params.sensor.min_readings == 3
    assert params.levels.boundaries == (25, 50, 70, 85) and params.levels.hold == timedelta(minutes=60)
