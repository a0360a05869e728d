"""What the cycles keep in real tables: item levels and their basis, data notices, forecast runs,
official messages, zone rain and the planner's state (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.store.conftest import T0
from warn.command import State
from warn.cycle.command import decode, load_state, save_state
from sqlalchemy import select

from warn.errors import StoreError
from warn.store import HeldRun, ItemLevel, LevelBasis, OfficialMessage, Store, ZoneRain
from warn.store.schema import level_item_lists, level_sets
from warn.store.views import Views
from warn.vocab import Level

H = timedelta(hours=1)
DATA = Path(__file__).resolve().parent / "data"


def level(item_id: str, value: int, *, hazard: str = "landslide", lead: str = "now") -> ItemLevel:
    return ItemLevel(hazard, "zone", item_id, lead, value, 0.5, ("3 h 雨量 40 mm / 3 h rain 40 mm",))


def test_the_baseline_is_each_items_last_now_level_before_the_cycle(store: Store) -> None:
    store.levels.record(T0, [level("T1", 1), level("T2", 0), level("T1", 3, lead="24h")],
                        {"landslide": LevelBasis("run-a", {"T1": 2})})
    store.levels.record(T0 + H, [level("T1", 2), level("W1", -1, hazard="waterlogging")], {})

    assert store.levels.baseline(T0) == {}
    assert store.levels.baseline(T0 + H) == {("landslide", "zone", "T1"): 1, ("landslide", "zone", "T2"): 0}
    assert store.levels.baseline(T0 + 2 * H) == {("landslide", "zone", "T1"): 2, ("landslide", "zone", "T2"): 0,
                                                 ("waterlogging", "zone", "W1"): -1}
    assert store.levels.latest(T0 + H) == store.levels.baseline(T0 + 2 * H)
    # the basis: the last cycle before that scored the hazard from a run (T0 + H had none)
    assert store.levels.basis("landslide", T0) is None
    assert store.levels.basis("landslide", T0 + 2 * H) == LevelBasis("run-a", {"T1": 2})
    assert store.levels.basis("waterlogging", T0 + 2 * H) is None


def test_the_baseline_of_given_items_is_read_item_by_item_as_the_whole_one_gives_it(store: Store) -> None:
    store.levels.record(T0, [level("T1", 1), level("T2", 0), level("T1", 3, lead="24h"),
                             level("P1", 2, hazard="waterlogging")], {})
    store.levels.record(T0 + H, [level("T1", 2), level("T2", -1, lead="2h")], {})  # T2 and P1 not scored now
    store.levels.record(T0 + 2 * H, [level("T1", 4)], {})
    wanted = [("landslide", "zone", "T1"), ("landslide", "zone", "T2"), ("waterlogging", "zone", "P1"),
              ("landslide", "point", "T1"), ("landslide", "zone", "never"), ("landslide", "zone", "T1")]
    for before in (T0, T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + H + timedelta(microseconds=1)):
        whole = store.levels.baseline(before)
        assert store.levels.baseline(before, wanted) == {k: v for k, v in whole.items() if k in wanted}
    assert store.levels.baseline(T0 + 2 * H, wanted) == {("landslide", "zone", "T1"): 2, ("landslide", "zone", "T2"): 0,
                                                         ("waterlogging", "zone", "P1"): 2}
    assert store.levels.baseline(T0 + 2 * H, []) == {}


def test_a_rerun_of_a_cycle_replaces_its_levels_and_still_compares_with_what_it_found(store: Store) -> None:
    store.levels.record(T0, [level("T1", 1)], {"landslide": LevelBasis("run-a", {})})
    store.levels.record(T0 + H, [level("T1", 4)], {"landslide": LevelBasis("run-b", {})})
    assert store.levels.baseline(T0 + H) == {("landslide", "zone", "T1"): 1}  # the rerun's baseline
    store.levels.record(T0 + H, [level("T1", 3)], {"landslide": LevelBasis("run-c", {"T1": 1})})
    assert [(at, r.level) for at, r in store.levels.history(item_id="T1")] == [(T0, 1), (T0 + H, 3)]
    assert store.levels.basis("landslide", T0 + 2 * H) == LevelBasis("run-c", {"T1": 1})


def test_a_rerun_that_scores_fewer_items_gives_the_others_back_what_came_before(store: Store) -> None:
    store.levels.record(T0, [level("T1", 1)], {})
    store.levels.record(T0 + H, [level("T1", 4), level("T2", 2)], {})
    store.levels.record(T0 + H, [level("T2", 3)], {})  # the rerun leaves T1 out
    assert store.levels.latest(T0 + 2 * H) == {("landslide", "zone", "T1"): 1, ("landslide", "zone", "T2"): 3}
    store.levels.record(T0 + H, [level("T1", 2)], {})  # T2, first scored by the cycle's attempts, is gone
    assert store.levels.latest(T0 + 2 * H) == {("landslide", "zone", "T1"): 2}
    assert store.levels.baseline(T0 + H) == {("landslide", "zone", "T1"): 1}


def test_a_cycle_recorded_out_of_time_order_leaves_the_newer_level_last(store: Store) -> None:
    store.levels.record(T0 + H, [level("T1", 2)], {})
    store.levels.record(T0, [level("T1", 1), level("T2", 0)], {})
    assert store.levels.latest(T0 + H) == {("landslide", "zone", "T1"): 2, ("landslide", "zone", "T2"): 0}
    assert store.levels.latest(T0) == {("landslide", "zone", "T1"): 1, ("landslide", "zone", "T2"): 0}
    assert store.levels.baseline(T0) == {}


def test_levels_as_of_a_time_come_from_the_newest_set_that_listed_each_item(store: Store) -> None:
    store.levels.record(T0, [level("T1", 1), level("T2", 1), level("T3", 1), level("T1", 3, lead="24h")], {})
    store.levels.record(T0 + H, [level("T2", 2), level("T3", 2), level("P1", 1, hazard="waterlogging")], {})
    store.levels.record(T0 + 2 * H, [level("T2", 2), level("T3", 2)], {})  # the same list as T0 + H's
    store.levels.record(T0 + 3 * H, [level("T3", 4), level("T4", 1)], {})

    def now_levels(at: datetime) -> dict[str, int]:
        return {item_id: value for (_, _, item_id), value in store.levels.latest(at).items()}

    assert now_levels(T0 - timedelta(microseconds=1)) == {}
    assert now_levels(T0 + H / 2) == {"T1": 1, "T2": 1, "T3": 1}
    assert now_levels(T0 + 2 * H) == {"T1": 1, "T2": 2, "T3": 2, "P1": 1}
    assert now_levels(T0 + 3 * H) == {"T1": 1, "T2": 2, "T3": 4, "T4": 1, "P1": 1}
    assert store.levels.baseline(T0 + 3 * H, [("landslide", "zone", "T1"), ("landslide", "zone", "T4")]) == {
        ("landslide", "zone", "T1"): 1}
    with store.engine.connect() as conn:
        lists = conn.execute(select(level_item_lists.c.item_ids).order_by(level_item_lists.c.list_id)).scalars().all()
    assert lists == ['["T1"]', '["T1", "T2", "T3"]', '["T2", "T3"]', '["P1"]', '["T3", "T4"]']


def test_an_item_given_twice_at_one_lead_is_refused_and_nothing_is_written(store: Store) -> None:
    store.levels.record(T0, [level("T1", 1)], {})
    with pytest.raises(ValueError, match="landslide zone 'T1' is given twice at lead now"):
        store.levels.record(T0, [level("T1", 2), level("T2", 0), level("T1", 3)], {"landslide": LevelBasis("r", {})})
    assert store.levels.latest(T0) == {("landslide", "zone", "T1"): 1}
    assert store.levels.basis("landslide", T0 + H) is None


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("drivers", '[["3 h 雨量"]', "JSONDecodeError"),  # cut short
    ("drivers", "[]", "drivers 0"),  # no item's drivers
    ("scores", b"\x00" * 7, "ValueError: bytes length not a multiple of item size"),
    ("levels", b"\x01\x02\x03", "levels 3"),  # a level too many
])
def test_a_damaged_level_set_is_a_store_error_naming_it(store: Store, column: str, value: object,
                                                        expected: str) -> None:
    """A read of a damaged column of a set (the histories and an item's page read them all; the baseline and
    the screens' map only the levels) says which set it is and what it holds, as a StoreError, not an error
    from deep inside the decoding; a read that does not need the column still answers."""
    store.levels.record(T0, [level("T1", 1), level("T2", 2)], {})
    with store.engine.begin() as conn:
        conn.execute(level_sets.update().values({column: value}))
    with Views.open(store.engine.url.render_as_string(hide_password=False)) as views:
        of_levels = [lambda: store.levels.latest(T0), lambda: views.zones(T0)]
        for read in [store.levels.history, lambda: views.item_levels("T1", T0),
                     *(of_levels if column == "levels" else [])]:
            with pytest.raises(StoreError, match=f"level_sets landslide zone now of the cycle at .*{expected}"):
                read()
        if column != "levels":
            assert store.levels.latest(T0) == {("landslide", "zone", "T1"): 1, ("landslide", "zone", "T2"): 2}
            assert [(z.item_id, z.level) for z in views.zones(T0)] == [("T2", 2), ("T1", 1)]


def test_history_keeps_leads_scores_and_drivers(store: Store) -> None:
    rows = [level("T1", 2), level("T1", 3, lead="2h"), level("T1", 4, lead="24h")]
    store.levels.record(T0, rows, {})
    assert store.levels.history(item_id="T1", lead=None) == [(T0, r) for r in sorted(rows, key=lambda r: r.lead)]
    assert store.levels.history(hazard="waterlogging") == []
    assert store.levels.history(since=T0 + H) == []


def test_drivers_are_stored_as_the_json_array_of_each_items_texts(store: Store) -> None:
    texts = ("SWI 214 mm ≥ 橙色阈值 180 mm (+2 h)", 'quote " backslash \\ newline \n tab \t bell \x07', "")
    rows = [dataclasses.replace(level("T2", 1), drivers=()), dataclasses.replace(level("T1", 2), drivers=texts)]
    store.levels.record(T0, rows, {})
    with store.engine.connect() as conn:
        stored = conn.execute(select(level_sets.c.drivers)).scalar_one()
        ids = conn.execute(select(level_item_lists.c.item_ids)).scalar_one()
    assert (ids, stored) == ('["T1", "T2"]', json.dumps([list(texts), []], ensure_ascii=False))
    assert [r.drivers for _, r in store.levels.history(lead=None)] == [texts, ()]


def test_an_ensembles_probabilities_are_kept_with_the_level_and_a_single_runs_stay_null(store: Store) -> None:
    probability = {Level.BLUE: 1.0, Level.YELLOW: 2 / 3, Level.ORANGE: 0.0, Level.RED: 0.0}
    unknown = dict.fromkeys(probability, math.nan)  # no member's level known
    store.levels.record(T0, [dataclasses.replace(level("T1", 2), probability=probability),
                             dataclasses.replace(level("T1", -1, lead="2h"), probability=unknown),
                             level("T2", 1)], {})
    by_lead = {row.lead: row for _, row in store.levels.history(item_id="T1", lead=None)}
    assert all(math.isnan(p) for p in by_lead["2h"].probability.values())
    assert by_lead["now"].probability == probability
    assert store.levels.history(item_id="T2")[0][1].probability is None
    with store.engine.connect() as conn:
        stored = conn.execute(select(level_sets.c.probability).where(level_sets.c.lead == "now")).scalar_one()
    assert json.loads(stored) == [{"blue": 1.0, "yellow": 2 / 3, "orange": 0.0, "red": 0.0}, None]  # T1, T2


def test_the_item_view_shows_the_probability_by_colour_with_unknown_as_null(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'levels.db'}"
    with Store.connect(url) as store:
        store.upgrade()
        store.levels.record(T0, [dataclasses.replace(level("T1", 4), probability={
            Level.BLUE: 1.0, Level.YELLOW: 1.0, Level.ORANGE: 0.5, Level.RED: math.nan}), level("T2", 1)], {})
    with Views.open(url) as views:
        (t1,), (t2,) = views.item_levels("T1", T0), views.item_levels("T2", T0)
    assert t1.probability == {"blue": 1.0, "yellow": 1.0, "orange": 0.5, "red": None}
    assert t2.probability is None


def test_notices_in_force_begin_and_end(store: Store) -> None:
    store.notices.replace(T0, ["传感器 S1 中断 / sensor S1 stale", "无预报 / no run"])
    store.notices.replace(T0 + H, ["无预报 / no run", "传感器 S2 中断 / sensor S2 stale"])
    assert store.notices.in_force() == {"无预报 / no run": T0, "传感器 S2 中断 / sensor S2 stale": T0 + H}
    store.notices.replace(T0 + 2 * H, [])
    assert store.notices.in_force() == {}


def test_a_source_holds_one_run_and_keeps_the_others_fetched(store: Store) -> None:
    first = HeldRun("demo", T0, T0 + timedelta(minutes=3), "sha256:aa", "http://feed/a.nc", "/cache/a.nc", '"aa"',
                    None)
    second = HeldRun("demo", T0 + H, T0 + H, "sha256:bb", "http://feed/b.nc", "/cache/b.nc")
    assert store.runs.held("demo") is None
    store.runs.hold(first, T0)
    store.runs.hold(second, T0 + H)
    assert store.runs.held("demo") == second
    refetched = HeldRun("demo", T0, T0 + 2 * H, "sha256:cc", "http://feed/a.nc", "/cache/a.nc")
    store.runs.hold(refetched, T0 + 2 * H)  # the newer run unavailable: the one before is held again
    assert store.runs.held("demo") == refetched
    assert store.runs.fetched("demo") == [refetched, second]


def message(identifier: str, level_: int = 2) -> OfficialMessage:
    return OfficialMessage("geohazard", identifier, "bureau@example.cn", T0, "Alert", "Exercise", (), "landslide",
                           level_, T0 + 12 * H, ("T03", "T07"), False, "地质灾害气象风险黄色预警", "<alert/>")


def test_official_messages_held_are_those_of_the_last_fetch_in_its_order(store: Store) -> None:
    assert store.official.held("geohazard") == ([], None)
    store.official.hold("geohazard", [message("b"), message("a")], T0)
    store.official.hold("geohazard", [message("c"), message("b", 3)], T0 + H)
    messages, fetched_at = store.official.held("geohazard")
    assert messages == [message("c"), message("b", 3)] and fetched_at == T0 + H
    store.official.hold("geohazard", [], T0 + 2 * H)
    assert store.official.held("geohazard") == ([], None)


def test_zone_rain_gives_each_hour_from_the_newest_run_issued_before_it(store: Store) -> None:
    def run(issued, values):
        return [ZoneRain(zone, issued + (k + 1) * H, mm, mm * 2) for k, mm in enumerate(values) for zone in ("T1",)]

    store.rain.record("demo", T0, "towns", run(T0, [1.0, 2.0, 3.0]))
    store.rain.record("demo", T0 + H, "towns", run(T0 + H, [20.0, 30.0]))
    assert store.rain.has("demo", T0, "towns") and not store.rain.has("demo", T0, "catchments")
    kept = store.rain.hourly("towns", T0, T0 + 3 * H)
    assert [(r.hour_end - T0, r.mean_mm, r.max_mm) for r in kept] == [(H, 1.0, 2.0), (2 * H, 20.0, 40.0),
                                                                      (3 * H, 30.0, 60.0)]
    assert store.rain.hourly("towns", T0 + H, T0 + 2 * H) == [ZoneRain("T1", T0 + 2 * H, 20.0, 40.0)]
    assert store.rain.totals("towns", T0, T0 + 3 * H) == {"T1": (51.0, 3)}  # the same hours, summed


def test_zone_rain_totals_count_the_known_hours_of_each_zone(store: Store) -> None:
    rows = [ZoneRain(zone, T0 + k * H, mm, mm) for k in (1, 2, 3)
            for zone, mm in (("T1", 1.0 * k), ("T2", None if k == 2 else 4.0), ("T3", None))]
    store.rain.record("demo", T0, "towns", rows)
    assert store.rain.totals("towns", T0, T0 + 3 * H) == {"T1": (6.0, 3), "T2": (8.0, 2)}  # T3: no hour known
    assert store.rain.totals("towns", T0 + H, T0 + 2 * H) == {"T1": (2.0, 1)}
    assert store.rain.totals("catchments", T0, T0 + 3 * H) == {}


def test_zone_rain_of_some_zones_only_and_missing_hours_kept_as_none(store: Store) -> None:
    rows = [ZoneRain(zone, T0 + k * H, mm, None if mm is None else mm + 1)
            for k in (1, 2) for zone, mm in (("T1", 1.0 * k), ("T2", None), ("T3", 3.0 * k))]
    store.rain.record("demo", T0, "towns", rows)
    assert store.rain.hourly("towns", T0, T0 + 2 * H) == rows[:3] + rows[3:]
    assert store.rain.hourly("towns", T0, T0 + 2 * H, zones=["T2", "T3"]) == [r for r in rows if r.zone_id != "T1"]
    assert store.rain.hourly("towns", T0, T0 + 2 * H, zones=[]) == []
    store.rain.record("demo", T0, "towns", rows[:1])  # recorded again: replaces
    assert store.rain.hourly("towns", T0, T0 + 2 * H) == rows[:1]
    with pytest.raises(ValueError, match="UTC-aware"):
        store.rain.record("demo", T0, "towns", [ZoneRain("T1", (T0 + H).replace(tzinfo=None), 1.0, 1.0)])
    assert store.rain.hourly("towns", T0, T0 + 2 * H) == rows[:1]


def test_zone_rain_arrays_must_be_one_row_per_distinct_hour_and_a_column_per_zone(store: Store) -> None:
    ends = [T0 + H, T0 + 2 * H]
    for zones, hours, shape in ((["T1"], ends, (2, 2)), (["T1", "T2"], ends[:1], (2, 2)),
                                (["T1", "T2"], [ends[0], ends[0]], (2, 2))):
        with pytest.raises(ValueError, match="expected"):
            store.rain.record_hours("demo", T0, "towns", zones, hours, np.ones(shape), np.ones(shape))
    assert not store.rain.has("demo", T0, "towns")
    store.rain.record_hours("demo", T0, "towns", ["T2", "T1"], ends, [[1.0, np.nan], [3.0, 4.0]],
                            [[1.5, np.nan], [3.5, 4.5]])
    assert store.rain.hourly("towns", T0, T0 + 2 * H) == [
        ZoneRain("T1", T0 + H, None, None), ZoneRain("T2", T0 + H, 1.0, 1.5),
        ZoneRain("T1", T0 + 2 * H, 4.0, 4.5), ZoneRain("T2", T0 + 2 * H, 3.0, 3.5)]
    assert store.rain.totals("towns", T0, T0 + 2 * H) == {"T1": (4.0, 1), "T2": (4.0, 2)}


def test_the_planners_state_round_trips_through_its_tables(store: Store) -> None:
    held = json.loads((DATA / "main_0007.json").read_text(encoding="utf-8"))["held"]["command/planner"]
    at = "2026-07-15T06:00:00+00:00"
    held["approvals"] = [["approve/1", {"key": "approve/1", "at": at, "incident": None, "rule_id": "PUBLIC-L3",
                                        "label": "公众预警待批 / public warning to approve", "thread": "t1",
                                        "version": 2, "broadcast": "public", "hazard": "landslide",
                                        "item_id": "DEMO-T11", "level": 3, "text": "橙色预警 / orange"}]]
    held["manual"] = [["manual/1", {"hazard": "waterlogging", "item_id": "DEMO-W01", "item_kind": "point",
                                    "town": None, "from_level": 0, "to_level": 2, "at": at, "drivers": ["人工 / manual"],
                                    "attributes": [["name", "积水点"], ["threatened_people", 12]], "reason": "巡查"}]]
    held["mode"]["pending"] = {"id": "p1", "to_mode": "wartime", "response": 2, "rule_id": "MODE-UP",
                               "reason": "两处橙色 / two orange", "at": at}
    state = decode(State, held)
    assert load_state(store) == State()
    save_state(store, state)
    assert load_state(store) == state
    assert list(load_state(store).threads) == list(state.threads)  # the mappings keep their order
    save_state(store, State())
    assert load_state(store) == State()
