"""The garbage collector tuned for warning cycles: the youngest generation collected less often.

A city cycle (bench/cycle.py: 14,000 items, 700 messages) makes millions of short-lived objects —
each item's scores, driver texts, levels, messages — over a heap of long-lived ones (zone layers,
zonal weights, the planner's state). At CPython's default thresholds the youngest generation is
collected every 700 net allocations, so temporaries still referenced mid-step are promoted, and the
oldest generation, traversed whole each time, is collected again and again: over the 12 city
cycles of bench/cycle.py, 12.4 s in the collector, 10.0 s of it in 45 full collections
(2026-12-04). With the youngest generation collected every :data:`YOUNG` allocations and the older
ones at the default ratios after it, 1.8–2.1 s, and peak memory the same (881–891 MiB against
894 MiB). Reference cycles are still collected in every generation.
"""

from __future__ import annotations

import gc

#: Net allocations of tracked objects between two collections of the youngest generation (CPython: 700).
YOUNG = 100_000


def tune() -> None:
    """Collect the youngest generation every :data:`YOUNG` allocations, keeping the older generations' thresholds
    (collected after so many collections of the one younger). Process-wide: called once by the service."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, oldest)
