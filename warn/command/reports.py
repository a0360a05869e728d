"""Situation reports (信息报送): initial, follow-ups and final, as tasks of the scribe.

Rules (deadlines from ``command.reports`` of config.yaml):

- ``SITREP-INITIAL``: when wartime begins at ``t``, the initial report (初报) is due at
  ``t + initial``.
- ``SITREP-FOLLOW-UP``: while wartime lasts, follow-up *n* (续报 n) is created when the
  previous report falls due and is due ``follow_up_every`` later.
- ``SITREP-FINAL``: when wartime stands down at ``t``, the final report (终报) is due
  at ``t + final``; no more follow-ups.

The report itself is rendered from the timeline (never typed twice); the task asks the
scribe to check and send it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ReportParams:
    """Report deadlines: the initial report after the switch, the follow-up interval, the final report."""

    initial: timedelta = timedelta(hours=1)
    follow_up_every: timedelta = timedelta(hours=2)
    final: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ReportDue:
    """A report task to create: key, rule, number (0 initial), zh-CN title, created at, due by."""

    key: str
    rule_id: str
    number: int
    title: str
    created: datetime
    due: datetime


@dataclass(frozen=True)
class ReportState:
    """Reports of the current wartime period: its number, the last report's number and due time."""

    period: int = 0
    number: int = 0
    last_due: datetime | None = None
    active: bool = False


def start(period: int, at: datetime, params: ReportParams) -> tuple[ReportState, list[ReportDue]]:
    """Wartime period ``period`` began at ``at``: the initial report."""
    due = at + params.initial
    return (ReportState(period, 0, due, True),
            [ReportDue(f"sitrep/w{period}/initial", "SITREP-INITIAL", 0, "初报 initial report", at, due)])


def follow_ups(state: ReportState, now: datetime, params: ReportParams) -> tuple[ReportState, list[ReportDue]]:
    """Follow-up reports created up to ``now``."""
    reports = []
    while state.active and state.last_due is not None and now >= state.last_due:
        n, created = state.number + 1, state.last_due
        due = created + params.follow_up_every
        reports.append(ReportDue(f"sitrep/w{state.period}/follow-up-{n}", "SITREP-FOLLOW-UP", n,
                                 f"续报 {n} follow-up report {n}", created, due))
        state = replace(state, number=n, last_due=due)
    return state, reports


def finish(state: ReportState, at: datetime, params: ReportParams) -> tuple[ReportState, list[ReportDue]]:
    """Wartime stood down at ``at``: the final report."""
    if not state.active:
        return state, []
    due = at + params.final
    return (replace(state, active=False, last_due=due),
            [ReportDue(f"sitrep/w{state.period}/final", "SITREP-FINAL", state.number + 1, "终报 final report", at,
                       due)])
