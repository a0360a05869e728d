"""`warn check` on models/landslide.yaml: each broken parameter is named by file, key and expectation."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.helpers import drop as _drop
from tests.helpers import edit_yaml, messages
from tests.helpers import set_value as _set
from warn import hazards
from warn.vocab import Level

ZONE = {"swi_mm": [100, 130, 160, 200], "source": "steep cut slopes along the G65 (survey 2025)"}

CASES = {
    "half-life not positive": (_set(0, "effective_rain", "half_life_h"),
                               "effective_rain.half_life_h: expected greater than 0"),
    "half-life beyond the kept rain": (_set(100, "effective_rain", "half_life_h"),
                                       "effective_rain.half_life_h: expected less than or equal to 72"),
    "the old decay factor": (_set(0.8, "effective_rain", "k"), "effective_rain.k: expected no such key"),
    "critical line without its rain axis": (_drop("trigger", "default", "rain_60min_mm"),
                                            "trigger.default.rain_60min_mm: expected this key"),
    "rain intercepts not increasing": (_set([50, 90, 70, 120], "trigger", "default", "rain_60min_mm"),
                                       "trigger.default.rain_60min_mm: expected strictly increasing values"),
    "missing tank coefficient": (_drop("tank", "beta3"), "tank.beta3: expected this key"),
    "negative tank coefficient": (_set(-0.1, "tank", "alpha2"), "tank.alpha2: expected greater than 0"),
    "outlets out of order": (_set(70, "tank", "L1"), "tank: expected L1 below L2 (L1 70, L2 60)"),
    "zero substep": (_set("PT0S", "tank", "substep"), "tank.substep: expected a duration longer than zero"),
    "unknown tank key": (_set(0.1, "tank", "alpha5"), "tank.alpha5: expected no such key"),
    "thresholds not increasing": (_set([90, 150, 120, 180], "trigger", "default", "swi_mm"),
                                  "trigger.default.swi_mm: expected strictly increasing values (got 90, 150, 120, 180)"),
    "three thresholds": (_set([50, 80, 120], "trigger", "default", "effective_rain_mm"),
                         "trigger.default.effective_rain_mm: expected List should have at least 4 items"),
    "zone without source": (_set({"T1": {"swi_mm": [100, 130, 160, 200]}}, "trigger", "zones"),
                            "trigger.zones.T1.source: expected this key"),
    "boundaries beyond the scale": (_set([25, 50, 70, 120], "levels", "boundaries"),
                                    "levels: expected boundaries between 0 and 100"),
    "hold not a duration": (_set("1h", "levels", "hold"), "levels.hold: expected an ISO-8601 duration like PT1H"),
    "matrix missing class": (_drop("matrix", "classes", 3), "matrix: expected the classes 1–5 once each (got 1, 2, 4, 5)"),
    "matrix unknown level": (_set(["none", "none", "green", "blue", "blue"], "matrix", "classes", 2),
                             "matrix.classes.2.2: expected 'none', 'blue', 'yellow', 'orange' or 'red'"),
    "matrix row falls": (_set(["none", "blue", "none", "yellow", "orange"], "matrix", "classes", 3),
                         "matrix: expected class 3: levels that never fall as the trigger level rises"),
    "matrix column falls": (_set(["none", "none", "none", "yellow", "orange"], "matrix", "classes", 4),
                            "matrix: expected class 4: levels at least those of class 3"),
    "fill not a fraction": (_set("one third", "dangerous_rock", "water_fill", "normal"),
                            "dangerous_rock.water_fill.normal: expected a valid number"),
    "fill above one": (_set("4/3", "dangerous_rock", "water_fill", "rainstorm"),
                       "dangerous_rock.water_fill.rainstorm: expected less than or equal to 1"),
    "storm fill below normal": (_set(0.2, "dangerous_rock", "water_fill", "rainstorm"),
                                "dangerous_rock.water_fill: expected rainstorm at least normal"),
    "rungs upside down": (_set([{"below": 1.0, "level": "orange"}, {"below": 1.05, "level": "red"}],
                               "dangerous_rock", "stability", "rungs"),
                          "dangerous_rock.stability: expected a higher level for each lower K"),
    "wrong model name": (_set("landslides", "model"), "model: expected 'landslide', got 'landslides'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_landslide_file(deployment, case):
    change, expected = CASES[case]
    edit_yaml(deployment.parent / "models" / "landslide.yaml", change)
    text = messages(deployment)
    assert "models/landslide.yaml: " in text
    assert expected in text


def test_committed_file_loads_with_the_documented_defaults():
    params = hazards.load_model("landslide", ROOT / "models" / "landslide.yaml").params()
    assert params.half_life_h == 12
    assert params.trigger.rain_60min_mm == (70, 90, 110, 140) and params.trigger.swi_mm == (90, 120, 150, 180)
    t = params.tank
    assert (t.L1, t.alpha1, t.L2, t.alpha2, t.beta1) == (15, 0.10, 60, 0.15, 0.12)
    assert (t.L3, t.alpha3, t.beta2, t.L4, t.alpha4, t.beta3) == (15, 0.05, 0.05, 15, 0.01, 0.01)
    assert t.substep_h == pytest.approx(1 / 6)
    assert params.levels.boundaries == params.trigger.scores == (25, 50, 70, 85)
    assert params.trigger.provisional
    assert all(level <= Level.BLUE for row in params.matrix[:2] for level in row)
    assert params.matrix[4][Level.RED] is Level.RED
    assert params.rock.normal_fill == pytest.approx(1 / 3) and params.rock.rainstorm_fill == pytest.approx(2 / 3)


def test_zone_override_keeps_the_other_quantity(deployment):
    path = deployment.parent / "models" / "landslide.yaml"
    edit_yaml(path, _set({"T1": ZONE}, "trigger", "zones"))
    assert messages(deployment) == ""
    params = hazards.load_model("landslide", path).params()
    t1 = params.thresholds_for("T1")
    assert t1.swi_mm == (100, 130, 160, 200) and t1.effective_rain_mm == params.trigger.effective_rain_mm
    assert t1.rain_60min_mm == params.trigger.rain_60min_mm
    assert params.thresholds_for("T2") is params.trigger
