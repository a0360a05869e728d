"""The now from observations: t0, the hours that advance the state, the composed run (warn.cycle.now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import xarray as xr

from warn.cycle.now import _advance, _composed, choose_t0
from warn.cycle.observed import Observed
from warn.rainarray import issued_at, make_rain
from warn.risk.nowcast import BlendParams

T0 = datetime(2026, 7, 15, 6, tzinfo=UTC)
LAT, LON = np.array([29.6, 29.61, 29.62]), np.array([106.5, 106.51])
TEN = timedelta(minutes=10)
BLEND = BlendParams(full_until=timedelta(hours=1), none_after=timedelta(hours=2))


def naive(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.replace(tzinfo=None), "ns")


def rain(values: np.ndarray, first_end: datetime, step: timedelta, *, issued: datetime | None = None,
         source: str = "test") -> xr.DataArray:
    """A contract array of ``values`` (time, 3, 2) whose first step ends at ``first_end``."""
    times = np.array([naive(first_end + k * step) for k in range(values.shape[0])])
    return make_rain(values, time=times, lat=LAT, lon=LON, step=step, source=source,
                     issued_at=np.datetime64(issued.replace(tzinfo=None), "s") if issued else None)


def filled(n: int, value: float) -> np.ndarray:
    return np.full((n, LAT.size, LON.size), value, dtype=np.float64)


def observed(frames: xr.DataArray | None, origin: int = 3) -> Observed:
    codes = None if frames is None else xr.full_like(frames, origin, dtype=np.int8).where(frames.notnull(), 0)
    return Observed(frames=frames, origin=codes, notices=(), record={})


def test_t0_is_the_latest_complete_observed_hour_when_it_is_recent():
    hours = rain(filled(2, 1.0), T0 - timedelta(hours=1), timedelta(hours=1))  # hours ending 05:00 and 06:00
    assert choose_t0(hours, T0 + timedelta(minutes=25)) == (T0, True)
    assert choose_t0(hours, T0 + timedelta(minutes=65)) == (T0, True)  # the hour ending 07:00 not complete yet
    assert choose_t0(hours, T0 + timedelta(hours=2, minutes=5)) == (T0 + timedelta(hours=2), False)
    assert choose_t0(None, T0 + timedelta(minutes=25)) == (T0, False)


def blend_weights(minutes: np.ndarray, blend: BlendParams) -> np.ndarray:
    return np.array([blend.weight(timedelta(minutes=int(m))) for m in minutes])


def test_the_first_hour_is_what_was_analysed_then_the_nowcast_blended_into_the_run():
    run = rain(filled(6, 6.0), T0 + timedelta(hours=1), timedelta(hours=1), issued=T0)  # 1 mm per 10 min
    frames = rain(filled(2, 2.0), T0 + TEN, TEN)  # 06:10 and 06:20 analysed
    nowcast = rain(filled(12, 4.0), T0 + 3 * TEN, TEN, issued=T0 + 2 * TEN)  # 06:30 … 08:20
    nowcast[:, 0, 0] = np.nan  # a cell advected in from outside the radar's domain
    out = _composed(run, frames, nowcast, T0, BLEND, None)
    assert issued_at(out) == T0 and out.attrs["step"] == "PT1H"
    assert out["time"].values[0] == naive(T0 + timedelta(hours=1))
    # hour 1: 2 analysed steps of 2 mm, then 4 nowcast steps of 4 mm (leads 10–40 min, weight 1)
    assert float(out[0, 1, 1]) == pytest.approx(2 * 2 + 4 * 4)
    # hour 2 (leads 50–100 min): weights 1, 1, 0.833, 0.667, 0.5, 0.333 between 4 mm and the run's 1 mm
    w = blend_weights(np.arange(50, 101, 10), BLEND)
    assert float(out[1, 1, 1]) == pytest.approx(float(np.sum(w * 4 + (1 - w) * 1)), rel=1e-5)
    # hour 3: leads 110–120 min weigh a little, then the run alone
    w = blend_weights(np.array([110, 120, 130, 140, 150, 160]), BLEND)
    nc = np.array([4, 4, np.nan, np.nan, np.nan, np.nan])
    expected = np.where(np.isnan(nc), 1.0, w * np.nan_to_num(nc) + (1 - w) * 1.0).sum()
    assert float(out[2, 1, 1]) == pytest.approx(float(expected), rel=1e-5)
    # the cell the nowcast does not know takes the run's rain; beyond the nowcast the run's hours as they are
    assert float(out[0, 0, 0]) == pytest.approx(2 * 2 + 4 * 1)
    np.testing.assert_allclose(out.values[3:], 6.0)
    assert out.sizes["time"] == 6


def test_without_nowcast_or_frames_the_run_drives_the_leads():
    run = rain(filled(4, 3.0), T0 + timedelta(hours=1), timedelta(hours=1), issued=T0)
    out = _composed(run, None, None, T0, BLEND, None)
    np.testing.assert_allclose(out.values, run.values)
    assert issued_at(out) == T0


def test_an_hour_the_run_does_not_cover_takes_the_previous_composition_else_stays_missing():
    run = rain(filled(3, 3.0), T0 + timedelta(hours=2), timedelta(hours=1), issued=T0 + timedelta(hours=1))
    kept = (np.array([naive(T0 + timedelta(hours=1))], dtype="datetime64[s]"), filled(1, 5.0).astype(np.float32))
    out = _composed(run, None, None, T0, BLEND, kept)
    np.testing.assert_allclose(out.values[0], 5.0)
    assert bool(_composed(run, None, None, T0, BLEND, None)[0].isnull().all())


def test_the_state_advances_through_the_observed_hours_with_gaps_filled_from_the_previous_composition():
    since = T0 - timedelta(hours=2)
    hours = rain(filled(2, 4.0), T0 - timedelta(hours=1), timedelta(hours=1))  # hours ending 05:00, 06:00
    hours[0, 2, 1] = np.nan  # a cell no radar or gauge saw
    kept = (np.array([naive(T0 - timedelta(hours=1))], dtype="datetime64[s]"), filled(1, 7.0).astype(np.float32))
    run = rain(filled(3, 1.0), T0 + timedelta(hours=1), timedelta(hours=1), issued=T0)
    frames = rain(filled(12, 4.0 / 6), since + TEN, TEN)
    advance, record = _advance(hours, observed(frames), kept, run, since, T0)
    assert issued_at(advance) == since and advance.sizes["time"] == 2
    assert float(advance[0, 2, 1]) == 7.0 and float(advance[0, 0, 0]) == 4.0
    assert [r["origin"] for r in record] == ["radar adjusted to gauges"] * 2
    assert record[0]["filled_cells"] == 1


def test_nothing_advances_without_an_observed_hour_nor_past_a_gap():
    since = T0 - timedelta(hours=2)
    run = rain(filled(3, 1.0), T0 + timedelta(hours=1), timedelta(hours=1), issued=T0)
    hours = rain(filled(1, 4.0), T0, timedelta(hours=1))  # only the hour ending 06:00 observed
    # the hour ending 05:00 has neither analysis nor an earlier composition: nothing can be advanced
    assert _advance(hours, observed(None), None, run, since, T0) == (None, [])
    kept = (np.array([naive(T0 - timedelta(hours=1))], dtype="datetime64[s]"), filled(1, 2.0).astype(np.float32))
    gauged = observed(rain(filled(6, 4.0 / 6), T0 - timedelta(minutes=50), TEN), origin=2)
    advance, record = _advance(hours, gauged, kept, run, since, T0)
    assert [r["origin"] for r in record] == ["forecast", "gauges"]
    np.testing.assert_allclose(advance.values[:, 0, 0], [2.0, 4.0])
    assert _advance(None, observed(None), kept, run, since, T0) == (None, [])


def test_the_hazards_state_at_t0_follows_the_observed_hour_and_their_remembered_levels_stay(committed_config,
                                                                                              tmp_path):
    from tests.conftest import ROOT
    from tests.helpers import demo_deployment
    from warn import hazards
    from warn.config import load_settings
    from warn.cycle.now import Now, advance_state
    from warn.hazards.spec import Input
    from warn.sources.forecast import open_forecast

    settings = load_settings(committed_config)
    issued = datetime(2026, 7, 15, tzinfo=UTC)
    run = open_forecast(ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc", source="demo",
                        issued_at=issued)
    assert float(run.isel(time=0).max()) < 1.0  # the forecast's first hour is dry
    clock = [issued]
    settings, _, store = demo_deployment(tmp_path / "warn.sqlite", lambda: clock[0], settings)
    rainy = [d for d in hazards.deployed(settings) if Input.RAIN in d.spec.inputs]
    with store:
        for deployed in rainy:  # the cycle of 00:00 on the forecast: states for 00:00 … 12:00 from its leads
            deployed.spec.score(hazards.context(settings, deployed, run, issued, store=store, persist=True))
        models = {"landslide": "landslide", "waterlogging": "waterlogging", "flashflood": "flashflood"}
        forecast_states = {name: store.load_state(name, key) for name, key in _state_keys(store, models)}
        levels = {d.spec.name: _memory(store, d.spec.name) for d in rainy}
        t0 = issued + timedelta(hours=1)
        hour = make_rain(np.full((1, run.sizes["lat"], run.sizes["lon"]), 100.0), time=np.array([naive(t0)]),
                         lat=run["lat"].values, lon=run["lon"].values, step=timedelta(hours=1), source="analysis",
                         issued_at=np.datetime64(issued.replace(tzinfo=None), "s"))
        now = Now(t0, True, run, hour, np.empty(0, "datetime64[s]"), np.empty((0, 1, 1)))
        clock[0] = t0 + timedelta(minutes=5)
        advance_state(settings, store, now, clock[0])
        for name, key in _state_keys(store, models):
            before, after = forecast_states[name], store.load_state(name, key)
            at = np.datetime64(t0.replace(tzinfo=None), "s")
            assert at in after.arrays["valid"], name
            assert after.valid_at == t0, name  # only the observed hours: nothing forecast beyond t0 is kept
            now_after, now_before = (_storages(settings, name, state.arrays, at) for state in (after, before))
            assert now_after.mean() > now_before.mean() + 5.0, name  # mm: the observed storm is in it
        assert len(_state_keys(store, models)) == 3
        assert {d.spec.name: _memory(store, d.spec.name) for d in rainy} == levels


def _storages(settings, name, arrays, at):
    """The storages a saved state holds for ``at`` (the landslide's are run forward from its run's t0)."""
    from warn import hazards
    from warn.hazards.landslide.scoring import storages_at

    index = list(arrays["valid"]).index(at)
    if name == "landslide":
        return storages_at(arrays, index, hazards.load_model("landslide", settings.hazards["landslide"].model).params())
    return [a for k, a in arrays.items() if k in ("tanks", "storage")][0][index]


def _state_keys(store, models):
    """(model, key) of every saved state of the named models."""
    from sqlalchemy import select

    from warn.store.schema import model_states

    with store.engine.connect() as conn:
        rows = conn.execute(select(model_states.c.model, model_states.c.key)).all()
    return [(r.model, r.key) for r in rows if r.model in models]


def test_an_ensemble_run_keeps_its_members_and_control_with_the_deterministic_nowcast_in_each():
    base = filled(4, 6.0)
    members = np.stack([base, base * 0, base * 2])
    times = np.array([naive(T0 + timedelta(hours=k + 1)) for k in range(4)])
    run = make_rain(members, time=times, lat=LAT, lon=LON, step=timedelta(hours=1), source="ens",
                    issued_at=np.datetime64(T0.replace(tzinfo=None), "s"), member=np.array([0, 1, 2]),
                    control_member=0)
    frames = rain(filled(2, 2.0), T0 + TEN, TEN)
    nowcast = rain(filled(12, 4.0), T0 + 3 * TEN, TEN, issued=T0 + 2 * TEN)
    out = _composed(run, frames, nowcast, T0, BLEND, None)
    assert out.dims == ("member", "time", "lat", "lon") and out.attrs["control_member"] == 0
    np.testing.assert_allclose(out[:, 0, 1, 1], 2 * 2 + 4 * 4)  # observed and nowcast alike in every member
    np.testing.assert_allclose(out[:, 3, 1, 1], [6.0, 0.0, 12.0])  # beyond the nowcast, each member's run


def _memory(store, hazard: str) -> list[tuple]:
    """The remembered levels of ``hazard``'s items, a tuple per item."""
    kept = store.load_levels(hazard)
    return list(zip(kept.item_ids, kept.level.tolist(), kept.below_since.tolist(), kept.evidence_at.tolist()))
