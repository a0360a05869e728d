"""Benchmark: a cycle's write of its item levels, and the reads of each item's last level, as the store ages.

Every cycle records every item's level at each lead (``store.levels``): a city-sized service
(bench/citysize.py: 10,000 zones, 2,000 hazard points, 2,000 waterlogging points) adds 14,000
items × 3 leads every hour, kept as one set per hazard, item kind and lead (``level_sets``,
:mod:`warn.store.levelsets`), so that neither the cycle's write of its 42,000 levels nor the reads of
each item's last level grow with the store's age. This bench records
``--items`` items' levels hour after hour and, at each of ``--days``, times side by side: the cycle's
write (``store.levels.record``, the median of the last cycles before the day) and its ratio to day 1's;
the cycle's baseline (``store.levels.baseline(at, items)``); the same baseline for a rerun of the last
cycle (the sets of the cycle before); the screen's and ``warn zones``' read of every item's
level (``Views.zones``) now and a day earlier (the time slider); and an item's page
(``Views.item_levels``). Every read is checked against the levels recorded (best of ``--repeat``), on
SQLite and PostgreSQL.

bench/history.py times the whole cycle on day 1 and day 30 with the rain history of 30 days;
it prefills no item levels (30 days of them are 30 M levels), hence this bench.

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
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
LEADS = ("now", "2h", "24h")
#: The last cycles whose write (``store.levels.record``) is timed at each day: their median.
WRITES = 6
DRIVERS = ("SWI 62.4 mm < 蓝色阈值 80 mm (现在 now)", "60分钟雨量 3.2 mm < 蓝色阈值 30 mm (现在 now)",
           "有效降雨 41.0 mm < 蓝色阈值 100 mm (现在 now)")


def age(store: Store, items: int, days: list[int], repeat: int) -> list[dict]:
    """Record hourly cycles of ``items`` items up to the largest of ``days``; time the write and reads at each."""
    keys = [("landslide", "zone", f"Z{i:05d}") for i in range(items)]
    views = Views.open(store.engine.url.render_as_string(hide_password=False).replace("+psycopg", ""))
    out, recorded, writes = [], 0, []
    for day in days:
        while recorded < day * 24:
            rows = [ItemLevel(*key, lead, _level(i, recorded), 50.0 if lead == "now" else None, DRIVERS)
                    for i, key in enumerate(keys) for lead in LEADS]
            started = time.perf_counter()
            store.levels.record(T0 + timedelta(hours=recorded), rows, {})
            writes.append(time.perf_counter() - started)
            recorded += 1
        last = T0 + timedelta(hours=recorded - 1)
        _check(f"day {day}: the baseline", store.levels.baseline(last + HOUR, keys), recorded - 1, items)
        _check(f"day {day}: a rerun's baseline", store.levels.baseline(last, keys), recorded - 2, items)
        _check(f"day {day}: Views.zones", _zones(views, last), recorded - 1, items)
        _check(f"day {day}: Views.zones a day earlier", _zones(views, last - DAY), recorded - 25, items)
        out.append({"day": day, "rows": recorded * items * len(LEADS), "write_s": statistics.median(writes[-WRITES:]),
                    "baseline_s": best_of(lambda: store.levels.baseline(last + HOUR, keys), repeat),
                    "rerun_s": best_of(lambda: store.levels.baseline(last, keys), repeat),
                    "views_s": best_of(lambda: views.zones(last), repeat),
                    "earlier_s": best_of(lambda: views.zones(last - DAY), repeat),
                    "item_s": best_of(lambda: views.item_levels(keys[len(keys) // 2][2], last), repeat)})
    views.close()
    return out


def _level(i: int, cycle: int) -> int:
    """The level item ``i`` is given by the ``cycle``-th cycle."""
    return (i + cycle) % 5


def _zones(views: Views, at: datetime) -> dict[tuple[str, str, str], int]:
    return {(z.hazard, z.kind, z.item_id): z.level for z in views.zones(at)}


def _check(what: str, got: dict[tuple[str, str, str], int], cycle: int, items: int) -> None:
    """Exit unless ``got`` is every item's level as the ``cycle``-th cycle left it (none before the first)."""
    wanted = {("landslide", "zone", f"Z{i:05d}"): _level(i, cycle) for i in range(items)} if cycle >= 0 else {}
    if got != wanted:
        raise SystemExit(f"{what} differs from the levels recorded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=14_000)
    parser.add_argument("--days", default="1,3,7", help="days of hourly cycles at which the reads are timed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    days = sorted(int(d) for d in args.days.split(","))
    print("| backend | day | item levels | a cycle's write s | write / day-1 write | baseline s | a rerun's "
          "baseline s | Views.zones s | Views.zones a day earlier s | Views.item_levels s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for backend, opener in (("sqlite", sqlite_store), ("postgresql", lambda: postgresql_store(args.pg))):
        started = time.perf_counter()
        with opener() as store:
            if store is None:
                print(f"| {backend} | — | PostgreSQL not reachable at {args.pg} | | | | | | | |")
                continue
            rows = age(store, args.items, days, args.repeat)
        first = rows[0]["write_s"]
        for r in rows:
            print(f"| {backend} | {r['day']} | {r['rows']:,} | {r['write_s']:.3f} | {r['write_s'] / first:.2f} "
                  f"| {r['baseline_s']:.3f} | {r['rerun_s']:.3f} | {r['views_s']:.3f} | {r['earlier_s']:.3f} "
                  f"| {r['item_s']:.4f} |", flush=True)
        print(f"<!-- {backend}: {time.perf_counter() - started:.0f} s with the recording -->", flush=True)


if __name__ == "__main__":
    main()
