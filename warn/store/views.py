"""What the duty officer sees: read-only queries over the store, as of a time.

:class:`Views` answers the seeing commands (``warn status``, ``warn warnings``, ``warn
zones``, ``warn incidents``, ``warn tasks``, ``warn timeline``, ``warn feeds``) with
plain frozen dataclasses; it never writes, never migrates, and imports neither numpy
nor the planner, so that ``warn status`` starts fast.

Every query takes ``at``, the "as of" time (aware; the wall clock in service, the
simulated time when reviewing a replay or running a drill). What the store records
with its own time is judged as it stood at ``at``: a warning's level is that of its
last message sent by ``at``; a task is done or acknowledged only if that happened by
``at``; a 叫应 call is answered only if answered by ``at``; rows made after ``at``
(tasks, calls, timeline entries, cycles, incidents) are left out. Feed health is the
judgement of the last beat (stale after k × the expected interval, k from
``models/sensors.yaml``); its age is measured to ``at`` (unknown when the only beat kept is
later than ``at``: heartbeats keep the latest beat only).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Self

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.engine import make_url

from warn.errors import Problem, StoreError
from warn.store.engine import make_engine, redact
from warn.store.schema import (
    ack_requests,
    cycles,
    heartbeats,
    incidents,
    mode_changes,
    model_states,
    tasks,
    timeline,
    warning_messages,
    warnings,
)

#: Where the warning cycle keeps every item's current level (``warn.cycle.warning_cycle``).
LEVELS_MODEL, LEVELS_KEY, LEVELS_ARRAY = "cycle", "levels", "json"
#: Task states that still need work.
OPEN_STATES = ("open", "acknowledged")
#: The ack-request kind of a 叫应 call.
CALL = "call"


@dataclass(frozen=True)
class ModeView:
    """The centre's mode as of ``at``: ``peacetime`` or ``wartime``, its response level
    (0 none, 1 IV … 4 I), since when and who decided (``None`` before any decision)."""

    mode: str
    response_level: int
    since: datetime | None
    decided_by: str | None
    pending_proposals: int


@dataclass(frozen=True)
class WarningView:
    """An active warning thread as of ``at`` (level 1 blue … 4 red)."""

    thread_id: str
    hazard: str
    item_id: str
    level: int
    version: int
    onset: datetime
    updated_at: datetime
    incident_id: str | None


@dataclass(frozen=True)
class ZoneView:
    """One scored item's current level (−1 unknown, 0 none … 4 red) from the last cycle by ``at``."""

    hazard: str
    kind: str
    item_id: str
    level: int


@dataclass(frozen=True)
class IncidentView:
    """An incident opened by ``at``, with its open tasks and active warnings counted as of ``at``."""

    incident_id: str
    hazard: str
    opened_at: datetime
    closed_at: datetime | None
    mode: str
    response_level: int
    open_tasks: int
    warnings: int


@dataclass(frozen=True)
class TaskView:
    """A task as it stood at ``at``; ``overdue_s`` seconds past its due time (0 when not overdue)."""

    task_id: str
    incident_id: str | None
    summary: str
    owner_role: str
    org_unit: str
    due_at: datetime | None
    status: str
    acked_by: str | None
    done_by: str | None
    overdue_s: float

    @property
    def overdue(self) -> bool:
        """Still to do and past its due time."""
        return self.overdue_s > 0


@dataclass(frozen=True)
class CallView:
    """A 叫应 call unanswered at ``at``: who it is with now (the escalation step's post) and by when."""

    request_id: str
    addressee: str
    escalation_step: int
    deadline: datetime
    created_at: datetime
    overdue_s: float


@dataclass(frozen=True)
class FeedView:
    """One source's last data: when, its age at ``at`` (s), expected interval (s) and health
    (``ok``, ``stale``, ``never``)."""

    source: str
    last_seen: datetime | None
    age_s: float | None
    expected_s: float
    health: str
    detail: str


@dataclass(frozen=True)
class CycleView:
    """The last warning cycle begun by ``at``: its time, status and age at ``at`` (s)."""

    at: datetime
    status: str
    age_s: float


@dataclass(frozen=True)
class EntryView:
    """One timeline entry."""

    seq: int
    occurred_at: datetime
    incident_id: str | None
    actor: str
    role: str
    kind: str
    summary: str


@dataclass(frozen=True)
class StatusView:
    """Everything ``warn status`` shows: mode, active warnings counted by hazard and level, overdue
    tasks, unanswered 叫应 calls, stale feeds and the last cycle."""

    at: datetime
    mode: ModeView
    warnings: dict[str, dict[int, int]]
    overdue_tasks: list[TaskView]
    unanswered_calls: list[CallView]
    stale_feeds: list[FeedView]
    last_cycle: CycleView | None


class Views:
    """Read-only queries over a store (see the module docstring).

    Parameters
    ----------
    engine
        An engine from :func:`warn.store.engine.make_engine`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Views:
        """Views over the store at ``url``.

        Raises
        ------
        StoreError
            The database is unreachable, or an SQLite file that does not exist (it is not created).
        """
        parsed = make_url(url)
        database = parsed.database or ""
        if (parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
                and not database.startswith("file:") and not Path(database).expanduser().exists()):
            raise StoreError(Problem(redact(parsed), "--store", "an existing store file", "no such file"))
        return cls(make_engine(url))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def status(self, at: datetime) -> StatusView:
        """The one-screen summary as of ``at``."""
        counts: dict[str, Counter[int]] = {}
        for w in self.warnings(at):
            counts.setdefault(w.hazard, Counter())[w.level] += 1
        return StatusView(at=at, mode=self.mode(at), warnings={h: dict(c) for h, c in sorted(counts.items())},
                          overdue_tasks=self.tasks(at, overdue=True), unanswered_calls=self.calls(at),
                          stale_feeds=[f for f in self.feeds(at) if f.health != "ok"], last_cycle=self.last_cycle(at))

    def mode(self, at: datetime) -> ModeView:
        """The mode as last decided by ``at``, and how many proposals were made after that decision."""
        decided = and_(mode_changes.c.decided_by.is_not(None), mode_changes.c.at <= at)
        with self.engine.connect() as conn:
            last = conn.execute(select(mode_changes).where(decided)
                                .order_by(mode_changes.c.at.desc(), mode_changes.c.id.desc()).limit(1)).first()
            since = last.at if last is not None else None
            pending = conn.execute(select(func.count()).select_from(mode_changes).where(
                mode_changes.c.decided_by.is_(None), mode_changes.c.at <= at,
                *([mode_changes.c.at > since] if since is not None else []))).scalar_one()
        if last is None:
            return ModeView("peacetime", 0, None, None, pending)
        return ModeView(last.to_mode, last.response_level, last.at, last.decided_by, pending)

    def warnings(self, at: datetime) -> list[WarningView]:
        """Warning threads whose last message by ``at`` has a level (1–4), highest level first."""
        last = (select(warning_messages.c.thread_id, func.max(warning_messages.c.id).label("id"))
                .where(warning_messages.c.sent_at <= at).group_by(warning_messages.c.thread_id).subquery())
        query = (select(warnings, warning_messages.c.level.label("now_level"),
                        warning_messages.c.sent_at.label("sent_at"))
                 .join(last, last.c.thread_id == warnings.c.thread_id)
                 .join(warning_messages, warning_messages.c.id == last.c.id)
                 .where(warning_messages.c.level > 0)
                 .order_by(warning_messages.c.level.desc(), warnings.c.hazard, warnings.c.item_id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [WarningView(r.thread_id, r.hazard, r.item_id, r.now_level, r.version, r.onset, r.sent_at,
                            r.incident_id) for r in rows]

    def zones(self, at: datetime) -> list[ZoneView]:
        """Every scored item's level as the last cycle by ``at`` left it (highest first).

        Reads the warning cycle's saved levels (an ``.npz`` holding JSON text): those after
        the saved cycle when it ran by ``at``, else those it started from.
        """
        import numpy as np  # the saved state is an .npz; only this query needs numpy

        with self.engine.connect() as conn:
            blob = conn.execute(select(model_states.c.arrays).where(
                model_states.c.model == LEVELS_MODEL, model_states.c.key == LEVELS_KEY)).scalar_one_or_none()
        if blob is None:
            return []
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            saved = json.loads(data[LEVELS_ARRAY].tobytes().decode("utf-8"))
        side = "after" if datetime.fromisoformat(saved["at"]) <= at else "before"
        items = []
        for slot, level in saved[side].items():
            hazard, kind, item_id = slot.split(":", 2)
            items.append(ZoneView(hazard, kind, item_id, int(level)))
        return sorted(items, key=lambda z: (-z.level, z.hazard, z.item_id))

    def incidents(self, at: datetime) -> list[IncidentView]:
        """Incidents opened by ``at``, newest first (closed ones too, with their closing time)."""
        live = self.tasks(at)
        active = Counter(w.incident_id for w in self.warnings(at))
        open_tasks = Counter(t.incident_id for t in live if t.status in OPEN_STATES)
        with self.engine.connect() as conn:
            rows = conn.execute(select(incidents).where(incidents.c.opened_at <= at)
                                .order_by(incidents.c.opened_at.desc(), incidents.c.incident_id)).all()
        return [IncidentView(r.incident_id, r.hazard, r.opened_at,
                             r.closed_at if r.closed_at is not None and r.closed_at <= at else None,
                             r.mode, r.response_level, open_tasks[r.incident_id], active[r.incident_id])
                for r in rows]

    def tasks(self, at: datetime, *, overdue: bool = False) -> list[TaskView]:
        """Tasks created by ``at`` as they stood then, most overdue first, then by due time.

        Parameters
        ----------
        at
            The "as of" time.
        overdue
            Only those still to do and past their due time.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(select(tasks).where(tasks.c.created_at <= at)).all()
        views = [_task(r, at) for r in rows]
        if overdue:
            views = [t for t in views if t.overdue]
        far = datetime.max.replace(tzinfo=at.tzinfo)
        return sorted(views, key=lambda t: (-t.overdue_s, t.status not in OPEN_STATES, t.due_at or far, t.task_id))

    def calls(self, at: datetime) -> list[CallView]:
        """叫应 calls made by ``at`` and not answered by then, most overdue first."""
        query = select(ack_requests).where(
            ack_requests.c.kind == CALL, ack_requests.c.created_at <= at,
            or_(ack_requests.c.answered_at.is_(None), ack_requests.c.answered_at > at))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        views = []
        for r in rows:
            chain = json.loads(r.chain)
            step = r.escalation_step
            addressee = chain[step - 1] if 0 < step <= len(chain) else f"{r.org_unit}.{r.addressee_role}"
            views.append(CallView(r.request_id, addressee, step, r.deadline, r.created_at,
                                  max(0.0, (at - r.deadline).total_seconds())))
        return sorted(views, key=lambda c: (-c.overdue_s, c.deadline, c.request_id))

    def feeds(self, at: datetime) -> list[FeedView]:
        """Every source's last data and health (see the module docstring), by source."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(heartbeats).order_by(heartbeats.c.source)).all()
        views = []
        for r in rows:
            age = (at - r.last_seen).total_seconds() if r.last_seen is not None and r.last_seen <= at else None
            health = "never" if r.last_seen is None else "stale" if r.stale else "ok"
            views.append(FeedView(r.source, r.last_seen, age, r.expected_interval_s, health, r.detail))
        return views

    def last_cycle(self, at: datetime) -> CycleView | None:
        """The last cycle begun by ``at``; ``None`` before the first."""
        with self.engine.connect() as conn:
            r = conn.execute(select(cycles.c.at, cycles.c.status).where(cycles.c.at <= at)
                             .order_by(cycles.c.at.desc()).limit(1)).first()
        return None if r is None else CycleView(r.at, r.status, (at - r.at).total_seconds())

    def timeline(self, at: datetime, *, incident: str | None = None, since: datetime | None = None,
                 limit: int | None = None) -> list[EntryView]:
        """Timeline entries that occurred by ``at`` (after ``since``; of ``incident``), oldest first.

        Parameters
        ----------
        limit
            Keep only the last ``limit`` entries.
        """
        query = select(timeline).where(timeline.c.occurred_at <= at)
        if incident is not None:
            query = query.where(timeline.c.incident_id == incident)
        if since is not None:
            query = query.where(timeline.c.occurred_at >= since)
        query = query.order_by(timeline.c.seq.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [EntryView(r.seq, r.occurred_at, r.incident_id, r.actor, r.role, r.kind, r.summary)
                for r in reversed(rows)]


def _task(r, at: datetime) -> TaskView:
    """A task row as it stood at ``at``."""
    done = r.done_at is not None and r.done_at <= at
    acked = r.acked_at is not None and r.acked_at <= at
    status = r.status if r.status == "cancelled" else "done" if done else "acknowledged" if acked else "open"
    late = (at - r.due_at).total_seconds() if r.due_at is not None and status in OPEN_STATES else 0.0
    return TaskView(r.task_id, r.incident_id, r.summary, r.owner_role, r.org_unit, r.due_at, status,
                    r.acked_by if acked else None, r.done_by if done else None, max(0.0, late))
