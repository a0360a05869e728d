"""``warn ingest``: pull sensor feeds through QC into the store."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from warn.cli.options import DEFAULT_CONFIG, ClockStartOption, ConfigOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, WarnError


def ingest(
    feed: Annotated[list[str] | None, typer.Option("--feed", help="只运行这些数据源 / run only these feeds (repeatable).")] = None,
    url: Annotated[str | None, typer.Option(help="替换该数据源的地址 / replace the one feed's URL.")] = None,
    once: Annotated[bool, typer.Option("--once", help="各轮询源拉取一次后退出 / poll each polled feed once and exit.")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
    clock_start: ClockStartOption = None,
) -> None:
    """传感器数据接入：质控后入库 / pull sensor feeds through quality control into the store.

    Without --once it runs until SIGTERM or Ctrl-C: polled feeds on their interval, MQTT
    feeds subscribed (each message acknowledged after it is stored), silent sensors
    marked stale every minute. --clock-start (or WARN_CLOCK_START) runs it on a clock that
    reads that instant at start and then runs at real speed (drills, tests); default the
    wall clock.

    Example: warn ingest --feed demo_sta --once --store var/warn.sqlite
    """
    from warn import service
    from warn.config import load_settings, store_url
    from warn.cycle import open_ingester
    from warn.sim.clock import StartedClock

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings = load_settings(config)
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"url": store_url(store, settings)})})
        specs = service.feed_specs(settings, feed or [], url=url)
        now = service.utc_now if clock_start is None else StartedClock(clock_start)
        if not once:
            service.run_ingest(settings, specs, now=now, on_report=lambda report: _print_reports([report]))
            return
        ingester = open_ingester(settings, now=now)
        try:
            reports = service.poll_once(ingester, specs, now=now)
        finally:
            ingester.store.close()
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    _print_reports(reports)
    if any(r.failure for r in reports):
        raise typer.Exit(1)


def _print_reports(reports) -> None:
    out = console()
    table = Table(title="传感器数据接入 / sensor ingest", title_justify="left", box=box.SIMPLE_HEAD)
    for heading in ("数据源 feed", "收到 received", "新增 inserted", "修订 revised", "重复 duplicates", "拒收 rejected"):
        table.add_column(heading, justify="left" if heading.startswith("数据源") else "right")
    for r in reports:
        w = r.written
        table.add_row(r.feed, str(r.received), *(str(x) for x in ((w.inserted, w.revised, w.duplicates) if w else ("—",) * 3)),
                      str(len(r.rejected)))
    out.print(table)
    for r in reports:
        if r.failure:
            out.print(f"✗ {r.feed}: {r.failure}", style="red", markup=False)
        for problem in r.rejected:
            out.print(f"  拒收 rejected: {problem}", markup=False)
