"""Store fixtures: every store test runs on SQLite (tmp_path) and on PostgreSQL (a fresh schema).

The ``store_url`` fixture (tests/conftest.py) gives each test an empty SQLite file or its own
uniquely named PostgreSQL schema; the PostgreSQL cases skip with the reason when the server
does not answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.config import Config

from warn.sources.readings import UNITS, FlaggedReading, Reading, Sensor
from warn.store import Store, migrate
from warn.vocab import QCFlag, SensorKind

T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)


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


def downgrade(store: Store, revision: str) -> None:
    """Take the store's schema down to ``revision`` (Alembic, as :func:`warn.store.migrate.upgrade` goes up)."""
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
