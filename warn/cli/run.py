"""``warn run``: the live service — cycles, ticks, the dispatcher and the MQTT feeds until SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, DEFAULT_EVERY, ClockStartOption, ConfigOption, EveryOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, Problem, WarnError


#: How often every job polls a clock a drill steps (``--clock-file``).
STEPPED_POLL = timedelta(seconds=0.25)


class RunStatus(StrEnum):
    """The CAP status a live service publishes with."""

    ACTUAL = "actual"
    EXERCISE = "exercise"


def run(
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
    every: EveryOption = DEFAULT_EVERY,
    status: Annotated[RunStatus, typer.Option("--status", help="CAP 状态：actual 或 exercise（演练）/ CAP status of "
                                                         "what is published: actual or exercise (drills).")] = RunStatus.ACTUAL,
    sender: Annotated[str, typer.Option("--sender", help="CAP 发布者 / CAP sender.")] = "warn@localhost",
    clock_start: ClockStartOption = None,
    clock_file: Annotated[Path | None, typer.Option(
        "--clock-file", envvar="WARN_CLOCK_FILE", show_default=False,
        help="时钟读取演练写入的文件（混沌演练用）/ read the time from a file a drill writes and steps (the chaos "
             "drill); only with --status exercise; every job then polls 4 times a second.")] = None,
) -> None:
    """运行预警服务直至 SIGTERM / run the live warning service until SIGTERM or Ctrl-C.

    Runs the warning cycle every --every on its grid (and at once when a new forecast
    run appears), the command tick every minute (acknowledgement deadlines, escalations,
    due tasks), the outbox dispatcher every 10 s and the MQTT sensor feeds. A restart
    resumes from the store: a cycle already done is not repeated, an interrupted one runs
    again and repeats nothing. One line per cycle. Exit 0 after SIGTERM, 1 when the store
    fails, 2 when the configuration or a channel secret is missing.

    --clock-start (or WARN_CLOCK_START) runs everything on a clock that reads that instant at
    start and then runs at real speed — a drill, or a test that must not depend on the hour it
    runs at; only with --status exercise. Default: the wall clock. --clock-file (or
    WARN_CLOCK_FILE) reads the time from a file a drill writes instead (the chaos drill,
    warn/sim/chaos/), and every job polls it four times a second.

    --status actual publishes Actual only on a deployment marked live (deployment.live: true; else
    Exercise, said at start), and into a store that never published Actual only once the
    deployment passes `warn check` (else exit 2 with its problems).

    Example: warn run --config config.yaml --every PT10M --status exercise
    """
    from warn import service
    from warn.check import publish_status
    from warn.vocab import CapStatus
    from warn.config import load_settings, store_url
    from warn.durations import parse_interval
    from warn.sim.clock import FileClock, StartedClock
    from warn.store import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # httpx logs every request's URL at INFO: the platforms' tokens and app secrets ride in query strings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    err_out = console(stderr=True)
    try:
        interval = parse_interval(every)
    except ValueError:
        print_problems([Problem("--every", "", "an ISO-8601 duration longer than zero like PT10M", repr(every))], err_out)
        raise typer.Exit(2) from None
    for name, given in (("--clock-start", clock_start), ("--clock-file", clock_file)):
        if given is not None and status is not RunStatus.EXERCISE:
            print_problems([Problem(name, "", "--status exercise (a service on a drill's clock is a drill)",
                                    f"--status {status.value}")], err_out)
            raise typer.Exit(2)
    if clock_start is not None and clock_file is not None:
        print_problems([Problem("--clock-file", "", "one drill clock", "--clock-start as well")], err_out)
        raise typer.Exit(2)
    try:
        now = service.utc_now if clock_start is None else StartedClock(clock_start)
        if clock_file is not None:
            now = FileClock(clock_file)
        settings = load_settings(config)
        opened = Store.connect(store_url(store, settings), now=now)
        try:
            opened.upgrade()
            allowed = publish_status(CapStatus(status.value.capitalize()), settings, config, opened)
            if allowed.value.lower() != status.value:
                console().print(f"部署未标记为正式运行（deployment.live: false），以 {allowed} 发布 / the deployment is not "
                                f"marked live (deployment.live: false): publishing {allowed}", markup=False,
                                soft_wrap=True)
            live = service.open_service(settings, opened, status=allowed, sender=sender, now=now)
        except BaseException:
            opened.close()
            raise
        # A stop asked for while the web service starts, before the jobs take the signals over, is a clean stop.
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        web = _web(live, config, now)
        try:
            service.run_service(live, every=interval, now=now, poll=None if clock_file is None else STEPPED_POLL,
                                on_cycle=_print_cycle, stop=stop)
        finally:
            if web is not None:
                web.stop()
    except WarnError as err:
        print_problems(err.problems, err_out)
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None


def _web(live, config: Path, now):  # noqa: ANN001, ANN202 - a service.Service and its clock, imported late
    """The web service beside the jobs when config ``serve.enabled`` (sharing their lock); ``None`` otherwise."""
    if not live.settings.serve.enabled:
        return None
    import os

    from warn.web import create_app
    from warn.web.server import Background

    spec = live.settings.serve
    directory = live.reach.directory if live.reach is not None else None
    app = create_app(live.settings, live.store, live.setup, clock=now, env=os.environ, config=config, lock=live.lock,
                     status=live.status, sender=live.sender,
                     people=directory.person_by if directory is not None else None)
    running = Background(app, spec.host, spec.port).start()
    console().print(f"指挥中心服务 / serving on {running.url}/ (public {spec.public_url})", markup=False, soft_wrap=True)
    return running


def _print_cycle(report) -> None:
    if report.repeated:
        line = f"预警周期 {report.at:%Y-%m-%d %H:%M:%S}Z 已完成，不重复 / cycle already done, not repeated"
    else:
        line = (f"预警周期 {report.at:%Y-%m-%d %H:%M:%S}Z：评估 {report.items} 项，等级变化 {len(report.crossings)} 次，"
                f"消息 {len(report.messages)} 条，数据告警 {len(report.notices)} 条 / cycle: {report.items} items, "
                f"{len(report.crossings)} crossings, {len(report.messages)} messages, {len(report.notices)} notices")
    console().print(line, markup=False, soft_wrap=True)
