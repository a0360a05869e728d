"""``warn hindcast``: the demo storm replayed on several configurations, each first warning against the
"observed" crossing (:mod:`warn.sim.hindcast`, :mod:`warn.risk.hindcast`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption
from warn.cli.output import console, level_text, print_problems
from warn.cli.replay import _duration, _time
from warn.errors import ConfigError, WarnError

if TYPE_CHECKING:
    from warn.risk.hindcast import HindcastRow
    from warn.sim.hindcast import Replayed


def hindcast(
    start: Annotated[str, typer.Option("--from", help="开始时间（含时区）/ start, ISO 8601 with zone.")]
    = "2026-07-15T00:00Z",
    end: Annotated[str, typer.Option("--to", help="结束时间（含时区）/ end, ISO 8601 with zone.")] = "2026-07-15T18:00Z",
    every: Annotated[str, typer.Option("--every", help="评估周期 / cycle cadence (ISO 8601 duration).")] = "PT10M",
    step: Annotated[str, typer.Option("--step", help="时钟步长 / clock step (ISO 8601 duration).")] = "PT10M",
    configs: Annotated[str, typer.Option("--configs", help="配置：t 完美预报（参照）、a 仅预报、b 观测+临近+预报 / "
                                                           "configurations: t perfect forecast (the reference, "
                                                           "always run), a forecasts only, b observations + "
                                                           "nowcast + forecasts.")] = "t,a,b",
    out: Annotated[Path, typer.Option("--out", help="回放存储目录（每个配置一个子目录）/ folder of the replays' "
                                                    "stores, one sub-folder per configuration.")] = Path("var/hindcast"),
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """回算检验：演示暴雨在各配置下首次预警相对实况越级的提前量、命中、漏报、空报 / hindcast skill on the demo storm.

    Each configuration is replayed on the demo world (a fresh store each, no people); the
    perfect forecast's levels now are the "observed" crossings. A configuration warned an item
    at a level at the first cycle any lead reached it; a hit warned at or before the crossing
    (lead time = crossing − warning), a miss did not (迟报 late: only after), a false alarm
    warned an item that never crossed.

    Example: warn hindcast --from 2026-07-15T00:00Z --to 2026-07-15T18:00Z --configs t,a
    """
    from warn.config import load_settings
    from warn.durations import parse_interval
    from warn.sim.hindcast import hindcast as run_hindcast

    try:
        t0, t1 = _time("--from", start), _time("--to", end)
        cadence, tick = _duration("--every", every, parse_interval), _duration("--step", step, parse_interval)
        settings = load_settings(config)
        names = tuple(name.strip() for name in configs.split(",") if name.strip())
        rows, replays = run_hindcast(settings, out.resolve(), t0, t1, names=names, every=cadence, step=tick)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    if as_json:
        console().print_json(json.dumps(hindcast_record(rows, replays, start=t0.isoformat(), end=t1.isoformat()),
                                        ensure_ascii=False))
        return
    console().print(hindcast_table(rows, replays, title=f"回算检验 / hindcast {t0:%Y-%m-%d %H:%M}–{t1:%H:%M}Z"))


def hindcast_record(rows: list[HindcastRow], replays: list[Replayed], *, start: str, end: str) -> dict[str, Any]:
    """The JSON of ``warn hindcast --json``: the window, each configuration's replay and the rows."""
    from warn.sim.hindcast import CONFIGURATIONS

    def minutes(value: float) -> float | None:
        return None if math.isnan(value) else value

    return {
        "from": start, "to": end,
        "configurations": {r.name: {"label": CONFIGURATIONS[r.name], "cycles": r.cycles,
                                    "seconds": round(r.seconds, 1)} for r in replays},
        "rows": [{"configuration": row.configuration, "hazard": row.hazard, "level": int(row.level),
                  "colour": row.level.colour, "events": row.events, "hits": row.hits, "misses": row.misses,
                  "late": row.late, "false_alarms": row.false_alarms, "lead_median_min": minutes(row.lead_median_min),
                  "lead_min_min": minutes(row.lead_min_min)} for row in rows],
    }


def hindcast_table(rows: list[HindcastRow], replays: list[Replayed], *, title: str) -> Table:
    """The table of ``warn hindcast``: per hazard and level, the configurations side by side (rows with an event
    or a false alarm)."""
    from warn.sim.hindcast import CONFIGURATIONS

    table = Table(title=title, box=box.SIMPLE_HEAD, caption=(
        "；".join(f"{r.name} = {CONFIGURATIONS[r.name]}（{r.cycles} 周期 cycles, {r.seconds:.0f} s）" for r in replays)
        + "。事件 = 参照 t 的现时等级达到该级的对象 / events: items whose level now under t reached the level；"
        "提前量 = 越级时刻 − 首次预警（任一时效）/ lead = crossing − first warning at any lead"))
    for header in ("灾种 hazard", "等级 level", "配置 config", "事件 events", "命中 hits", "漏报 misses (迟报 late)",
                   "空报 false alarms", "提前量中位 lead median (min)", "最短 min (min)"):
        table.add_column(header, justify="left" if "hazard" in header or "level" in header else "right")
    for row in sorted(rows, key=lambda r: (r.hazard, int(r.level), r.configuration)):
        if not row.events and not row.false_alarms:
            continue
        table.add_row(row.hazard, level_text(row.level), row.configuration, str(row.events), str(row.hits),
                      f"{row.misses} ({row.late})", str(row.false_alarms), _minutes(row.lead_median_min),
                      _minutes(row.lead_min_min))
    return table


def _minutes(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f}"
