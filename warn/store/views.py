"""What the duty officer sees: read-only queries over the store, as of a time.

:class:`Views` answers the seeing commands (``warn status``, ``warn warnings``, ``warn
zones``, ``warn incidents``, ``warn tasks``, ``warn timeline``, ``warn feeds``) with
plain frozen dataclasses; it never writes, never migrates, and imports neither
SQLAlchemy, numpy nor the planner, so that ``warn status`` starts fast: it reads
through the DB-API driver itself — :mod:`sqlite3` (the file opened read-only) or
psycopg (imported only for a PostgreSQL store) — with the tables as
:mod:`warn.store.schema` describes them and times in the form of
:mod:`warn.store.times`.

Every query takes ``at``, the "as of" time (aware; the wall clock in service, the
simulated time when reviewing a replay or running a drill). What the store records
with its own time is judged as it stood at ``at``: a warning's level is that of its
last message sent by ``at``; a task is done or acknowledged only if that happened by
``at``; a 叫应 call is answered only if answered by ``at``; rows made after ``at``
(tasks, calls, timeline entries, cycles, incidents) are left out. Feed health is judged
at ``at``, never read from the stored flag: a sensor's from its newest reading that had
arrived by ``at`` (how current it was: its phenomenon time, or its arrival if earlier, as
:meth:`warn.store.Store.last_seen`); any other source's from its beat's ``last_seen``;
stale when silent for more than k × the expected interval (k: ``staleness.factor`` of
``models/sensors.yaml``). Heartbeats keep the latest beat only: a source whose only beat
kept was written after ``at`` has health ``unknown`` there. The sources the cycles pull
(forecasts, official warnings, polled sensor feeds) are judged from the cycles' records by
``at`` (:mod:`warn.store.pulls`): last seen at the last cycle they answered, ``failing``
when the last pull failed, ``unknown`` before any cycle pulled them.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, urlsplit, urlunsplit

from warn.durations import CYCLE_EVERY
from warn.errors import ConfigError, Problem, StoreError
from warn.store.access import CONNECT_TIMEOUT_S, UNREACHABLE_HINT
from warn.store.levelsets import last_levels
from warn.store.pulls import Pull, read_pulls
from warn.store.times import decode_time, encode_time

if TYPE_CHECKING:
    from warn.config import Settings

#: Task states that still need work.
OPEN_STATES = ("open", "acknowledged")
#: The ack-request kind of a 叫应 call.
CALL = "call"
#: The kind of an approval request (ack_requests.kind).
APPROVAL = "approval"
#: The columns, of any table, that hold a time (:class:`warn.store.schema.UTCDateTime`).
TIME_COLUMNS = frozenset({"at", "onset", "updated_at", "sent_at", "opened_at", "closed_at", "due_at", "acked_at",
                          "done_at", "deadline", "created_at", "last_seen", "occurred_at", "phenomenon_time", "cycle_at",
                          "arrival_time", "quarantined_at", "answered_at", "queued_at", "delivered_at",
                          "failed_at", "first_delivered_at", "issued_at", "held_at"})
#: k in "stale when silent for k × the expected interval": ``staleness.factor`` of the shipped
#: ``models/sensors.yaml`` (the seeing commands pass the deployment's).
STALE_FACTOR = 3.0
#: The prefix of a sensor's heartbeat source (``sensor:<sensor_id>``, :func:`warn.cycle.sensors.mark_stale_sensors`).
SENSOR = "sensor:"
#: The timeline entry kind of a data notice beginning or ending (:mod:`warn.cycle.warning_cycle`).
NOTICE = "notice"
#: The last cycle is late when older than this many cycle intervals.
LATE_AFTER = 2
#: The schema's migrations, one file each named by its revision (``0010_hourly_rain.py``).
VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
#: A revision in a migration's file name.
_REVISION = re.compile(r"\b(\d{4})_")
#: What to do about a file that is not a readable warn store.
STORE_FILE_HINT = ("--store 须指向 warn 存储库文件且可读 / --store must name a readable warn store file (e.g. "
                   "var/warn.sqlite); warn verify or warn run make a new one")
#: A named parameter ``:name`` in the SQL text of a query.
_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


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
    """One scored item's level (−1 unknown, 0 none … 4 red) as the last cycle by ``at`` that scored it
    left it, and that cycle's time."""

    hazard: str
    kind: str
    item_id: str
    level: int
    cycle_at: datetime


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
class CallRecord:
    """A 叫应 call as it stood at ``at``, for ``warn calls``.

    Attributes
    ----------
    request_id
        The request.
    org_level
        The org level of the post it is with (district, town, community, grid, point).
    addressee
        Who answered it, else the person it was last sent to (``None`` when nobody was reachable).
    post
        The post it is with now (``community.DEMO-T03-C01.community_lead``).
    channels
        The channel kinds it went through, in the order first used (``work_notice``, ``sms``, ``voice`` …).
    first_delivered_at
        When a channel first delivered it (the gateway's receipt, else the platform taking it).
    answered_at, answered_via
        When and through which channel it was answered (``sms``, ``work_notice``, ``wecom``, ``voice``,
        ``link``, ``cli``).
    escalation_step
        0 with its first addressee, n after n escalations.
    status
        ``answered``, ``waiting`` (with its first addressee), ``escalated`` (with a later one) or
        ``exhausted`` (every post of its chain let the deadline pass).
    """

    request_id: str
    org_level: str
    addressee: str | None
    post: str
    channels: list[str]
    first_delivered_at: datetime | None
    answered_at: datetime | None
    answered_via: str | None
    escalation_step: int
    status: str


@dataclass(frozen=True)
class FeedView:
    """One source's last data by ``at``: when, its age at ``at`` (s), expected interval (s),
    health at ``at`` (``ok``, ``stale``, ``never``, ``unknown``, ``failing``: see the module docstring),
    how many payloads or records it sent by ``at`` were refused (``rejected_readings``), and the last
    time by ``at`` a cycle's pull of it failed and why (:mod:`warn.store.pulls`)."""

    source: str
    last_seen: datetime | None
    age_s: float | None
    expected_s: float
    health: str
    detail: str
    rejected: int = 0
    last_failure: datetime | None = None
    failure: str = ""


@dataclass(frozen=True)
class NoticeView:
    """A data notice in force at ``at`` (a silent feed, a flatline, no forecast run …): its text
    (zh-CN / English) and when it began."""

    notice: str
    began_at: datetime


@dataclass(frozen=True)
class CycleView:
    """The last warning cycle begun by ``at``: its time, status, age at ``at`` (s), the cycle
    interval (s) and whether it is late (older than :data:`LATE_AFTER` intervals)."""

    at: datetime
    status: str
    age_s: float
    every_s: float
    late: bool


@dataclass(frozen=True)
class QuarantineView:
    """One inbox event the command step set aside (:mod:`warn.cycle.quarantine`): its id, kind, when it
    happened, when it was quarantined and why. Who sent it is left out (the timeline has it)."""

    id: int
    kind: str
    at: datetime
    quarantined_at: datetime
    error: str


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
class RunView:
    """A forecast run a cycle held by ``at``: its source, issue time, the cycle that held it and its cached file."""

    source: str
    issued_at: datetime
    held_at: datetime
    path: str


@dataclass(frozen=True)
class SensorView:
    """A sensor of the catalogue and its newest reading that had arrived by ``at`` (``None`` for each without one).

    Attributes
    ----------
    lon, lat
        Where it stands, WGS84 degrees.
    point_id
        The point it watches (a waterlogging point, a gauge), ``""`` for none.
    value, unit
        The reading, in ``unit`` (``m`` for a water level or stage).
    observed_at, arrived_at
        Its phenomenon time and when it arrived.
    qc
        Its quality-control flag (``good``, ``doubtful``, ``bad``).
    """

    sensor_id: str
    kind: str
    name: str
    lon: float
    lat: float
    point_id: str
    value: float | None
    unit: str | None
    observed_at: datetime | None
    arrived_at: datetime | None
    qc: str | None


@dataclass(frozen=True)
class ItemLevelView:
    """One item's level for one lead (``now``, ``2h``, ``24h``) as the last cycle by ``at`` that scored it left it:
    the level (−1 unknown … 4 red), the score where the model has one, the drivers (texts, zh-CN / English)
    and, where the cycle scored an ensemble run, the probability {colour: fraction of members at or above
    it} (``None`` where unknown; the whole ``None`` from a single run)."""

    hazard: str
    kind: str
    item_id: str
    lead: str
    level: int
    score: float | None
    drivers: list[str]
    cycle_at: datetime
    probability: dict[str, float | None] | None = None


@dataclass(frozen=True)
class StatusView:
    """Everything ``warn status`` shows: mode, active warnings counted by hazard and level, overdue
    tasks, unanswered 叫应 calls, how many feeds are on record and those not ``ok``, the data notices
    in force, the last cycle, and the inbox events quarantined."""

    at: datetime
    mode: ModeView
    warnings: dict[str, dict[int, int]]
    overdue_tasks: list[TaskView]
    unanswered_calls: list[CallView]
    feeds: int
    stale_feeds: list[FeedView]
    notices: list[NoticeView]
    last_cycle: CycleView | None
    quarantined: list[QuarantineView]


class Views:
    """Read-only queries over a store (see the module docstring).

    Parameters
    ----------
    database
        A connection from :meth:`Views.open`.
    stale_factor
        k in "stale when silent for k × the expected interval".
    """

    def __init__(self, database: _Database, *, stale_factor: float = STALE_FACTOR) -> None:
        self.database = database
        self.stale_factor = stale_factor

    @classmethod
    def open(cls, url: str, *, stale_factor: float = STALE_FACTOR) -> Views:
        """Views over the store at ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``), feeds stale
        when silent for ``stale_factor`` × their expected interval.

        Raises
        ------
        StoreError
            Not a SQLite or PostgreSQL URL, the database is unreachable, or an SQLite file
            that does not exist (it is not created), is not a database, has no warn tables or
            is at another schema revision than the newest this code knows.
        """
        return cls(_Database.open(url), stale_factor=stale_factor)

    def close(self) -> None:
        """Close the connection."""
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def status(self, at: datetime, *, every: timedelta = CYCLE_EVERY) -> StatusView:
        """The one-screen summary as of ``at``, the last cycle judged against the interval ``every``."""
        counts: dict[str, Counter[int]] = {}
        feeds = self.feeds(at)
        for w in self.warnings(at):
            counts.setdefault(w.hazard, Counter())[w.level] += 1
        return StatusView(at=at, mode=self.mode(at), warnings={h: dict(c) for h, c in sorted(counts.items())},
                          overdue_tasks=self.tasks(at, overdue=True), unanswered_calls=self.calls(at),
                          feeds=len(feeds), stale_feeds=[f for f in feeds if f.health != "ok"],
                          notices=self.notices(at), last_cycle=self.last_cycle(at, every=every), quarantined=self.quarantined(at))

    def mode(self, at: datetime) -> ModeView:
        """The mode as last decided by ``at``, and how many proposals were made after that decision."""
        decided = self.database.rows(
            'SELECT to_mode, response_level, "at", decided_by FROM mode_changes '
            'WHERE decided_by IS NOT NULL AND "at" <= :at ORDER BY "at" DESC, id DESC LIMIT 1', at=at)
        since = decided[0]["at"] if decided else None
        after = ' AND "at" > :since' if since is not None else ""
        pending = self.database.rows('SELECT count(*) AS n FROM mode_changes '
                                     f'WHERE decided_by IS NULL AND "at" <= :at{after}', at=at, since=since)[0]["n"]
        if not decided:
            return ModeView("peacetime", 0, None, None, pending)
        last = decided[0]
        return ModeView(last["to_mode"], last["response_level"], since, last["decided_by"], pending)

    def warnings(self, at: datetime) -> list[WarningView]:
        """Warning threads whose last version by ``at`` has a level (1–4), highest level first."""
        rows = self.database.rows(
            "SELECT w.thread_id, w.hazard, w.item_id, v.level, v.version, w.onset, v.at AS updated_at, "
            "w.incident_id FROM warnings w "
            "JOIN (SELECT thread_id, max(version) AS version FROM warning_versions WHERE \"at\" <= :at "
            "GROUP BY thread_id) latest ON latest.thread_id = w.thread_id "
            "JOIN warning_versions v ON v.thread_id = latest.thread_id AND v.version = latest.version "
            "WHERE v.level > 0 ORDER BY v.level DESC, w.hazard, w.item_id", at=at)
        return [WarningView(**r) for r in rows]

    def zones(self, at: datetime) -> list[ZoneView]:
        """Every scored item's level as the cycles by ``at`` left it: its last ``now`` level (highest first),
        from the newest level set of each hazard and kind (:func:`~warn.store.levelsets.last_levels`)."""
        found = last_levels(self.database.rows, at, lead="now", details=())
        items = [ZoneView(hazard, kind, item_id, int(row["level"]), row["cycle_at"])
                 for (hazard, kind, item_id, _), row in found.items()]
        return sorted(items, key=lambda z: (-z.level, z.hazard, z.item_id))

    def incidents(self, at: datetime) -> list[IncidentView]:
        """Incidents opened by ``at``, newest first (closed ones too, with their closing time)."""
        live = self.tasks(at)
        active = Counter(w.incident_id for w in self.warnings(at))
        open_tasks = Counter(t.incident_id for t in live if t.status in OPEN_STATES)
        rows = self.database.rows(
            "SELECT incident_id, hazard, opened_at, closed_at, mode, response_level FROM incidents "
            "WHERE opened_at <= :at ORDER BY opened_at DESC, incident_id", at=at)
        return [IncidentView(r["incident_id"], r["hazard"], r["opened_at"],
                             r["closed_at"] if r["closed_at"] is not None and r["closed_at"] <= at else None,
                             r["mode"], r["response_level"], open_tasks[r["incident_id"]], active[r["incident_id"]])
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
        rows = self.database.rows(
            "SELECT task_id, incident_id, summary, owner_role, org_unit, due_at, status, acked_by, acked_at, "
            "done_by, done_at FROM tasks WHERE created_at <= :at", at=at)
        views = [_task(r, at) for r in rows]
        if overdue:
            views = [t for t in views if t.overdue]
        far = datetime.max.replace(tzinfo=at.tzinfo)
        return sorted(views, key=lambda t: (-t.overdue_s, t.status not in OPEN_STATES, t.due_at or far, t.task_id))

    def calls(self, at: datetime) -> list[CallView]:
        """叫应 calls made by ``at`` and not answered by then, most overdue first."""
        return self.waiting(at, CALL)

    def waiting(self, at: datetime, kind: str) -> list[CallView]:
        """Requests of ``kind`` (``call``, ``approval``, ``task``, ``verify``) made by ``at`` and not answered by then,
        most overdue first."""
        rows = self.database.rows(
            "SELECT request_id, addressee_role, org_unit, chain, escalation_step, deadline, created_at "
            "FROM ack_requests WHERE kind = :kind AND created_at <= :at "
            "AND (answered_at IS NULL OR answered_at > :at)", kind=kind, at=at)
        views = []
        for r in rows:
            chain = json.loads(r["chain"])
            step = r["escalation_step"]
            addressee = chain[step - 1] if 0 < step <= len(chain) else f"{r['org_unit']}.{r['addressee_role']}"
            views.append(CallView(r["request_id"], addressee, step, r["deadline"], r["created_at"],
                                  max(0.0, (at - r["deadline"]).total_seconds())))
        return sorted(views, key=lambda c: (-c.overdue_s, c.deadline, c.request_id))

    def call_log(self, at: datetime) -> list[CallRecord]:
        """Every 叫应 call made by ``at``, oldest first (see :class:`CallRecord`): its answer and deliveries as they
        stood at ``at``, its post and escalation step as last recorded."""
        rows = self.database.rows(
            "SELECT request_id, addressee_role, org_unit, escalation_step, deadline, answered_by, answered_at, "
            "channel FROM ack_requests WHERE kind = :kind AND created_at <= :at ORDER BY created_at, request_id",
            kind=CALL, at=at)
        sent = self.database.rows(
            "SELECT request_id, person, channel_kind, status, sent_at, delivered_at, queued_at FROM deliveries "
            "WHERE request_id IS NOT NULL AND queued_at <= :at ORDER BY queued_at, id", at=at)
        by_request: dict[str, list[dict[str, Any]]] = {}
        for row in sent:
            by_request.setdefault(row["request_id"], []).append(row)
        return [_call_record(r, by_request.get(r["request_id"], []), at) for r in rows]

    def feeds(self, at: datetime, *, pulled: Mapping[str, float] | None = None) -> list[FeedView]:
        """Every source's last data by ``at`` and its health then (see the module docstring), by source.

        Parameters
        ----------
        at
            The "as of" time.
        pulled
            The sources the cycles pull (``forecast:<name>``, ``official:<name>``, ``feed:<name>``, as
            config.yaml declares them) and how often each is expected to answer, s: each is listed, with
            its last success and last failure by ``at`` from the cycles' records (:mod:`warn.store.pulls`).
        """
        views = self._stored_feeds(at)
        wanted = dict(pulled or {})
        for source, pull in read_pulls(self.database.rows, at, wanted).items():
            if source in wanted or source in views:
                views[source] = self._pulled(views.get(source), source, pull, wanted.get(source), at)
        for source, expected in wanted.items():
            views.setdefault(source, FeedView(source, None, None, expected, "unknown",
                                              "截至此时无拉取记录（推送型数据源见其传感器） / no pull on record by "
                                              "then (a pushed feed is seen through its sensors)"))
        return [views[source] for source in sorted(views)]

    def _pulled(self, held: FeedView | None, source: str, pull: Pull, expected: float | None,
                at: datetime) -> FeedView:
        """A pulled source at ``at``: its beat's view (a polled sensor feed) or, without a beat that tells of
        ``at``, one made from its last success; with its last failure, ``failing`` when its last pull failed."""
        if held is None or held.health == "unknown":
            expected_s = expected if expected is not None else held.expected_s if held else 0.0
            held = FeedView(source, pull.ok_at, None if pull.ok_at is None else (at - pull.ok_at).total_seconds(),
                            expected_s, self._health(pull.ok_at, expected_s, at), pull.ok)
        failing = pull.failed_at is not None and (pull.ok_at is None or pull.failed_at > pull.ok_at)
        return replace(held, last_failure=pull.failed_at, failure=pull.failure,
                       health="failing" if failing and held.health == "ok" else held.health)

    def _stored_feeds(self, at: datetime) -> dict[str, FeedView]:
        """The sensors' and the beating sources' views at ``at``, with what each had refused, by source."""
        sensors = self.database.rows(
            "SELECT s.sensor_id, s.interval_s, r.phenomenon_time, r.arrival_time FROM sensors s "
            "LEFT JOIN readings r ON r.sensor_id = s.sensor_id AND r.phenomenon_time = ("
            "SELECT max(n.phenomenon_time) FROM readings n WHERE n.sensor_id = s.sensor_id AND n.arrival_time <= :at)",
            at=at)
        views = {f"{SENSOR}{r['sensor_id']}": self._sensor(r, at) for r in sensors}
        for r in self.database.rows(
                "SELECT source, last_seen, expected_interval_s, detail, updated_at FROM heartbeats ORDER BY source"):
            if r["source"] not in views:
                views[r["source"]] = self._beat(r, at)
        for r in self.database.rows("SELECT source, count(*) AS n FROM rejected_readings WHERE received_at <= :at "
                                    "GROUP BY source", at=at):
            held = views.get(r["source"]) or FeedView(r["source"], None, None, 0.0, "never",
                                                      "只有拒收的数据 / only refused data")
            views[r["source"]] = replace(held, rejected=r["n"])
        return views

    def _health(self, seen: datetime | None, expected_s: float, at: datetime) -> str:
        """``never`` without data, ``stale`` when ``seen`` is more than k × ``expected_s`` before ``at``."""
        if seen is None:
            return "never"
        return "stale" if (at - seen).total_seconds() > self.stale_factor * expected_s else "ok"

    def _sensor(self, r: dict[str, Any], at: datetime) -> FeedView:
        """A sensor's feed at ``at`` from its newest reading that had arrived by then."""
        arrived = r["arrival_time"]
        seen = None if arrived is None else min(r["phenomenon_time"], arrived)
        detail = "从未收到 / never heard" if arrived is None else f"last reading arrived {arrived.isoformat()}"
        return FeedView(f"{SENSOR}{r['sensor_id']}", seen, None if seen is None else (at - seen).total_seconds(),
                        r["interval_s"], self._health(seen, r["interval_s"], at), detail)

    def _beat(self, r: dict[str, Any], at: datetime) -> FeedView:
        """Another source at ``at`` from its beat; ``unknown`` when the beat kept tells nothing of ``at``."""
        seen, expected = r["last_seen"], r["expected_interval_s"]
        if seen is not None and seen <= at:
            return FeedView(r["source"], seen, (at - seen).total_seconds(), expected, self._health(seen, expected, at),
                            r["detail"] if r["updated_at"] <= at else "")
        if seen is None and r["updated_at"] <= at:
            return FeedView(r["source"], None, None, expected, "never", r["detail"])
        return FeedView(r["source"], None, None, expected, "unknown",
                        f"只存有 {r['updated_at'].isoformat()} 的心跳 / only a later beat is kept")

    def last_cycle(self, at: datetime, *, every: timedelta = CYCLE_EVERY) -> CycleView | None:
        """The last cycle begun by ``at``, late when older than :data:`LATE_AFTER` × ``every`` (the
        interval ``warn run`` runs the cycle at); ``None`` before the first."""
        rows = self.database.rows('SELECT "at", status FROM cycles WHERE "at" <= :at ORDER BY "at" DESC LIMIT 1',
                                  at=at)
        if not rows:
            return None
        age = at - rows[0]["at"]
        return CycleView(rows[0]["at"], rows[0]["status"], age.total_seconds(), every.total_seconds(),
                         age > LATE_AFTER * every)

    def notices(self, at: datetime) -> list[NoticeView]:
        """The data notices in force at ``at``, oldest first: those the timeline's notice entries by ``at``
        began and did not end (the ``data_notices`` table keeps only those in force after the last cycle)."""
        rows = self.database.rows("SELECT occurred_at, details FROM timeline WHERE kind = :kind "
                                  "AND occurred_at <= :at ORDER BY seq", kind=NOTICE, at=at)
        began: dict[str, datetime] = {}
        for r in rows:
            details = json.loads(r["details"])
            if details.get("state") == "began":
                began.setdefault(details["notice"], r["occurred_at"])
            else:
                began.pop(details.get("notice", ""), None)
        return sorted((NoticeView(text, when) for text, when in began.items()), key=lambda n: (n.began_at, n.notice))

    def quarantined(self, at: datetime) -> list[QuarantineView]:
        """The inbox events quarantined by ``at``, oldest first (never retried: the duty officer acts on them)."""
        rows = self.database.rows('SELECT id, kind, "at", quarantined_at, error FROM inbox '
                                  'WHERE quarantined_at IS NOT NULL AND quarantined_at <= :at '
                                  'ORDER BY quarantined_at, id', at=at)
        return [QuarantineView(**r) for r in rows]

    def timeline(self, at: datetime, *, incident: str | None = None, since: datetime | None = None,
                 limit: int | None = None, leave_out: Collection[str] = ()) -> list[EntryView]:
        """Timeline entries that occurred by ``at`` (after ``since``; of ``incident``), oldest first.

        Parameters
        ----------
        limit
            Keep only the last ``limit`` entries.
        leave_out
            Kinds of entries not wanted (the access records of a screen's incident panel, say).
        """
        where = ["occurred_at <= :at"]
        if incident is not None:
            where.append("incident_id = :incident")
        if since is not None:
            where.append("occurred_at >= :since")
        kinds = {f"kind{i}": kind for i, kind in enumerate(leave_out)}
        if kinds:
            where.append(f"kind NOT IN ({', '.join(':' + name for name in kinds)})")
        last = " LIMIT :limit" if limit is not None else ""
        rows = self.database.rows(
            "SELECT seq, occurred_at, incident_id, actor, role, kind, summary FROM timeline "
            f"WHERE {' AND '.join(where)} ORDER BY seq DESC{last}", at=at, incident=incident, since=since, limit=limit,
            **kinds)
        return [EntryView(**r) for r in reversed(rows)]

    def entry_units(self, seqs: list[int]) -> dict[int, str]:
        """The org unit of each timeline entry of ``seqs`` (``""`` for the district's, the cycles' …), by seq."""
        if not seqs:
            return {}
        listed = ", ".join(str(int(seq)) for seq in seqs)
        rows = self.database.rows(f"SELECT seq, org_unit FROM timeline WHERE seq IN ({listed})")
        return {r["seq"]: r["org_unit"] for r in rows}

    def runs(self, at: datetime) -> list[RunView]:
        """Per forecast source, the newest run a cycle held by ``at`` (by when it was held, then issue time)."""
        rows = self.database.rows('SELECT source, issued_at, held_at, path FROM forecast_runs WHERE held_at <= :at '
                                  'ORDER BY source, held_at DESC, issued_at DESC', at=at)
        newest: dict[str, RunView] = {}
        for r in rows:
            newest.setdefault(r["source"], RunView(**r))
        return list(newest.values())

    def run(self, source: str, issued_at: datetime) -> RunView | None:
        """The run of ``source`` issued at ``issued_at`` when the store holds it (whatever its status)."""
        rows = self.database.rows('SELECT source, issued_at, held_at, path FROM forecast_runs '
                                  'WHERE source = :source AND issued_at = :issued', source=source, issued=issued_at)
        return RunView(**rows[0]) if rows else None

    def sensors(self, at: datetime) -> list[SensorView]:
        """Every sensor of the catalogue with its newest reading that had arrived by ``at``, by id."""
        rows = self.database.rows(
            "SELECT s.sensor_id, s.kind, s.name, s.lon, s.lat, s.point_id, r.value, r.unit, r.phenomenon_time, "
            "r.arrival_time, r.qc_flag FROM sensors s LEFT JOIN readings r ON r.sensor_id = s.sensor_id "
            "AND r.phenomenon_time = (SELECT max(n.phenomenon_time) FROM readings n WHERE n.sensor_id = s.sensor_id "
            "AND n.arrival_time <= :at) ORDER BY s.sensor_id", at=at)
        return [SensorView(r["sensor_id"], r["kind"], r["name"], r["lon"], r["lat"], r["point_id"], r["value"],
                           r["unit"], r["phenomenon_time"], r["arrival_time"], r["qc_flag"]) for r in rows]

    def readings(self, sensor_id: str, since: datetime, at: datetime) -> list[tuple[datetime, float | None]]:
        """The readings of ``sensor_id`` observed after ``since`` that had arrived by ``at``, oldest first:
        (phenomenon time, value in the sensor's unit)."""
        rows = self.database.rows(
            "SELECT phenomenon_time, value FROM readings WHERE sensor_id = :sensor AND phenomenon_time > :since "
            "AND arrival_time <= :at ORDER BY phenomenon_time", sensor=sensor_id, since=since, at=at)
        return [(r["phenomenon_time"], r["value"]) for r in rows]

    def item_levels(self, item_id: str, at: datetime) -> list[ItemLevelView]:
        """Every level of ``item_id`` (any hazard, every lead) as the last cycle by ``at`` that scored it left
        it, by hazard, kind and lead (:func:`~warn.store.levelsets.last_levels`)."""
        found = last_levels(self.database.rows, at, item_id=item_id)
        return [ItemLevelView(hazard, kind, item_id, lead, int(row["level"]), row["score"], list(row["drivers"]),
                              row["cycle_at"], row["probability"])
                for (hazard, kind, _, lead), row in sorted(found.items())]

    def span(self) -> tuple[datetime | None, datetime | None]:
        """The first and the last cycle in the store (``None``, ``None`` before any)."""
        row = self.database.rows('SELECT min("at") AS first, max("at") AS last FROM cycles')[0]
        return (None if row["first"] is None else decode_time(row["first"]),
                None if row["last"] is None else decode_time(row["last"]))

    def version(self) -> str:
        """A token that changes whenever the store changes in a way the screens show: a timeline entry (every
        answer, act, decision and warning writes one), a cycle begun or finished, a source heard from, a
        request answered. Cheap (a few index lookups) — polled every half second by the live pages."""
        row = self.database.rows(
            "SELECT (SELECT max(seq) FROM timeline) AS v1, (SELECT max(\"at\") FROM cycles) AS v2, "
            "(SELECT count(*) FROM cycles WHERE finished_at IS NOT NULL) AS v3, "
            "(SELECT max(updated_at) FROM heartbeats) AS v4, (SELECT max(answered_at) FROM ack_requests) AS v5, "
            "(SELECT max(id) FROM mode_changes) AS v6")[0]
        return "|".join("" if value is None else str(value) for value in row.values())


def stale_factor(settings: Settings) -> float:
    """k in "a feed is stale when silent for k × its interval": ``staleness.factor`` of the deployment's
    ``models/sensors.yaml`` (read as YAML: the model loader imports numpy), the shipped k without one.

    Raises
    ------
    ConfigError
        The file cannot be read or has no positive ``staleness.factor``.
    """
    from warn.declarative import read_yaml
    from warn.errors import Problem

    path = settings.models.get("sensors")
    if path is None:
        return STALE_FACTOR
    model = read_yaml(path)
    factor = ((model if isinstance(model, dict) else {}).get("staleness") or {}).get("factor")
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        raise ConfigError(Problem(str(path), "staleness.factor", "a positive number", repr(factor)))
    return float(factor)


def pulled_sources(settings: Settings) -> dict[str, float]:
    """The sources config.yaml has the cycles pull and how often each should answer, s: every forecast source
    and official-warning source once a cycle (:data:`warn.durations.CYCLE_EVERY`), every sensor feed at its
    ``poll_every`` (a pushed feed too: it is listed, its data seen through its sensors)."""
    every = CYCLE_EVERY.total_seconds()
    out = {f"forecast:{name}": every for name in settings.forecasts}
    out |= {f"official:{name}": every for name in settings.official or {}}
    if settings.sensors is not None:
        out |= {f"feed:{name}": (spec.poll_every.total_seconds() if spec.poll_every else every)
                for name, spec in settings.sensors.feeds.items()}
    return out

def _call_record(row: Mapping[str, Any], sent: list[dict[str, Any]], at: datetime) -> CallRecord:
    """One :class:`CallRecord` from its request row and its deliveries (both up to ``at``)."""
    answered = row["answered_at"] is not None and row["answered_at"] <= at
    step = row["escalation_step"]
    if answered:
        status = "answered"
    elif row["deadline"] < at:
        status = "exhausted"
    else:
        status = "escalated" if step else "waiting"
    delivered = [d.get("delivered_at") or d.get("sent_at") for d in sent if d["status"] != "failed"]
    delivered = [t for t in delivered if t is not None and t <= at]
    return CallRecord(
        request_id=row["request_id"], org_level=row["org_unit"].split(".", 1)[0],
        addressee=row["answered_by"] if answered else (sent[-1]["person"] if sent else None),
        post=f"{row['org_unit']}.{row['addressee_role']}", channels=list(dict.fromkeys(d["channel_kind"] for d in sent)),
        first_delivered_at=min(delivered) if delivered else None, answered_at=row["answered_at"] if answered else None,
        answered_via=row["channel"] if answered else None, escalation_step=step, status=status)


def _task(r: dict[str, Any], at: datetime) -> TaskView:
    """A task row as it stood at ``at``."""
    done = r["done_at"] is not None and r["done_at"] <= at
    acked = r["acked_at"] is not None and r["acked_at"] <= at
    status = r["status"] if r["status"] == "cancelled" else "done" if done else "acknowledged" if acked else "open"
    late = (at - r["due_at"]).total_seconds() if r["due_at"] is not None and status in OPEN_STATES else 0.0
    return TaskView(r["task_id"], r["incident_id"], r["summary"], r["owner_role"], r["org_unit"], r["due_at"], status,
                    r["acked_by"] if acked else None, r["done_by"] if done else None, max(0.0, late))


class _Database:
    """One read-only DB-API connection to a store, queried with named parameters (``:name``).

    Parameters
    ----------
    connect
        Opens the connection (again, when a PostgreSQL connection was lost).
    dialect
        ``sqlite`` or ``postgresql``: how times are bound (:func:`warn.store.times.encode_time`)
        and how parameters are written (``:name`` for sqlite3, ``%(name)s`` for psycopg).
    lost
        The driver's error for a lost connection: the query is tried once more on a new one.
    where
        The store's URL as messages name it (password hidden).
    """

    def __init__(self, connect: Callable[[], Any], dialect: str, lost: type[Exception] | tuple[()] = (),
                 where: str = "") -> None:
        self._where = where
        self._connect = connect
        self._encode = encode_time(dialect)
        self._pyformat = dialect == "postgresql"
        self._lost = lost
        self._conn = connect()

    @classmethod
    def open(cls, url: str) -> _Database:
        """A connection to the store at ``url`` (see :meth:`Views.open`)."""
        backend = url.partition("://")[0].partition("+")[0]
        if backend == "sqlite":
            return cls(_sqlite(url), "sqlite", where=_redact(url))
        if backend == "postgresql":
            import psycopg  # only a PostgreSQL store needs the driver

            connect = _postgresql(url, psycopg)
            try:
                return cls(connect, "postgresql", psycopg.OperationalError, _redact(url))
            except psycopg.OperationalError as err:
                raise StoreError(Problem(_redact(url), "--store", "a reachable database",
                                         (str(err).strip().splitlines() or [type(err).__name__])[0],
                                         UNREACHABLE_HINT)) from None
        raise StoreError(Problem(_redact(url), "--store", "a sqlite:/// or postgresql+psycopg:// URL",
                                 f"backend {backend!r}"))

    def rows(self, sql: str, **params: object) -> list[dict[str, Any]]:
        """The rows of a query, by column name, times decoded to aware UTC (:data:`TIME_COLUMNS`).

        Parameters
        ----------
        sql
            SQL text with named parameters ``:name``.
        params
            Their values; datetimes are bound in the store's form of a time.

        Raises
        ------
        StoreError
            The SQLite store cannot answer the query (a damaged file, a table missing).
        """
        bound = {k: self._encode(v) if isinstance(v, datetime) else v for k, v in params.items()}
        if self._pyformat:
            sql = _PARAMETER.sub(r"%(\1)s", sql)
        try:
            cursor = self._conn.execute(sql, bound)
        except sqlite3.DatabaseError as err:
            raise StoreError(Problem(self._where, "--store", "a readable warn store", str(err),
                                     STORE_FILE_HINT)) from None
        except self._lost:
            if not self._conn.broken:
                raise
            self._conn = self._connect()
            cursor = self._conn.execute(sql, bound)
        names = [d[0] for d in cursor.description]
        decode = [name in TIME_COLUMNS for name in names]
        return [{name: decode_time(value) if time and value is not None else value
                 for name, time, value in zip(names, decode, row, strict=True)} for row in cursor.fetchall()]

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _sqlite(url: str) -> Callable[[], sqlite3.Connection]:
    """How to open the SQLite store of ``sqlite:///path`` read-only (an existing file only)."""
    rest = url.partition("://")[2][1:]  # sqlite:///relative, sqlite:////absolute, sqlite:///file:…?uri=true
    database = rest.partition("?")[0]
    if database in ("", ":memory:"):
        return lambda: sqlite3.connect(":memory:")
    if database.startswith("file:"):
        return lambda: sqlite3.connect(rest, uri=True)
    path = Path(database).expanduser()
    if not path.exists():
        raise StoreError(Problem(_redact(url), "--store", "an existing store file", "no such file"))
    uri = f"{path.resolve().as_uri()}?mode=ro"
    _check_sqlite(url, uri)
    return lambda: sqlite3.connect(uri, uri=True)


def _check_sqlite(url: str, uri: str) -> None:
    """Raise :class:`StoreError` unless ``uri`` opens read-only as a warn store at the newest revision."""
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = (conn.execute("SELECT version_num FROM alembic_version").fetchone()
                        if "alembic_version" in tables else None)
    except sqlite3.Error as err:
        raise StoreError(Problem(_redact(url), "--store", "an SQLite store file that can be read", str(err),
                                 STORE_FILE_HINT)) from None
    if revision is None:
        raise StoreError(Problem(_redact(url), "--store", "a warn store", "a database without warn's tables",
                                 STORE_FILE_HINT))
    newest = _newest_revision()
    if revision[0] > newest:
        raise StoreError(Problem(_redact(url), "schema revision", f"a revision up to {newest}", repr(revision[0]),
                                 "此存储库由更新版本的 warn 写入 / the store was written by a newer warn: open it "
                                 "with that version"))
    if revision[0] < newest:
        raise StoreError(Problem(_redact(url), "schema revision", newest, repr(revision[0]),
                                 "先运行 warn verify 升级 / run warn verify to upgrade it first"))


@functools.cache
def _newest_revision() -> str:
    """The newest schema revision this code knows (its migrations' file names; read once: the service opens the
    views for every request)."""
    return max(_REVISION.findall(" ".join(p.name for p in VERSIONS.glob("*.py"))))


def _postgresql(url: str, psycopg: Any) -> Callable[[], Any]:
    """How to open the PostgreSQL store of ``postgresql+psycopg://…``: autocommit (each query sees the
    latest data: ``warn watch`` runs for hours) in read-only transactions, without JIT compilation (the
    views' queries are index seeks, and the item walk's estimated cost triggered JIT compiling: 0.3 s of it
    for a 0.2 s query)."""
    parts = urlsplit(url)
    conninfo = urlunsplit(parts._replace(scheme="postgresql"))
    timeout = {} if "connect_timeout" in parse_qs(parts.query) else {"connect_timeout": CONNECT_TIMEOUT_S}

    def connect() -> Any:
        conn = psycopg.connect(conninfo, autocommit=True, **timeout)
        conn.execute("SET default_transaction_read_only = on")
        conn.execute("SET jit = off")
        return conn

    return connect


def _redact(url: str) -> str:
    """The URL with its password hidden (``***``), like :func:`warn.store.engine.redact`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}"))
