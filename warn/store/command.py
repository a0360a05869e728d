"""Applying the command planner's actions to the store (:meth:`warn.store.Store.execute_actions`).

Each action changes its table and nothing is written twice: the action's idempotency
key (or the id it carries) decides whether it is already recorded.

- ``OpenIncident`` inserts the incident (mode and response level as last changed);
  ``CloseIncident`` sets ``closed_at`` once.
- ``CreateTask`` inserts a task, ``RequestAck`` an acknowledgement request (key unique).
- ``Escalate`` moves its request to the next addressee; an attempt not beyond the
  recorded escalation step changes nothing. The history stays on the timeline.
- ``ProposeMode`` and ``ChangeMode`` insert a ``mode_changes`` row (key unique): a
  proposal with ``decided_by`` ``NULL``, a change with who decided it; a change also
  sets the mode and response level of the open incidents.
- ``WarningChange`` upserts its warning thread (a lower version never overwrites a higher
  one) and adds the version to ``warning_versions`` (the planner records the change itself).
- ``Broadcast`` upserts its message thread in ``bulletins`` likewise and, like ``Notify``, is
  recorded on the timeline as a dispatch (kind ``broadcast`` / ``notify``) under its own key;
  CAP messages and channels are not sent here.
- ``Notify``, ``RequestAck``, ``Escalate`` and ``CreateTask`` addressed to a person on duty also
  leave a ``person_messages`` row (key unique) for the reach step to deliver
  (:mod:`warn.cycle.reach`): kept in the same transaction, so nothing applied goes unsent.
- ``RecordTimeline`` appends its entry (role ``system`` for the planner's own records;
  rule and label go into the details); an answer (``ACK-ANSWER`` / ``ACK-REFUSED``)
  also stores who answered, when and through which channel on its request.

All of one call is one transaction, the timeline entries appended last in action order; the last
one new carries the mode change, task and request rows the call changed (:mod:`warn.store.digests`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Column, Connection, Executable, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.command.model import (
    Action,
    Broadcast,
    BroadcastKind,
    ChangeMode,
    CloseIncident,
    CreateTask,
    Escalate,
    Notify,
    OpenIncident,
    ProposeMode,
    RecordTimeline,
    RequestAck,
    TaskState,
    WarningChange,
)
from warn.vocab import Mode
from warn.store.digests import snapshot
from warn.store.records import NewEntry, TimelineEntry
from warn.store.schema import (
    ack_requests,
    bulletins,
    incidents,
    mode_changes,
    playbook_runs,
    person_messages,
    tasks,
    timeline,
    warning_versions,
    warnings,
)

#: Appends timeline drafts on a connection, with the rows the transaction changed (``Timeline.append_on``).
Append = Callable[[Connection, list[NewEntry], dict[str, dict[str, Any]] | None], list[TimelineEntry]]
#: Actor and role of what the system itself records.
SYSTEM_ACTOR = "warn"
SYSTEM_ROLE = "system"
#: Rules whose timeline record carries an answer to an acknowledgement request.
ANSWER_RULES = frozenset({"ACK-ANSWER", "ACK-REFUSED"})
#: The record the planner writes when it starts a playbook for a warning thread.
RUN_START_RULE = "PB-START"
#: Suffix of the request id of a task hand-off (``<task id>/handoff``).
HANDOFF = "/handoff"


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """What one :meth:`warn.store.Store.execute_actions` call did.

    Attributes
    ----------
    actions
        Actions given.
    applied
        Actions that changed a row (incident, task, request, mode change, warning) or
        appended a timeline entry of their own.
    repeated
        Actions already recorded (same key, or an escalation step already reached):
        nothing written for them.
    appended
        Timeline entries appended.
    """

    actions: int = 0
    applied: int = 0
    repeated: int = 0
    appended: int = 0


def execute_actions(conn: Connection, actions: Sequence[Action],
                    append: Append) -> ExecutionReport:
    """Apply ``actions`` on ``conn`` (one open write transaction), in order.

    Parameters
    ----------
    conn
        A connection in a write transaction.
    actions
        The planner's actions.
    append
        Appends timeline drafts on ``conn`` and returns the entries as recorded
        (``Timeline._append``).
    """
    applied: set[int] = set()
    drafts: list[tuple[int, NewEntry]] = []
    batch = _Batch(conn, actions)
    for index, action in enumerate(actions):
        entry = _entry_of(action)
        if entry is not None:
            drafts.append((index, entry))
        if _apply(batch, action, index):
            applied.add(index)
        _person_message(batch, action)
    applied |= batch.flush()
    before = conn.execute(select(func.coalesce(func.max(timeline.c.seq), 0))).scalar_one()
    answered = _fresh_answers(conn, actions)
    rows = _changed_rows(conn, [a for index, a in enumerate(actions) if index in applied or index in answered])
    recorded = append(conn, [d for _, d in drafts], rows) if drafts or rows else []
    fresh = {index for (index, _), entry in zip(drafts, recorded[:len(drafts)], strict=True) if entry.seq > before}
    applied |= fresh
    return ExecutionReport(actions=len(actions), applied=len(applied), repeated=len(actions) - len(applied),
                           appended=len(fresh) + len(recorded) - len(drafts))


def _answers(action: Action) -> bool:
    """Whether ``action`` records an answer (which changes its request, and a hand-off's task)."""
    return isinstance(action, RecordTimeline) and action.rule_id in ANSWER_RULES


def _fresh_answers(conn: Connection, actions: Sequence[Action]) -> set[int]:
    """Indices of the answers among ``actions`` not yet on the timeline (a repeated one changes nothing)."""
    answers = {index: action.key for index, action in enumerate(actions) if _answers(action)}
    if not answers:
        return set()
    held = set(conn.execute(select(timeline.c.idempotency_key)
                            .where(timeline.c.idempotency_key.in_(list(answers.values())))).scalars())
    return {index for index, key in answers.items() if key not in held}


def _changed_rows(conn: Connection, actions: Sequence[Action]) -> dict[str, dict[str, Any]]:
    """The covered rows (:mod:`warn.store.digests`) ``actions`` changed, as they stand now on ``conn``."""
    task_ids = [a.task for a in actions if isinstance(a, CreateTask)]
    requests = [a.request for a in actions if isinstance(a, (RequestAck, Escalate))]
    for action in actions:
        if _answers(action):
            assert isinstance(action, RecordTimeline)
            request = str(action.details["request"])
            requests.append(request)
            if request.endswith(HANDOFF):
                task_ids.append(request.removesuffix(HANDOFF))
    modes = [a.key for a in actions if isinstance(a, (ProposeMode, ChangeMode))]
    return {**snapshot(conn, "tasks", task_ids), **snapshot(conn, "ack_requests", requests),
            **snapshot(conn, "mode_changes", modes, by="idempotency_key")}


class _Batch:
    """The inserts of one :func:`execute_actions` call, queued per table and written in bulk.

    Each table's queue is one multi-row ``INSERT … ON CONFLICT DO NOTHING … RETURNING`` (SQLAlchemy's
    "insertmanyvalues"), tables in the order their foreign keys need, written before any other statement
    runs (:meth:`conn`) and at the end (:meth:`flush`). A row sharing a key with one queued before it is not
    queued (the first wins, as one insert after another would have it); one sharing a key with a stored
    row is not inserted. The version of every warning and message thread the batch names is read once (the
    rows locked for the transaction on PostgreSQL), so inserting or advancing a thread needs no statement of its
    own: an advance is queued too (:meth:`advance`), written after the inserts, one ``executemany`` per table.
    So is an escalation (:meth:`escalate`): the steps of the requests escalated are read once when it is written,
    and each request takes the last escalation that would have changed it, one statement after another.
    """

    def __init__(self, conn: Connection, actions: Sequence[Action]) -> None:
        self._conn = conn
        self._queued: dict[Table, list[tuple[dict[str, Any], int | None]]] = {table: [] for table in _BULK}
        self._keys: dict[Table, set[tuple[Any, ...]]] = {table: set() for table in _BULK}
        self._advances: list[tuple[Table, dict[str, Any]]] = []
        self._escalations: list[tuple[Escalate, int]] = []
        self._done: set[int] = set()
        self.threads = _versions(conn, warnings, {a.thread for a in actions if isinstance(a, WarningChange)})
        self.bulletins = _versions(conn, bulletins, {a.thread for a in actions if isinstance(a, Broadcast)})

    @property
    def conn(self) -> Connection:
        """The connection, with every queued insert written (for a statement that reads or changes rows)."""
        self.flush()
        return self._conn

    def add(self, table: Table, row: dict[str, Any], index: int | None = None) -> bool:
        """Queue ``row`` for ``table`` (``index``: the action it applies); ``False`` when a queued row has one of
        its keys (it would not be inserted)."""
        keys = [(group, tuple(row[c] for c in group)) for group in _BULK[table]]
        if any(key in self._keys[table] for key in keys):
            return False
        if table is ack_requests and any(e.request == row["request_id"] for e, _ in self._escalations):
            self.flush()  # an escalation queued before its request's insert found no row to change
        self._keys[table].update(keys)
        self._queued[table].append((row, index))
        return True

    def advance(self, table: Table, held: dict[str, int], key: str, version: int, values: dict[str, Any]) -> bool:
        """Queue setting ``values`` and ``version`` on the thread ``key`` of ``table`` (``warnings`` or ``bulletins``)
        whose version is ``held[key]``, if ``version`` is newer; whether it is (``held`` follows)."""
        if held[key] >= version:
            return False
        held[key] = version
        self._advances.append((table, {"key_": key, "version_": version, **values}))
        return True

    def escalate(self, action: Escalate, index: int) -> None:
        """Queue the escalation ``action`` (``index``: its place among the actions)."""
        self._escalations.append((action, index))

    def flush(self) -> set[int]:
        """Write every queued insert, then every queued escalation and advance; the indices of the actions whose
        row was inserted or changed, in this call or before."""
        for table, queued in self._queued.items():
            returned = _BULK[table][0]
            for rows in _runs(queued):
                stmt = _insert(self._conn, table).on_conflict_do_nothing().returning(*(table.c[c] for c in returned))
                written = {tuple(row) for row in self._conn.execute(stmt, [row for row, _ in rows]).all()}
                self._done |= {index for row, index in rows
                               if index is not None and tuple(row[c] for c in returned) in written}
            queued.clear()
            self._keys[table].clear()
        self._write_escalations()
        for table, group in groupby(self._advances, key=lambda advance: advance[0]):
            rows = [values for _, values in group]
            key = table.c[_BULK[table][0][0]]
            columns = [c for c in rows[0] if c not in ("key_", "version_")]
            self._conn.execute(update(table).where(key == bindparam("key_"), table.c.version < bindparam("version_"))
                               .values(version=bindparam("version_"), **{c: bindparam(c) for c in columns}), rows)
        self._advances.clear()
        return self._done

    def _write_escalations(self) -> None:
        """Write the queued escalations: each changes its request when its attempt is past the request's step
        (as the step stands after the escalations before it), the request keeping the last that did."""
        if not self._escalations:
            return
        c = ack_requests.c
        steps = _locked(self._conn, c.request_id, c.escalation_step, {action.request for action, _ in self._escalations})
        last: dict[str, Escalate] = {}
        for action, index in self._escalations:
            if action.request in steps and steps[action.request] < action.attempt:
                steps[action.request] = action.attempt
                last[action.request] = action
                self._done.add(index)
        self._escalations.clear()
        if last:
            self._conn.execute(update(ack_requests).where(c.request_id == bindparam("request_"),
                                                          c.escalation_step < bindparam("step_"))
                               .values(escalation_step=bindparam("step_"), addressee_role=bindparam("role_"),
                                       org_unit=bindparam("org_"), deadline=bindparam("deadline_")),
                               [{"request_": a.request, "step_": a.attempt, "role_": str(a.to.post.role),
                                 "org_": str(a.to.post.org), "deadline_": a.deadline} for a in last.values()])


def _runs(queued: list[tuple[dict[str, Any], int | None]]) -> list[list[tuple[dict[str, Any], int | None]]]:
    """``queued`` cut where the rows' columns change (one multi-row insert each), in order."""
    runs: list[list[tuple[dict[str, Any], int | None]]] = []
    for item in queued:
        if runs and runs[-1][0][0].keys() == item[0].keys():
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


#: The tables whose inserts :class:`_Batch` writes in bulk, in the order their foreign keys need, with their keys
#: (groups of columns, each unique); the first is returned by the insert to tell the rows inserted.
_BULK: dict[Table, tuple[tuple[str, ...], ...]] = {
    incidents: (("incident_id",),), playbook_runs: (("run_id",),), warnings: (("thread_id",),),
    warning_versions: (("thread_id", "version"),), bulletins: (("bulletin_id",),),
    tasks: (("task_id",), ("idempotency_key",)), ack_requests: (("request_id",), ("idempotency_key",)),
    person_messages: (("key",),),
}


def _versions(conn: Connection, table: Table, keys: set[str]) -> dict[str, int]:
    """The version of each of the threads ``keys`` that ``table`` (``warnings`` or ``bulletins``) holds (locked)."""
    return _locked(conn, table.c[_BULK[table][0][0]], table.c.version, keys)


def _locked(conn: Connection, key: Column[Any], value: Column[Any], keys: set[str]) -> dict[str, Any]:
    """``value`` of each row whose ``key`` is among ``keys``, by key, the rows locked until the transaction ends
    (PostgreSQL; SQLite's write transaction holds the whole database)."""
    if not keys:
        return {}
    query = select(key, value).where(key.in_(sorted(keys)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {k: v for k, v in conn.execute(query)}


def _apply(batch: _Batch, action: Action, index: int) -> bool:
    """Apply the row changes of ``action`` (timeline aside); whether a row changed (``False`` for a queued insert:
    :meth:`_Batch.flush` tells)."""
    if isinstance(action, OpenIncident):
        mode, response = _current_mode(batch.conn)
        batch.add(incidents, {"incident_id": action.incident, "hazard": str(action.hazard), "opened_at": action.at,
                              "mode": mode, "response_level": response}, index)
        return False
    if isinstance(action, CloseIncident):
        conn = batch.conn
        return _changed(conn, update(incidents).where(incidents.c.incident_id == action.incident,
                                                     incidents.c.closed_at.is_(None)).values(closed_at=action.at))
    if isinstance(action, CreateTask):
        batch.add(tasks, _task_row(action), index)
        return False
    if isinstance(action, RequestAck):
        batch.add(ack_requests, _request_row(action), index)
        return False
    if isinstance(action, Escalate):
        batch.escalate(action, index)
        return False
    if isinstance(action, (ProposeMode, ChangeMode)):
        return _mode_change(batch.conn, action)
    if isinstance(action, WarningChange):
        return _warning(batch, action, index)
    if isinstance(action, Broadcast):
        return _bulletin(batch, action, index)
    if isinstance(action, RecordTimeline) and action.rule_id in ANSWER_RULES:
        _answer(batch.conn, action)
    if isinstance(action, RecordTimeline) and action.rule_id == RUN_START_RULE:
        batch.add(playbook_runs, _run_row(action), index)
    return False


def _person_message(batch: _Batch, action: Action) -> None:
    """Keep what ``action`` addresses to a person on duty for the reach step (nothing for other actions)."""
    if isinstance(action, Notify):
        to, extra = action.to, {"text": action.text}
    elif isinstance(action, (RequestAck, Escalate)):
        kind = action.ack if isinstance(action, RequestAck) else None
        to, extra = action.to, {"request_id": action.request, "text": action.subject, "deadline": action.deadline,
                                "ack_kind": str(kind) if kind is not None else None}
    elif isinstance(action, CreateTask):
        to, extra = action.owner, {"task_id": action.task, "text": action.text, "deadline": action.due}
    else:
        return
    if to.person is None:
        return
    batch.add(person_messages, {"key": action.key, "kind": str(action.kind), "at": action.at,
                                "incident_id": action.incident, "person": to.person, "post": str(to.post),
                                "level": int(action.level), **_NO_PARTICULARS, **extra})


#: The particulars of a person's message that only some kinds carry (``NULL`` for the others), so the rows of one
#: batch have the same columns and go in one insert.
_NO_PARTICULARS: dict[str, Any] = {"request_id": None, "ack_kind": None, "task_id": None, "deadline": None}


def _run_row(action: RecordTimeline) -> dict[str, Any]:
    """The playbook run a ``PB-START`` record starts: its id is the key between the incident and ``/start``."""
    run_id = action.key.removeprefix(f"{action.incident}/").removesuffix("/start")
    return {"run_id": run_id, "incident_id": action.incident, "playbook_id": str(action.details["playbook"]),
            "playbook_version": str(action.details["version"]), "started_at": action.at,
            "state": json.dumps({"thread": action.details["thread"]}, ensure_ascii=False)}


def _run_and_step(action: CreateTask) -> tuple[str | None, str]:
    """The playbook run and step of a task whose key is ``{incident}/{run}/{step}/a{n}``; none for others."""
    if action.incident is None or not action.key.startswith(f"{action.incident}/"):
        return None, ""
    parts = action.key.removeprefix(f"{action.incident}/").rsplit("/", 2)
    return (parts[0], parts[1]) if len(parts) == 3 and "@" in parts[0] else (None, "")


def _task_row(action: CreateTask) -> dict[str, Any]:
    run_id, step_id = _run_and_step(action)
    return {"task_id": action.task, "incident_id": action.incident, "idempotency_key": action.key,
            "run_id": run_id, "step_id": step_id,
            "owner_role": str(action.owner.post.role), "org_unit": str(action.owner.post.org),
            "summary": action.text, "due_at": action.due, "status": str(action.state), "created_at": action.at}


def _request_row(action: RequestAck) -> dict[str, Any]:
    return {"request_id": action.request, "kind": str(action.ack), "addressee_role": str(action.to.post.role),
            "org_unit": str(action.to.post.org), "deadline": action.deadline, "escalation_step": 0,
            "chain": json.dumps([str(p) for p in action.chain], ensure_ascii=False),
            "idempotency_key": action.key, "created_at": action.at}


def _mode_change(conn: Connection, action: ProposeMode | ChangeMode) -> bool:
    response = int(action.response) if action.response is not None else 0
    row = {"at": action.at, "to_mode": str(action.to_mode), "response_level": response,
           "proposed_by": SYSTEM_ACTOR, "reason": action.reason, "rule_id": action.rule_id,
           "idempotency_key": action.key}
    if isinstance(action, ProposeMode):
        row |= {"from_mode": _current_mode(conn)[0], "decided_by": None}
    else:
        row |= {"from_mode": str(action.from_mode), "decided_by": action.decided_by}
    if not _insert_new(conn, mode_changes, row):
        return False
    if isinstance(action, ChangeMode):
        conn.execute(update(incidents).where(incidents.c.closed_at.is_(None)).values(
            mode=str(action.to_mode), response_level=response))
    return True


def _current_mode(conn: Connection) -> tuple[str, int]:
    """The mode and response level of the latest decided change (peacetime, 0 before any)."""
    row = conn.execute(select(mode_changes.c.to_mode, mode_changes.c.response_level)
                       .where(mode_changes.c.decided_by.is_not(None))
                       .order_by(mode_changes.c.id.desc()).limit(1)).first()
    return (row.to_mode, row.response_level) if row is not None else (str(Mode.PEACETIME), 0)


def _warning(batch: _Batch, action: WarningChange, index: int) -> bool:
    """Insert or advance the warning thread of ``action`` and add its version; never back to an older one."""
    status = "cleared" if action.cleared else "active"
    row = {"thread_id": action.thread, "hazard": str(action.hazard), "item_id": action.item_id,
           "level": int(action.level), "status": status, "onset": action.at, "updated_at": action.at,
           "incident_id": action.incident, "version": action.version}
    version = {"thread_id": action.thread, "version": action.version, "level": int(action.level), "status": status,
               "at": action.at}
    if action.thread not in batch.threads:
        batch.threads[action.thread] = action.version
        batch.add(warnings, row)
        batch.add(warning_versions, version, index)
        return False
    if batch.advance(warnings, batch.threads, action.thread, action.version,
                     {"level": int(action.level), "status": status, "updated_at": action.at}):
        batch.add(warning_versions, version, index)
    return False


def _bulletin(batch: _Batch, action: Broadcast, index: int) -> bool:
    """Insert or advance the message thread of ``action``; never back to an older version."""
    status = "cleared" if action.broadcast is BroadcastKind.ALL_CLEAR else "active"
    listed = json.dumps([[item.item_id, int(item.level)] for item in action.listed], ensure_ascii=False)
    values = {"level": int(action.level), "status": status, "updated_at": action.at, "listed": listed}
    row = {"bulletin_id": action.thread, "hazard": str(action.hazard), "area_id": action.area,
           "audience": str(action.audience), "incident_id": action.incident, "opened_at": action.at,
           "version": action.version, **values}
    if action.thread not in batch.bulletins:
        batch.bulletins[action.thread] = action.version
        batch.add(bulletins, row, index)
        return False
    return batch.advance(bulletins, batch.bulletins, action.thread, action.version, values)


def _answer(conn: Connection, action: RecordTimeline) -> None:
    """Store who answered, when and how on the request the answer names (the first answer only);
    an accepted task hand-off (``<task>/handoff``) also marks its task acknowledged."""
    details = action.details
    request = str(details["request"])
    conn.execute(update(ack_requests).where(ack_requests.c.request_id == request,
                                            ack_requests.c.answered_at.is_(None)).values(
        answered_by=action.actor, answered_at=action.at, channel=details["channel"]))
    if request.endswith(HANDOFF) and action.rule_id == "ACK-ANSWER":
        conn.execute(update(tasks).where(tasks.c.task_id == request.removesuffix(HANDOFF),
                                         tasks.c.status == str(TaskState.OPEN)).values(
            status=str(TaskState.ACKNOWLEDGED), acked_by=action.actor, acked_at=action.at))


def finish_task(conn: Connection, task_id: str, *, by: str, role: str, at: datetime, note: str, evidence: str,
                append: Append, via: str = "cli") -> bool:
    """Mark task ``task_id`` done by ``by`` at ``at`` with its note and evidence, and record it on the timeline
    with the channel it came through (``via``).

    Returns
    -------
    bool
        ``False`` when the task was already done or cancelled (nothing is written).

    Raises
    ------
    KeyError
        No such task.
    """
    row = _task(conn, task_id)
    if not _changed(conn, update(tasks).where(
            tasks.c.task_id == task_id, tasks.c.status.in_([str(TaskState.OPEN), str(TaskState.ACKNOWLEDGED)]))
            .values(status=str(TaskState.DONE), done_by=by, done_at=at, evidence=evidence)):
        return False
    late = row.due_at is not None and at > row.due_at
    append(conn, [NewEntry(occurred_at=at, actor=by, role=role, kind="task", org_unit=row.org_unit,
                           incident=row.incident_id, key=f"{task_id}/done",
                           summary=f"任务完成{'（逾期）' if late else ''}：{row.summary} —— {note}，经 {via} / task done"
                                   f"{' (late)' if late else ''} via {via}",
                           details={"task": task_id, "note": note, "evidence": evidence, "late": late, "via": via,
                                    "due": row.due_at.isoformat() if row.due_at else None})],
           snapshot(conn, "tasks", [task_id]))
    return True


def acknowledge_task(conn: Connection, task_id: str, *, by: str, role: str, org_unit: str, at: datetime,
                     append: Append, via: str = "cli") -> bool:
    """Mark open task ``task_id`` acknowledged by ``by`` (in ``role`` of ``org_unit``) and record it with the
    channel it came through (``via``).

    Returns
    -------
    bool
        ``False`` when it was not open (nothing is written).

    Raises
    ------
    KeyError
        No such task.
    """
    row = _task(conn, task_id)
    if not _changed(conn, update(tasks).where(tasks.c.task_id == task_id, tasks.c.status == str(TaskState.OPEN))
                    .values(status=str(TaskState.ACKNOWLEDGED), acked_by=by, acked_at=at)):
        return False
    append(conn, [NewEntry(occurred_at=at, actor=by, role=role, kind="task", org_unit=org_unit,
                           incident=row.incident_id, key=f"{task_id}/ack",
                           summary=f"任务已签收：{row.summary} / task acknowledged",
                           details={"task": task_id, "owner": f"{row.org_unit}.{row.owner_role}", "via": via})],
           snapshot(conn, "tasks", [task_id]))
    return True


def assign_task(conn: Connection, task_id: str, *, to_role: str, to_org_unit: str, person: str | None, by: str,
                role: str, org_unit: str, at: datetime, reason: str,
                append: Append, via: str = "cli") -> bool:
    """Hand task ``task_id`` over to the post ``to_org_unit``.``to_role`` and record who did it, why and through
    which channel (``via``).

    An acknowledged task goes back to open (its new owner acknowledges it afresh).

    Returns
    -------
    bool
        ``False`` when it is done or cancelled, or already owned by that post (nothing is written).

    Raises
    ------
    KeyError
        No such task.
    """
    row = _task(conn, task_id)
    if not _changed(conn, update(tasks).where(
            tasks.c.task_id == task_id, tasks.c.status.in_([str(TaskState.OPEN), str(TaskState.ACKNOWLEDGED)]),
            (tasks.c.owner_role != to_role) | (tasks.c.org_unit != to_org_unit))
            .values(owner_role=to_role, org_unit=to_org_unit, status=str(TaskState.OPEN), acked_by=None,
                    acked_at=None)):
        return False
    before, after = f"{row.org_unit}.{row.owner_role}", f"{to_org_unit}.{to_role}"
    append(conn, [NewEntry(occurred_at=at, actor=by, role=role, kind="task", org_unit=org_unit,
                           incident=row.incident_id, key=f"{task_id}/assign/{after}/{at.isoformat()}",
                           summary=f"任务改派 {before} → {after}（{person or '无人在岗'}）：{row.summary}"
                                   f"{' —— ' + reason if reason else ''} / task reassigned",
                           details={"task": task_id, "from": before, "to": after, "person": person,
                                    "reason": reason, "via": via})],
           snapshot(conn, "tasks", [task_id]))
    return True


def _task(conn: Connection, task_id: str) -> Any:
    row = conn.execute(select(tasks).where(tasks.c.task_id == task_id)).first()
    if row is None:
        raise KeyError(task_id)
    return row


def _entry_of(action: Action) -> NewEntry | None:
    """The timeline entry an action is recorded as, ``None`` for those the planner records itself."""
    why = {"rule_id": action.rule_id, "label": action.label}
    if isinstance(action, RecordTimeline):
        return NewEntry(occurred_at=action.at, actor=action.actor,
                        role=str(action.role) if action.role is not None else SYSTEM_ROLE, kind=str(action.entry),
                        summary=action.summary, org_unit=action.org_unit, incident=action.incident,
                        details={**action.details, **why}, key=action.key)
    if isinstance(action, Notify):
        post, person = action.to.post, action.to.person
        return NewEntry(occurred_at=action.at, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, kind=str(action.kind),
                        summary=f"通知待发送 → {post}（{person or '无人在岗'}）：{action.text}",
                        org_unit=str(post.org), incident=action.incident,
                        details={"to": str(post), "person": person, **why}, key=action.key)
    if isinstance(action, Broadcast):
        return NewEntry(occurred_at=action.at, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, kind=str(action.kind),
                        summary=f"发布待发送（{action.broadcast}）{action.thread} v{action.version}：{action.text}",
                        incident=action.incident,
                        details={"thread": action.thread, "version": action.version,
                                 "broadcast": str(action.broadcast), "level": int(action.level),
                                 "audience": str(action.audience), "area": action.area,
                                 "items": ", ".join(f"{i.item_id} {i.level.colour}" for i in action.listed), **why},
                        key=action.key)
    return None


def _insert_new(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless a row with the same key (primary or unique) exists; whether it was inserted."""
    stmt = _insert(conn, table).values(row).on_conflict_do_nothing()
    return conn.execute(stmt.returning(*table.primary_key.columns)).first() is not None


def _insert(conn: Connection, table: Table) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def _changed(conn: Connection, stmt: Executable) -> bool:
    return conn.execute(stmt).rowcount > 0

