"""The lead times every hazard reports, as index windows over a run's times."""

from __future__ import annotations

import numpy as np

from warn.hazards.spec import LEADS


def lead_seconds(times: np.ndarray) -> np.ndarray:
    """Seconds from the first of ``times`` (t0, datetime64) to each, int64."""
    return (times - times[0]).astype("timedelta64[s]").astype(np.int64)


def lead_windows(times: np.ndarray) -> dict[str, np.ndarray]:
    """Which of ``times`` each lead covers: ``now`` is t0, the others the steps after it up to their reach."""
    lead = lead_seconds(times)
    return {name: (lead == 0) if not reach else (lead > 0) & (lead <= reach.total_seconds())
            for name, reach in LEADS.items()}


def peak(score: np.ndarray, window: np.ndarray) -> int | None:
    """Index of the highest known score within ``window``; ``None`` when none is known."""
    candidates = np.where(window & ~np.isnan(score), score, -np.inf)
    return int(np.argmax(candidates)) if np.isfinite(candidates.max(initial=-np.inf)) else None
