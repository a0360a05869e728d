r"""Demo ponding depths at waterlogging points, generated from a rain series by a bucket model.

Each point is a linear reservoir (a "bucket") fed by the rain its catchment cannot drain:

.. math::

    r_t = P_t / \Delta t, \qquad
    I_t = C \, \max(0,\; r_t - i_d) \, A / 1000, \qquad
    S_t = S_{t-1} e^{-\Delta t / k} + I_t \, k \, (1 - e^{-\Delta t / k}), \qquad
    h_t = S_t / (f_p A)

with :math:`P_t` the rain depth in step :math:`t` (mm), :math:`\Delta t` the step (h),
:math:`r_t` the rain intensity (mm/h), :math:`C` the point's ``impervious_fraction``
(runoff coefficient), :math:`i_d` the drainage capacity as a rain intensity (mm/h,
``drain_mm_h``), :math:`A` the ``catchment_area_ha`` in m², :math:`I_t` the surplus
inflow to the pond (m³/h), :math:`k` the recession time constant (h, ``recession_h``),
:math:`S_t` the stored volume (m³, starting dry), :math:`f_p` the
``ponding_area_fraction`` and :math:`h_t` the ponding depth (m). The storage update is
the exact solution of :math:`dS/dt = I - S/k` for inflow held constant over the step, so
the result does not depend on the step length chosen. Dry weather gives 0; depth rises
while rain exceeds the drainage capacity and recedes as :math:`e^{-t/k}` after.
Because inflow and pond area both scale with :math:`A`, the catchment area cancels out
of the depth: it sets the volumes, not the depth.

This is a demo generator, not a hydraulic model (no pipe network, no surface flow
between points); the values are synthetic. :class:`Freeze` and :class:`Spike` stage the
sensor faults QC has to catch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

#: Drainage capacity as rain intensity, mm/h: a demo value, not calibrated, low enough
#: that the demo storms pond.
DEFAULT_DRAIN_MM_H = 25.0
#: Recession time constant, hours.
DEFAULT_RECESSION_H = 0.5


@dataclass(frozen=True)
class Bucket:
    """The bucket of one point.

    Parameters
    ----------
    catchment_area_ha
        Catchment draining to the point, ha (> 0).
    impervious_fraction
        Runoff coefficient, 0–1.
    ponding_area_fraction
        Share of the catchment where water ponds, (0, 1].
    drain_mm_h
        Drainage capacity as rain intensity, mm/h (≥ 0).
    recession_h
        Recession time constant, h (> 0).
    """

    catchment_area_ha: float
    impervious_fraction: float
    ponding_area_fraction: float
    drain_mm_h: float = DEFAULT_DRAIN_MM_H
    recession_h: float = DEFAULT_RECESSION_H

    def __post_init__(self) -> None:
        checks = {
            "catchment_area_ha": self.catchment_area_ha > 0,
            "impervious_fraction": 0 <= self.impervious_fraction <= 1,
            "ponding_area_fraction": 0 < self.ponding_area_fraction <= 1,
            "drain_mm_h": self.drain_mm_h >= 0,
            "recession_h": self.recession_h > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"Bucket.{name}: out of range, got {getattr(self, name)!r}")

    @classmethod
    def from_point(cls, point: Mapping[str, Any], **overrides: float) -> Bucket:
        """From a waterlogging point's attributes (``catchment_area_ha``, ``impervious_fraction``,
        ``ponding_area_fraction``); ``overrides`` set ``drain_mm_h`` / ``recession_h``."""
        missing = [k for k in ("catchment_area_ha", "impervious_fraction", "ponding_area_fraction") if k not in point]
        if missing:
            raise KeyError(f"waterlogging point {point.get('point_id', '?')}: expected attributes {missing}")
        return cls(float(point["catchment_area_ha"]), float(point["impervious_fraction"]),
                   float(point["ponding_area_fraction"]), **overrides)

    def depth(self, rain_mm: Sequence[float] | np.ndarray, step: timedelta) -> np.ndarray:
        """Ponding depth at the end of each step, m.

        Parameters
        ----------
        rain_mm
            Rain depth in each step, mm (finite, ≥ 0).
        step
            Step length.

        Returns
        -------
        numpy.ndarray
            Depth h_t, m, one per step.
        """
        rain = np.asarray(rain_mm, dtype=np.float64)
        if rain.ndim != 1 or not np.all(np.isfinite(rain)) or np.any(rain < 0):
            raise ValueError("rain_mm: expected a 1-D series of finite depths ≥ 0 mm")
        dt_h = step / timedelta(hours=1)
        if dt_h <= 0:
            raise ValueError(f"step: expected a positive duration, got {step}")
        area_m2 = self.catchment_area_ha * 1e4
        pond_m2 = self.ponding_area_fraction * area_m2
        decay = math.exp(-dt_h / self.recession_h)
        storage = 0.0
        depth = np.empty_like(rain)
        for t, p in enumerate(rain):
            inflow = self.impervious_fraction * max(0.0, p / dt_h - self.drain_mm_h) * area_m2 / 1000.0
            storage = storage * decay + inflow * self.recession_h * (1.0 - decay)
            depth[t] = storage / pond_m2
        return depth


@dataclass(frozen=True)
class Freeze:
    """A sensor that sticks: from step ``at`` it repeats the value it read at ``at``, until step ``until``
    (the step it is repaired or replaced, and reads true again; ``None``: never)."""

    at: int
    until: int | None = None

    def apply(self, depth: np.ndarray) -> np.ndarray:
        """The series as the frozen sensor reports it."""
        out = depth.copy()
        out[self.at:self.until] = depth[self.at]
        return out


@dataclass(frozen=True)
class Spike:
    """A one-step spike of ``height_m`` metres added at step ``at``."""

    at: int
    height_m: float = 1.5

    def apply(self, depth: np.ndarray) -> np.ndarray:
        """The series as the spiking sensor reports it."""
        out = depth.copy()
        out[self.at] += self.height_m
        return out


def simulate_levels(points: Sequence[Mapping[str, Any]], rain_mm: Mapping[str, Sequence[float] | np.ndarray], *,
                    step: timedelta, faults: Mapping[str, Freeze | Spike] | None = None,
                    **bucket: float) -> dict[str, np.ndarray]:
    """Ponding depth series for each point's sensor, with staged faults.

    Parameters
    ----------
    points
        Waterlogging point attributes (``point_id``, ``sensor_id`` and the bucket attributes).
    rain_mm
        Rain depth per step at each point, mm, by ``point_id``.
    step
        Step length of the rain series.
    faults
        By sensor id: a :class:`Freeze` or :class:`Spike` applied to that sensor's series.
    bucket
        ``drain_mm_h`` / ``recession_h`` for every point.

    Returns
    -------
    dict
        sensor id → depth, m, one per step.
    """
    faults = dict(faults or {})
    out: dict[str, np.ndarray] = {}
    for point in points:
        if point["point_id"] not in rain_mm:
            raise KeyError(f"rain_mm: expected a series for point {point['point_id']}")
        depth = Bucket.from_point(point, **bucket).depth(rain_mm[point["point_id"]], step)
        fault = faults.pop(point["sensor_id"], None)
        out[point["sensor_id"]] = depth if fault is None else fault.apply(depth)
    if faults:
        raise KeyError(f"faults: expected sensor ids of the points, got unknown {sorted(faults)}")
    return out
