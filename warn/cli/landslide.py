"""``warn landslide FORECAST``: landslide levels now, +2 h and +24 h per zone and hazard point, with reasons."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, StoreOption
from warn.cli.output import console, level_text
from warn.cli.scoring import score_forecast
from warn.vocab import Level

LEADS = ("now", "2h", "24h")
HEADINGS = {"now": "现在 now", "2h": "+2 h", "24h": "+24 h"}


def landslide(
    forecast: Annotated[str, typer.Argument(help="预报文件或 URL / forecast file (NetCDF-CF, GRIB2) or URL.")],
    var: Annotated[str | None, typer.Option("--var", help="降水变量名 / precipitation variable.")] = None,
    points: Annotated[bool, typer.Option("--points/--no-points", help="含隐患点 / include the hazard points.")] = True,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
) -> None:
    """地灾（滑坡、危岩）风险等级及原因 / landslide levels now, +2 h, +24 h per zone and hazard point, with drivers.

    The soil-water state and the remembered levels are read from the deployment's
    store (nothing is written); without a state the level now is unknown.

    Example: warn landslide demo/forecast/yubei-demo-analogue_2026071500.nc --json
    """
    from warn.cycle.landslide import score_landslide

    result = score_forecast(config, forecast, var, lambda settings, rain, opened: score_landslide(
        settings, rain, store=opened, points="hazard_points" if points else None), store=store)
    records = [landslide_record(item) for item in result.items]
    if as_json:
        console().print_json(json.dumps(records, ensure_ascii=False))
        return
    out = console()
    for note in result.notes:
        out.print(f"注 note: {note}", style="yellow", markup=False)
    for kind, title in (("zone", "分区 zones"), ("point", "隐患点 hazard points")):
        rows = [r for r in records if r["kind"] == kind]
        if rows:
            out.print(landslide_table(rows, f"地灾风险等级 / landslide levels — {title}, issued {result.issued_at:%Y-%m-%d %H:%M} UTC"))


def landslide_record(item) -> dict[str, Any]:
    """One zone or point as JSON: zone_id, level_now, level_2h, level_24h, swi_max, effective_rain, drivers, …"""
    return {
        "zone_id": item.item_id,
        "name": item.name,
        "kind": item.kind,
        **{f"level_{lead}": int(item.levels[lead]) for lead in LEADS},
        "swi_max": _number(item.swi_max),
        "effective_rain": _number(item.effective_rain_max),
        "drivers": {lead: [driver.as_dict() for driver in item.drivers[lead]] for lead in LEADS},
        "susceptibility": item.susceptibility,
    }


def landslide_table(records: list[dict[str, Any]], title: str) -> Table:
    """Most severe first; the reasons are those of the +24 h level."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("编码 id", no_wrap=True)
    table.add_column("名称 name", no_wrap=True)
    table.add_column("易发 class", justify="right")
    for lead in LEADS:
        table.add_column(HEADINGS[lead], no_wrap=True)
    table.add_column("SWI max", justify="right")
    table.add_column("原因 (+24 h) drivers", overflow="fold")
    ordered = sorted(records, key=lambda r: (-r["level_24h"], -r["level_2h"], -(r["swi_max"] or 0), r["zone_id"]))
    for r in ordered:
        table.add_row(r["zone_id"], r["name"], str(r["susceptibility"]),
                      *(level_text(Level(r[f"level_{lead}"])) for lead in LEADS),
                      "—" if r["swi_max"] is None else f"{r['swi_max']:.0f}",
                      "；".join(d["text"] for d in r["drivers"]["24h"]))
    return table


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)
