"""The planner's thread index: the representatives it keeps between changes equal those of an index that
went through the same changes and is asked for the first time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from warn.command.tracking import ThreadIndex
from warn.command.warnings import WarningThread
from warn.vocab import ItemKind, Level

T0 = datetime(2026, 7, 1, tzinfo=UTC)


def _thread(n: int, town: str, kind: ItemKind, level: Level, cleared: bool) -> WarningThread:
    return WarningThread(id=f"landslide:z{n}:x", hazard="landslide", item_id=f"z{n}", item_kind=kind, town=town,
                         level=level, version=1, raised_at=T0, as_of=T0, none_since=None,
                         cleared_at=T0 + timedelta(hours=1) if cleared else None, attributes=(), drivers=())


def test_representatives_follow_every_put() -> None:
    """Threads raised, moved between groups, replaced in place and cleared, in random order."""
    rng = random.Random(20)
    threads: dict[str, WarningThread] = {}
    puts: list[tuple[str, WarningThread | None, WarningThread]] = []
    index = ThreadIndex({}, ())
    for step in range(600):
        slot = f"s{rng.randrange(30)}"
        new = _thread(step, rng.choice(["a", "b", "c"]), rng.choice([ItemKind.ZONE, ItemKind.POINT]),
                      rng.choice([Level.BLUE, Level.YELLOW, Level.RED]), rng.random() < 0.2)
        puts.append((slot, threads.get(slot), new))
        index.put(*puts[-1])
        threads[slot] = new
        if step % 3 == 0:  # asked between changes, so that what it kept is used again
            fresh = ThreadIndex({}, ())
            for put in puts:
                fresh.put(*put)
            representatives = index.representatives()
            assert representatives == fresh.representatives()
            held = {id(t) for t in threads.values() if t.active}
            assert all(id(t) in held for t in representatives)  # each one a thread a slot holds now, active
            assert sorted((t.town, t.item_kind, t.level) for t in representatives) == sorted(
                {(t.town, t.item_kind, t.level) for t in threads.values() if t.active})  # one per group
    assert index.active == sum(t.active for t in threads.values())
