"""Store fixtures: every store test runs on SQLite (tmp_path) and on PostgreSQL (a fresh schema).

PostgreSQL is the server at :data:`PG_URL` (``WARN_TEST_PG_URL`` overrides it); each
test gets its own uniquely named schema, put first on the ``search_path``, and drops
it afterwards, so parallel runs and leftovers never meet. When the server does not
answer, the PostgreSQL cases are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from warn.sources.readings import UNITS, FlaggedReading, Reading, Sensor
from warn.store import Store
from warn.vocab import QCFlag, SensorKind

PG_URL = os.environ.get("WARN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An engine on the test database, or a skip saying why there is none."""
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except OperationalError as err:
        engine.dispose()
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {str(err.orig).strip().splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'warn.sqlite'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store with sensors S1, S2 (water level) and R1 (rain gauge)."""
    with Store.connect(store_url) as opened:
        opened.upgrade()
        opened.upsert_sensors([sensor("S1"), sensor("S2"), sensor("R1", SensorKind.RAIN_GAUGE)])
        yield opened


def sensor(sensor_id: str, kind: SensorKind = SensorKind.WATER_LEVEL, name: str = "积水点") -> Sensor:
    """A sensor reporting every 5 minutes."""
    return Sensor(sensor_id, kind, name, 106.52, 29.72, timedelta(minutes=5), point_id="P1")


def reading(sensor_id: str, minute: float, value: float | None, *, flag: QCFlag = QCFlag.GOOD, rule: str = "",
            arrival_s: float = 30, unit: str | None = None) -> FlaggedReading:
    """A reading ``minute`` minutes after :data:`T0`, arriving ``arrival_s`` seconds later."""
    t = T0 + timedelta(minutes=minute)
    kind = SensorKind.RAIN_GAUGE if sensor_id.startswith("R") else SensorKind.WATER_LEVEL
    return FlaggedReading(Reading(sensor_id, t, value, unit or UNITS[kind], t + timedelta(seconds=arrival_s)),
                          flag, rule)
