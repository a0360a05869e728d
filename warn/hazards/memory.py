"""Levels with memory across cycles: the remembered levels of a hazard's items, kept in the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from warn.risk.levels import LevelMemory, LevelParams, step
from warn.store import LevelRecord, Store


def remember(store: Store, hazard: str, ids: Sequence[str], scores: np.ndarray, now: datetime,
             params: LevelParams, *, persist: bool) -> np.ndarray:
    """Step the remembered levels of ``ids`` with this cycle's ``scores`` (NaN: no evidence).

    Returns
    -------
    numpy.ndarray
        int8 levels after the step (up at once, down after the hold, unknown after expiry),
        saved for the next cycle when ``persist``.
    """
    records = [{"item_id": r.item_id, "level": r.level, "below_since": r.below_since,
                "last_evidence": r.evidence_at} for r in store.load_levels(hazard)]
    memory = LevelMemory.from_records(records, list(ids)) if records else LevelMemory.empty(len(ids))
    memory, _ = step(memory, np.asarray(scores, dtype=np.float64), now, params)
    if persist:
        store.save_levels(hazard, [LevelRecord(r["item_id"], r["level"], r["below_since"], r["last_evidence"])
                                   for r in memory.to_records(list(ids))])
    return memory.level
