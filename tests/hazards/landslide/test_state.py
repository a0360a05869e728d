"""The landslide state: the storages at t0 and the run's rain, run forward when the next cycle needs them;
a state saved in the earlier form (the storages of every hour) is continued from alike."""

from __future__ import annotations

import numpy as np

from tests.conftest import ROOT
from tests.factories import hazard_context
from tests.hazards.landslide.test_scoring import run_at, storm  # noqa: F401 (the module's fixture)
from warn import hazards
from warn.config import load_settings
from warn.geo.weights import GridSpec
from warn.hazards.landslide.scoring import SAVED_HOURS, STATE_MODEL, score_landslide, storages_at
from warn.risk.landslide import soil_water_index
from warn.store import Store


def test_a_state_of_either_form_continues_the_same(tmp_path, storm):  # noqa: F811
    settings = load_settings(ROOT / "config.yaml")
    params = hazards.load_model("landslide", settings.hazards["landslide"].model).params()
    first, second = run_at(storm, 3), run_at(storm, 4)
    grid = GridSpec.from_coords(first["lat"].values, first["lon"].values)
    stores = []
    for name in ("new", "old"):
        store = Store.connect(f"sqlite:///{tmp_path / name}.sqlite")
        store.upgrade()
        score_landslide(hazard_context(settings, "landslide", first, store=store, persist=True, without=("points",)))
        stores.append(store)
    saved = stores[1].load_state(STATE_MODEL, grid.signature)
    assert set(saved.arrays) == {"valid", "start", "tanks", "rain"} and saved.arrays["tanks"].shape[0] == 1
    # the earlier form: the storages after each saved hour, run the way the cycle used to run them
    tanks, current = [], saved.arrays["tanks"][0]
    for hour in saved.arrays["rain"]:
        _, current = soil_water_index(hour[None], 1.0, current, params=params.tank)
        tanks.append(current)
    stores[1].save_state(STATE_MODEL, grid.signature, valid_at=saved.valid_at,
                         arrays={"valid": saved.arrays["valid"], "tanks": np.stack(tanks)}, detail=saved.detail)
    results = [score_landslide(hazard_context(settings, "landslide", second, store=store, without=("points",)))
               for store in stores]
    assert all("continued from the state" in result.notes[0] for result in results)
    new, old = ([(i.item_id, i.levels, i.swi_max, [d.text() for lead in i.drivers.values() for d in lead])
                 for i in result.items] for result in results)
    assert new == old and all(levels["now"] >= 0 for _, levels, _, _ in new)  # known now: continued
    for store in stores:
        store.close()


def test_the_state_keeps_the_runs_rain_as_it_came_and_gives_the_storages_the_cycle_ran(tmp_path, storm):  # noqa: F811
    """The rain is kept in the run's float32 (half the bytes of the float64 copy the forecast ran on, exactly
    as much), and run forward from t0 it gives the storages the cycle's float64 run gave, to the last bit."""
    settings = load_settings(ROOT / "config.yaml")
    params = hazards.load_model("landslide", settings.hazards["landslide"].model).params()
    run = run_at(storm, 3)
    grid = GridSpec.from_coords(run["lat"].values, run["lon"].values)
    with Store.connect(f"sqlite:///{tmp_path / 'warn.sqlite'}") as store:
        store.upgrade()
        score_landslide(hazard_context(settings, "landslide", run, store=store, persist=True, without=("points",)))
        saved = store.load_state(STATE_MODEL, grid.signature)
    rain = saved.arrays["rain"]
    assert run.dtype == np.float32 and rain.dtype == np.float32 and len(rain) == min(SAVED_HOURS, run.sizes["time"])
    np.testing.assert_array_equal(rain, run.values[:len(rain)])
    current = saved.arrays["tanks"][0]
    cold = saved.arrays["valid"][0] != saved.arrays["start"][0]  # a cold run's first valid time is after t0
    for k, hour in enumerate(run.values[:len(rain)].astype(np.float64)):
        _, current = soil_water_index(hour[None], 1.0, current, params=params.tank)
        np.testing.assert_array_equal(storages_at(saved.arrays, k + 1 - int(cold), params), current)
