"""The orchestrator on an ensemble run: levels and state from the control, probabilities over the members.

The ensemble is built from the demo run (demo/forecast/yubei-demo-analogue_2026071500.nc, its
first 24 hours): member 0 (the control) is the run itself, member 1 the run × 0 (dry), member 2
the run × 1.5. Each member is also scored alone as a single run on a store of its own; the
probabilities must be the fractions of those levels, the levels those of the control alone.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import xarray as xr
import yaml
from sqlalchemy import select

from tests.conftest import ROOT, committed_data
from warn import hazards, rainarray
from warn.config import Settings, load_settings
from warn.cycle.hazards import Scores, score
from warn.cycle.inputs import Inputs
from warn.hazards.spec import LEADS
from warn.rainarray import issued_at
from warn.sources.forecast import open_forecast
from warn.store import Store
from warn.store.schema import level_memory, model_states
from warn.vocab import Level

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
SCALES = {0: 1.0, 1: 0.0, 2: 1.5}  # member id → factor on the demo run; 0 is the control
COLOURS = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)


@pytest.fixture(scope="module")
def run() -> xr.DataArray:
    """The demo run's first 24 hours."""
    return open_forecast(DEMO, source="demo").isel(time=slice(0, 24))


def ensemble(run: xr.DataArray) -> xr.DataArray:
    """The members of :data:`SCALES` as one contract array, control 0."""
    members = xr.concat([run * factor for factor in SCALES.values()], dim="member")
    members = members.assign_coords(member=list(SCALES)).transpose("member", "time", "lat", "lon")
    members.attrs = {**run.attrs, "control_member": 0}
    return rainarray.check_rain(members.rename("rain"), where="ensemble")


def deployment(folder: Path) -> Settings:
    """The committed deployment with its store and cache in ``folder``."""
    folder.mkdir()
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(committed_data(folder), allow_unicode=True), encoding="utf-8")
    return load_settings(path)


def scored(folder: Path, rain: xr.DataArray) -> tuple[Scores, list[tuple]]:
    """Every hazard scored on ``rain`` at its issue time on a fresh store in ``folder``, and the
    model states and remembered levels the store holds after."""
    settings = deployment(folder)
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        inputs = Inputs(rain, {"source": "demo", "issued": issued_at(rain).isoformat()}, True, 0, {}, ())
        out = score(settings, store, inputs, issued_at(rain), rescore=frozenset(hazards.names()))
        with store.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(select(model_states.c.model, model_states.c.key,
                                                          model_states.c.valid_at, model_states.c.arrays)
                                                   .order_by(model_states.c.model, model_states.c.key))]
            memory = level_memory.c
            rows += [tuple(r) for r in conn.execute(select(memory.hazard, memory.item_id, memory.level,
                                                           memory.below_since, memory.evidence_at)
                                                    .order_by(memory.hazard, memory.item_id))]
    return out, rows


@pytest.fixture(scope="module")
def results(run, tmp_path_factory):
    """The ensemble scored, and each member scored alone (with what each left in its store)."""
    folder = tmp_path_factory.mktemp("ensemble")
    together = scored(folder / "ensemble", ensemble(run))
    alone = {ident: scored(folder / f"member{ident}", run * factor) for ident, factor in SCALES.items()}
    return together, alone


def levels(scores: Scores) -> dict[tuple[str, str], dict[str, Level]]:
    return {(name, item.item_id): dict(item.levels) for name, s in scores.scored.items() for item in s.items}


def test_levels_drivers_and_state_are_the_control_members(results):
    (together, stored), alone = results
    control, control_stored = alone[0]
    assert levels(together) == levels(control)
    assert [i.level for i in together.items] == [i.level for i in control.items]
    assert stored == control_stored  # the other members wrote nothing
    assert stored  # and the control did persist its state
    for name, s in together.scored.items():
        for item, single in zip(s.items, control.scored[name].items, strict=True):
            for lead in LEADS:
                assert item.drivers[lead][:len(single.drivers[lead])] == single.drivers[lead]


def test_each_probability_is_the_fraction_of_members_at_or_above_the_level(results):
    (together, _), alone = results
    per_member = [levels(s) for s, _ in alone.values()]
    checked = 0
    for name, s in together.scored.items():
        for item in s.items:
            for lead in LEADS:
                known = [m[(name, item.item_id)][lead] for m in per_member
                         if m[(name, item.item_id)][lead] != Level.UNKNOWN]
                for colour in COLOURS:
                    got = item.probability[lead][colour]
                    if not known:
                        assert math.isnan(got)
                        continue
                    assert got == pytest.approx(sum(level >= colour for level in known) / len(known))
                    checked += 1
    assert checked > 400


def test_a_steep_zone_red_in_the_control_and_the_wetter_member_is_red_at_two_in_three(results):
    (together, _), _ = results
    zone = next(i for i in together.scored["landslide"].items if i.item_id == "DEMO-T05")
    assert zone.levels["24h"] == Level.RED
    assert zone.probability["24h"] == {Level.BLUE: pytest.approx(2 / 3), Level.YELLOW: pytest.approx(2 / 3),
                                       Level.ORANGE: pytest.approx(2 / 3), Level.RED: pytest.approx(2 / 3)}
    assert zone.drivers["24h"][-1] == "红色概率 67 % / red probability 67 %"


def test_an_unknown_level_now_has_no_probability_and_no_line(results):
    (together, _), _ = results
    cold = [i for i in together.scored["landslide"].items if i.levels["now"] == Level.UNKNOWN]
    assert cold  # a fresh store: no soil-water state, the level now is unknown in every member
    for item in cold:
        assert all(math.isnan(p) for p in item.probability["now"].values())
        assert not any("概率" in d for d in item.drivers["now"])


def test_the_cycles_items_carry_the_probability_now(results):
    (together, _), _ = results
    for item in together.items:
        named = together.scored[item.hazard]
        match = next(i for i in named.items if i.item_id == item.item_id and i.item == item.item)
        assert item.probability == match.probability


def test_a_single_run_gives_no_probability(results):
    _, alone = results
    control, _ = alone[0]
    assert all(not item.probability for s in control.scored.values() for item in s.items)
    assert all(not item.probability for item in control.items)
    assert not any("概率" in d for s in control.scored.values() for item in s.items for d in item.drivers["24h"])
