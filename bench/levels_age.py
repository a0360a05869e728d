"""Benchmark: a cycle's baseline (each item's last level "now" before the cycle) as the store ages.

Every cycle records every item's level at each lead (``store.levels``): a city-sized service
(bench/citysize.py: 10,000 zones, 2,000 hazard points, 2,000 waterlogging points) adds 14,000
items × 3 leads every hour. The cycle compares each item it scored with its last level "now"
before the cycle. Read by grouping every item over all its cycles, that grows with the store's
age; read item by item down the items' index (``store.levels.baseline(at, items)``, what the
cycle does), it does not. This bench records ``--items`` items' levels hour after hour and, at
each of ``--days``, times both reads side by side (best of ``--repeat``), checks they agree, and
prints their ratio to the item-by-item read on day 1 — on SQLite and PostgreSQL. Beside them, the
screen's and ``warn zones``' read of every item's level (``Views.zones``: the items walked down the same
index, one seek each) and an item's page (``Views.item_levels``), which must not grow either; and the
cycle's own write of its 42,000 rows (``store.levels.record``, the median of the last cycles before each day),
which does grow: each row adds an entry to every item's place in the items' index.

bench/history.py times the whole cycle on day 1 and day 30 with the rain history of 30 days;
it prefills no item levels (30 days of them are 30 M rows), hence this bench.

Run: ``python bench/levels_age.py [--items 14000] [--days 1,3,7] [--repeat 3] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import DEFAULT_PG, best_of, postgresql_store, sqlite_store  # noqa: E402

from warn.store import ItemLevel, Store  # noqa: E402
from warn.store.views import Views  # noqa: E402

T0 = datetime(2026, 7, 1, tzinfo=UTC)
LEADS = ("now", "2h", "24h")
#: The last cycles whose write (``store.levels.record``) is timed at each day: their median.
WRITES = 6
DRIVERS = ("SWI 62.4 mm < 蓝色阈值 80 mm (现在 now)", "60分钟雨量 3.2 mm < 蓝色阈值 30 mm (现在 now)",
           "有效降雨 41.0 mm < 蓝色阈值 100 mm (现在 now)")


def age(store: Store, items: int, days: list[int], repeat: int) -> list[dict]:
    """Record hourly cycles of ``items`` items up to the largest of ``days``; time the reads at each day."""
    keys = [("landslide", "zone", f"Z{i:05d}") for i in range(items)]
    views = Views.open(store.engine.url.render_as_string(hide_password=False).replace("+psycopg", ""))
    out, recorded, writes = [], 0, []
    for day in days:
        while recorded < day * 24:
            at = T0 + timedelta(hours=recorded)
            rows = [ItemLevel(*key, lead, (i + recorded) % 5, 50.0 if lead == "now" else None, DRIVERS)
                    for i, key in enumerate(keys) for lead in LEADS]
            started = time.perf_counter()
            store.levels.record(at, rows, {})
            writes.append(time.perf_counter() - started)
            recorded += 1
        before = T0 + timedelta(hours=recorded)
        grouped = store.levels.baseline(before)
        if store.levels.baseline(before, keys) != grouped:
            raise SystemExit(f"day {day}: the item-by-item baseline differs from the grouped one")
        if {(z.hazard, z.kind, z.item_id): z.level for z in views.zones(before - timedelta(hours=1))} != grouped:
            raise SystemExit(f"day {day}: Views.zones differs from the grouped baseline")
        out.append({"day": day, "rows": recorded * items * len(LEADS), "write_s": statistics.median(writes[-WRITES:]),
                    "grouped_s": best_of(lambda: store.levels.baseline(before), repeat),
                    "items_s": best_of(lambda: store.levels.baseline(before, keys), repeat),
                    "views_s": best_of(lambda: views.zones(before), repeat),
                    "item_s": best_of(lambda: views.item_levels(keys[len(keys) // 2][2], before), repeat)})
    views.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=14_000)
    parser.add_argument("--days", default="1,3,7", help="days of hourly cycles at which the reads are timed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    days = sorted(int(d) for d in args.days.split(","))
    print("| backend | day | item-level rows | grouped s | item by item s | grouped / day-1 item by item "
          "| item by item / day-1 item by item | Views.zones s | Views.item_levels s | a cycle's write s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for backend, opener in (("sqlite", sqlite_store), ("postgresql", lambda: postgresql_store(args.pg))):
        started = time.perf_counter()
        with opener() as store:
            if store is None:
                print(f"| {backend} | — | PostgreSQL not reachable at {args.pg} | | | | | | | |")
                continue
            rows = age(store, args.items, days, args.repeat)
        first = rows[0]["items_s"]
        for r in rows:
            print(f"| {backend} | {r['day']} | {r['rows']:,} | {r['grouped_s']:.3f} | {r['items_s']:.3f} "
                  f"| {r['grouped_s'] / first:.2f} | {r['items_s'] / first:.2f} | {r['views_s']:.3f} "
                  f"| {r['item_s']:.4f} | {r['write_s']:.3f} |", flush=True)
        print(f"<!-- {backend}: {time.perf_counter() - started:.0f} s with the recording -->", flush=True)


if __name__ == "__main__":
    main()
