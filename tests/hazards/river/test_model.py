"""models/river.yaml: the committed file loads; each validation rule rejects a broken copy naming the file, the
key and what was expected; `warn check` holds every gauge's highest recorded stage to the file's declaration."""

from __future__ import annotations

import copy
from datetime import timedelta

import geopandas as gpd
import pytest
import yaml

from tests.conftest import ROOT, committed_data
from tests.helpers import drop, messages, set_value
from warn.declarative import parse_file
from warn.errors import ConfigError
from warn.hazards.river.model import RiverFile

MODEL = ROOT / "models" / "river.yaml"


def test_the_committed_model_file_loads():
    params = parse_file(RiverFile, MODEL).params()
    assert params.ladder.approach_margin_m == 1.0 and params.ladder.forecast_horizon == timedelta(hours=6)
    assert params.ladder.rate.window == timedelta(hours=1) and params.ladder.rate.min_readings == 3
    assert params.highest_field == "highest_stage_m"


CASES = {
    "wrong model name": (set_value("waterlogging", "model"), "model: expected 'river', got 'waterlogging'"),
    "negative margin": (set_value(-1, "approach", "margin_m"), "approach.margin_m: expected greater than or equal to 0"),
    "zero horizon": (set_value("PT0S", "approach", "horizon"), "approach.horizon: expected a duration longer than zero"),
    "one reading for a slope": (set_value(1, "rate", "min_readings"),
                                "rate.min_readings: expected greater than or equal to 2"),
    "rule without source": (drop("stages", "source"), "stages.source: expected this key"),
    "a gauge declared twice": (set_value(["DEMO-R01", "DEMO-R01"], "highest_stage", "unavailable"),
                               "highest_stage: expected each gauge listed once in unavailable (twice: DEMO-R01)"),
    "unknown key": (set_value(1.0, "approach", "near_m"), "approach.near_m: expected no such key"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_model_file_is_rejected_naming_the_key(case, tmp_path):
    edit, message = CASES[case]
    data = copy.deepcopy(yaml.safe_load(MODEL.read_text(encoding="utf-8")))
    edit(data)
    path = tmp_path / "river.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_file(RiverFile, path)
    assert f"{path}: {message}" in str(err.value)


def deployment(tmp_path, unavailable: list[str], highest: list[float] | None = None):
    """The committed deployment with models/river.yaml declaring ``unavailable`` and, given ``highest``, the
    gauges' highest recorded stages in a copy of their layer."""
    data = committed_data(tmp_path)
    model = yaml.safe_load(MODEL.read_text(encoding="utf-8"))
    model["highest_stage"]["unavailable"] = unavailable
    (tmp_path / "river.yaml").write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    data["hazards"]["river"]["model"] = str(tmp_path / "river.yaml")
    if highest is not None:
        layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="river_gauges")
        layer["highest_stage_m"] = highest
        layer.to_file(tmp_path / "gauges.gpkg", layer="river_gauges")
        data["layers"]["river_gauges"]["path"] = str(tmp_path / "gauges.gpkg")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_check_refuses_a_missing_record_that_is_not_declared(tmp_path):
    text = messages(deployment(tmp_path, ["DEMO-R02", "DEMO-R03"]))
    assert "river_gauges: DEMO-R01.highest_stage_m: expected the highest recorded stage (历史最高水位)" in text
    assert "DEMO-R02" not in text


def test_check_refuses_a_declaration_that_the_layer_contradicts(tmp_path):
    text = messages(deployment(tmp_path, ["DEMO-R01", "DEMO-R09"], highest=[7.0, 5.5, float("nan")]))
    assert "highest_stage.unavailable: expected only gauges without highest_stage_m, got DEMO-R01 (7 m)" in text
    assert "highest_stage.unavailable: expected gauges of" in text and "got DEMO-R09" in text
    assert "DEMO-R02: expected stages 警戒 (warning) < 保证 (guaranteed) < 历史最高 (highest), m, got 5 / 6.5 / 5.5" \
        in text
    assert "DEMO-R03.highest_stage_m" in text
