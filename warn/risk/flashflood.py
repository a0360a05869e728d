"""Flash flood (山洪) of small catchments: rolling catchment rain against dynamic critical rainfall.

Pure functions on numpy arrays; parameters are frozen objects built from
``models/flashflood.yaml`` (:meth:`warn.hazards.flashflood.model.FlashFloodFile.params`);
nothing here reads files, clocks or the store. Rain is catchment-mean depth in mm per
hour; levels are :class:`warn.vocab.Level` (``UNKNOWN`` where evidence is missing, never
``NONE``).

Method, per small catchment (小流域) of a county's 山洪灾害防御预案:

1. Rolling catchment rain R_d over d = 1, 3, 6 h (:func:`rolling_rain`).
2. Antecedent wetness: the Soil Water Index W (mm) of the JMA three-tank series model
   (:func:`warn.risk.landslide.soil_water_index`, MODELS.md "Landslide" 2.) run on the
   catchment-mean hourly rain and carried from cycle to cycle. The National Meteorological
   Centre's dynamic flash-flood thresholds (狄靖月, 许凤雯, 包红军, 徐成鹏, 张国平 2021:
   引发山洪的降水特征及动态阈值研究, 暴雨灾害 40(6): 655–663,
   DOI 10.3969/j.issn.1004-9045.2021.06.010) lower the critical rainfall as the 10–50 cm
   soil water content before the event rises; here W stands in for that soil water
   content, which the district does not observe.
3. Dynamic threshold (:func:`threshold_reduction`, :func:`dynamic_threshold`): the plan's
   critical rainfall C_d (准备转移 P_d, 立即转移 E_d) is lowered by the fraction
   r(W) = r_max · clip((W − W_normal) / (W_wet − W_normal), 0, 1), C'_d = C_d · (1 − r);
   the plan's values hold at or below W_normal and are never raised. The linear form and
   its three numbers are this model's (provisional): the paper's fitted equation was not
   available to check.
4. Colours (:func:`flash_score`): per duration the rain is scored on the common 0–100
   level scale, piecewise linear through the knots blue = a·P'_d (approaching 准备转移),
   yellow = P'_d (准备转移 reached), orange = P'_d + o·(E'_d − P'_d) (past the given share
   of the way to 立即转移), red = E'_d (立即转移 reached); the catchment's score is the
   highest over the durations, its level that score's level.
5. Drivers (:func:`driver_text`): ``3 h 雨量 68 mm ≥ 立即转移临界雨量 60 mm（前期偏湿，阈值下调 15 %）``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import numpy as np
from numpy.typing import ArrayLike, NDArray

from warn.risk import kernels
from warn.risk.chunks import CellMap, in_process
from warn.risk.kernels import Method
from warn.risk.landslide import TankParams, quantity_score
from warn.risk.levels import LevelParams
from warn.vocab import Level


@dataclass(frozen=True)
class WetnessParams:
    """How antecedent wetness lowers the critical rainfall (``models/flashflood.yaml`` ``wetness``).

    Attributes
    ----------
    swi_normal_mm
        Soil Water Index (mm) at or below which the plan's critical rainfall holds as it is.
    swi_wet_mm
        Soil Water Index (mm) at or above which it is lowered by the whole ``max_reduction``.
    max_reduction
        Largest fraction (0–1) by which wetness lowers the critical rainfall.
    """

    swi_normal_mm: float
    swi_wet_mm: float
    max_reduction: float

    def __post_init__(self) -> None:
        """Refuse thresholds out of order and a reduction outside [0, 1)."""
        if not 0 <= self.swi_normal_mm < self.swi_wet_mm:
            raise ValueError(f"wetness: expected 0 ≤ swi_normal_mm < swi_wet_mm, got {self.swi_normal_mm!r}, "
                             f"{self.swi_wet_mm!r}")
        if not 0 <= self.max_reduction < 1:
            raise ValueError(f"wetness.max_reduction: expected a fraction in [0, 1), got {self.max_reduction!r}")


@dataclass(frozen=True)
class FlashFloodParams:
    """Frozen parameters of the flash-flood model.

    Attributes
    ----------
    tank
        The three-tank series model run on catchment-mean rain (wetness state).
    wetness
        The lowering of the critical rainfall with wetness.
    durations_h
        Rain durations (h) the critical rainfall is given for, increasing (1, 3, 6).
    approach
        Blue begins at this fraction (0–1) of the 准备转移 critical rainfall.
    orange
        Orange begins this share (0–1) of the way from 准备转移 to 立即转移.
    levels
        The 0–100 level scale and levels with memory.
    spin_up
        How long the tanks must have run from empty before their SWI is more than a lower bound.
    """

    tank: TankParams
    wetness: WetnessParams
    durations_h: tuple[int, ...]
    approach: float
    orange: float
    levels: LevelParams
    spin_up: timedelta


def rolling_rain(hourly_mm: ArrayLike, durations_h: Sequence[int], *, method: Method = "numba",
                 cells: CellMap = in_process) -> NDArray[np.float64]:
    """Rain of the last d hours ending at each hour, for each duration d.

    Parameters
    ----------
    hourly_mm
        Rain depth per hour, mm, (time, ...items); the value at index k fell in the hour
        ending at time k.
    durations_h
        Window lengths, h (whole hours ≥ 1).
    method
        ``numba``: the compiled loop (:func:`warn.risk.kernels.window_sums`), one pass over
        blocks of items; ``numpy``: the reference, cumulative sums over all items. Both take a
        window's sum as the difference of running totals: equal to the last bit.
    cells
        Where the compiled loop runs: here (the default) or on chunks of the items elsewhere
        (:mod:`warn.risk.chunks`); the same result.

    Returns
    -------
    numpy.ndarray
        (len(durations_h), time, ...items), mm: R_d(k) = Σ_{j=k−d+1..k} r_j. NaN where the
        window holds a NaN hour or begins before the series does.

    Raises
    ------
    ValueError
        A duration below 1 h, or an unknown method.
    TypeError
        A duration that is not a whole number (an int).
    """
    hours = [operator.index(h) for h in durations_h]
    short = [h for h in hours if h < 1]
    if short:
        raise ValueError(f"durations_h: expected whole hours ≥ 1, got {short[0]!r}")
    rain = np.asarray(hourly_mm, dtype=np.float64)
    if kernels.checked(method) == "numba":
        sums = cells(partial(_window_sums, hours=np.array(hours, dtype=np.int64)), kernels.flat(rain))[0]
        return sums.reshape(len(hours), *rain.shape)
    missing = np.isnan(rain)
    zero = np.zeros((1, *rain.shape[1:]))
    total = np.concatenate([zero, np.cumsum(np.where(missing, 0.0, rain), axis=0)])
    gaps = np.concatenate([zero, np.cumsum(missing, axis=0)])
    out = np.full((len(durations_h), *rain.shape), np.nan)
    for i, d in enumerate(hours):
        if d > rain.shape[0]:
            continue
        window = total[d:] - total[:-d]
        holes = gaps[d:] - gaps[:-d]
        out[i, d - 1:] = np.where(holes > 0, np.nan, window)
    return out


def _window_sums(rain: np.ndarray, hours: np.ndarray) -> tuple[NDArray[np.float64]]:
    """Sum the rain of each window of ``hours`` over ``rain`` (T, N) by the compiled loop: (D, T, N) mm."""
    out = np.empty((hours.size, *rain.shape))
    kernels.window_sums(rain, hours, out)
    return (out,)


def threshold_reduction(swi_mm: ArrayLike, *, params: WetnessParams) -> NDArray[np.float64]:
    """Fraction by which antecedent wetness lowers the critical rainfall.

    r = r_max · clip((W − W_normal) / (W_wet − W_normal), 0, 1) (module docstring, 3.).

    Parameters
    ----------
    swi_mm
        Soil Water Index W of each catchment, mm (any shape); NaN when unknown.
    params
        W_normal, W_wet (mm) and r_max.

    Returns
    -------
    numpy.ndarray
        r, 0 … r_max, same shape; NaN where W is NaN.
    """
    w = np.asarray(swi_mm, dtype=np.float64)
    share = np.clip((w - params.swi_normal_mm) / (params.swi_wet_mm - params.swi_normal_mm), 0.0, 1.0)
    return params.max_reduction * share


def dynamic_threshold(critical_mm: ArrayLike, reduction: ArrayLike) -> NDArray[np.float64]:
    """Lower the critical rainfall by ``reduction``: C' = C · (1 − r).

    Parameters
    ----------
    critical_mm
        The plan's critical rainfall, mm.
    reduction
        r from :func:`threshold_reduction` (broadcastable); NaN (wetness unknown) keeps the
        plan's value.

    Returns
    -------
    numpy.ndarray
        C', mm, the broadcast shape.
    """
    r = np.nan_to_num(np.asarray(reduction, dtype=np.float64), nan=0.0)
    return np.asarray(critical_mm, dtype=np.float64) * (1.0 - r)


def flash_score(rain_mm: ArrayLike, prepare_mm: ArrayLike, evacuate_mm: ArrayLike, *,
                params: FlashFloodParams) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Flash-flood score of each catchment: the worst of its durations on the 0–100 level scale.

    Per duration, :func:`warn.risk.landslide.quantity_score` of R_d through the knots
    (a·P', P', P' + o·(E' − P'), E') at the level boundaries (module docstring, 4.).

    Parameters
    ----------
    rain_mm
        Rolling rain R_d, mm, (duration, ...) as from :func:`rolling_rain`.
    prepare_mm, evacuate_mm
        Dynamic 准备转移 and 立即转移 critical rainfall P'_d, E'_d, mm, broadcastable with
        ``rain_mm``; E' > P' > 0.
    params
        ``approach``, ``orange`` and the level boundaries.

    Returns
    -------
    score, governing
        Score 0–100 (duration axis reduced), NaN where any duration's rain is NaN (a
        missing 6 h window could hide a red); ``governing``: int8 index of the duration
        that set the score (the shortest on a tie), −1 where the score is NaN.

    Raises
    ------
    ValueError
        A 立即转移 threshold not above its 准备转移 one, or a threshold not above 0.
    """
    rain = np.asarray(rain_mm, dtype=np.float64)
    prepare, evacuate = np.broadcast_arrays(np.asarray(prepare_mm, dtype=np.float64),
                                            np.asarray(evacuate_mm, dtype=np.float64))
    if (prepare <= 0).any() or (evacuate <= prepare).any():
        raise ValueError("critical rainfall: expected 0 < 准备转移 prepare < 立即转移 evacuate")
    knots = np.stack([params.approach * prepare, prepare, prepare + params.orange * (evacuate - prepare), evacuate])
    scores = quantity_score(rain, thresholds=knots, scores=params.levels.boundaries)
    unknown = np.isnan(scores).any(axis=0)
    governing = np.argmax(np.where(np.isnan(scores), -np.inf, scores), axis=0)
    score = np.where(unknown, np.nan, np.nanmax(np.where(np.isnan(scores), -np.inf, scores), axis=0))
    return score, np.where(unknown, -1, governing).astype(np.int8)


def driver_text(duration_h: int, rain_mm: float, prepare_mm: float, evacuate_mm: float, reduction: float,
                level: Level, lead: timedelta, *, params: FlashFloodParams) -> str:
    """Why a catchment is at ``level``, as a duty officer reads it out on the phone.

    ``3 h 雨量 68 mm ≥ 立即转移临界雨量 60 mm（前期偏湿，阈值下调 15 %） (+2 h)``.

    Parameters
    ----------
    duration_h
        The governing duration, h.
    rain_mm
        Its rolling rain, mm (NaN: unknown).
    prepare_mm, evacuate_mm
        The dynamic 准备转移 and 立即转移 critical rainfall of that duration, mm.
    reduction
        The wetness reduction applied (0–1; NaN: wetness unknown, the plan's values used).
    level
        The level the rain puts the catchment at.
    lead
        How far ahead of t0 (0 for now).
    params
        ``approach`` and ``orange`` for the blue and orange wording.

    Returns
    -------
    str
    """
    quantity = f"{duration_h} h 雨量"
    where = f" ({_lead(lead)})"
    if level is Level.UNKNOWN or math.isnan(rain_mm):
        return f"{quantity} 未知 unknown{where}"
    value = f"{quantity} {_mm(rain_mm)} mm"
    prepare, evacuate = f"准备转移临界雨量 {_mm(prepare_mm)} mm", f"立即转移临界雨量 {_mm(evacuate_mm)} mm"
    if level is Level.RED:
        reason = f"{value} ≥ {evacuate}"
    elif level is Level.ORANGE:
        reason = f"{value} ≥ {prepare}，已过至{evacuate} 的 {_percent(params.orange)}"
    elif level is Level.YELLOW:
        reason = f"{value} ≥ {prepare}"
    elif level is Level.BLUE:
        reason = f"{value} ≥ {prepare} 的 {_percent(params.approach)}"
    else:
        reason = f"{value} < {prepare} 的 {_percent(params.approach)}"
    if math.isnan(reduction):
        wetness = "（前期土壤含水未知，按预案临界雨量）"
    elif round(reduction * 100) > 0:
        wetness = f"（前期偏湿，阈值下调 {_percent(reduction)}）"
    else:
        wetness = ""
    return f"{reason}{wetness}{where}"


def _percent(fraction: float) -> str:
    return f"{round(fraction * 100):d} %"


def _mm(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _lead(lead: timedelta) -> str:
    hours = lead.total_seconds() / 3600
    return "现在 now" if hours == 0 else f"+{hours:g} h"
