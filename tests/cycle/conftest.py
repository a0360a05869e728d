"""The command step against the committed deployment on a real store (SQLite, PostgreSQL when reachable):
people's events submitted to the inbox, the step taken, the rows it wrote read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.conftest import committed_data
from warn.command.model import LevelCrossing, ManualWarning, Role
from warn.config import Settings, load_settings
from warn.cycle.command import Advanced, advance, load_state
from warn.store import Store
from warn.store.schema import ack_requests, incidents, inbox, mode_changes, outbox, tasks, timeline, warning_messages
from warn.vocab import CapStatus, ItemKind, Level

T0 = datetime(2026, 7, 15, 2, tzinfo=UTC)
SENDER = "warn@yubei.example"
LEADER = "演示带班领导01"
#: What a step writes, and the columns that say what each row is (not when the wall clock wrote it).
WRITTEN = {timeline: ("idempotency_key", "kind", "actor", "role", "summary", "occurred_at"),
           warning_messages: ("identifier", "kind", "level", "sent_at"),
           outbox: ("idempotency_key", "channel", "recipient", "payload"),
           tasks: ("task_id", "idempotency_key", "owner_role", "org_unit", "status"),
           ack_requests: ("request_id", "idempotency_key", "addressee_role", "escalation_step"),
           mode_changes: ("idempotency_key", "to_mode", "decided_by"),
           incidents: ("incident_id", "mode", "closed_at"),
           inbox: ("idempotency_key", "consumed_at", "quarantined_at", "error")}


@pytest.fixture
def command_settings(store_url: str, tmp_path: Path) -> Settings:
    """The committed deployment with its store at ``store_url``."""
    data = committed_data(tmp_path)
    data["store"]["url"] = store_url
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_settings(path)


@pytest.fixture
def command_store(command_settings: Settings) -> Iterator[Store]:
    """A migrated, empty store of ``command_settings``."""
    with Store.connect(command_settings.store.url) as store:
        store.upgrade()
        yield store


DISTRICT = "500112"


def manual(zone: str, level: Level, text: str, at: datetime, *, hazard: str = "rainstorm") -> ManualWarning:
    """The leader on duty's warning by hand for town ``zone`` or the :data:`DISTRICT` (no approval needed),
    with ``text``."""
    district = zone == DISTRICT
    crossing = LevelCrossing(hazard=hazard, item_id=zone, item_kind=ItemKind.DISTRICT if district else ItemKind.ZONE,
                             town=None if district else zone, from_level=Level.NONE, to_level=level, at=at,
                             drivers=("manual",), reason=text)
    return ManualWarning(crossing=crossing, by=LEADER, role=Role.LEADER_ON_DUTY, org_unit="500112", approver=None)


def step(store: Store, settings: Settings, setup, now: datetime) -> Advanced:
    """The service's tick at ``now``: the inbox planned, executed, published (Exercise), saved, consumed."""
    return advance(store, settings, setup, (), now, status=CapStatus.EXERCISE, sender=SENDER)


def written(store: Store) -> dict[str, list[tuple]]:
    """Every row the command step writes, by table, in the order written, without wall-clock times;
    and the planner's state."""
    with store.engine.connect() as conn:
        rows = {table.name: [tuple(row) for row in conn.execute(
            select(*[table.c[c] for c in columns]).order_by(*table.primary_key.columns))]
            for table, columns in WRITTEN.items()}
    return rows | {"state": [(load_state(store),)]}


def minutes(n: float) -> datetime:
    """``n`` minutes after :data:`T0`."""
    return T0 + timedelta(minutes=n)
