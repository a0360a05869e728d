"""``warn demo``: the whole drill on the bundled Yubei demo storm, from dry weather to the all-clear.

Starts the demo world on 127.0.0.1 (forecast runs, water-level sensors, a webhook receiver
standing in for the city platform: :mod:`warn.sim.demo`), replays the storm on a simulated
clock through the same service jobs as ``warn run`` (:mod:`warn.cycle.replay`) with CAP
status Exercise, lets the demo staff answer (:mod:`warn.sim.staff`), and prints the
summary (:mod:`warn.reports.summary`) with the final report (终报, HTML) of every incident and
how to look at the finished drill on the situation map (``warn serve`` at the storm's peak).
The storm is replayed every 10 minutes while it rains and for a day after, then every 3 hours until every warning is cleared and the
centre is back in peacetime. Before the summary the outbox is drained
(:func:`warn.cycle.replay.drain`: the clock moves on to each next due time, for at most an
hour), and the summary counts every message left undelivered, per channel, with its reason.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption
from warn.cli.output import console, print_problems
from warn.errors import WarnError

#: The drill starts once the demo sensors have reported for this long (no "silent sensor" at the start).
WARM_UP = timedelta(hours=1)
#: The demo's two legs: (length from the start, cycle cadence, clock step).
STORM = (timedelta(hours=24), timedelta(minutes=10), timedelta(minutes=5))
TAIL = (None, timedelta(hours=3), timedelta(hours=1))


def demo(
    out: Annotated[Path, typer.Option("--out", help="演练输出目录 / the drill's folder (warn.db, cap/, outbox.jsonl).")]
    = Path("var/demo"),
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """演示：渝北区移植暴雨个例全流程演练 / the whole drill on the bundled Yubei demo storm.

    Example: warn demo --out var/demo --json
    """
    from warn.cli.drill import open_drill
    from warn.config import load_settings
    from warn.cycle.replay import drain, replay
    from warn.reports.summary import all_clear, summary

    out_console = console()
    try:
        settings = load_settings(config)
        folder = out.resolve()
        with open_drill(settings, folder, config) as drill:
            world = drill.world
            if not as_json:
                out_console.print(f"演示世界 / demo world: 预报 {world.feed.url}  传感器 {world.sensorthings.url}  "
                                  f"接收端 {world.receiver.url}")
                out_console.print("注意：演示降雨为移植的美国雷达暴雨个例（NOAA/NSSL MRMS），人员为虚构，消息状态为 Exercise。"
                                  " / Note: a transplanted US radar storm, invented staff, CAP status Exercise.",
                                  style="yellow")
            length, every, step = STORM
            start = world.start + WARM_UP
            storm_end = start + length
            progress = [] if as_json else [out_console]
            drill.clock.set(start)
            first = replay(drill.service, drill.clock, start, storm_end, every=every, step=step,
                           before=drill.step, on_cycle=lambda r: _line(progress, r))
            _, every, step = TAIL
            rest = replay(drill.service, drill.clock, storm_end + step, world.end, every=every, step=step,
                          before=drill.step, on_cycle=lambda r: _line(progress, r),
                          stop=lambda t: all_clear(drill.store))
            drain(drill.service.dispatch, drill.clock)
            reports = _final_reports(drill, folder / "reports")
            result = summary(drill.store, drill.clock(), report=reports)
            result["drill"] = {"from": start.isoformat(), "to": drill.clock().isoformat(),
                               "cycles": len(first.cycles) + len(rest.cycles),
                               "seconds": round(first.seconds + rest.seconds, 1), "folder": str(folder),
                               "received": len(world.receiver.records())}
            result["map"] = _map(settings, folder, result["peak"])
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))
    else:
        from warn.cli.summary import print_summary

        print_summary(out_console, result)


def _map(settings, folder: Path, peak: dict | None) -> dict[str, str]:
    """Where to look at the finished drill on the situation map: the command that serves it (at the storm's peak)
    and the page's address."""
    at = f" --at {peak['at']}" if peak else ""
    return {"command": f"warn serve --store {folder / 'warn.db'}{at}",
            "url": f"http://{settings.serve.host}:{settings.serve.port}/"}


def _final_reports(drill, folder: Path) -> dict[str, str]:
    """The final report (终报, HTML) of every incident of the drill, by incident id → file path."""
    from warn.reports.content import build
    from warn.reports.formats import FORMATS
    from warn.reports.summary import incident_ids

    ids = incident_ids(drill.store)
    folder.mkdir(parents=True, exist_ok=True)
    settings = drill.service.settings
    paths = {}
    for incident in ids:
        path = folder / f"{incident}-final.html"
        path.write_bytes(FORMATS.get("html")(build(drill.store, settings, incident, kind="final", at=drill.clock()),
                                            settings))
        paths[incident] = str(path)
    return paths


def _line(outputs, report) -> None:
    if not outputs or not (report.crossings or report.messages):
        return
    outputs[0].print(f"{report.at:%m-%d %H:%M}Z  等级变化 crossings {len(report.crossings):3d}  "
                     f"消息 messages {len(report.messages):3d}  数据告警 notices {len(report.notices)}")
