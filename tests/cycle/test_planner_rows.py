"""The planner's state kept as rows read and written by what changed (migration 0018), against a real store
(SQLite, and PostgreSQL when reachable): every way of reading it gives the state a whole read gives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from tests.command.conftest import T0, crossing, minutes, orange_red_falling, run_all
from warn.command import State, plan
from warn.command.model import Tick
from warn.cycle.command import encode, load_state, save_state
from warn.store import Store
from warn.store.planner import write_state
from warn.store.schema import planner_emitted, planner_state, planner_threads
from warn.vocab import ItemKind, Level


@pytest.fixture
def two(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one migrated database (two processes: the service and the desk)."""
    with Store.connect(store_url) as first, Store.connect(store_url) as second:
        first.upgrade()
        yield first, second


def whole(url: str) -> State:
    """The state as a store that never read it before reads it (whole)."""
    with Store.connect(url) as fresh:
        return load_state(fresh)


def raised(n: int, at=T0) -> list:
    """``n`` landslide points raised to orange at ``at`` over four towns."""
    return [crossing(f"P{i:03d}", Level.NONE, Level.ORANGE, at, town=f"DEMO-T0{1 + i % 4}") for i in range(n)]


def test_a_state_saved_before_0018_loads_whole_and_then_by_changes(store_url: str, setup) -> None:
    """A store at 0017 holding a state (its rows as 0017 wrote them) keeps every open thread through 0018."""
    state, _ = plan(State(), raised(30), T0, setup=setup)
    with Store.connect(store_url) as store:
        store.upgrade("0017")
        with store.engine.begin() as conn:
            write_state(conn, encode(state), migrating=True)
        store.upgrade()
        assert store.planner.revision() == 1
        loaded = load_state(store)
        assert loaded == state
        assert len([t for t in loaded.threads.values() if t.active]) == 30
        later, _ = plan(loaded, [Tick(minutes(20))], minutes(20), setup=setup)
        save_state(store, later)
        assert store.planner.revision() == 2
        assert load_state(store) == later == whole(store_url)


def test_another_store_reads_only_what_changed(two: tuple[Store, Store], setup) -> None:
    """The second store reads the rows written after the revision it holds; both equal a whole read."""
    first, second = two
    url = str(first.engine.url.render_as_string(hide_password=False))
    state, _ = plan(State(), raised(12), T0, setup=setup)
    save_state(first, state)
    assert load_state(second) == state
    for n, at in ((20, minutes(15)), (25, minutes(40))):
        state, _ = plan(load_state(first), [*raised(n, at), Tick(at)], at, setup=setup)
        save_state(first, state)
        changed = first.planner.changes(first.planner.revision() - 1)
        assert changed is not None and 0 < len(changed.entries["threads"]) < len(state.threads)
        assert load_state(second) == state == whole(url)


def test_saving_writes_only_the_changed_rows(two: tuple[Store, Store], setup) -> None:
    """A tick that changes nothing of the threads writes no thread row; the emitted keys it adds are rows."""
    first, _ = two
    state, _ = plan(State(), raised(10), T0, setup=setup)
    save_state(first, state)
    state = load_state(first)
    later, actions = plan(state, [Tick(minutes(1))], minutes(1), setup=setup)
    save_state(first, later)
    revision = first.planner.revision()
    with first.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(planner_threads.c.revision == revision)).scalar_one() == 0
        added = conn.execute(select(func.count()).where(planner_emitted.c.revision == revision)).scalar_one()
        assert conn.execute(select(planner_state.c.revision)).scalar_one() == revision
    assert added == len(later.emitted - state.emitted) == len(actions)
    assert load_state(first) == later


def test_a_removed_entry_rewrites_its_mapping(two: tuple[Store, Store], setup) -> None:
    """An entry gone from a mapping (a manual warning decided) is gone for every reader."""
    first, second = two
    url = str(first.engine.url.render_as_string(hide_password=False))
    state, _ = plan(State(), raised(3), T0, setup=setup)
    pending = crossing("DEMO-T05", Level.NONE, Level.RED, T0, town="DEMO-T05", item_kind=ItemKind.ZONE)
    save_state(first, replace(state, manual={"manual/x/approval": pending}))
    assert load_state(second).manual == {"manual/x/approval": pending}
    first_view = load_state(first)
    save_state(first, replace(first_view, manual={}))
    assert load_state(second) == replace(first_view, manual={}) == whole(url)


def test_a_save_over_another_stores_save_writes_the_whole_state(two: tuple[Store, Store], setup) -> None:
    """Two stores saving from the same revision: the last save is the state, as a whole save made it before."""
    first, second = two
    url = str(first.engine.url.render_as_string(hide_password=False))
    state, _ = run_all(setup, orange_red_falling()[:2])
    save_state(first, state)
    base_first, base_second = load_state(first), load_state(second)
    mine, _ = plan(base_first, raised(5, minutes(30)), minutes(30), setup=setup)
    theirs, _ = plan(base_second, raised(8, minutes(31)), minutes(31), setup=setup)
    save_state(second, theirs)
    save_state(first, mine)
    assert whole(url) == mine == load_state(second) == load_state(first)
