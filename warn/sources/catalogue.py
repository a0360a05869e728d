"""The sensor catalogue: which sensors exist, what they measure and how often they report.

A CSV with the header ``sensor_id, kind, name, lon, lat, interval, point_id``
(``interval`` an ISO-8601 duration such as ``PT5M``; ``kind`` one of
:class:`warn.vocab.SensorKind`), and optionally ``accumulation`` (one of
:class:`warn.vocab.Accumulation`, rain gauges only; empty or absent: ``report``, depth per
report). Every row is checked and every problem is reported
with the file, line and column before anything is used.
"""

from __future__ import annotations

import csv
from pathlib import Path

from warn.durations import parse_duration
from warn.errors import ConfigError, Problem
from warn.files import MAX_CATALOGUE_BYTES, read_text
from warn.sources.readings import Sensor
from warn.vocab import Accumulation, SensorKind

COLUMNS = ("sensor_id", "kind", "name", "lon", "lat", "interval", "point_id")


def load_catalogue(path: Path, *, limit: int = MAX_CATALOGUE_BYTES) -> dict[str, Sensor]:
    """Read and validate the catalogue, a regular file of at most ``limit`` bytes (``files.max_catalogue_bytes``).

    Returns
    -------
    dict
        Sensors by id, in file order.

    Raises
    ------
    ConfigError
        Listing every problem: missing, oversized or irregular file (a device, a pipe), missing columns, empty or repeated ids, unknown
        kinds, coordinates that are not numbers in range, intervals that are not ISO-8601.
    """
    text = read_text(path, limit=limit, what="a sensor catalogue (CSV)", error=ConfigError, encoding="utf-8-sig")
    rows = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (rows.fieldnames or [])]
    if missing:
        raise ConfigError(Problem(str(path), "header", f"columns {', '.join(COLUMNS)}",
                                  f"missing {', '.join(missing)}"))
    sensors: dict[str, Sensor] = {}
    problems: list[Problem] = []
    for line, row in enumerate(rows, start=2):
        sensor, row_problems = _sensor(row, f"{path}:{line}")
        problems += row_problems
        if sensor is not None and sensor.sensor_id in sensors:
            problems.append(Problem(f"{path}:{line}", "sensor_id", "a unique id", repr(sensor.sensor_id)))
        elif sensor is not None:
            sensors[sensor.sensor_id] = sensor
    if problems:
        raise ConfigError(*problems)
    return sensors


def _sensor(row: dict[str, str], where: str) -> tuple[Sensor | None, list[Problem]]:
    problems = []
    sensor_id = (row["sensor_id"] or "").strip()
    if not sensor_id:
        problems.append(Problem(where, "sensor_id", "a non-empty id", "nothing"))
    try:
        kind = SensorKind(row["kind"])
    except ValueError:
        problems.append(Problem(where, "kind", f"one of {', '.join(k.value for k in SensorKind)}", repr(row["kind"])))
    coordinates = []
    for key, low, high in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        try:
            value = float(row[key])
        except (TypeError, ValueError):
            value = float("nan")
        if not low <= value <= high:
            problems.append(Problem(where, key, f"degrees between {low:g} and {high:g}", repr(row[key])))
        coordinates.append(value)
    try:
        interval = parse_duration(row["interval"])
    except ValueError:
        problems.append(Problem(where, "interval", "an ISO-8601 duration such as PT5M", repr(row["interval"])))
    raw = (row.get("accumulation") or "").strip() or Accumulation.REPORT.value
    if raw not in Accumulation._value2member_map_:
        problems.append(Problem(where, "accumulation", f"one of {', '.join(a.value for a in Accumulation)}", repr(raw)))
    elif raw != Accumulation.REPORT and row["kind"] != SensorKind.RAIN_GAUGE:
        problems.append(Problem(where, "accumulation", f"report for a {row['kind']} sensor (running totals are "
                                "rain gauges' only)", repr(raw)))
    if problems:
        return None, problems
    return Sensor(sensor_id, kind, row["name"] or sensor_id, coordinates[0], coordinates[1], interval,
                  (row["point_id"] or "").strip(), Accumulation(raw)), []
