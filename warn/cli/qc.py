"""``warn qc FILE.csv``: the QC rules of models/sensors.yaml on one sensor's (time, value) series."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, parse_at
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, Problem, SourceError, WarnError
from warn.files import open_text
from warn.vocab import QCFlag, SensorKind

FLAG_STYLE = {QCFlag.GOOD: "green", QCFlag.DOUBTFUL: "bold yellow", QCFlag.BAD: "bold red",
              QCFlag.MISSING: "bold magenta"}
FLAG_ZH = {QCFlag.GOOD: "正常", QCFlag.DOUBTFUL: "存疑", QCFlag.BAD: "错误", QCFlag.MISSING: "缺测"}
SENSOR_ID = "CSV"
EXAMPLE = "warn qc readings.csv --sensor-type water_level"
#: Longest series the table lists in full; a longer one lists its flagged readings, this many at most.
TABLE_ROWS = 1_000


class QCCommand(TyperCommand):
    """``warn qc``: its help names the rules from the registry, most severe first, read only when
    the help is shown (the registry imports numpy, which other commands must not pay for)."""

    @property
    def help(self) -> str:
        from warn.sources.qc import PRECEDENCE, RULES

        return ("传感器数据质控 / flag a sensor series with the QC rules of models/sensors.yaml. "
                f"规则 rules: {', '.join(f'{name} ({RULES.get(name).flag.value})' for name in PRECEDENCE)}.\n\n"
                f"Example: {EXAMPLE}")

    @help.setter
    def help(self, _value: str | None) -> None:
        """Typer hands over the docstring; the help above replaces it."""


def qc(
    file: Annotated[Path, typer.Argument(help="时间序列 CSV（表头 time,value）/ CSV with header time,value; "
                                              "times ISO-8601 (no offset = UTC), empty value = missing.")],
    sensor_type: Annotated[SensorKind, typer.Option("--sensor-type", help="传感器类型 / sensor kind.")]
    = SensorKind.WATER_LEVEL,
    at: Annotated[datetime | None, typer.Option(
        "--at", envvar="WARN_AT", parser=parse_at, metavar="TIME", show_default="the last reading's time",
        help="判定时刻（ISO 8601，带时区）；默认为文件最后一条读数的时刻 / judge as of this time (ISO 8601 with a "
             "zone); default: the time of the file's last reading, so an old series is judged as it was.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """传感器数据质控 / flag a sensor series with the QC rules of models/sensors.yaml (help: :class:`QCCommand`)."""
    from warn.config import load_settings
    from warn.modelfiles import load_model_file
    from warn.sources.qc import qc_batch
    from warn.sources.readings import UNITS, Reading, Sensor

    try:
        settings = load_settings(config)
        if "sensors" not in settings.models:
            raise ConfigError(Problem(str(config), "models.sensors", "the sensor QC model file (models/sensors.yaml)",
                                      "nothing"))
        params = load_model_file("sensors", settings.models["sensors"], where=str(config),
                                 key="models.sensors").params()
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2) from None
    try:
        series = read_series(file, limit=settings.files.max_qc_bytes, max_rows=settings.files.max_qc_rows)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(1) from None
    at = _utc(at) if at else last_time(series)
    sensor = Sensor(SENSOR_ID, sensor_type, file.name, 0.0, 0.0, timedelta(minutes=5))
    unit = UNITS[sensor_type]
    readings = [Reading(SENSOR_ID, time, value, unit, at) for time, value in series]
    del series
    flagged = qc_batch(readings, sensors={SENSOR_ID: sensor}, history={}, params=params, now=at)
    del readings
    records = [{"time": fr.reading.phenomenon_time.isoformat(), "value": fr.reading.value,
                "flag": fr.qc_flag.value, "rule": fr.qc_rule} for fr in flagged]
    del flagged
    if as_json:
        write_records(records)
    else:
        console().print(qc_table(records, unit, settings.tz, file.name, sensor_type))


def last_time(series: list[tuple[datetime, float | None]]) -> datetime:
    """The judging time of a series by default: its latest reading's time (the clock for an empty one)."""
    return max((time for time, _ in series), default=datetime.now(timezone.utc))


def write_records(records: list[dict[str, Any]]) -> None:
    """Print ``records`` as one JSON array, an object a line (C-encoded: a million rows in seconds).

    The records hold only times, numbers and rule names made here, never text from the file.
    """
    out = sys.stdout
    out.write("[")
    for k, record in enumerate(records):
        out.write(("\n  " if k == 0 else ",\n  ") + json.dumps(record))
    out.write("\n]\n" if records else "]\n")


def read_series(path: Path, *, limit: int, max_rows: int) -> list[tuple[datetime, float | None]]:
    """(time, value) rows of a ``time,value`` CSV: times UTC (naive = UTC), empty value = missing.

    Parameters
    ----------
    path
        The CSV, read streamed: a regular file of at most ``limit`` bytes (``files.max_qc_bytes``).
    max_rows
        Most data rows read (``files.max_qc_rows``).

    Raises
    ------
    SourceError
        Naming the file, the line and what was expected there (a pipe or device, a file too
        large, more rows than ``max_rows``).
    """
    with open_text(path, limit=limit, what="a time,value CSV", encoding="utf-8-sig") as lines:
        rows = csv.reader(lines)
        header = next(rows, None)
        if header is None or [cell.strip() for cell in header] != ["time", "value"]:
            raise SourceError(Problem(f"{path}:1", "", "the header time,value",
                                      ",".join(header) if header else "an empty file"))
        series = []
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(series) == max_rows:
                raise SourceError(Problem(f"{path}:{line}", "", f"at most {max_rows:,} rows of readings",
                                          "more", "split the series, or raise files.max_qc_rows in config.yaml"))
            series.append(_row(row, path, line))
    return series


def _row(row: list[str], path: Path, line: int) -> tuple[datetime, float | None]:
    """One ``time,value`` row as (UTC time, value or None)."""
    if len(row) != 2:
        raise SourceError(Problem(f"{path}:{line}", "", "two fields: time,value", ",".join(row)))
    text, value = row[0].strip(), row[1].strip()
    try:
        time = _utc(datetime.fromisoformat(text))
    except ValueError:
        raise SourceError(Problem(f"{path}:{line}", "time", "an ISO-8601 time like 2026-07-15T08:00:00+08:00",
                                  repr(text))) from None
    try:
        return time, float(value) if value else None
    except ValueError:
        raise SourceError(Problem(f"{path}:{line}", "value", "a number or nothing (missing)", repr(value))) from None


def qc_table(records: list[dict[str, Any]], unit: str, tz: tzinfo, name: str, kind: SensorKind) -> Table:
    """The flagged series in the deployment's time zone; flags coloured and written out.

    A series longer than :data:`TABLE_ROWS` lists only its readings not flagged good, the first
    :data:`TABLE_ROWS` of them, and says so under the counts (``--json`` lists every reading).
    """
    from warn.sources.qc import RULES

    counts = {flag: sum(r["flag"] == flag.value for r in records) for flag in QCFlag}
    summary = "  ".join(f"{FLAG_ZH[f]} {f.value} {n:,}" for f, n in counts.items())
    shown = records
    if len(records) > TABLE_ROWS:
        flagged = (r for r in records if r["flag"] != QCFlag.GOOD.value)
        shown = [r for _, r in zip(range(TABLE_ROWS), flagged)]
        summary += (f"\n{len(records):,} 条读数，仅列出前 {len(shown):,} 条非正常读数（全部请用 --json） / "
                    f"{len(records):,} readings: only the first {len(shown):,} not flagged good are listed "
                    "(--json lists all)")
    table = Table(title=f"传感器质控 / sensor QC — {name} ({kind.value}, {unit})", caption=summary,
                  title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("时间 time", no_wrap=True)
    table.add_column(f"数值 value ({unit})", justify="right")
    table.add_column("标记 flag", no_wrap=True)
    table.add_column("规则 rule", no_wrap=True)
    for r in shown:
        flag = QCFlag(r["flag"])
        rule = RULES.get(r["rule"]) if r["rule"] else None
        table.add_row(
            datetime.fromisoformat(r["time"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S%z"),
            "—" if r["value"] is None else f"{r['value']:g}",
            Text(f"{FLAG_ZH[flag]} {flag.value}", style=FLAG_STYLE[flag]),
            f"{rule.zh} {rule.name}" if rule else "",
        )
    return table


def _utc(time: datetime) -> datetime:
    return time.replace(tzinfo=timezone.utc) if time.tzinfo is None else time.astimezone(timezone.utc)
