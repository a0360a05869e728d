"""Rain scores: rolling accumulations, the CMA rainstorm signal, storm-intensity return periods.

Pure functions on contract arrays (warn.rainarray): depth in mm per step with a
``step`` attribute, ``time`` labelling the end of each step. Any other dims (lat/lon,
zone) are carried through, so the same code scores grid cells and zone series, and
works on Dask-backed arrays. Parameters are frozen objects built from
``models/rain.yaml``; nothing here reads files or clocks.

Equations: MODELS.md, "Rain".

- Storm-intensity formula (暴雨强度公式), ``q = A (1 + C lg P) / (t + b)^n`` with q in
  L/(s·ha), t in min, P in years; ``1 mm/min = 166.67 L/(s·ha)``.
- Its inverse, the return period of D mm in t min,
  ``P = 10^((q_obs / (A / (t + b)^n) − 1) / C)`` with ``q_obs = 166.67 D / t``.
- CMA rainstorm warning signal: blue ≥ 50 mm/12 h, yellow ≥ 50 mm/6 h,
  orange ≥ 50 mm/3 h, red ≥ 100 mm/3 h.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import numpy as np
import xarray as xr
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from warn.durations import iso_duration
from warn.errors import Problem, UnknownNameError
from warn.rainarray import step_of
from warn.vocab import Level

#: L/(s·ha) per mm/min: 1 mm/min over 1 ha is 10 m³/min = 166.67 L/s.
Q_PER_MM_PER_MIN = 10_000.0 / 60.0

#: A value that is a scalar, a numpy array or a DataArray, and a function returns the same.
Values = TypeVar("Values", float, NDArray[np.float64], xr.DataArray)
#: A window's depths, as an array or a DataArray.
_Depth = TypeVar("_Depth")


@dataclass(frozen=True)
class StormFormula:
    """One storm-intensity formula ``q = A (1 + C lg P) / (t + b)^n``.

    Attributes
    ----------
    name
        Registry name (``"yubei"``).
    A, C, b, n
        Coefficients; q in L/(s·ha), t in min, P in years.
    min_duration_min, max_duration_min
        The duration range the formula was fitted on (min); outside it is not used.
    """

    name: str
    A: float
    C: float
    b: float
    n: float
    min_duration_min: float
    max_duration_min: float

    def check_duration(self, duration_min: float) -> None:
        """Refuse durations the formula was not fitted for (no extrapolation)."""
        if not self.min_duration_min <= duration_min <= self.max_duration_min:
            raise ValueError(
                f"storm formula {self.name!r} is fitted for {self.min_duration_min:g}–"
                f"{self.max_duration_min:g} min, not {duration_min:g} min"
            )


@dataclass(frozen=True)
class SignalCriterion:
    """One rung of the rainstorm signal: ``depth_mm`` or more within ``window``."""

    level: Level
    depth_mm: float
    window: timedelta


@dataclass(frozen=True)
class RainstormParams:
    """Parameters of the rain model (``models/rain.yaml``).

    Attributes
    ----------
    signal
        The signal criteria, any order.
    formulas
        Storm-intensity formulas by name.
    windows
        Accumulation windows reported, shortest first.
    default_formula
        The formula for zones that do not name one.
    """

    signal: tuple[SignalCriterion, ...]
    formulas: Mapping[str, StormFormula]
    windows: tuple[timedelta, ...]
    default_formula: str

    def windows_for(self, step: timedelta) -> list[timedelta]:
        """Every window a series of this step needs.

        The reported windows it resolves, and every multiple of the step within the storm
        formulas' fitted range (return periods).
        """
        fitted = next(iter(self.formulas.values()))
        longest = int(fitted.max_duration_min * 60 // step.total_seconds())
        for_periods = [step * k for k in range(1, longest + 1)
                       if (step * k).total_seconds() / 60 >= fitted.min_duration_min]
        return sorted(set(windows_for_step(self.windows, step)) | set(for_periods))

    def formula(self, name: str) -> StormFormula:
        """Return the storm-intensity formula called ``name``.

        Raises
        ------
        UnknownNameError
            Naming the formulas available.
        """
        try:
            return self.formulas[name]
        except KeyError:
            raise UnknownNameError(
                Problem("models/rain.yaml", "storm_intensity.formulas",
                        f"one of {', '.join(sorted(self.formulas))}", repr(name))
            ) from None


def rolling_depth(rain: xr.DataArray, window: timedelta) -> xr.DataArray:
    """Depth fallen in the ``window`` ending at each time.

    Parameters
    ----------
    rain
        Depth in mm per step, dim ``time`` (+ any others), ``step`` attribute.
    window
        Accumulation window; a whole multiple of the step.

    Returns
    -------
    xarray.DataArray
        Depth in mm per ``window``, same dims; NaN where the window reaches before the
        first time or holds a missing value (a partial sum is never passed off as whole).
    """
    count = _steps_in(window, step_of(rain))
    return xr.DataArray(rolling_sum(rain.values, count, axis=rain.get_axis_num("time")), coords=rain.coords,
                        dims=rain.dims, name=rain.name, attrs={**rain.attrs, "window": iso_duration(window)})


def rolling_sum(values: np.ndarray, count: int, *, axis: int) -> np.ndarray:
    """Sum of the ``count`` values ending at each position along ``axis`` (:func:`rolling_depth` on arrays).

    Parameters
    ----------
    values
        Any array of floats (depths in mm per step along ``axis``), NaN where missing.
    count
        Window length in steps, at least 1.
    axis
        The time axis.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype; NaN where the window reaches before the first position or
        holds a NaN. The sums are taken over the window axis of a sliding view with the
        missing values zeroed, as xarray's ``rolling(...).sum()`` takes them (bit for bit).
    """
    before = [(0, 0)] * values.ndim
    before[axis] = (count - 1, 0)
    missing = np.isnan(values)
    total = sliding_window_view(np.pad(np.where(missing, 0, values), before), count, axis=axis).sum(axis=-1)
    short = sliding_window_view(np.pad(missing, before, constant_values=True), count, axis=axis).any(axis=-1)
    return np.where(short, np.nan, total)


def windows_for_step(windows: Sequence[timedelta], step: timedelta) -> list[timedelta]:
    """Return the windows a series of this step can resolve (whole multiples of the step)."""
    return [w for w in windows if w >= step and w.total_seconds() % step.total_seconds() == 0]


def window_depths(rain: xr.DataArray, windows: Sequence[timedelta]) -> dict[timedelta, xr.DataArray]:
    """:func:`rolling_depth` for each window: ``{window: depth}``, mm per window."""
    return {window: rolling_depth(rain, window) for window in windows}


def window_sums(values: np.ndarray, windows: Sequence[timedelta], step: timedelta, *, axis: int
                ) -> dict[timedelta, np.ndarray]:
    """:func:`window_depths` on arrays: :func:`rolling_sum` of ``values`` (mm per ``step`` along ``axis``)."""
    return {window: rolling_sum(values, _steps_in(window, step), axis=axis) for window in windows}


def rainstorm_signal(depths: Mapping[timedelta, xr.DataArray], criteria: Sequence[SignalCriterion]) -> xr.DataArray:
    """Compute the CMA rainstorm-signal level at each time.

    Parameters
    ----------
    depths
        Depth in mm fallen in each window ending at each time (:func:`window_depths`), on
        any dims with ``time``; a criterion whose window is absent (the step does not
        resolve it) cannot be judged. For a zone judged on
        its worst cell, pass the zone maximum of each window's grid depth (the maximum of
        the sums, never the sum of per-step maxima).
    criteria
        Signal rungs; each is judged on the depth of its window ending at the time.

    Returns
    -------
    xarray.DataArray
        int8 levels (:class:`warn.vocab.Level`) with the dims of the depths: the highest
        rung met; ``Level.UNKNOWN`` where no rung is met but some rung could not be judged
        (its window is incomplete or holds missing data); ``Level.NONE`` only when every
        rung was judged and none is met.
    """
    first = next(iter(depths.values()))
    met = xr.full_like(first, int(Level.NONE), dtype=np.int8)
    undetermined = xr.zeros_like(first, dtype=bool)
    for rung in criteria:
        depth = depths.get(rung.window, xr.full_like(first, np.nan))
        met = xr.where(depth >= rung.depth_mm, np.maximum(met, np.int8(rung.level)), met)
        undetermined = undetermined | depth.isnull()
    level = xr.where((met == Level.NONE) & undetermined, np.int8(Level.UNKNOWN), met).astype(np.int8)
    level.attrs = {"long_name": "CMA rainstorm warning signal level", "flag_values": "-1 0 1 2 3 4",
                   "flag_meanings": "unknown none blue yellow orange red"}
    return level.rename("signal_level")


def return_period(depth_mm: Values, duration_min: float, formula: StormFormula) -> Values:
    """Return period (years) of ``depth_mm`` falling in ``duration_min``.

    ``P = 10^((q_obs / (A / (t + b)^n) − 1) / C)``, ``q_obs = 166.67 D / t`` (MODELS.md).

    Parameters
    ----------
    depth_mm
        Depth in mm (scalar, numpy or xarray); NaN stays NaN.
    duration_min
        Duration in minutes, within the formula's fitted range.
    formula
        The storm-intensity formula.

    Returns
    -------
    Same type as ``depth_mm``
        Return period in years. Small depths give periods well under a year
        (a depth of 0 gives ``10^(−1/C)``); read those as "below the design range".
    """
    formula.check_duration(duration_min)
    q_obs = Q_PER_MM_PER_MIN * depth_mm / duration_min
    q_unit = formula.A / (duration_min + formula.b) ** formula.n
    return 10.0 ** ((q_obs / q_unit - 1.0) / formula.C)


def design_depth(return_period_yr: Values, duration_min: float, formula: StormFormula) -> Values:
    """Design rain depth (mm) of a return period and duration; the inverse of :func:`return_period`.

    Parameters
    ----------
    return_period_yr
        Return period in years, > 0.
    duration_min
        Duration in minutes, within the formula's fitted range.
    formula
        The storm-intensity formula.

    Returns
    -------
    Same type as ``return_period_yr``
        Depth in mm: ``q · t / 166.67`` with q the design intensity in L/(s·ha).
    """
    formula.check_duration(duration_min)
    q = formula.A * (1.0 + formula.C * np.log10(return_period_yr)) / (duration_min + formula.b) ** formula.n
    return q * duration_min / Q_PER_MM_PER_MIN


def worst_return_period(depths: Mapping[timedelta, xr.DataArray], formula: StormFormula) -> xr.DataArray:
    """Return the largest return period over the windows within the formula's fitted range.

    Parameters
    ----------
    depths
        Depth in mm fallen in each window ending at each time (:func:`window_depths`), on
        any dims with ``time``; windows outside the formula's range are passed over.
    formula
        The storm-intensity formula.

    Returns
    -------
    xarray.DataArray
        Return period in years with the non-time dims of the depths, and a coordinate
        ``duration_min`` giving the window that produced it; NaN where no window could be
        judged.
    """
    peaks = {minutes: depth.max("time") for minutes, depth in _fitted(depths, formula).items()}
    first = next(iter(peaks.values()))
    period, minutes = _worst({m: peak.transpose(*first.dims).values for m, peak in peaks.items()}, formula)
    return xr.DataArray(period, coords=first.coords, dims=first.dims, name="return_period_yr",
                        attrs={"units": "year", "long_name": f"worst return period by storm formula {formula.name}"}
                        ).assign_coords(duration_min=(first.dims, minutes))


def worst_period(depths: Mapping[timedelta, np.ndarray], formula: StormFormula) -> tuple[np.ndarray, np.ndarray]:
    """:func:`worst_return_period` on arrays: the largest return period over the windows in the fitted range.

    Parameters
    ----------
    depths
        Depth in mm fallen in each window (one array per window, all of one shape); windows
        outside the formula's range are passed over.
    formula
        The storm-intensity formula.

    Returns
    -------
    period : numpy.ndarray
        Return period in years, the shape of the depths; NaN where every window is NaN.
    duration_min : numpy.ndarray
        The window (min) that gave it, float64; the shortest fitted one where all are NaN.

    Raises
    ------
    ValueError
        If no window lies within the formula's fitted range.
    """
    return _worst(_fitted(depths, formula), formula)


def _fitted(depths: Mapping[timedelta, _Depth], formula: StormFormula) -> dict[float, _Depth]:
    """Keep the depths of the windows within the formula's fitted range, by duration (min), shortest first."""
    fitted = {w.total_seconds() / 60: depth for w, depth in sorted(depths.items())
              if formula.min_duration_min <= w.total_seconds() / 60 <= formula.max_duration_min}
    if not fitted:
        raise ValueError(f"no window within the fitted range of storm formula {formula.name!r}")
    return fitted


def _worst(fitted: Mapping[float, np.ndarray], formula: StormFormula) -> tuple[np.ndarray, np.ndarray]:
    """:func:`worst_period` of the fitted windows' depths by duration (min)."""
    periods = np.stack([return_period(depth, minutes, formula) for minutes, depth in fitted.items()])
    missing = np.isnan(periods)
    worst = np.argmax(np.where(missing, -np.inf, periods), axis=0)
    period = np.where(missing.all(axis=0), np.nan, np.take_along_axis(periods, worst[None], axis=0)[0])
    return period, np.asarray(list(fitted), dtype=np.float64)[worst]


def daily_totals(rain: xr.DataArray, *, day_end_utc_hour: int = 12) -> xr.DataArray:
    """Daily totals on the bulletin day, which ends at ``day_end_utc_hour`` UTC.

    Chongqing bulletins use the 20:00–20:00 Beijing-time day, i.e. 12:00–12:00 UTC.

    Parameters
    ----------
    rain
        Depth in mm per step, dim ``time`` (+ any others); the step divides a day.
    day_end_utc_hour
        Hour (UTC) at which each bulletin day ends.

    Returns
    -------
    xarray.DataArray
        Depth in mm per bulletin day, labelled by the day's end time (UTC); NaN for a day
        with missing or absent steps (a partial day is not a total).
    """
    steps_per_day = _steps_in(timedelta(days=1), step_of(rain))
    shifted = rain["time"] - np.timedelta64(day_end_utc_hour, "h") - np.timedelta64(1, "ns")
    day_end = shifted.dt.floor("1D") + np.timedelta64(1, "D") + np.timedelta64(day_end_utc_hour, "h")
    grouped = rain.assign_coords(day_end=("time", day_end.values)).groupby("day_end")
    totals = grouped.sum(skipna=False).where(grouped.count() == steps_per_day)
    totals.attrs = {**rain.attrs, "step": iso_duration(timedelta(days=1)), "day_end_utc_hour": day_end_utc_hour}
    return totals.rename(rain.name).rename(day_end="time")


def _steps_in(window: timedelta, step: timedelta) -> int:
    count, rest = divmod(window.total_seconds(), step.total_seconds())
    if rest or count < 1:
        raise ValueError(f"window {iso_duration(window)} is not a whole multiple of the step {iso_duration(step)}")
    return int(count)


def window_label(window: timedelta) -> str:
    """Short label of a window for variable names: ``10min``, ``1h``, ``24h``."""
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


def zone_rain_summary(
    depths: Mapping[timedelta, xr.DataArray],
    complete: xr.DataArray,
    params: RainstormParams,
    formula_names: Sequence[str],
) -> xr.Dataset:
    """Per-zone summary of a rain forecast: peak accumulations, signal, worst return period.

    Parameters
    ----------
    depths
        ``{window: depth}``, dims (time, zone), mm fallen in the window ending at each time,
        for every window of :meth:`RainstormParams.windows_for` — the zone mean of the grid
        depth, or its maximum over the covered cells, as the model's basis says.
    complete
        Bool, dim ``zone``: the zone's rain has no missing step.
    params
        The rain model parameters.
    formula_names
        The storm-intensity formula of each zone, in zone order.

    Returns
    -------
    xarray.Dataset
        Dim ``zone``. ``max_<window>`` (mm): the largest depth in any complete window of
        that length over the forecast, for each reported window the step resolves;
        ``peak_3h_end``: end time (UTC) of the wettest 3 h, where the step resolves 3 h;
        ``signal_level`` (int8, :class:`Level`): the highest
        rainstorm signal over the forecast, ``UNKNOWN`` when none is met and the zone's
        rain is incomplete or too short to judge; ``return_period_yr`` and
        ``return_period_duration_min``: the worst window within the formula's fitted
        range; ``complete``.
    """
    zone = complete["zone"]
    out = xr.Dataset(coords={"zone": zone})
    for window in params.windows:
        if window in depths:
            out[f"max_{window_label(window)}"] = depths[window].max("time").assign_attrs(units="mm")
    three_hours = depths.get(timedelta(hours=3))
    if three_hours is not None:
        peak_index = three_hours.fillna(-1.0).argmax("time")
        out["peak_3h_end"] = three_hours["time"].isel(time=peak_index).drop_vars("time").where(
            three_hours.notnull().any("time"))
    horizon_level = rainstorm_signal(depths, params.signal).max("time")
    out["signal_level"] = xr.where((horizon_level <= Level.NONE) & ~complete, np.int8(Level.UNKNOWN),
                                   horizon_level).astype(np.int8)
    names = np.asarray(formula_names)
    periods = xr.full_like(complete, np.nan, dtype=np.float64)
    durations = periods.copy()
    for name in np.unique(names):
        worst = worst_return_period(depths, params.formula(str(name)))
        chosen = xr.DataArray(names == name, dims="zone", coords={"zone": zone})
        periods = xr.where(chosen, worst.drop_vars("duration_min"), periods)
        durations = xr.where(chosen, worst["duration_min"], durations).drop_vars("duration_min")
    out["return_period_yr"] = periods.assign_attrs(units="year")
    out["return_period_duration_min"] = durations.assign_attrs(units="min")
    out["complete"] = complete
    return out
