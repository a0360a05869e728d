"""The warning cycle: pull → QC → score → levels → plan → broadcast → record.

This package and ``service.py`` are the only places that orchestrate: they call
``sources/`` to pull, ``geo/`` to aggregate, ``risk/`` to score and ``store/`` to keep.
So far the cycle covers the rain path (fetch a forecast run, decode it to the rainfall
contract, aggregate it over a zone layer and score it with the rain model) and the
sensor path (poll or receive readings, QC them against each sensor's recent good
readings, upsert them, and mark silent feeds and sensors stale), and the command step
(plan the cycle's events, apply the actions to the store at most once, keep the
planner's state, take the people's events from the inbox: :mod:`warn.cycle.command`).
:func:`run` (:mod:`warn.cycle.warning_cycle`) is one whole cycle at a time: pull the due
forecast run and the sensor feeds (:mod:`warn.cycle.inputs`), score landslide and
waterlogging, turn level changes into crossings, plan, execute and publish, record.
"""

from warn.cycle.command import advance, execute, load_state, run_command, save_state, submit
from warn.cycle.inputs import Sources, fetch_due, open_sources, pull
from warn.cycle.rain import fetch_run, open_location, score_rain
from warn.geo.layers import zone_layer
from warn.cycle.warning_cycle import CycleReport, cycle_key, run
from warn.cycle.sensors import (
           Ingester,
           PollReport,
           mark_stale_sensors,
           open_ingester,
           poll_feed,
)

__all__ = ["CycleReport", "Ingester", "PollReport", "Sources", "advance", "cycle_key", "execute", "fetch_due", "open_sources", "pull", "submit", "fetch_run", "load_state", "mark_stale_sensors", "open_ingester",
           "open_location", "poll_feed", "run", "run_command", "save_state", "score_rain", "zone_layer"]
