"""The governance centre's decisions, as a pure planner (DESIGN.md "command/").

``plan(state, events, now, setup=…) -> (state, actions)``: warning threads
(:mod:`~warn.command.warnings`), incidents and playbook runs
(:mod:`~warn.command.playbooks`, :mod:`~warn.command.planner`), acknowledgements with
escalation (:mod:`~warn.command.acks`), peacetime ↔ wartime (:mod:`~warn.command.mode`),
the duty roster (:mod:`~warn.command.roster`) and situation reports
(:mod:`~warn.command.reports`). No I/O, no clock, no database: :mod:`warn.command.loading`
reads the files at start-up; ``cycle.py`` keeps the :class:`State` and executes the actions.
"""

from warn.command.model import (
    AckAnswered,
    Action,
    LevelCrossing,
    ModeDecision,
    Tick,
)
from warn.command.planner import Setup, State, plan

__all__ = ["AckAnswered", "Action", "LevelCrossing", "ModeDecision", "Setup", "State", "Tick", "plan"]
