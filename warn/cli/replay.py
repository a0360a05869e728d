"""``warn replay``: the service's jobs over a past or synthetic period on a simulated clock (CAP Exercise)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, Problem, WarnError

SENDER_HELP = "CAP 发送方 / CAP sender."


def replay(
    start: Annotated[str, typer.Option("--from", help="开始时间（含时区）/ start, ISO 8601 with zone.")],
    end: Annotated[str, typer.Option("--to", help="结束时间（含时区）/ end, ISO 8601 with zone.")],
    speed: Annotated[float | None, typer.Option("--speed", min=0.001,
                                                 help="模拟时间倍速 / simulated seconds per real second.")] = None,
    fast: Annotated[bool, typer.Option("--as-fast-as-possible",
                                       help="尽快运行（默认）/ run as fast as possible (the default).")] = False,
    every: Annotated[str, typer.Option("--every", help="评估周期 / cycle cadence (ISO 8601 duration).")] = "PT10M",
    step: Annotated[str, typer.Option("--step", help="时钟步长 / clock step for ticks and dispatch.")] = "PT1M",
    demo: Annotated[bool, typer.Option("--demo", help="在演示世界上回放（含演示值班人员）/ replay on the demo world "
                                                      "with its staff.")] = False,
    out: Annotated[Path, typer.Option("--out", help="--demo 的输出目录 / the demo drill's folder.")] = Path("var/replay"),
    sender: Annotated[str, typer.Option("--sender", help=SENDER_HELP)] = "warn@yubei.example",
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
) -> None:
    """回放：在模拟时钟上按实况流程运行预警周期 / replay the warning cycles on a simulated clock.

    The same jobs as ``warn run`` (cycle, tick, dispatch), every message with CAP status
    Exercise. Without --demo the configured feeds (e.g. an archive of forecast runs) and
    channels are used; public channels refuse Exercise messages.

    Example: warn replay --demo --from 2026-07-14T21:00Z --to 2026-07-15T12:00Z --every PT10M --step PT5M
    """
    from warn.config import load_settings
    from warn.durations import parse_interval

    out_console = console()
    try:
        if speed is not None and fast:
            raise ConfigError(Problem("--speed / --as-fast-as-possible", "", "one of the two", "both"))
        t0, t1 = _time("--from", start), _time("--to", end)
        cadence, tick = _duration("--every", every, parse_interval), _duration("--step", step, parse_interval)
        settings = load_settings(config)
        report = (_on_demo(settings, config, out.resolve(), t0, t1, cadence, tick, speed, out_console) if demo else
                  _on_sources(settings, store, sender, t0, t1, cadence, tick, speed, out_console))
    except ValueError as err:
        print_problems([Problem("warn replay", "", "--every a multiple of --step, --to after --from", str(err))],
                       console(stderr=True))
        raise typer.Exit(2) from None
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    out_console.print(f"回放完成 / replay done: {len(report.cycles)} 个周期 cycles, {report.steps} 步 steps, "
                      f"{report.seconds:.1f} s")


def _on_demo(settings, config: Path, folder: Path, t0, t1, every, step, speed, out):
    from warn.cli.drill import open_drill
    from warn.cycle.replay import replay as run_replay

    with open_drill(settings, folder, config) as drill:
        return run_replay(drill.service, drill.clock, t0, t1, every=every, step=step, speed=speed,
                          before=drill.step, on_cycle=lambda r: _line(out, r))


def _on_sources(settings, store_option, sender, t0, t1, every, step, speed, out):
    from warn.vocab import CapStatus
    from warn.config import store_url
    from warn.cycle.replay import replay as run_replay
    from warn.service import open_service
    from warn.sim.clock import SimClock
    from warn.store import Store

    clock = SimClock(t0)
    with Store.connect(store_url(store_option, settings), now=clock) as opened:
        with open_service(settings, opened, status=CapStatus.EXERCISE, sender=sender, now=clock) as service:
            return run_replay(service, clock, t0, t1, every=every, step=step, speed=speed,
                              on_cycle=lambda r: _line(out, r))


def _line(out, report) -> None:
    out.print(f"{report.at:%Y-%m-%d %H:%M}Z  评估 items {report.items:4d}  等级变化 crossings "
              f"{len(report.crossings):3d}  消息 messages {len(report.messages):3d}  数据告警 notices "
              f"{len(report.notices)}{'  (已完成 / done before)' if report.repeated else ''}")


def _time(option: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ConfigError(Problem(option, "", "an ISO 8601 time with its zone, e.g. 2026-07-15T00:00Z", repr(text)))
    return moment


def _duration(option: str, text: str, parse):
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(Problem(option, "", "an ISO 8601 duration longer than zero such as PT10M", repr(text))) from None
