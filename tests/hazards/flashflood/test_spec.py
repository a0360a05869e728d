"""The 山洪 hazard's declaration agrees with its model file, its layer, its playbook and its scoring; it is registered."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from warn.declarative import parse_file
from warn.hazards.flashflood import SPEC
from warn.hazards.flashflood.scoring import critical_fields
from warn.hazards.spec import Input
from warn.vocab import ItemKind

ROOT = Path(__file__).resolve().parents[3]


def test_the_spec_declares_catchments_rain_and_its_files():
    role = SPEC.role("catchments")
    assert (role.item, role.kind) == ("catchment", ItemKind.CATCHMENT)
    assert SPEC.inputs == frozenset({Input.RAIN})
    assert SPEC.cap.category == "Met"
    assert all((ROOT / "playbooks" / f"{name}.yaml").is_file() for name in SPEC.playbooks)


def test_the_role_fields_cover_the_model_durations_and_the_committed_layer_has_them():
    params = parse_file(SPEC.model(), ROOT / "models" / "flashflood.yaml").params()
    assert set(critical_fields(params)) <= set(SPEC.role("catchments").fields)
    layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="catchments")
    assert set(SPEC.role("catchments").fields) <= set(layer.columns)


def test_flashflood_is_registered_and_deployed_by_the_committed_config():
    from warn.config import load_settings
    from warn.hazards import deployed, get

    assert get("flashflood") is SPEC
    (hazard,) = deployed(load_settings(ROOT / "config.yaml"), only="flashflood")
    assert hazard.section.layers == {"catchments": "catchments"}
    assert hazard.params.durations_h == (1, 3, 6)
