"""``warn rain FORECAST``: per-zone rain accumulations, rainstorm signal and return period."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption
from warn.cli.output import console, level_text, print_problems
from warn.errors import WarnError
from warn.vocab import Level

if TYPE_CHECKING:
    import numpy as np

#: Windows printed in the table and the JSON (hours); the JSON keys are ``max_<n>h``.
TABLE_WINDOWS = ("1h", "3h", "6h", "12h", "24h")


def rain(
    forecast: Annotated[str, typer.Argument(help="预报文件或 URL / forecast file (NetCDF-CF, GRIB2) or URL.")],
    layer: Annotated[str | None, typer.Option(help="分区图层 / zone layer named in config.yaml.",
                                              show_default="areas.towns")] = None,
    var: Annotated[str | None, typer.Option("--var", help="降水变量名 / precipitation variable, if not found by itself.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """分区雨量与暴雨预警信号 / per-zone rain, rainstorm signal and return period of a forecast.

    Example: warn rain demo/forecast/yubei-demo-analogue_2026071500.nc --layer towns --json
    """
    from warn import cycle
    from warn.config import load_settings

    try:
        settings = load_settings(config)
        summary = cycle.score_rain(settings, cycle.open_location(settings, forecast, var=var),
                                   layer or settings.areas.towns)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(1) from None
    records = rain_records(summary, settings.tz)
    if as_json:
        console().print_json(json.dumps(records, ensure_ascii=False))
    else:
        console().print(rain_table(records, summary.attrs))


def rain_records(summary, tz: ZoneInfo) -> list[dict[str, Any]]:
    """One JSON-ready record per zone, in layer order.

    Keys: zone_id, name, max_1h … max_24h (mm, 0.1), signal_level (−1 unknown … 4 red),
    signal_colour, return_period_yr (years), and also peak_3h_end (local ISO time),
    return_period_duration_min, mean_max_3h (zone mean, mm) and complete.
    """
    records = []
    for i, zone_id in enumerate(summary["zone"].values):
        level = Level(int(summary["signal_level"].values[i]))
        record: dict[str, Any] = {"zone_id": str(zone_id), "name": str(summary["name"].values[i])}
        for window in TABLE_WINDOWS:
            record[f"max_{window}"] = _number(summary[f"max_{window}"].values[i], 1)
        record.update(
            signal_level=int(level),
            signal_colour=level.colour,
            return_period_yr=_number(summary["return_period_yr"].values[i], 2),
            return_period_duration_min=_number(summary["return_period_duration_min"].values[i], 0),
            peak_3h_end=_local(summary["peak_3h_end"].values[i], tz),
            mean_max_3h=_number(summary["mean_max_3h"].values[i], 1),
            complete=bool(summary["complete"].values[i]),
        )
        records.append(record)
    return records


def rain_table(records: list[dict[str, Any]], attrs: dict[str, Any]) -> Table:
    """The zone table, most severe first; depths in mm, times in the deployment's zone."""
    basis = {"cell_max": "分区最大格点 worst cell", "zone_mean": "分区面雨量 zone mean"}[attrs["basis"]]
    table = Table(title=f"分区雨量（毫米）与暴雨信号 / zone rain (mm) and rainstorm signal — {attrs['layer']}, {basis}",
                  caption=f"来源 source: {attrs.get('source', '')}   发布 issued: {attrs.get('issued_at', '')}",
                  title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("编码 zone", no_wrap=True)
    table.add_column("名称 name", no_wrap=True)
    for window in TABLE_WINDOWS:
        table.add_column(window, justify="right")
    table.add_column("3h峰止 peak end", no_wrap=True)
    table.add_column("信号 signal", no_wrap=True)
    table.add_column("重现期 return", justify="right", no_wrap=True)
    ordered = sorted(records, key=lambda r: (-r["signal_level"], -(r["max_3h"] or 0.0), r["zone_id"]))
    for r in ordered:
        table.add_row(
            r["zone_id"], r["name"],
            *(_mm(r[f"max_{w}"]) for w in TABLE_WINDOWS),
            (r["peak_3h_end"] or "—")[5:16].replace("T", " "),
            level_text(Level(r["signal_level"])),
            _period(r["return_period_yr"], r["return_period_duration_min"]),
        )
    return table


def _number(value: Any, digits: int) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, digits)


def _local(value: np.datetime64, tz: ZoneInfo) -> str | None:
    import numpy as np

    if np.isnat(value):
        return None
    seconds = value.astype("datetime64[s]").astype(np.int64)
    return datetime.fromtimestamp(int(seconds), timezone.utc).astimezone(tz).isoformat()


def _mm(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _period(years: float | None, minutes: float | None) -> str:
    """``"27a/3h"``: years, and the window that gave them; ``"<1a"`` below the design range."""
    if years is None:
        return "—"
    if years < 1:
        return "<1a"
    text = ">1000a" if years > 1000 else f"{years:.0f}a" if years >= 10 else f"{years:.1f}a"
    return f"{text}/{minutes / 60:g}h"
