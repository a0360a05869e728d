"""Levels with memory across cycles: the remembered levels of a hazard's items, kept in the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from warn.risk.levels import LevelMemory, LevelParams, step
from warn.store import LevelColumns, Store


def remember(store: Store, hazard: str, ids: Sequence[str], scores: np.ndarray, now: datetime,
             params: LevelParams, *, persist: bool) -> np.ndarray:
    """Step the remembered levels of ``ids`` with this cycle's ``scores`` (NaN: no evidence).

    Returns
    -------
    numpy.ndarray
        int8 levels after the step (up at once, down after the hold, unknown after expiry),
        saved for the next cycle when ``persist``.
    """
    held = store.load_levels(hazard)
    memory = LevelMemory.from_columns(held.item_ids, held.level, held.below_since, held.evidence_at, ids)
    memory, _ = step(memory, np.asarray(scores, dtype=np.float64), now, params)
    if persist:
        store.save_levels(hazard, LevelColumns(ids, memory.level, memory.below_since, memory.last_evidence))
    return memory.level
