"""``warn flood FORECAST``: waterlogging points and river gauges, levels now / +2 h / +24 h, with reasons."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from warn.cli.landslide import HEADINGS, LEADS
from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, StoreOption
from warn.cli.output import console, level_text
from warn.cli.scoring import score_forecast
from warn.vocab import Level


def flood(
    forecast: Annotated[str, typer.Argument(help="预报文件或 URL / forecast file (NetCDF-CF, GRIB2) or URL.")],
    var: Annotated[str | None, typer.Option("--var", help="降水变量名 / precipitation variable.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
) -> None:
    """城市内涝与河道水位风险 / waterlogging points and river gauges: levels now, +2 h, +24 h, with drivers.

    Sensor readings and the bucket state are read from the deployment's store (nothing is
    written); an unknown sensor is reported as a data-quality notice, never as all clear.

    Example: warn flood demo/forecast/yubei-demo-analogue_2026071500.nc --store var/demo/warn.db
    """
    from warn.cycle.flood import score_flood

    result = score_forecast(config, forecast, var, lambda settings, rain, opened: score_flood(
        settings, rain, store=opened), store=store)
    records = [flood_record(item) for item in result.items]
    if as_json:
        console().print_json(json.dumps(records, ensure_ascii=False))
        return
    out = console()
    for line in result.notes + result.notices:
        out.print(f"注 note: {line}", style="yellow", markup=False)
    out.print(flood_table(records, f"内涝与河道水位 / waterlogging and river stage — issued "
                                   f"{result.issued_at:%Y-%m-%d %H:%M} UTC"))


def flood_record(item) -> dict[str, Any]:
    """One point or gauge as JSON: point_id, level_now, level_2h, level_24h, depth_cm, minutes_to_next, drivers, …"""
    return {
        "point_id": item.item_id,
        "name": item.name,
        "kind": item.kind,
        **{f"level_{lead}": int(item.levels[lead]) for lead in LEADS},
        "depth_cm": _number(item.depth_cm),
        "stage_m": _number(item.stage_m),
        "minutes_to_next": _number(item.minutes_to_next),
        "complete": item.complete,
        "drivers": {lead: [driver.as_dict() for driver in item.drivers[lead]] for lead in LEADS},
    }


def flood_table(records: list[dict[str, Any]], title: str) -> Table:
    """Most severe first; depth (cm) for points, stage (m) for gauges; the reasons of the +24 h level."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("编码 id", no_wrap=True)
    table.add_column("名称 name", no_wrap=True)
    for lead in LEADS:
        table.add_column(HEADINGS[lead], no_wrap=True)
    table.add_column("积水/水位 now", justify="right", no_wrap=True)
    table.add_column("至下一级 next", justify="right", no_wrap=True)
    table.add_column("原因 (现在/+24 h，达到等级者) drivers that reached a level", overflow="fold")
    ordered = sorted(records, key=lambda r: (-max(r[f"level_{lead}"] for lead in LEADS), r["point_id"]))
    for r in ordered:
        now = "—" if r["depth_cm"] is None and r["stage_m"] is None else (
            f"{r['depth_cm']:.1f} cm" if r["depth_cm"] is not None else f"{r['stage_m']:.2f} m")
        reasons = [d["text"] for d in r["drivers"]["now"] + r["drivers"]["24h"] if d["level"] > int(Level.NONE)]
        table.add_row(r["point_id"], r["name"], *(level_text(Level(r[f"level_{lead}"])) for lead in LEADS), now,
                      "—" if r["minutes_to_next"] is None else f"{r['minutes_to_next']:.0f} min",
                      "；".join(dict.fromkeys(reasons)) or "—")
    return table


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 2)
