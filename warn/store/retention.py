"""归档与保留 / retention of readings: old weeks archived to files the district keeps, verified, then removed.

:func:`archive_readings` takes every week (:class:`warn.store.partitions.Period`) that ended at least
``keep`` before now, oldest first, each in one transaction of its own:

1. on PostgreSQL the week's partition and the one before the weeks are locked against writers
   (``EXCLUSIVE``: readers go on); on SQLite the write transaction holds the file;
2. its readings and their revisions are written, streamed, to two gzip-compressed CSV files
   (``readings_<week>_<when>.readings.csv.gz``, ``….revisions.csv.gz``; times ISO 8601 UTC, values as
   Python writes a float exactly, an empty value field for a missing value), then a manifest
   (``….json``: the week, the columns, and per file its rows and the SHA-256 of the compressed file
   and of the CSV text), each written to a temporary name, flushed to disk and renamed;
3. the archive is *verified* (:func:`verify`: every file read back whole, its checksums and row
   count against the manifest, and the manifest's counts against the store's own count of the
   week's rows);
4. only then the week's revisions and readings are removed: on PostgreSQL the week's partition is
   detached and dropped and ``readings_before`` widened over it (:func:`warn.store.partitions.drop_oldest`;
   rows of a week before the first partition are deleted from it); on SQLite the rows are deleted
   in bulk. The rows removed must be exactly the rows archived, or the
   transaction is rolled back.

Any failure — a folder that cannot be written, a full disk, a checksum or count that does not
match — raises :class:`warn.errors.StoreError`, removes what was written of that week's archive
and leaves its rows in the store: nothing recorded is lost without first being in the archive.
An archive is never overwritten (a week archived again, e.g. late readings of it, gets files of
its own).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, func, select

from warn.errors import Problem, StoreError
from warn.store.partitions import BEFORE, LOCK_TIMEOUT, Period, drop_oldest, is_partitioned, partitions, period_of
from warn.store.schema import reading_revisions, readings

#: Weeks archived by one call at most (each its own transaction): the rest wait for the next run.
MAX_PERIODS = 8
#: Rows formatted and compressed at a time.
BLOCK = 20_000
#: The manifest's format.
FORMAT = "warn.readings-archive/1"
READING_COLUMNS = ("sensor_id", "phenomenon_time", "arrival_time", "value", "unit", "qc_flag", "qc_rule",
                   "revision_count")
REVISION_COLUMNS = ("id", "sensor_id", "phenomenon_time", "old_value", "new_value", "old_flag", "new_flag",
                    "old_rule", "new_rule", "old_arrival_time", "new_arrival_time", "revised_at")
_HINT = ("归档未经核验的读数不会从存储库删除 / readings are never removed from the store before their archive is "
         "verified")


@dataclass(frozen=True)
class ArchivedWeek:
    """One week archived and removed from the store."""

    period: Period
    readings: int
    revisions: int
    manifest: Path


@dataclass(frozen=True)
class _Written:
    path: Path
    rows: int
    sha256_gz: str
    sha256_csv: str


def archive_readings(engine: Engine, write: Callable[[], AbstractContextManager[Connection]], *, keep: timedelta,
                     folder: Path, now: datetime, where: str) -> list[ArchivedWeek]:
    """Archive and remove the readings of every week that ended ``keep`` or more before ``now`` (at most
    :data:`MAX_PERIODS` weeks per call, oldest first).

    Parameters
    ----------
    engine, write
        The store's engine and its write transaction.
    keep
        How long readings stay in the store (``store.retention.readings``).
    folder
        Where the archive files go (made when missing).
    now
        The store's clock (aware UTC): names the files, and the weeks ended before ``now − keep`` go.
    where
        The store as named in errors (its redacted URL).

    Returns
    -------
    list of ArchivedWeek
        The weeks archived, oldest first.

    Raises
    ------
    StoreError
        A week's archive could not be written or verified (its rows stay; those archived before stay archived).
    """
    cut = period_of(now - keep).start
    done: list[ArchivedWeek] = []
    for _ in range(MAX_PERIODS):
        with engine.connect() as conn:
            period = _oldest(conn, cut)
        if period is None:
            break
        with write() as conn:
            done.append(_archive_week(conn, period, folder, now, where))
    return done


def _oldest(conn: Connection, cut: datetime) -> Period | None:
    """The oldest week before ``cut`` holding readings (on PostgreSQL: a weekly partition, or rows of the one
    before the weeks)."""
    if is_partitioned(conn):
        oldest = conn.exec_driver_sql(f"SELECT min(phenomenon_time) FROM {BEFORE} WHERE phenomenon_time < %(cut)s",
                                      {"cut": cut}).scalar()
        found = [p for p in partitions(conn) if p.end <= cut][:1]
    else:
        column = readings.c.phenomenon_time
        oldest = conn.execute(select(func.min(column)).where(column < cut)).scalar()
        found = []
    return min([*found, *([] if oldest is None else [period_of(oldest)])], default=None)


def _archive_week(conn: Connection, period: Period, folder: Path, now: datetime, where: str) -> ArchivedWeek:
    partitioned = is_partitioned(conn)
    weeks = partitions(conn)
    # the oldest week's partition (rows before it come first), dropped unless it is the only one left
    own = len(weeks) > 1 and weeks[0] == period
    if partitioned:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        conn.exec_driver_sql(f"LOCK TABLE {period.partition + ', ' if own else ''}{BEFORE} IN EXCLUSIVE MODE")
    in_week = (readings.c.phenomenon_time >= period.start, readings.c.phenomenon_time < period.end)
    revised_in_week = (reading_revisions.c.phenomenon_time >= period.start,
                       reading_revisions.c.phenomenon_time < period.end)
    stem = _stem(folder, period, now, where)
    written: list[_Written] = []
    try:
        written.append(_write_csv(stem.with_suffix(".readings.csv.gz"), READING_COLUMNS, conn.execute(
            select(*(readings.c[c] for c in READING_COLUMNS)).where(*in_week)
            .order_by(readings.c.sensor_id, readings.c.phenomenon_time).execution_options(yield_per=BLOCK))))
        written.append(_write_csv(stem.with_suffix(".revisions.csv.gz"), REVISION_COLUMNS, conn.execute(
            select(*(reading_revisions.c[c] for c in REVISION_COLUMNS)).where(*revised_in_week)
            .order_by(reading_revisions.c.id).execution_options(yield_per=BLOCK))))
        manifest = _write_manifest(stem.with_suffix(".json"), period, now, where, written)
        held = (conn.execute(select(func.count()).select_from(readings).where(*in_week)).scalar_one(),
                conn.execute(select(func.count()).select_from(reading_revisions).where(*revised_in_week)).scalar_one())
        counts = verify(manifest)
        if counts != held:
            raise _problem(where, period, f"{held[0]} readings and {held[1]} revisions in the archive",
                           f"{counts[0]} and {counts[1]}")
    except BaseException:
        for path in (*(w.path for w in written), stem.with_suffix(".json")):
            path.unlink(missing_ok=True)
        raise
    removed = conn.execute(delete(reading_revisions).where(*revised_in_week)).rowcount
    if own:
        removed_readings = conn.exec_driver_sql(f"SELECT count(*) FROM {period.partition}").scalar_one()
        drop_oldest(conn, period)
    else:
        removed_readings = conn.execute(delete(readings).where(*in_week)).rowcount
    if (removed_readings, removed) != held:
        raise _problem(where, period, f"{held[0]} readings and {held[1]} revisions removed (as archived)",
                       f"{removed_readings} and {removed}; nothing was removed")
    return ArchivedWeek(period, held[0], held[1], manifest)


def verify(manifest: Path) -> tuple[int, int]:
    """Read an archive back whole and check it against its manifest.

    Returns
    -------
    tuple of int
        The readings and revisions it holds.

    Raises
    ------
    StoreError
        The manifest or a file is missing or unreadable, or a file's rows or checksums differ from the
        manifest's; the message names the file.
    """
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        counts = tuple(int(entry["rows"]) for entry in files)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise StoreError(Problem(str(manifest), "", "a readable archive manifest", f"{type(err).__name__}: {err}",
                                 _HINT)) from None
    for entry in files:
        path = manifest.parent / entry["name"]
        try:
            digest_gz, digest_csv = hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256()
            with gzip.open(path, "rb") as raw:
                for chunk in iter(lambda: raw.read(1 << 20), b""):
                    digest_csv.update(chunk)
            with gzip.open(path, "rt", encoding="utf-8", newline="") as text_file:
                rows = sum(1 for _ in csv.reader(text_file)) - 1
        except (OSError, EOFError, ValueError, csv.Error) as err:
            raise StoreError(Problem(str(path), "", "a readable gzip CSV file", f"{type(err).__name__}: {err}",
                                     _HINT)) from None
        if (rows, digest_gz, digest_csv.hexdigest()) != (entry["rows"], entry["sha256_gz"], entry["sha256_csv"]):
            raise StoreError(Problem(str(path), "", f"{entry['rows']} rows, sha256 {entry['sha256_gz']} (as "
                                     f"{manifest.name} says)", f"{rows} rows, sha256 {digest_gz}", _HINT))
    return counts  # type: ignore[return-value]


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of one archive file (for restoring, and for the tests)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text_file:
        header, *rows = list(csv.reader(text_file))
    return header, rows


def _stem(folder: Path, period: Period, now: datetime, where: str) -> Path:
    """The archive's path without suffixes, new in ``folder`` (made when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(Problem(str(folder), "store.retention.archive", "a folder the archive can be written in",
                                 f"{type(err).__name__}: {err}", _HINT)) from None
    base = f"readings_{period.start:%Y%m%d}_{now:%Y%m%dT%H%M%SZ}"
    for k in range(1000):
        stem = folder / (base if k == 0 else f"{base}_{k}")
        if not any(stem.with_suffix(s).exists() for s in (".json", ".readings.csv.gz", ".revisions.csv.gz")):
            return stem
    raise _problem(where, period, "a free archive name", f"{base}_* taken 1000 times")


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> _Written:
    """Stream ``rows`` to ``path`` as gzip-compressed CSV (temporary name, flushed, renamed)."""
    temporary = path.with_name(path.name + ".tmp")
    digest, count = hashlib.sha256(), 0
    try:
        with open(temporary, "xb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as gz:
            block = io.StringIO()
            writer = csv.writer(block, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_field(v) for v in row])
                count += 1
                if count % BLOCK == 0:
                    data = block.getvalue().encode("utf-8")
                    digest.update(data)
                    gz.write(data)
                    block.seek(0)
                    block.truncate()
            data = block.getvalue().encode("utf-8")
            digest.update(data)
            gz.write(data)
            gz.close()  # the gzip trailer, before the file is flushed to disk
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _Written(path, count, hashlib.sha256(path.read_bytes()).hexdigest(), digest.hexdigest())


def _write_manifest(path: Path, period: Period, now: datetime, where: str, written: Sequence[_Written]) -> Path:
    spec = {"format": FORMAT, "store": where, "archived_at": now.isoformat(),
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "files": [{"name": w.path.name, "table": table, "columns": list(columns), "rows": w.rows,
                       "sha256_gz": w.sha256_gz, "sha256_csv": w.sha256_csv}
                      for w, (table, columns) in zip(written, (("readings", READING_COLUMNS),
                                                               ("reading_revisions", REVISION_COLUMNS)))]}
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "x", encoding="utf-8") as handle:
        json.dump(spec, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def _field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _problem(where: str, period: Period, expected: str, got: str) -> StoreError:
    return StoreError(Problem(where, f"readings[{period.start:%Y-%m-%d}…{period.end:%Y-%m-%d}]", expected, got, _HINT))
