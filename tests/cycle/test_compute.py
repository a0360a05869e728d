"""The gridded steps on a real dask.distributed LocalCluster (two worker processes) equal the single process.

The cluster is started once for the module (``min_cells: 0``, chunks of 1,000 cells, so the demo's
81 × 84 grid goes out in 7 chunks and its members to the workers). The kernels, the zonal statistics,
the gauges' field of the analysis, a nowcast's extrapolation and a forecast file read in parts are
compared bit for bit; the
cycle is run twice on the same ensemble run, on two fresh stores — once in the process, once on the
cluster — and everything it decided and stored must be the same.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from distributed import get_task_stream
from sqlalchemy import select

from tests.cycle.test_hazards import DEMO, deployment, ensemble
from tests.cycle.test_now_cycle import replay
from tests.geo.test_weights import zones
from tests.risk.test_nowcast import PARAMS, frames, moving
from warn.compute import Compute
from warn.config import ComputeSpec
from warn.cycle import run as run_cycle
from warn.geo.weights import build_weights, zonal_values
from warn.rainarray import issued_at
from warn.risk.analysis import inverse_distance
from warn.risk.flashflood import rolling_rain
from warn.risk.landslide import TankParams, effective_rainfall, soil_water_index
from warn.risk.nowcast import nowcast
from warn.risk.waterlogging import bucket_storage
from warn.sources.forecast import open_forecast
from warn.store import Store
from warn.store.schema import level_item_lists, level_memory, level_sets, model_states

#: The national coefficients (models/landslide.yaml), per hour, mm; 10-minute substeps.
TANK = TankParams(15, 0.10, 60, 0.15, 0.12, 15, 0.05, 0.05, 15, 0.01, 0.01, 1 / 6)

pytestmark = pytest.mark.slow  # a cluster of two processes and two whole cycles: about 30 s here


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes, for the module."""
    with Compute(ComputeSpec(scheduler="local", workers=2, min_cells=0, chunk_cells=1000)) as compute:
        assert compute.client() is not None
        yield compute


def test_the_kernels_on_chunks_of_cells_on_two_workers_equal_the_process_to_the_bit(cluster):
    rng = np.random.default_rng(20)
    rain = rng.gamma(0.4, 6.0, size=(72, 5003))
    rain[rng.random(rain.shape) < 0.01] = np.nan
    state = rng.uniform(0.0, 200.0, size=(3, 5003))
    with get_task_stream(client=cluster.client()) as tasks:
        swi, end = soil_water_index(rain, 1.0, state, params=TANK, cells=cluster)
    assert len(tasks.data) >= 6 and len({t["worker"] for t in tasks.data}) == 2  # chunks on both workers
    here_swi, here_end = soil_water_index(rain, 1.0, state, params=TANK)
    np.testing.assert_array_equal(swi, here_swi)
    np.testing.assert_array_equal(end, here_end)
    dry = np.nan_to_num(rain)
    np.testing.assert_array_equal(effective_rainfall(dry, half_life_h=72.0, cells=cluster),
                                  effective_rainfall(dry, half_life_h=72.0))
    np.testing.assert_array_equal(bucket_storage(rain, 5.0, runoff_coefficient=0.7, capacity_mm=20.0, cells=cluster),
                                  bucket_storage(rain, 5.0, runoff_coefficient=0.7, capacity_mm=20.0))
    np.testing.assert_array_equal(rolling_rain(rain, (1, 3, 6, 24), cells=cluster), rolling_rain(rain, (1, 3, 6, 24)))


def test_zonal_statistics_the_gauges_field_and_a_forecast_file_on_the_workers_equal_the_process(cluster):
    rng = np.random.default_rng(21)
    lat, lon = 29.0 + 0.01 * (np.arange(90) + 0.5), 106.0 + 0.01 * (np.arange(110) + 0.5)
    corners = rng.uniform([106.0, 29.0], [106.0 + 1.0, 29.0 + 0.8], (600, 2))
    weights = build_weights(zones(*[shapely.box(x, y, x + 0.08, y + 0.08) for x, y in corners]), lat, lon,
                            id_column="zone_id")
    values = rng.gamma(0.5, 4.0, (24, 90, 110)).astype(np.float32)
    values[values < 0.2] = np.nan
    with get_task_stream(client=cluster.client()) as tasks:
        spread = zonal_values(values, weights, workers=cluster)
    assert len({t["worker"] for t in tasks.data}) == 2  # the zones' parts on both workers
    for got, here in zip(spread, zonal_values(values, weights), strict=True):
        assert got.tobytes() == here.tobytes()

    gauges = rng.uniform([29.0, 106.0], [29.9, 107.1], (40, 2)).T
    depth = rng.gamma(0.5, 6.0, 40)
    with get_task_stream(client=cluster.client()) as tasks:
        field = inverse_distance(*gauges, depth, lat, lon, power=2.0, radius_km=12.0, cells=cluster)
    assert len(tasks.data) >= 9  # 9,900 cells in chunks of 1,000
    assert field.tobytes() == inverse_distance(*gauges, depth, lat, lon, power=2.0, radius_km=12.0).tobytes()
    assert np.isnan(field).any() and np.isfinite(field).any()  # some cells beyond every gauge's reach

    with get_task_stream(client=cluster.client()) as tasks:
        run = open_forecast(DEMO, source="demo", workers=cluster)
    assert len(tasks.data) >= 2 and run.identical(open_forecast(DEMO, source="demo"))


def test_a_nowcast_extrapolated_on_the_workers_equals_the_process(cluster):
    radar = frames(moving(3))
    radar.values[-1, :, 50:] = np.nan  # beyond the radar's coverage: unknown, never 0
    with get_task_stream(client=cluster.client()) as tasks:
        spread = nowcast(radar, PARAMS, cells=cluster)
    assert len({t["worker"] for t in tasks.data}) == 2  # 4,096 cells in chunks of 1,000
    here = nowcast(radar, PARAMS)
    assert spread.identical(here) and np.isnan(here.values).any() and (here.values > 1.0).any()


def test_a_worker_error_reaches_the_caller_as_it_would_here(cluster):
    rain = np.full((3, 2500), 1.0)
    rain[1, 1700] = -1.0
    with pytest.raises(ValueError, match="must not be negative"):
        soil_water_index(rain, 1.0, params=TANK, cells=cluster)


def cycle(folder, compute):
    """One cycle at the demo run's issue time on an ensemble of it, on a fresh store in ``folder``: what it
    reported and what it stored."""
    settings = deployment(folder)
    rain = ensemble(open_forecast(DEMO, source="demo").isel(time=slice(0, 24)))
    at = issued_at(rain)
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        report = run_cycle(settings, store, at, rain=rain, sender="warn@test", compute=compute)
        with store.engine.connect() as conn:
            rows = {table.name: [tuple(r) for r in conn.execute(
                        select(*(c for c in table.c if c.name != "updated_at")).order_by(*table.primary_key))]
                    for table in (model_states, level_memory, level_item_lists, level_sets)}
        rows["levels"] = store.levels.history(lead=None)
    return report, rows


def test_an_ensemble_cycle_on_the_cluster_decides_and_stores_what_the_process_does(cluster, tmp_path):
    with get_task_stream(client=cluster.client()) as tasks:
        distributed, stored = cycle(tmp_path / "cluster", cluster)
    assert {t["worker"] for t in tasks.data} and len(tasks.data) >= 2  # the two other members went out
    alone, alone_stored = cycle(tmp_path / "process", None)
    assert distributed.items == alone.items > 0
    assert distributed.crossings == alone.crossings  # none: a fresh store's levels now are unknown
    assert distributed.notes == alone.notes and distributed.notices == alone.notices
    assert distributed.actions == alone.actions and len(distributed.messages) == len(alone.messages)
    assert stored == alone_stored
    assert stored["model_states"] and stored["levels"]
    assert any(level.probability for _, level in stored["levels"])  # the members' probabilities are stored
    assert max(level.level for _, level in stored["levels"]) == 4  # red at a lead: the levels compared are not all none


def test_a_replay_with_radar_and_gauges_on_a_cluster_stores_what_the_process_does(tmp_path, monkeypatch):
    # the whole pull through the service: the run's file read in parts, the analysis's gauge field and the
    # nowcast's extrapolation over chunks of cells, the kernels, the zonal statistics by parts of the zones
    sent: list[str] = []  # each step that reached the workers, by its function

    def watched(original):
        def send(self, work, *args, **kwargs):
            if self._workers() is not None:
                sent.append(getattr(getattr(work, "func", work), "__name__", repr(work)))
            return original(self, work, *args, **kwargs)
        return send

    monkeypatch.setattr(Compute, "__call__", watched(Compute.__call__))
    monkeypatch.setattr(Compute, "map", watched(Compute.map))

    def on(compute):
        def change(data):
            data["compute"] = compute
        return change

    (tmp_path / "cluster").mkdir()
    (tmp_path / "process").mkdir()
    spread = replay(tmp_path / "cluster", on({"scheduler": "local", "workers": 2, "min_cells": 0,
                                              "chunk_cells": 1000}))
    assert {"_read_part", "_gauges_at", "_along_trajectories", "_part_statistics", "_decayed", "_bucket"} <= set(sent)
    sent.clear()
    alone = replay(tmp_path / "process", on({"scheduler": "none"}))
    assert not sent
    tables = {"cycles": "select at, items, crossings, actions, messages from cycles order by at",
              "level_sets": "select cycle_at, hazard, item_kind, lead, levels, scores, drivers, probability "
                            "from level_sets order by cycle_at, hazard, item_kind, lead",
              "model_states": "select model, key, valid_at, arrays from model_states order by model, key"}
    for name, query in tables.items():
        got, expected = spread.execute(query).fetchall(), alone.execute(query).fetchall()
        assert got == expected and expected, name
    inputs = [[_without_fetch(json.loads(row[0])) for row in db.execute("select inputs from cycles order by at")]
              for db in (spread, alone)]
    assert inputs[0] == inputs[1] and all(i["observed"]["nowcast"]["issued"] for i in inputs[1])


def _without_fetch(inputs: dict) -> dict:
    """A cycle's inputs less what differs between two replays' fetches: wall-clock times, the cache's path and the
    demo feed's port."""
    forecast = {k: v for k, v in inputs["forecast"].items()
                if k not in ("fetched_at", "last_modified", "path", "url")}
    return inputs | {"forecast": forecast}


def test_small_work_stays_in_the_process_without_a_cluster():
    compute = Compute(ComputeSpec(scheduler="local", min_cells=10_000))
    swi, _ = soil_water_index(np.ones((4, 9_999)), 1.0, params=TANK, cells=compute)
    assert not compute.running and swi.shape == (4, 9_999)
    assert compute.distributes(10_000) and not Compute.here().distributes(10**9)
