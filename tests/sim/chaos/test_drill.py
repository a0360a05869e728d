"""The chaos drill in CI: an hour of the demo storm through a real ``warn run`` under each group of faults.

Each case runs the storm's first wet hour (2026-07-15 03:00–04:00Z, the drill's drain after it)
with one fault of each kind of its group at steps drawn from the seed, and checks every invariant against itself
and against the fault-free run of the same seed (run once for the module). The full storm
with every fault is bench/chaos.py. Needs the mosquitto binary (the drill starts its own broker).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import ROOT
from warn.sim.chaos.broker import mosquitto_binary
from warn.sim.chaos.drill import STEP, Plan, run_drill
from warn.config import load_settings
from warn.sim.chaos.faults import Fault, schedule
from warn.sim.chaos.invariants import SELF_INVARIANTS, same_outcome
from warn.store import Store

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mosquitto_binary() is None,
                                 reason="the chaos drill starts its own broker: mosquitto is not installed")]

SEED = 15
START = datetime(2026, 7, 15, 3, tzinfo=timezone.utc)
END = START + timedelta(hours=1)
#: The fault groups, one CI case each: everything the service itself must ride out, and the hostile
#: official source (bounded network inputs, issue 15 part 3).
GROUPS = {
    "service_store_broker_sensors_channels": ("kill", "store_locked", "store_locked_restart", "broker_restart",
                                              "sensor_duplicate", "sensor_reorder", "mqtt_poison", "channel_fail",
                                              "channel_hang", "channel_trickle"),
    "official_source": ("official_huge", "official_trickle", "official_redirect", "official_foreign"),
}
def broken(run, reference) -> dict[str, list[str]]:
    """What broke, by invariant (empty lists left out)."""
    found = {name: check(run.outcome) for name, check in SELF_INVARIANTS.items()}
    found["every_cycle_done"] = run.stalls
    if reference is not None:
        found["same_outcome"] = same_outcome(run.outcome, reference.outcome)
    return {name: items for name, items in found.items() if items}


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory):
    return run_drill(ROOT / "config.yaml", tmp_path_factory.mktemp("chaos") / "fault-free", Plan(SEED, START, END))


def test_the_fault_free_drill_holds_every_invariant_and_warns(fault_free):
    assert broken(fault_free, None) == {}
    assert fault_free.outcome.warnings and fault_free.outcome.received and fault_free.starts == 1


@pytest.mark.parametrize("group", GROUPS)
def test_under_faults_every_invariant_holds_and_the_drill_ends_as_the_fault_free_run(group, fault_free, tmp_path):
    kinds = GROUPS[group]
    faults = schedule(SEED, START, END, STEP, len(kinds), kinds)
    run = run_drill(ROOT / "config.yaml", tmp_path / group, Plan(SEED, START, END, tuple(faults)))
    assert len(run.injected) == len(kinds), run.injected
    assert broken(run, fault_free) == {}, "\n".join(run.injected)


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_the_leader_killed_mid_cycle_hands_over_to_the_standby_and_the_drill_ends_as_the_uninterrupted_run(
        store_url, fault_free, tmp_path):
    at = START + timedelta(minutes=20)  # a cycle of the storm's first wet hour
    plan = Plan(SEED, START, END, (Fault("leader_kill", at, 1, 0.0),), standbys=1)
    run = run_drill(ROOT / "config.yaml", tmp_path / "failover", plan, store_url=store_url)
    assert broken(run, fault_free) == {}  # every cycle done in time, nothing repeated or lost, as the single run
    assert (run.starts, run.kills, run.exits) == (2, 1, 0)  # the leader killed and never started again
    with Store.connect(store_url) as store:
        lease = store.leases.get(load_settings(ROOT / "config.yaml").deployment.district_code)
    assert lease is not None and lease.term == 2  # one change of holder
    cycle = f"预警周期 {at:%Y-%m-%d %H:%M:%S}Z："
    killed, standby = ((tmp_path / "failover" / f"service-{i}.log").read_text(encoding="utf-8") for i in (0, 1))
    if "(term 2)" in killed:  # the second process won the first election
        killed, standby = standby, killed
    assert "(term 1)" in killed and cycle not in killed  # killed in that cycle, before it ended
    assert "(term 2)" in standby and cycle in standby  # the standby led from then on and did that cycle
