"""The service's cycles on a LocalCluster (two worker processes) decide and store what the single process does.

Three hours of the demo storm (warnings rise), run twice through :func:`warn.service.open_service` on fresh
stores: once with ``compute: {scheduler: none}``, once with a local cluster that takes every grid
(``min_cells: 0``, chunks of 2,000 of the 6,804 cells). The second and third cycles continue the soil-water
state the first saved. The service closes its cluster with itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.test_service_run import SENDER, storm_feed, write_config
from warn.config import load_settings
from warn.service import open_service
from warn.sim.clock import SimClock
from warn.sim.feedserver import FeedServer
from warn.sim.receiver import WebhookReceiver
from warn.store import Store
from warn.store.schema import level_item_lists, level_memory, level_sets, model_states
from warn.vocab import CapStatus

FIRST, CYCLES = 6, 3
AT = datetime(2026, 7, 15, FIRST, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.slow  # six cycles of the demo storm and a cluster: about a minute here


def cycles(folder: Path, feed: Path, compute: dict) -> tuple[list, dict, bool]:
    """The service's reports, what its store holds after, and whether its cluster ran (and was closed)."""
    folder.mkdir()
    with FeedServer(feed) as server, WebhookReceiver() as receiver:
        config = write_config(folder, server.url, receiver.url)
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["compute"] = compute
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        settings = load_settings(config)
        clock = SimClock(AT)
        with Store.connect(settings.store.url, now=clock) as store:
            with open_service(settings, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock) as service:
                reports = [service.cycle(AT + n * HOUR) for n in range(CYCLES)]
                ran = service.compute.running
            assert not service.compute.running  # closed with the service
            with store.engine.connect() as conn:
                rows = {table.name: [tuple(r) for r in conn.execute(
                            select(*(c for c in table.c if c.name != "updated_at")).order_by(*table.primary_key))]
                        for table in (model_states, level_memory, level_item_lists, level_sets)}
    return reports, rows, ran


def test_the_cycles_on_the_cluster_equal_the_single_process(tmp_path: Path) -> None:
    feed = storm_feed(tmp_path, AT, FIRST, CYCLES)
    here, here_rows, here_ran = cycles(tmp_path / "here", feed, {"scheduler": "none"})
    there, there_rows, there_ran = cycles(tmp_path / "cluster", feed, {"scheduler": "local", "workers": 2,
                                                                       "min_cells": 0, "chunk_cells": 2000})
    assert there_ran and not here_ran
    assert any(r.crossings for r in here)
    for a, b in zip(here, there, strict=True):
        assert (a.items, a.crossings, a.actions, a.notes, a.notices) == (b.items, b.crossings, b.actions, b.notes,
                                                                         b.notices)
        assert len(a.messages) == len(b.messages)
    assert here_rows == there_rows and here_rows["model_states"]
