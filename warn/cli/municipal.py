"""``warn municipal``: a municipality's centres on one PostgreSQL store (warn/municipal)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption
from warn.cli.output import console, print_json, print_problems

app = typer.Typer(help="市级多中心部署 / a municipality's district centres and municipal centre on one store.",
                  no_args_is_help=True)

#: The forecast feed a generated deployment pulls until the operators set the city's own.
DEFAULT_FORECAST = "https://forecast.invalid/chongqing/qpf_{issued:%Y%m%d%H}.nc"


@app.command("init")
def init(
    out: Annotated[Path, typer.Argument(help="folder of the deployments (one sub-folder per centre, by code)")],
    store: Annotated[str, typer.Option("--store", envvar="WARN_MUNICIPAL_STORE",
                                       help="postgresql+psycopg:// URL of the municipality's database, as a role "
                                            "that may create roles and schemas")],
    prefix: Annotated[str, typer.Option(help="prefix of every schema and role (<prefix>_<code>)")] = "cq",
    only: Annotated[list[str] | None, typer.Option("--only", help="a district's code (repeat; none: all 38)")] = None,
    forecast: Annotated[str, typer.Option(help="URL template of the forecast runs every centre pulls")]
    = DEFAULT_FORECAST,
    start: Annotated[datetime, typer.Option(help="start of the synthetic rosters' shifts (a year from it), "
                                                 "Beijing time when no offset is given")]
    = datetime(2026, 1, 1),
) -> None:
    """建立全市各区县与市级中心的部署及其共用数据库 / write every centre's deployment and provision the store.

    One folder per district and county and one for the municipal centre (500000), each with its
    config.yaml, zone layers, synthetic roster, playbooks and models; in the database one schema and
    one LOGIN role per centre, each district reading and writing its own schema only, the city
    reading every district's and the districts reading the city's response level (linked response).
    Idempotent. Exit 1 when the store refuses, 2 on a usage error.

    Example: warn municipal init deploy/chongqing --store postgresql+psycopg://postgres@127.0.0.1/warn
    """
    from zoneinfo import ZoneInfo

    from warn.errors import UsageError, WarnError
    from warn.municipal.init import init as run_init

    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    try:
        written = run_init(out, store, prefix=prefix, only=only or (), forecast_url=forecast, start=start)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, UsageError) else 1) from None
    out_console = console()
    for deployment in written:
        out_console.print(f"{deployment.unit.code} {deployment.unit.name}: {deployment.config} "
                          f"(role/schema {deployment.centre.role})")
    out_console.print(f"✓ {len(written)} 个中心 / centres, one store", style="green")


@app.command("status")
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: a list of {schema, mode, response_level, since, "
                                          "decided_by, active_warnings, highest_level}")] = False,
) -> None:
    """全市各区县态势（市级中心）/ every district the municipal centre reads: mode, response, active warnings.

    Read with the store URL of ``--config`` (the municipal centre's role): a district's own role reads no
    other district, and lists none. Exit 0; 1 when the store cannot be read, 2 on a configuration error.

    Example: warn municipal status --config /srv/chongqing/500000/config.yaml
    """
    from warn.config import load_settings
    from warn.errors import ConfigError, WarnError
    from warn.store.engine import make_engine
    from warn.store.municipal import overview
    from warn.vocab import Level, ResponseLevel

    try:
        engine = make_engine(load_settings(config).store.url)
        try:
            rows = overview(engine)
        finally:
            engine.dispose()
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    if as_json:
        print_json(rows)
        return
    out = console()
    for row in rows:
        mode = f"战时{ResponseLevel(row.response_level).zh}" if row.response_level else "平时"
        worst = f"，最高{Level(row.highest_level).zh}" if row.highest_level else ""
        out.print(f"{row.schema}  {mode}  生效预警 {row.active_warnings} 条{worst}")
    out.print(f"{len(rows)} 个区县 / districts")
