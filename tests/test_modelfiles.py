"""`warn check` on models/sensors.yaml: each broken threshold is named by file, key and expectation."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.helpers import drop as _drop
from tests.helpers import edit_yaml, messages
from tests.helpers import set_value as _set
from warn.modelfiles import load_model_file
from warn.vocab import SensorKind

UNDERPASS = {"kind": "water_level", "source": "underpass 3.5 m deep (survey)",
             "hard_range": {"min": -0.1, "max": 4.0, "source": "gauge range 0–4 m"}, "off": ["rate_of_change"]}

CASES = {
    "negative tolerance": (_set(-0.001, "kinds", "water_level", "flatline", "tolerance"),
                           "kinds.water_level.flatline.tolerance: expected greater than or equal to 0, got -0.001"),
    "soft outside hard": (_set(2.5, "kinds", "water_level", "soft_range", "max"),
                          "kinds.water_level: expected soft_range within hard_range [-0.1, 2]"),
    "inverted range": (_set(-20, "kinds", "river_stage", "hard_range", "max"),
                       "kinds.river_stage.hard_range: expected min below max"),
    "wrong unit": (_set("cm", "kinds", "water_level", "unit"), "kinds.water_level.unit: expected 'm', got 'cm'"),
    "missing kind": (_drop("kinds", "rain_gauge"), "kinds.rain_gauge: expected this key"),
    "missing source": (_drop("kinds", "water_level", "spike", "source"),
                       "kinds.water_level.spike.source: expected this key"),
    "zero window": (_set("PT0S", "kinds", "water_level", "jump", "window"),
                    "kinds.water_level.jump.window: expected a duration longer than zero"),
    "days in a duration": (_set("P30D", "timestamps", "max_age"),
                           "timestamps.max_age: expected an ISO-8601 duration like PT1H"),
    "override key not a sensor id": (_set({12345: UNDERPASS}, "overrides"), "overrides.12345.[key]: expected a valid string"),
    "override unknown key": (_set({"WL-DEMO-W01": {**UNDERPASS, "hard_rnage": {}}}, "overrides"),
                             "overrides.WL-DEMO-W01.hard_rnage: expected no such key"),
    "override unknown rule": (_set({"WL-DEMO-W01": {**UNDERPASS, "off": ["spikes"]}}, "overrides"),
                              "overrides.WL-DEMO-W01.off: expected QC rule names among ancient_time"),
    "override soft outside hard": (
        _set({"WL-DEMO-W01": {**UNDERPASS, "hard_range": {"min": 0, "max": 1.0, "source": "x"}}}, "overrides"),
        "expected overrides.WL-DEMO-W01: soft_range within hard_range [0, 1]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_sensors_file(deployment, case):
    change, expected = CASES[case]
    edit_yaml(deployment.parent / "models" / "sensors.yaml", change)
    text = messages(deployment)
    assert "models/sensors.yaml: " in text
    assert expected in text


def test_committed_file_loads_with_every_kind():
    params = load_model_file("sensors", ROOT / "models" / "sensors.yaml").params()
    assert set(params.kinds) == set(SensorKind)
    assert params.stale_factor == 3 and params.max_age.total_seconds() == 720 * 3600


def test_override_replaces_whole_sections_and_switches_rules_off(deployment):
    path = deployment.parent / "models" / "sensors.yaml"
    edit_yaml(path, _set({"WL-DEMO-W01": UNDERPASS}, "overrides"))
    assert messages(deployment) == ""
    params = load_model_file("sensors", path).params()
    th = params.overrides["WL-DEMO-W01"]
    assert th.hard_range == (-0.1, 4.0) and th.soft_range == params.kinds[SensorKind.WATER_LEVEL].soft_range
    assert th.off == frozenset({"rate_of_change"})
