"""Fixtures of the command planner tests: the committed playbooks and demo roster, event factories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT
from warn import hazards
from warn.command.loading import load_setup
from warn.command.model import LevelCrossing
from warn.vocab import ItemKind, Level
from warn.command.planner import Setup
from warn.config import load_settings

#: 2026-07-15 10:00 Beijing time, inside the demo roster's week.
T0 = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    """T0 + n minutes."""
    return T0 + timedelta(minutes=n)


def crossing(item: str, old: Level, new: Level, at: datetime, *, hazard: str = "landslide",
             item_kind: ItemKind = ItemKind.POINT, town: str | None = "DEMO-T05", **attributes) -> LevelCrossing:
    """A level crossing of one item."""
    return LevelCrossing(hazard, item, item_kind, town, old, new, at, ("swi",), attributes)


@pytest.fixture(scope="session")
def setup() -> Setup:
    """The committed command setup (playbooks/*.yaml, playbooks/roster.yaml, config.yaml command:)."""
    settings = load_settings(ROOT / "config.yaml")
    return load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())
