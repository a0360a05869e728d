"""Model states and levels with memory survive in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from tests.store.conftest import T0
from warn.store import LevelColumns, Store


def test_state_round_trips_exactly_and_is_replaced(store: Store) -> None:
    assert store.load_state("swi", "grid-a") is None
    tanks = np.random.default_rng(1).random((3, 40, 50))
    store.save_state("swi", "grid-a", valid_at=T0, arrays={"tanks": tanks}, detail="spun up from 30 days")
    held = store.load_state("swi", "grid-a")
    assert held.valid_at == T0 and held.detail == "spun up from 30 days"
    assert np.array_equal(held.arrays["tanks"], tanks) and held.arrays["tanks"].dtype == tanks.dtype
    store.save_state("swi", "grid-a", valid_at=T0 + timedelta(hours=1), arrays={"tanks": tanks * 2})
    again = store.load_state("swi", "grid-a")
    assert again.valid_at == T0 + timedelta(hours=1) and np.array_equal(again.arrays["tanks"], tanks * 2)
    assert store.load_state("swi", "grid-b") is None


def test_levels_round_trip_and_update(store: Store) -> None:
    def columns(*records: tuple[str, int, datetime | None, datetime | None]) -> LevelColumns:
        ids, levels, below, evidence = zip(*records)
        return LevelColumns(list(ids), np.array(levels, dtype=np.int8), *(
            np.array([None if t is None else t.replace(tzinfo=None) for t in times], dtype="datetime64[us]")
            for times in (below, evidence)))

    def held(hazard: str) -> list[tuple]:
        kept = store.load_levels(hazard)
        return list(zip(kept.item_ids, kept.level.tolist(), kept.below_since.tolist(), kept.evidence_at.tolist()))

    assert held("landslide") == []
    first = [("T2", -1, T0 - timedelta(minutes=20, microseconds=7), None), ("T1", 3, None, T0)]
    store.save_levels("landslide", columns(*first))
    naive = [(i, level, *(None if t is None else t.replace(tzinfo=None) for t in times)) for i, level, *times in first]
    assert held("landslide") == naive[::-1]  # by item id, to the microsecond
    later = T0 + timedelta(hours=1)
    store.save_levels("landslide", columns(("T1", 2, later, later)))
    assert held("landslide") == [("T1", 2, later.replace(tzinfo=None), later.replace(tzinfo=None)), naive[0]]
    assert held("flood") == []  # an item not saved again keeps its memory; another hazard has none
    untyped = LevelColumns(["F1"], np.array([1]), np.array([None], dtype=object), np.array([T0.replace(tzinfo=None)]))
    with pytest.raises(ValueError, match="below_since must hold one UTC datetime64 time per item"):
        store.save_levels("flood", untyped)
    with pytest.raises(ValueError, match="level must hold one level per item"):
        store.save_levels("flood", columns(("F1", 1, None, T0))._replace(level=np.array([1, 2])))
    assert held("flood") == []


def test_an_uncompressed_state_round_trips_exactly(store: Store) -> None:
    rain = np.random.default_rng(2).random((12, 40, 50))
    valid = np.datetime64("2026-07-15T00:00", "s") + np.arange(13) * np.timedelta64(1, "h")
    store.save_state("swi", "grid-a", valid_at=T0, arrays={"valid": valid, "rain": rain}, compress=False)
    held = store.load_state("swi", "grid-a").arrays
    assert np.array_equal(held["rain"], rain) and held["rain"].dtype == rain.dtype
    assert np.array_equal(held["valid"], valid)


def test_a_compressed_state_is_deflated_and_an_uncompressed_one_stored_as_it_is(store: Store) -> None:
    from sqlalchemy import func, select

    from warn.store.schema import model_states

    dry = np.zeros((3, 400, 500))  # a dry hour's rain: compresses to almost nothing
    for key, compress in (("deflated", True), ("stored", False)):
        store.save_state("rain", key, valid_at=T0, arrays={"mm": dry}, compress=compress)
        assert np.array_equal(store.load_state("rain", key).arrays["mm"], dry)
    with store.engine.connect() as conn:
        size = dict(conn.execute(select(model_states.c.key, func.length(model_states.c.arrays))).all())
    assert size["deflated"] < dry.nbytes / 100 and size["stored"] > dry.nbytes

