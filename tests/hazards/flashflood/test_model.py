"""models/flashflood.yaml: the committed file loads into frozen parameters; each validation rule rejects
a broken copy with a message that names the file, the key and what was expected."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from warn.declarative import parse_file
from warn.errors import ConfigError
from warn.hazards.flashflood.model import FlashFloodFile

MODEL = Path(__file__).resolve().parents[3] / "models" / "flashflood.yaml"


def test_the_committed_model_file_loads():
    params = parse_file(FlashFloodFile, MODEL).params()
    assert params.durations_h == (1, 3, 6)
    assert params.wetness.max_reduction == pytest.approx(0.3)
    assert params.tank.substep_h == pytest.approx(1 / 6)
    assert params.levels.boundaries == (25.0, 50.0, 70.0, 85.0)
    assert (params.approach, params.orange) == (0.8, 0.5)
    assert params.spin_up.days == 7


def _set(value, *keys):
    def edit(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value
    return edit


def _drop(*keys):
    def edit(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]
    return edit


CASES = {
    "wrong model name": (_set("flash_flood", "model"), "model: expected 'flashflood', got 'flash_flood'"),
    "version zero": (_set(0, "version"), "version: expected greater than or equal to 1"),
    "unknown key": (_set(1, "wetness", "swi_dry_mm"), "wetness.swi_dry_mm: expected no such key"),
    "no durations": (_set([], "durations", "hours"), "durations.hours: expected List should have at least 1 item"),
    "duration of zero hours": (_set([0, 3, 6], "durations", "hours"),
                               "durations.hours.0: expected greater than or equal to 1"),
    "duration beyond a day": (_set([1, 3, 48], "durations", "hours"),
                              "durations.hours.2: expected less than or equal to 24"),
    "durations out of order": (_set([3, 1, 6], "durations", "hours"),
                               "durations.hours: expected hours increasing, each listed once, got [3, 1, 6]"),
    "durations without source": (_drop("durations", "source"), "durations.source: expected this key"),
    "tank outlets out of order": (_set(70, "tank", "L1"), "tank: expected L1 below L2 (L1 70, L2 60)"),
    "negative normal wetness": (_set(-5, "wetness", "swi_normal_mm"),
                                "wetness.swi_normal_mm: expected greater than or equal to 0"),
    "wet not above normal": (_set(30, "wetness", "swi_wet_mm"),
                             "wetness: expected swi_normal_mm below swi_wet_mm (swi_normal_mm 40, swi_wet_mm 30)"),
    "reduction of the whole threshold": (_set(1.0, "wetness", "max_reduction"),
                                         "wetness.max_reduction: expected less than 1"),
    "negative reduction": (_set(-0.1, "wetness", "max_reduction"),
                           "wetness.max_reduction: expected greater than or equal to 0"),
    "wetness without source": (_set("", "wetness", "source"),
                               "wetness.source: expected String should have at least 1 character"),
    "approach of the whole threshold": (_set(1.0, "colours", "approach"), "colours.approach: expected less than 1"),
    "orange at 准备转移": (_set(0, "colours", "orange"), "colours.orange: expected greater than 0"),
    "spin-up of zero": (_set("PT0S", "wetness", "spin_up"), "wetness.spin_up: expected a duration longer than zero"),
    "missing colours": (_drop("colours"), "colours: expected this key"),
    "boundaries beyond the scale": (_set([25, 50, 70, 120], "levels", "boundaries"),
                                    "levels: expected boundaries between 0 and 100"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_model_file_is_rejected_naming_the_key(case, tmp_path):
    edit, message = CASES[case]
    data = copy.deepcopy(yaml.safe_load(MODEL.read_text(encoding="utf-8")))
    edit(data)
    path = tmp_path / "flashflood.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_file(FlashFloodFile, path)
    assert f"{path}: {message}" in str(err.value)
