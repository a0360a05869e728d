"""``warn skill EVENTS.csv --warnings WARNINGS.csv``: verify issued warnings against an event list.

Files read (UTF-8 CSV with a header; times without an offset are UTC):

- EVENTS.csv, either ``time,lon,lat`` (ISO-8601 times, WGS84 degrees; other columns
  ignored) or the NASA Global Landslide Catalog export as it comes (``event_date`` as
  ``M/D/YYYY H:MM``, ``longitude``, ``latitude``, ``location_accuracy``). The catalogue
  gives no time zone and writes ``0:00`` for an unknown time of day: its dates are read
  as UTC, so a date-only event sits at 08:00 Beijing time, inside the bulletin day that
  ends at 20:00 that date.
- WARNINGS.csv, the warning history, one row per warning issued:
  ``issued_at,zone_id,level,lead,valid_from,valid_to`` — ``level`` 0–4 or a colour
  (none/blue/yellow/orange/red, 无/蓝色/黄色/橙色/红色), ``lead`` one of now, 2h, 24h, the
  warning valid over ``[valid_from, valid_to)``.

Scoring: :mod:`warn.risk.skill`. Exit codes: 0 done, 1 a data file cannot be used, 2 a
configuration or option problem.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption
from warn.cli.output import console, level_text, print_problems
from warn.errors import ConfigError, Problem, SourceError, WarnError
from warn.vocab import Level

if TYPE_CHECKING:
    import numpy as np

WARNING_COLUMNS = ("issued_at", "zone_id", "level", "lead", "valid_from", "valid_to")
GLC_TIME_FORMAT = "%m/%d/%Y %H:%M"
#: GLC ``location_accuracy`` values, in km (unknown = infinitely poor).
GLC_ACCURACY_KM = {"exact": 0.0, "1km": 1.0, "5km": 5.0, "10km": 10.0, "25km": 25.0, "50km": 50.0,
                   "100km": 100.0, "250km": 250.0, "unknown": math.inf}
_LEVEL_WORDS = {name: level for level in Level if level >= Level.NONE for name in (level.colour, level.zh)}
_TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


@dataclass(frozen=True)
class Events:
    """Events read from a CSV: UTC ``datetime64[s]`` times, WGS84 lon/lat (N,), rows dropped."""

    time: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    dropped_for_accuracy: int


def skill(
    events: Annotated[Path, typer.Argument(help="事件表 CSV（time,lon,lat 或 NASA GLC 导出）/ events CSV: "
                                                "time,lon,lat or the NASA Global Landslide Catalog export.")],
    warnings: Annotated[Path, typer.Option("--warnings", help="预警历史 CSV / warning history CSV: "
                                           f"{','.join(WARNING_COLUMNS)}.")],
    layer: Annotated[str | None, typer.Option(help="分区图层：config.yaml 中的名称，或 GeoPackage/GeoJSON 路径"
                                            "（多图层文件写 PATH#layer）/ zone layer named in config.yaml, or a "
                                            "file path (PATH#layer for a multi-layer file).",
                                       show_default="areas.towns")] = None,
    id_field: Annotated[str, typer.Option("--id-field", help="路径图层的编码字段 / id field of a layer given "
                                                             "by path.")] = "zone_id",
    window_start: Annotated[str, typer.Option("--window-start", help="检验时段起点（部署时区 HH:MM）/ local time "
                                                                     "the daily bulletin window opens.")] = "20:00",
    start: Annotated[datetime | None, typer.Option("--start", formats=_TIME_FORMATS, help=(
        "检验期起 / verify from (no offset = UTC); default: earliest valid_from."))] = None,
    end: Annotated[datetime | None, typer.Option("--end", formats=_TIME_FORMATS, help=(
        "检验期止 / verify until (exclusive); default: latest valid_to."))] = None,
    max_location_km: Annotated[float | None, typer.Option("--max-location-km", help=(
        "只用定位精度优于此值的事件（GLC location_accuracy，unknown 剔除）/ keep GLC events located at least "
        "this well (km); unknown accuracy is dropped."))] = None,
    as_json: JsonOption = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """预警检验：命中率、漏报率、空报率、CSI、TSS / verify issued warnings against an event list.

    Example: warn skill events.csv --warnings warnings.csv --layer towns
    """
    import numpy as np

    from warn.config import load_settings
    from warn.geo.layers import area_km2
    from warn.risk.skill import BulletinWindows, verify, zone_of_points

    try:
        settings = load_settings(config)
        where, ids, zones = _zones(settings, layer or settings.areas.towns, id_field)
        windows = BulletinWindows(start=_window_start(window_start, settings.tz))
        period = _period(start, end)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2) from None
    try:
        found = read_events(events, max_location_km)
        history = read_warnings(warnings, {zone_id: i for i, zone_id in enumerate(ids)}, where)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(1) from None
    if history.empty and period is None:
        print_problems([Problem(str(warnings), "", "at least one warning, or --start and --end", "no rows")],
                       console(stderr=True))
        raise typer.Exit(1)
    result = verify(zone_of_points(found.lon, found.lat, zones.geometry.to_numpy()), found.time, history,
                    area_km2(zones).to_numpy(), windows=windows, period=period)
    records = skill_records(result.table)
    if as_json:
        console().print_json(json.dumps(records, ensure_ascii=False))
        return
    opens = datetime.fromtimestamp(int(result.first_window.astype(np.int64)), timezone.utc).astimezone(settings.tz)
    closes = opens + windows.length * result.n_windows
    console().print(skill_table(records, title=(
        f"预警检验 / warning skill — {where}: {result.n_zones} 区 zones × {result.n_windows} 时段 windows "
        f"({opens:%Y-%m-%d %H:%M} – {closes:%Y-%m-%d %H:%M %Z})"), caption=(
        f"事件 events: 参与 used {result.events_used}，区外 outside zones {result.events_outside_zones}，"
        f"期外 outside period {result.events_outside_period}，定位精度剔除 dropped for accuracy "
        f"{found.dropped_for_accuracy}。单元 unit = 区 zone × 时段 window；命中率 POD = a/(a+c)，"
        f"漏报率 = c/(a+c)，空报率 FAR = b/(a+b)，CSI = a/(a+b+c)，TSS = POD − POFD；面积占比 = 预警面积×时段占比 "
        f"share of area × time warned")))


def read_events(path: Path, max_location_km: float | None = None) -> Events:
    """Events of a ``time,lon,lat`` CSV or a NASA GLC export (module docstring).

    Raises
    ------
    SourceError
        Naming the file, the line, the column and what was expected there.
    """
    import numpy as np

    rows, header = _rows(path)
    glc = {"event_date", "longitude", "latitude"} <= set(header)
    names = ("event_date", "longitude", "latitude") if glc else ("time", "lon", "lat")
    if not glc and not set(names) <= set(header):
        raise SourceError(Problem(f"{path}:1", "", "columns time,lon,lat or the GLC columns event_date,longitude,"
                                                   "latitude", ",".join(header)))
    if max_location_km is not None and "location_accuracy" not in header:
        raise SourceError(Problem(f"{path}:1", "location_accuracy", "a location_accuracy column for "
                                  "--max-location-km", ",".join(header)))
    times, lons, lats, dropped = [], [], [], 0
    for line, row in rows:
        record = dict(zip(header, row))
        if max_location_km is not None:
            accuracy = _accuracy_km(path, line, record["location_accuracy"])
            if accuracy > max_location_km:
                dropped += 1
                continue
        if glc:
            times.append(_glc_time(path, line, record["event_date"]))
        else:
            times.append(_iso_time(path, line, "time", record["time"]))
        lons.append(_number(path, line, names[1], record[names[1]], -180, 180))
        lats.append(_number(path, line, names[2], record[names[2]], -90, 90))
    return Events(np.array(times, dtype="datetime64[s]"), np.array(lons, dtype=float), np.array(lats, dtype=float),
                  dropped)


def read_warnings(path: Path, zones: dict[str, int], layer: str):
    """The warning history as :func:`warn.risk.skill.verify` takes it (``zone`` = position in ``zones``).

    Raises
    ------
    SourceError
        Naming the file, the line, the column and what was expected there.
    """
    import numpy as np
    import pandas as pd

    from warn.risk.skill import LEADS

    rows, header = _rows(path)
    missing = [name for name in WARNING_COLUMNS if name not in header]
    if missing:
        raise SourceError(Problem(f"{path}:1", ",".join(missing), f"the columns {','.join(WARNING_COLUMNS)}",
                                  ",".join(header)))
    table: dict[str, list[Any]] = {"zone": [], "level": [], "lead": [], "issued_at": [], "valid_from": [],
                                   "valid_to": []}
    for line, row in rows:
        record = dict(zip(header, row))
        zone_id = record["zone_id"].strip()
        if zone_id not in zones:
            raise SourceError(Problem(f"{path}:{line}", "zone_id", f"a zone id of {layer}", repr(zone_id)))
        lead = record["lead"].strip()
        if lead not in LEADS:
            raise SourceError(Problem(f"{path}:{line}", "lead", f"one of {', '.join(LEADS)}", repr(lead)))
        valid_from = _iso_time(path, line, "valid_from", record["valid_from"])
        valid_to = _iso_time(path, line, "valid_to", record["valid_to"])
        if valid_to <= valid_from:
            raise SourceError(Problem(f"{path}:{line}", "valid_to", "a time after valid_from",
                                      repr(record["valid_to"])))
        table["zone"].append(zones[zone_id])
        table["level"].append(_level(path, line, record["level"]))
        table["lead"].append(lead)
        table["issued_at"].append(_iso_time(path, line, "issued_at", record["issued_at"]))
        table["valid_from"].append(valid_from)
        table["valid_to"].append(valid_to)
    frame = pd.DataFrame(table)
    for name in ("issued_at", "valid_from", "valid_to"):
        frame[name] = pd.to_datetime(np.array(table[name], dtype="datetime64[s]"))
    return frame


def skill_records(table) -> list[dict[str, Any]]:
    """One JSON-ready record per lead × level threshold: the keys of :data:`warn.risk.skill.COLUMNS`,
    counts as integers, scores and shares rounded to 4 decimals, undefined scores ``null``."""
    records = []
    for row in table.to_dict(orient="records"):
        records.append({key: (None if isinstance(value, float) and math.isnan(value)
                              else round(value, 4) if isinstance(value, float) else value)
                        for key, value in row.items()})
    return records


def skill_table(records: list[dict[str, Any]], *, title: str, caption: str) -> Table:
    """The scores by lead time and level threshold; undefined scores shown as —. Correct
    negatives and POFD are left to ``--json`` (they are dominated by the many quiet units)."""
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    for header in ("时效\nlead", "等级≥\nlevel ≥", "命中\na", "空报\nb", "漏报\nc", "命中率\nPOD",
                   "漏报率\nmiss", "空报率\nFAR", "TS\nCSI", "\nTSS", "事件占比\nevents", "面积占比\narea"):
        table.add_column(header, justify="left" if header[:2] in ("时效", "等级") else "right", no_wrap=True)
    for r in records:
        table.add_row(r["lead"], level_text(Level(r["level"])), str(r["hits"]), str(r["false_alarms"]),
                      str(r["misses"]), _score(r["pod"]), _score(r["miss_rate"]), _score(r["far"]), _score(r["csi"]),
                      _score(r["tss"]), _percent(r["event_share"]), _percent(r["area_share"]))
    return table


def _zones(settings, layer: str, id_field: str):
    """(label, ids, layer) of a configured layer name or a GeoPackage/GeoJSON path (``PATH#layer``)."""
    from warn import cycle
    from warn.geo.layers import load_layer

    if layer in settings.layers:
        spec, zones = cycle.zone_layer(settings, layer)
        return layer, [str(v) for v in zones[spec.id_field]], zones
    path, _, name = layer.partition("#")
    if not Path(path).exists():
        raise ConfigError(Problem("--layer", "", f"a layer named in config.yaml ({', '.join(settings.layers)}) "
                                                 "or an existing GeoPackage/GeoJSON file", repr(layer)))
    zones = load_layer(Path(path), name or None, id_field=id_field)
    return layer, [str(v) for v in zones[id_field]], zones


def _window_start(text: str, tz) -> timedelta:
    """UTC time of day of a local ``HH:MM`` (the zone's offset on 2000-01-01; Asia/Shanghai keeps +08:00)."""
    try:
        local = time.fromisoformat(text)
    except ValueError:
        raise ConfigError(Problem("--window-start", "", "a local time HH:MM such as 20:00", repr(text))) from None
    offset = datetime(2000, 1, 1, tzinfo=tz).utcoffset() or timedelta(0)
    return (timedelta(hours=local.hour, minutes=local.minute) - offset) % timedelta(days=1)


def _period(start: datetime | None, end: datetime | None) -> tuple[np.datetime64, np.datetime64] | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ConfigError(Problem("--start/--end", "", "both or neither", "only one"))
    first, last = _utc64(start), _utc64(end)
    if last <= first:
        raise ConfigError(Problem("--end", "", "a time after --start", end.isoformat()))
    return first, last


def _rows(path: Path) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """(line, cells) of each data row and the header; line = the row's last physical line.

    The file must be a regular file of at most :data:`warn.files.MAX_QC_BYTES` (a pipe or a device
    is refused at once, never read).
    """
    from warn.files import MAX_QC_BYTES, open_text

    try:
        with open_text(path, limit=MAX_QC_BYTES, what="a CSV file", encoding="utf-8-sig") as lines:
            reader = csv.reader(lines)
            header = [cell.strip() for cell in next(reader, [])]
            rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as err:
        raise SourceError(Problem(str(path), "", "a readable UTF-8 CSV file", str(err))) from None
    if not header:
        raise SourceError(Problem(f"{path}:1", "", "a header row", "an empty file"))
    for line, row in rows:
        if len(row) != len(header):
            raise SourceError(Problem(f"{path}:{line}", "", f"{len(header)} fields as in the header",
                                      f"{len(row)} fields"))
    return rows, header


def _iso_time(path: Path, line: int, column: str, text: str) -> np.datetime64:
    try:
        return _utc64(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise SourceError(Problem(f"{path}:{line}", column, "an ISO-8601 time like 2010-07-19T08:00:00+08:00",
                                  repr(text))) from None


def _glc_time(path: Path, line: int, text: str) -> np.datetime64:
    try:
        return _utc64(datetime.strptime(text.strip(), GLC_TIME_FORMAT))
    except ValueError:
        raise SourceError(Problem(f"{path}:{line}", "event_date", "a GLC date M/D/YYYY H:MM like 7/19/2010 8:00",
                                  repr(text))) from None


def _number(path: Path, line: int, column: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise SourceError(Problem(f"{path}:{line}", column, f"degrees from {low:g} to {high:g}", repr(text)))
    return value


def _level(path: Path, line: int, text: str) -> int:
    word = text.strip()
    if word in _LEVEL_WORDS:
        return int(_LEVEL_WORDS[word])
    if word in {"0", "1", "2", "3", "4"}:
        return int(word)
    raise SourceError(Problem(f"{path}:{line}", "level", "0–4 or a colour (none, blue, yellow, orange, red)",
                              repr(text)))


def _accuracy_km(path: Path, line: int, text: str) -> float:
    try:
        return GLC_ACCURACY_KM[text.strip()]
    except KeyError:
        raise SourceError(Problem(f"{path}:{line}", "location_accuracy", f"one of {', '.join(GLC_ACCURACY_KM)}",
                                  repr(text))) from None


def _utc64(moment: datetime) -> np.datetime64:
    """UTC ``datetime64[s]``; a naive time is UTC."""
    import numpy as np

    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(moment, "s")


def _score(value: float | None) -> str:
    return "—" if value is None else f"{round(value, 3) + 0.0:.3f}"  # + 0.0: no "-0.000"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.3g}%"
