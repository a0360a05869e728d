"""``warn score FORECAST [--hazard NAME]``: every item of a hazard (or of all), levels now / +2 h / +24 h, with reasons.

``warn landslide`` and ``warn waterlogging`` are this command for one hazard; ``warn flood``
is the deprecated name of ``warn waterlogging``.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from enum import StrEnum

import typer
from rich import box
from rich.table import Table

from warn import hazards
from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, StoreOption
from warn.cli.output import console, level_text
from warn.cli.scoring import score_forecast
from warn.vocab import Level

#: The leads of the table, with their headings.
HEADINGS = {"now": "现在 now", "2h": "+2 h", "24h": "+24 h"}

ForecastArgument = Annotated[str, typer.Argument(help="预报文件或 URL / forecast file (NetCDF-CF, GRIB2) or URL.")]
#: The registered hazards as CLI choices.
HazardChoice = StrEnum("HazardChoice", [(name, name) for name in hazards.names()])
VarOption = Annotated[str | None, typer.Option("--var", help="降水变量名 / precipitation variable.")]


def score(
    forecast: ForecastArgument,
    hazard: Annotated[HazardChoice | None, typer.Option(
        "--hazard", help="灾种 / hazard (default: every hazard of the deployment that reads the forecast).")] = None,
    var: VarOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
) -> None:
    """按灾种评估预报：各项等级及原因 / score a forecast: every item's level now, +2 h, +24 h, with drivers.

    The models' states and remembered levels are read from the deployment's store (nothing
    is written); without a state the level now is unknown. ``--json``: a list of rows with
    keys hazard, item_id, name, kind, level, colour, level_2h, level_24h (−1 unknown, 0 none,
    1 blue … 4 red), drivers (the reasons of the level now, a list of strings), drivers_2h,
    drivers_24h and values (the hazard's quantities, e.g. swi_max_mm, depth_cm); on an ensemble
    forecast (a member dim: levels from the control member) also probability, {lead: {colour:
    fraction of the members at or above that level}} for the leads now, 2h, 24h and the colours
    blue … red (null where no member's level is known).

    Example: warn score demo/forecast/yubei-demo-analogue_2026071500.nc --hazard landslide --json
    """
    show(forecast, hazard.value if hazard else None, var, as_json, config, store)


def landslide(forecast: ForecastArgument, var: VarOption = None, as_json: JsonOption = False,
              config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """地灾风险等级及原因（= warn score --hazard landslide）/ landslide levels: warn score for one hazard.

    Example: warn landslide demo/forecast/yubei-demo-analogue_2026071500.nc --json
    """
    show(forecast, "landslide", var, as_json, config, store)


def waterlogging(forecast: ForecastArgument, var: VarOption = None, as_json: JsonOption = False,
                 config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """城市内涝积水点等级及原因（= warn score --hazard waterlogging）/ waterlogging levels: warn score for one hazard.

    Example: warn waterlogging demo/forecast/yubei-demo-analogue_2026071500.nc --store var/demo/warn.db
    """
    show(forecast, "waterlogging", var, as_json, config, store)


def flood(forecast: ForecastArgument, var: VarOption = None, as_json: JsonOption = False,
          config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """已弃用，请用 warn waterlogging / deprecated: use warn waterlogging (= warn score --hazard waterlogging).

    Example: warn waterlogging demo/forecast/yubei-demo-analogue_2026071500.nc
    """
    console(stderr=True).print("注意：warn flood 已弃用，请改用 warn waterlogging / warn flood is deprecated: "
                               "use warn waterlogging (or warn score --hazard waterlogging)", style="yellow")
    show(forecast, "waterlogging", var, as_json, config, store)


def show(forecast: str, hazard: str | None, var: str | None, as_json: bool, config: Any, store: str | None) -> None:
    """Score ``forecast`` for ``hazard`` (``None``: every hazard that reads a forecast) and print it."""
    results = score_forecast(config, forecast, var, lambda settings, rain, opened: hazards.score_run(
        settings, rain, store=opened, only=hazard), store=store)
    records = [record(name, item) for name, scored in results for item in scored.items]
    if as_json:
        console().print_json(json.dumps(records, ensure_ascii=False))
        return
    out = console()
    for name, scored in results:
        spec = hazards.get(name)
        for note in [*scored.notes, *scored.notices]:
            out.print(f"注 note: {note}", style="yellow", markup=False)
        for role in [*spec.roles, None]:
            label = role.item if role else "district"
            rows = [r for r in records if r["hazard"] == name and r["kind"] == label]
            if rows:
                title = f"{spec.zh} / {spec.en} — {role.zh + ' ' + role.en if role else '全区 district'}"
                out.print(table(rows, spec, title))


def record(hazard: str, item: Any) -> dict[str, Any]:
    """One item as JSON (keys documented in :func:`score`)."""
    now = Level(item.levels["now"])
    out = {"hazard": hazard, "item_id": item.item_id, "name": item.name, "kind": item.item,
           "level": int(now), "colour": now.colour, "level_2h": int(item.levels["2h"]),
           "level_24h": int(item.levels["24h"]), "drivers": list(item.drivers["now"]),
           "drivers_2h": list(item.drivers["2h"]), "drivers_24h": list(item.drivers["24h"]),
           "values": {key: _number(value) for key, value in item.values.items()}}
    if item.probability:
        out["probability"] = probability_json(item.probability)
    return out


def probability_json(probability: Any) -> dict[str, dict[str, float | None]]:
    """An item's probabilities as JSON: {lead: {colour: fraction}}, null where unknown (NaN)."""
    return {lead: {Level(level).colour: _number(p) for level, p in by_level.items()}
            for lead, by_level in probability.items()}


def table(records: list[dict[str, Any]], spec: Any, title: str) -> Table:
    """Most severe first; the hazard's quantities; the reasons of the +24 h level."""
    out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    out.add_column("编码 id", no_wrap=True)
    out.add_column("名称 name", no_wrap=True)
    for heading in HEADINGS.values():
        out.add_column(heading, no_wrap=True)
    columns = [c for c in spec.columns if any(r["values"].get(c.key) is not None for r in records)]
    for column in columns:
        out.add_column(f"{column.zh} {column.en}" + (f" ({column.unit})" if column.unit else ""), justify="right")
    out.add_column("原因 (+24 h) drivers", overflow="fold")
    keys = {"now": "level", "2h": "level_2h", "24h": "level_24h"}
    for r in sorted(records, key=lambda r: (-r["level_24h"], -r["level_2h"], -r["level"], r["item_id"])):
        out.add_row(r["item_id"], r["name"], *(level_text(Level(r[keys[lead]])) for lead in HEADINGS),
                    *("—" if r["values"].get(c.key) is None else f"{r['values'][c.key]:g}" for c in columns),
                    "；".join(r["drivers_24h"]) or "—")
    return out


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 2)
