"""Hourly rain kept one row per hour (``store.hourly_rain``), and migration 0010 that moves the landslide
blobs' rain into it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.factories import hazard_context
from tests.store.conftest import T0, downgrade
from warn.store import Store, migrate
from warn.store.hourly import decode_hour as _decode

START = np.datetime64(T0.replace(tzinfo=None), "s")
HOUR = np.timedelta64(1, "h")


def hours(first: int, count: int) -> np.ndarray:
    """Ends of ``count`` hours, the first ``first`` hours after :data:`T0`."""
    return START + (first + np.arange(count)) * HOUR


def depths(count: int, value: float, shape: tuple[int, ...] = (4, 5)) -> np.ndarray:
    """``count`` hours of ``value`` mm with a missing cell (NaN) and some texture."""
    mm = np.full((count, *shape), value, np.float32) + np.linspace(0, 1, int(np.prod(shape)),
                                                                   dtype=np.float32).reshape(shape)
    mm[:, -1, -1] = np.nan
    return mm


def test_hours_round_trip_exactly_in_a_time_range(store: Store) -> None:
    mm = depths(6, 2.5)
    assert store.hourly_rain.append("landslide", "grid-a", hours(1, 6), mm, issued_at=T0,
                                    keep=timedelta(days=30)) == 0
    ends, held = store.hourly_rain.read("landslide", "grid-a", after=T0, until=T0 + timedelta(hours=6))
    assert list(ends) == list(hours(1, 6)) and ends.dtype == np.dtype("datetime64[s]")
    assert held.dtype == np.float32 and held.shape == (6, 4, 5)
    assert np.array_equal(held, mm, equal_nan=True)
    ends, held = store.hourly_rain.read("landslide", "grid-a", after=T0 + timedelta(hours=2),
                                        until=T0 + timedelta(hours=4))
    assert list(ends) == list(hours(3, 2)) and np.array_equal(held, mm[2:4], equal_nan=True)  # (after, until]
    ends, held = store.hourly_rain.read("landslide", "grid-b", after=T0, until=T0 + timedelta(days=1))
    assert ends.size == 0 and held.size == 0
    ends, _ = store.hourly_rain.read("waterlogging", "grid-a", after=T0, until=T0 + timedelta(days=1))
    assert ends.size == 0


def test_a_newer_run_replaces_an_older_runs_forecast_hours_and_never_the_reverse(store: Store) -> None:
    store.hourly_rain.append("landslide", "g", hours(1, 12), depths(12, 1.0), issued_at=T0, keep=timedelta(days=30))
    later = T0 + timedelta(hours=1)
    store.hourly_rain.append("landslide", "g", hours(2, 12), depths(12, 5.0), issued_at=later,
                             keep=timedelta(days=30))
    ends, held = store.hourly_rain.read("landslide", "g", after=T0, until=T0 + timedelta(days=1))
    assert list(ends) == list(hours(1, 13))
    assert np.nanmin(held[0]) == 1.0 and np.nanmin(held[1:]) == 5.0  # hour 1 from the first run, the rest the second
    store.hourly_rain.append("landslide", "g", hours(1, 12), depths(12, 9.0), issued_at=T0, keep=timedelta(days=30))
    _, again = store.hourly_rain.read("landslide", "g", after=T0, until=T0 + timedelta(days=1))
    assert np.array_equal(again[1:], held[1:], equal_nan=True)  # the older run replaced none of the newer's hours
    assert np.nanmin(again[0]) == 9.0  # the run an hour came from may write it again (a rerun)


def test_a_read_again_decodes_only_the_hours_new_or_rewritten_since_and_sees_every_rewrite(
        store: Store, store_url: str, monkeypatch) -> None:
    from warn.store import hourly

    decoded = []
    monkeypatch.setattr(hourly, "decode_hour", lambda data, shape: decoded.append(1) or _decode(data, shape))
    window = {"after": T0, "until": T0 + timedelta(days=1)}
    store.hourly_rain.append("landslide", "g", hours(1, 12), depths(12, 1.0), issued_at=T0, keep=timedelta(days=30))
    store.hourly_rain.read("landslide", "g", **window)
    assert len(decoded) == 12
    later = T0 + timedelta(hours=1)
    store.hourly_rain.append("landslide", "g", hours(2, 12), depths(12, 5.0), issued_at=later,
                             keep=timedelta(days=30))
    decoded.clear()
    ends, held = store.hourly_rain.read("landslide", "g", **window)
    assert len(decoded) == 12  # 11 rewritten by the newer run, 1 new; hour 1 from the last read
    assert list(ends) == list(hours(1, 13)) and np.nanmin(held[0]) == 1.0 and np.nanmin(held[1:]) == 5.0
    with Store.connect(store_url) as other:  # another process's newer run rewrites the last hour
        other.hourly_rain.append("landslide", "g", hours(13, 1), depths(1, 7.0), issued_at=later + timedelta(hours=1),
                                 keep=timedelta(days=30))
    decoded.clear()
    ends, again = store.hourly_rain.read("landslide", "g", **window)
    assert len(decoded) == 1 and np.nanmin(again[-1]) == 7.0
    assert np.array_equal(again[:-1], held[:-1], equal_nan=True)
    again[:] = 0.0  # what a read gives is the caller's: the next read is not changed by it
    assert np.array_equal(store.hourly_rain.read("landslide", "g", **window)[1][:-1], held[:-1], equal_nan=True)


def test_hours_older_than_the_keep_window_are_forgotten_on_append(store: Store) -> None:
    keep = timedelta(days=2)
    for day in range(4):
        store.hourly_rain.append("landslide", "g", hours(24 * day + 1, 24), depths(24, day), issued_at=T0,
                                 keep=keep)
    store.hourly_rain.append("landslide", "other", hours(1, 2), depths(2, 1.0), issued_at=T0, keep=keep)
    ends, _ = store.hourly_rain.read("landslide", "g", after=T0 - timedelta(days=1), until=T0 + timedelta(days=9))
    assert ends[0] == hours(49, 1)[0] and ends[-1] == hours(96, 1)[0] and ends.size == 48  # the last 2 days
    deleted = store.hourly_rain.append("landslide", "g", hours(97, 1), depths(1, 1.0), issued_at=T0, keep=keep)
    assert deleted == 1
    ends, _ = store.hourly_rain.read("landslide", "other", after=T0, until=T0 + timedelta(days=9))
    assert ends.size == 2  # another key's hours are its own


def test_migration_0010_moves_the_landslide_blobs_rain_into_rows_and_back(store_url: str) -> None:
    with Store.connect(store_url) as store:
        store.upgrade("0009")
        rain_end, rain = hours(-47, 60), depths(60, 3.0, (3, 7))
        valid = hours(0, 13)
        tanks = np.random.default_rng(2).random((13, 3, 3, 7))
        store.save_state("landslide", "grid-a", valid_at=T0 + timedelta(hours=12), detail="run of T0 (续算)",
                         arrays={"valid": valid, "tanks": tanks, "hours_end": rain_end, "hours_mm": rain})
        store.save_state("waterlogging", "waterlogging_points", valid_at=T0, arrays={
            "valid": valid[:1], "storage": np.ones((1, 5)), "hours_end": hours(-2, 3), "hours_mm": np.ones((3, 5))})
        store.upgrade()
        assert store.revision() == migrate.head()

        kept = store.load_state("landslide", "grid-a")
        assert sorted(kept.arrays) == ["tanks", "valid"] and np.array_equal(kept.arrays["tanks"], tanks)
        assert kept.detail == "run of T0 (续算)" and kept.valid_at == T0 + timedelta(hours=12)
        ends, held = store.hourly_rain.read("landslide", "grid-a", after=T0 - timedelta(days=30),
                                            until=T0 + timedelta(days=30))
        assert list(ends) == list(rain_end) and np.array_equal(held, rain, equal_nan=True)
        assert sorted(store.load_state("waterlogging", "waterlogging_points").arrays) == [
            "hours_end", "hours_mm", "storage", "valid"]  # not the landslide model's: untouched

        # the carried hours are stamped with the run before the blob's first tanks: the next run replaces them
        store.hourly_rain.append("landslide", "grid-a", hours(1, 12), depths(12, 8.0, (3, 7)), issued_at=T0,
                                 keep=timedelta(days=30))
        _, after = store.hourly_rain.read("landslide", "grid-a", after=T0, until=T0 + timedelta(hours=12))
        assert np.nanmin(after) == 8.0

        downgrade(store, "0009")
        assert store.revision() == "0009"
        back = store.load_state("landslide", "grid-a")
        assert list(back.arrays["hours_end"]) == list(rain_end)
        assert np.array_equal(back.arrays["hours_mm"][:48], rain[:48], equal_nan=True)
        assert np.nanmin(back.arrays["hours_mm"][48:]) == 8.0


@pytest.fixture(scope="module")
def demo_runs():
    """The demo storm's runs of hours 0–3 (each its next 24 hours), as tests/test_landslide_cycle.py slices them."""
    from warn.sources.forecast import open_forecast

    storm = open_forecast(ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc", source="demo")

    def run_at(hour: int):
        issued = storm["time"].values[0] + np.timedelta64(hour - 1, "h")
        return storm.isel(time=slice(hour, hour + 24)).assign_attrs(
            issued_at=str(issued.astype("datetime64[s]")) + "Z")

    return [run_at(hour) for hour in range(4)]


def test_an_upgraded_store_continues_the_soil_water_without_a_cold_start(store_url: str, tmp_path,
                                                                          demo_runs) -> None:
    """A store whose landslide blob holds the rain (as main saved it) continues, once upgraded, exactly as a
    store that kept the rain in rows from the start."""
    from warn.config import load_settings
    from warn.geo.weights import GridSpec
    from warn.hazards.landslide.scoring import STATE_MODEL, score_landslide

    settings = load_settings(ROOT / "config.yaml")
    grid = GridSpec.from_coords(demo_runs[0]["lat"].values, demo_runs[0]["lon"].values)
    with Store.connect(f"sqlite:///{tmp_path / 'rows.sqlite'}") as rows:
        rows.upgrade()
        for run in demo_runs[:3]:
            score_landslide(hazard_context(settings, "landslide", run, store=rows, persist=True, without=("points",)))
        state = rows.load_state(STATE_MODEL, grid.signature)
        last = demo_runs[2]
        t0 = np.datetime64(last.attrs["issued_at"].rstrip("Z"), "s")
        ends, mm = rows.hourly_rain.read(STATE_MODEL, grid.signature, after=T0 - timedelta(days=60),
                                         until=T0 + timedelta(days=60))
        # main kept the rain before t0 and the whole of the last run's forecast in the blob
        before = ends <= t0
        blob = {**state.arrays, "hours_end": np.concatenate([ends[before], last["time"].values.astype("datetime64[s]")]),
                "hours_mm": np.concatenate([mm[before], last.values.astype(np.float32)])}
        with Store.connect(store_url) as upgraded:
            upgraded.upgrade("0009")
            upgraded.save_state(STATE_MODEL, grid.signature, valid_at=state.valid_at, arrays=blob,
                                detail=state.detail)
            upgraded.save_levels(STATE_MODEL, rows.load_levels(STATE_MODEL))
            upgraded.upgrade()
            assert sorted(upgraded.load_state(STATE_MODEL, grid.signature).arrays) == sorted(state.arrays)  # no hours
            continued = score_landslide(hazard_context(settings, "landslide", demo_runs[3], store=upgraded,
                                                       persist=True, without=("points",)))
        expected = score_landslide(hazard_context(settings, "landslide", demo_runs[3], store=rows, persist=True,
                                                  without=("points",)))
    assert "continued" in continued.notes[0] and "cold start" not in " ".join(continued.notes)
    assert continued.notes == expected.notes
    assert [(i.item_id, i.levels, i.score_now) for i in continued.items] == [
        (i.item_id, i.levels, i.score_now) for i in expected.items]
    assert [i.effective_rain_max for i in continued.items] == pytest.approx(
        [i.effective_rain_max for i in expected.items], rel=1e-12)
