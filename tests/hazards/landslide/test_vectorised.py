"""The landslide judging over all items at once equals the per-item judgement it replaced, on random inputs.

The reference judges one item at a time with the public functions of :mod:`warn.risk.landslide`
(``trigger_score``, ``drivers_for``, ``zone_level``, ``apply_floor``) and :func:`warn.hazards.leads.peak`,
as the scoring did before it was vectorised.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from warn import hazards
from warn.hazards.landslide.scoring import Bounds, _drivers, _groups, _judge, _rain_24h, _worst_cells
from warn.hazards.leads import lead_seconds, lead_windows, peak
from warn.risk.landslide import TriggerThresholds, apply_floor, drivers_for, trigger_score, zone_level
from warn.risk.levels import level_of
from warn.vocab import Level

PARAMS = hazards.load_model("landslide", ROOT / "models" / "landslide.yaml").params()
TIMES = np.datetime64("2026-07-15T00:00", "s") + np.arange(26) * np.timedelta64(1, "h")


def key(drivers) -> list[tuple]:
    """Drivers comparable with NaN values (NaN equals NaN here)."""
    return [(d.quantity, "nan" if d.value != d.value else d.value, d.unit, d.threshold, d.level, d.lead,
             d.worse_below, d.text()) for d in drivers]


def thresholds_sets(rng: np.random.Generator, n: int) -> list[TriggerThresholds]:
    """``n`` random increasing threshold sets (a few distinct ones, as zones share the default)."""
    distinct = [TriggerThresholds(*(tuple(float(x) for x in np.cumsum(rng.uniform(1, scale, 4)))
                                    for scale in (150, 40, 120)), PARAMS.trigger.scores, False) for _ in range(3)]
    return [distinct[k] for k in rng.integers(0, 3, n)]


def quantities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """SWI, 60-minute rain and effective rain (3, *shape), mm, with exact thresholds' values, zeros and NaN."""
    values = rng.uniform(0, 1, (3, *shape)) * np.array([400, 100, 300])[:, None, None]
    values[rng.uniform(size=values.shape) < 0.1] = 0.0
    values[rng.uniform(size=values.shape) < 0.05] = np.nan
    values[1][rng.uniform(size=shape) < 0.05] = 20.0
    values[:, :, rng.uniform(size=shape[-1]) < 0.2] = np.nan  # items without any evidence
    return values


def case(seed: int, n: int):
    """A random generator, ``n`` items' threshold sets, quantities (3, time, item), bounds and scores (time, item)."""
    rng = np.random.default_rng(seed)
    sets = thresholds_sets(rng, n)
    values = quantities(rng, (len(TIMES), n))
    bounds = Bounds.of(*_groups(sets))
    return rng, sets, values, bounds, bounds.scores(*values, PARAMS.trigger.scores)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30))
def test_scores_and_drivers_equal_the_per_item_ones(seed, n):
    rng, sets, values, bounds, scores = case(seed, n)
    at = rng.integers(0, len(TIMES), n)
    drivers = _drivers(values[:, at, np.arange(n)], bounds, TIMES[at] - TIMES[0])
    for i, thresholds in enumerate(sets):
        np.testing.assert_array_equal(scores[:, i], trigger_score(*values[:, :, i], thresholds=thresholds)[0])
        lead = timedelta(seconds=int(lead_seconds(TIMES)[at[i]]))
        one = drivers_for(*values[:, at[i], i], thresholds=thresholds, lead=lead)
        assert key(drivers.of(i)) == key(one)
        assert drivers.texts[i] == tuple(d.text() for d in one)  # formatted column by column, read alike


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 25), st.integers(1, 40))
def test_worst_cells_are_the_first_highest_of_each_row(seed, zones, cells):
    rng = np.random.default_rng(seed)
    cover = rng.uniform(size=(zones, cells)) < 0.3
    cover[np.arange(zones), rng.integers(0, cells, zones)] = True  # every zone covers a cell
    matrix = sp.csr_matrix(cover.astype(float))
    order = rng.permutation(matrix.indices.size)  # unsorted columns within rows, as CSR allows
    for z in range(zones):
        lo, hi = matrix.indptr[z], matrix.indptr[z + 1]
        matrix.indices[lo:hi] = matrix.indices[lo:hi][np.argsort(order[lo:hi])]
    groups = [np.round(rng.uniform(0, 100, (5, cells)), 0) for _ in range(2)]
    for scores in groups:
        scores[rng.uniform(size=scores.shape) < 0.1] = np.nan
    group_of = rng.integers(0, 2, zones)
    at = rng.integers(0, 5, zones)
    worst = _worst_cells(matrix, groups, group_of, at)
    for z in range(zones):
        covered = matrix[z].indices
        row = groups[group_of[z]][at[z], covered]
        assert worst[z] == covered[np.argmax(np.nan_to_num(row, nan=-1.0))]


def reference(item_id, score, reasons, swi, effective, susceptibility, official):
    """One item as the scoring judged it before: peak per lead, the matrix, the floor, the drivers."""
    lead = lead_seconds(TIMES)
    levels, drivers = {}, {}
    for name, window in lead_windows(TIMES).items():
        pick = peak(score, window)
        trigger = Level(int(level_of(score[pick], PARAMS.levels.boundaries))) if pick is not None else Level.UNKNOWN
        levels[name] = Level(int(apply_floor(zone_level(susceptibility, trigger, matrix=PARAMS.matrix), official)))
        drivers[name] = reasons(pick if pick is not None else int(np.argmax(window)))
    upto = lead <= 24 * 3600

    def nanmax(values):
        return float(np.nanmax(values)) if np.isfinite(values).any() else float("nan")

    return levels, drivers, nanmax(swi[upto]), nanmax(effective[upto]), float(score[0])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30))
def test_levels_equal_the_per_item_judgement(seed, n):
    rng, sets, values, bounds, score = case(seed, n)
    classes = rng.integers(1, 6, n)
    official = rng.choice([Level.NONE, Level.NONE, Level.BLUE, Level.ORANGE], n).astype(np.int8)
    ids = [f"Z{i}" for i in range(n)]
    items = _judge(ids, ids, "zone", score,
                   lambda at: _drivers(values[:, at, np.arange(n)], bounds, TIMES[at] - TIMES[0]),
                   values[0], values[2], PARAMS, TIMES, classes, official)
    for i, item in enumerate(items):
        def reasons(at, i=i):
            return drivers_for(*values[:, at, i], thresholds=sets[i],
                               lead=timedelta(seconds=int(lead_seconds(TIMES)[at])))
        levels, drivers, swi_max, effective_max, now = reference(
            ids[i], score[:, i], reasons, values[0, :, i], values[2, :, i], int(classes[i]), Level(int(official[i])))
        assert item.levels == levels and all(type(v) is Level for v in item.levels.values())
        assert {lead: key(d) for lead, d in item.drivers.items()} == {lead: key(d) for lead, d in drivers.items()}
        np.testing.assert_array_equal([item.swi_max, item.effective_rain_max, item.score_now],
                                      [swi_max, effective_max, now])
        assert item.susceptibility == classes[i] and item.official == official[i]


def test_an_invalid_class_is_refused_as_before():
    score = np.full((len(TIMES), 1), 30.0)
    with pytest.raises(ValueError, match="susceptibility"):
        _judge(["Z"], ["Z"], "zone", score, lambda at: [()], score, score, PARAMS, TIMES, np.array([6]),
               np.zeros(1, np.int8))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), known=st.booleans())
def test_effective_rain_carried_on_from_t0_equals_the_recursion_over_the_whole_series(seed, known):
    from warn.hazards.landslide.scoring import _effective_rain, _lookback_hours, _on_hours
    from warn.risk.chunks import in_process
    from warn.risk.landslide import effective_rainfall

    rng = np.random.default_rng(seed)
    shape, hours = (4, 5), _lookback_hours(PARAMS) + 30
    ends = TIMES[0] - np.arange(hours)[::-1] * np.timedelta64(1, "h")
    held = rng.random(hours) > 0.2  # hours not kept count as dry
    mm = (rng.gamma(0.5, 4.0, (hours, *shape))).astype(np.float32)
    mm[rng.random(mm.shape) < 0.05] = np.nan  # NaN readings count as dry
    forecast = rng.gamma(0.5, 6.0, (len(TIMES) - 1, *shape))
    forecast[rng.integers(0, len(forecast))] = np.nan  # a missing hour: NaN at its end, dry after it
    history = (ends[held], mm[held])
    out = np.full((len(TIMES), *shape), -1.0)
    _effective_rain(history, TIMES, forecast, PARAMS, known, in_process, out=out)
    lookback = _lookback_hours(PARAMS)
    series = np.concatenate([_on_hours(history, TIMES[0], lookback, shape), np.nan_to_num(forecast)])
    whole = effective_rainfall(series, half_life_h=PARAMS.half_life_h)[lookback - 1:]
    whole[1:][np.isnan(forecast)] = np.nan
    if not known:
        whole[0] = np.nan
    np.testing.assert_array_equal(out, whole)


@settings(max_examples=40, deadline=None)
@given(kept=st.integers(0, 150), gap=st.integers(0, 30), seed=st.integers(0, 2**32 - 1))
def test_the_24_hour_rain_of_the_point_cells_is_every_hour_within_24_hours_summed(kept, gap, seed):
    """Kept hours (some missing, NaN among them) up to t0, then the forecast: each time's 24-hour rain in the
    points' cells equals the plain sum of the hours ending within the 24 h before it."""
    rng = np.random.default_rng(seed)
    hour = np.timedelta64(1, "h")
    t0 = np.datetime64("2026-07-15T12:00", "s")
    ends = t0 - np.sort(rng.choice(np.arange(kept + gap + 1), size=kept, replace=False))[::-1] * hour
    mm = rng.gamma(0.5, 8.0, (kept, 4, 5)).astype(np.float32)
    mm[rng.random(mm.shape) < 0.05] = np.nan
    forecast = rng.gamma(0.5, 8.0, (30, 4, 5))
    times = t0 + np.arange(31) * hour
    rows, cols = np.array([0, 3, 3]), np.array([4, 0, 4])
    got = _rain_24h(times, (ends, mm), forecast, rows, cols)
    all_ends = np.concatenate([ends, times[1:]])
    all_mm = np.nan_to_num(np.concatenate([mm, forecast]))[:, rows, cols]
    for k, t in enumerate(times):
        within = (all_ends > t - 24 * hour) & (all_ends <= t)
        np.testing.assert_allclose(got[k], all_mm[within].sum(axis=0), rtol=1e-12, atol=1e-9)
