"""River gauges: the stage against the Ministry of Water Resources' flood warning signals.

Pure functions; parameters are frozen objects built from ``models/river.yaml``
(:meth:`warn.hazards.river.model.RiverFile.params`); nothing here reads files or clocks.
Levels are :class:`warn.vocab.Level`.

The ladder is that of the flood warning signals (洪水预警信号) of 水利部《水情预警发布管理办法
（试行）》(2013), stage form: blue when the stage approaches the warning stage (警戒水位),
yellow at or above it, orange at or above the guaranteed stage (保证水位), red at or above the
highest recorded stage (历史最高水位) (:func:`river_gauge`). The signal's discharge form
(a flood of 5/20/50-year return period) needs a rating curve and a flood-frequency table per
station, which no gauge layer carries: it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import ArrayLike

from warn.risk.drivers import Driver
from warn.risk.series import REASON_ZH, RateParams, latest, minutes_to, robust_rate, unknown_reason
from warn.vocab import Level


@dataclass(frozen=True)
class RiverParams:
    """The river-gauge ladder (``models/river.yaml``).

    Attributes
    ----------
    rate
        How the stage's rate of rise is judged.
    approach_margin_m
        A rising stage within this many metres under the warning stage is "approaching" (blue).
    forecast_horizon
        A stage that the current rate brings to the warning stage within this time is
        "approaching" too (blue).
    """

    rate: RateParams
    approach_margin_m: float
    forecast_horizon: timedelta


@dataclass(frozen=True)
class GaugeState:
    """A river gauge against its warning and guaranteed stages.

    Attributes
    ----------
    known
        False when the gauge is stale, its latest reading flagged, or it has no readings.
    reason
        Why it is unknown (``stale``, ``latest reading flagged``, ``no readings``); empty when known.
    stage_m
        Latest stage, m above the gauge datum.
    rate_m_per_h
        Theil–Sen rate of rise, m/h (NaN if unknown).
    hours_to_warning, hours_to_guaranteed
        Hours to the warning (警戒) and guaranteed (保证) stages at the current rate: 0 if
        reached, inf if not rising, NaN if the rate is unknown.
    level
        The gauge level (:func:`river_gauge`); ``UNKNOWN`` when not known.
    threshold_m
        The stage of the rung reached (for NONE: where blue begins), m.
    """

    known: bool
    reason: str
    stage_m: float
    rate_m_per_h: float
    hours_to_warning: float
    hours_to_guaranteed: float
    level: Level
    threshold_m: float


def river_gauge(times: ArrayLike, stage_m: ArrayLike, *, warning_stage_m: float, guaranteed_stage_m: float,
                highest_stage_m: float = float("nan"), stale: bool, latest_flagged: bool,
                params: RiverParams) -> GaugeState:
    """Level of a river gauge now; the highest rung met wins.

    - red: stage ≥ the highest recorded stage (历史最高水位), where the caller knows it;
    - orange: stage ≥ guaranteed stage (保证水位: the highest flood stage at which the flood
      defences are assured safe, GB/T 50095 水文基本术语);
    - yellow: stage ≥ warning stage (警戒水位: the stage at which dykes may show danger and
      patrols begin);
    - blue, "approaching the warning stage": rising (or rate unknown) within
      ``approach_margin_m`` under it, or rising fast enough to reach it within
      ``forecast_horizon``;
    - none otherwise.

    Parameters
    ----------
    times, stage_m
        QC-passed readings: ``datetime64`` (UTC) and stage in m above the gauge datum.
    warning_stage_m, guaranteed_stage_m
        The station's 警戒水位 and 保证水位, m above the datum (guaranteed above warning).
    highest_stage_m
        Highest recorded stage, m above the datum; NaN when not known (red then cannot be
        reached from the stage).
    stale
        The gauge has been silent for k × its interval (the caller's staleness rule).
    latest_flagged
        The gauge's latest reading failed QC (it is not among ``times``).
    params
        Rate window, approach margin, forecast horizon.

    Returns
    -------
    GaugeState
        Unknown (level ``UNKNOWN``, never ``NONE``) when stale, flagged or without readings.

    Raises
    ------
    ValueError
        The guaranteed stage is not above the warning stage.
    """
    if not guaranteed_stage_m > warning_stage_m:
        raise ValueError(f"guaranteed stage {guaranteed_stage_m:g} m must be above the warning stage "
                         f"{warning_stage_m:g} m")
    t, v, stage = latest(times, stage_m)
    reason = unknown_reason(t.size, stale, latest_flagged)
    if reason:
        nan = float("nan")
        return GaugeState(False, reason, nan, nan, nan, nan, Level.UNKNOWN, nan)
    rate = robust_rate(t, v, window=params.rate.window, min_readings=params.rate.min_readings)
    to_warning, to_guaranteed = minutes_to(stage, rate, np.array([warning_stage_m, guaranteed_stage_m])) / 60.0
    approach = warning_stage_m - params.approach_margin_m
    horizon_h = params.forecast_horizon.total_seconds() / 3600
    rising = not rate <= 0  # NaN (unknown) counts as possibly rising
    rungs = ((Level.RED, highest_stage_m, stage >= highest_stage_m),
             (Level.ORANGE, guaranteed_stage_m, stage >= guaranteed_stage_m),
             (Level.YELLOW, warning_stage_m, stage >= warning_stage_m),
             (Level.BLUE, approach, (stage >= approach and rising) or to_warning <= horizon_h))
    level, threshold = next(((lvl, thr) for lvl, thr, met in rungs if met), (Level.NONE, approach))
    return GaugeState(True, "", stage, rate, float(to_warning), float(to_guaranteed), level, float(threshold))


def level_within(gauge: GaugeState, reach: timedelta) -> Level:
    """Give the level the current rate brings the gauge to within ``reach``.

    Orange where it reaches the guaranteed stage within ``reach``, yellow where it reaches the
    warning stage, never below the level now; the level now when unknown or not rising.
    """
    if not gauge.known:
        return gauge.level
    hours = reach.total_seconds() / 3600
    ahead = Level.ORANGE if gauge.hours_to_guaranteed <= hours else \
        Level.YELLOW if gauge.hours_to_warning <= hours else Level.NONE
    return max(gauge.level, ahead)


def gauge_drivers(gauge: GaugeState) -> list[Driver]:
    """Give a river gauge's reasons: its stage against the rung it reached, and when it reaches the next stage.

    A blue reached by the rate alone (the warning stage within the forecast horizon) leaves the
    stage under the approach margin: its driver says so, and the next one says when.
    """
    by_rate = gauge.level is Level.BLUE and gauge.stage_m < gauge.threshold_m
    drivers = [Driver("河道水位", gauge.stage_m, "m", gauge.threshold_m, Level.NONE if by_rate else gauge.level)]
    for quantity, hours, level in (("预计达警戒水位", gauge.hours_to_warning, Level.YELLOW),
                                   ("预计达保证水位", gauge.hours_to_guaranteed, Level.ORANGE)):
        if gauge.known and 0 < hours < np.inf:
            stage = gauge.stage_m + gauge.rate_m_per_h * hours
            lead = timedelta(minutes=max(15, 15 * round(hours * 4)))  # to the quarter hour, as gauges are read out
            drivers.append(Driver(quantity, stage, "m", stage, level, lead))
            break
    return drivers


def stage_text(gauge: GaugeState, *, warning_stage_m: float, guaranteed_stage_m: float,
               highest_stage_m: float) -> str:
    """Say the gauge's stage as a hydrological report does: ``水位 5.20 m，超警戒水位 0.20 m（警戒水位 5.00 m）``.

    Parameters
    ----------
    gauge
        The gauge now (:func:`river_gauge`).
    warning_stage_m, guaranteed_stage_m, highest_stage_m
        The station's stages, m above the datum (highest NaN when not known).
    """
    if not gauge.known:
        return f"水位未知（{REASON_ZH.get(gauge.reason, gauge.reason)}） / stage unknown ({gauge.reason})"
    stage = gauge.stage_m
    over = ((highest_stage_m, "历史最高水位", "the highest recorded stage"),
            (guaranteed_stage_m, "保证水位", "the guaranteed stage"),
            (warning_stage_m, "警戒水位", "the warning stage"))
    for mark, zh, en in over:
        if stage >= mark:
            return (f"水位 {stage:.2f} m，超{zh} {stage - mark:.2f} m（{zh} {mark:.2f} m） / stage {stage:.2f} m, "
                    f"{stage - mark:.2f} m above {en} ({mark:.2f} m)")
    near = "，接近警戒水位" if gauge.level is Level.BLUE else ""
    below = warning_stage_m - stage
    return (f"水位 {stage:.2f} m{near}，低于警戒水位 {below:.2f} m（警戒水位 {warning_stage_m:.2f} m） / "
            f"stage {stage:.2f} m, {below:.2f} m below the warning stage ({warning_stage_m:.2f} m)")
