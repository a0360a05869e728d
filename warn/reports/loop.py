"""闭环 / the warn → prevent → respond loop of an incident and its figures, from the store's rows.

:func:`loop_of` is pure: the incident's warning threads and their CAP messages, its tasks and its
requests (叫应 calls, approvals, task hand-offs) in, one :class:`Loop` out — each thread's first
message, acknowledgement, first action and closure; every task due vs done; every 叫应 call; and the
figures (:class:`Kpi`): 处置率 and 按期办理率 over the warnings and the incident that required action
as well as over tasks (:data:`HANDLING` says what counts), with the unhandled listed. Tasks and
requests belong to a thread by their key (:func:`of_thread`). Times are timezone-aware UTC; levels
are :class:`warn.vocab.Level` values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from warn.vocab import Level

if TYPE_CHECKING:
    from warn.store.incidents import AckRequestRow, ThreadRow, VersionRow
    from warn.store.incidents import TaskRow as StoredTask

#: A warning thread that reached this level required action (橙色 orange: practice's 叫应 and duty tasks).
ACTION_LEVEL = Level.ORANGE
#: What the loop figures count, printed under them in every format (zh-CN, then English).
HANDLING = (f"需处置：预警线程最高等级达到{ACTION_LEVEL.zh}及以上（事件：其任一预警需处置）。已处置：该预警有任务完成或有叫应被"
            "应答（事件：其每一条需处置预警均已处置）。按期：任务在时限内完成、叫应在首个时限内应答（未升级）。任务：处置率为"
            "已完成÷已下达，按期办理率为按期完成÷已下达。\nRequired action: a warning thread that "
            f"reached {ACTION_LEVEL.colour} or above (the incident: when any of its warnings did). Handled: a task "
            "of the thread done or a 叫应 call of it answered (the incident: every warning that required action "
            "handled). On time: the task done by its due time, the call answered by its first deadline (before "
            "any escalation). Tasks: done ÷ created, done on time ÷ created.")


@dataclass(frozen=True)
class WarningLoop:
    """One warning thread's loop: first message, first acknowledgement (a 叫应 or task hand-off
    answered), first action done, closure (its all-clear); ``None`` where it has not happened.

    ``handled_at`` is when it was first handled — a task of its thread done or a 叫应 call of its thread
    answered (:data:`HANDLING`) — and ``on_time`` whether one of them was within its deadline (a task done
    by its due time, a call answered by its first deadline, before any escalation)."""

    thread_id: str
    item_id: str
    level: int
    first_at: datetime
    acked_at: datetime | None
    first_action_at: datetime | None
    closed_at: datetime | None
    handled_at: datetime | None = None
    on_time: bool = False

    @property
    def required(self) -> bool:
        """It reached :data:`ACTION_LEVEL` (橙色 orange) or above: somebody had to act on it."""
        return self.level >= ACTION_LEVEL


@dataclass(frozen=True)
class TaskRow:
    """A task: due vs done, overdue (done late, or open past due at the report's time), escalated (its
    hand-off went up the chain)."""

    task_id: str
    summary: str
    owner: str
    due_at: datetime | None
    done_at: datetime | None
    status: str
    overdue: bool
    escalated: bool


@dataclass(frozen=True)
class CallRow:
    """叫应 / a call: the addressee (role @ org unit), when asked, who answered when, escalation steps."""

    request_id: str
    addressee: str
    created_at: datetime
    answered_by: str | None
    answered_at: datetime | None
    escalations: int


@dataclass(frozen=True)
class Kpi:
    """一项指标 / one figure: its name (``处置率``), what it counts over (zh-CN / English), how many of how
    many (:data:`HANDLING` says what counts)."""

    name: str
    over: str
    part: int
    whole: int

    @property
    def value(self) -> float | None:
        """``part ÷ whole``, 0–1; ``None`` when there was nothing to count."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Unhandled:
    """A warning thread or the incident that required action and was not handled, or not on time:
    what (thread id, or the incident id), its item, highest level, first message, and why (zh-CN / English)."""

    what: str
    item_id: str
    level: int
    first_at: datetime
    reason: str


@dataclass(frozen=True)
class Loop:
    """闭环 / warnings, tasks and calls, and the figures (:class:`Kpi`): ``处置率`` and ``按期办理率`` over the
    warnings that required action, over the incident and over the tasks, and ``叫应应答率`` (answered ÷
    calls); ``unhandled`` lists the warnings (and the incident) that required action and were not handled or
    not on time. :data:`HANDLING` says what counts."""

    warnings: list[WarningLoop]
    tasks: list[TaskRow]
    calls: list[CallRow]
    figures: list[Kpi]
    unhandled: list[Unhandled] = field(default_factory=list)


def handling(loop: WarningLoop) -> str:
    """Whether a warning was handled (:data:`HANDLING`): ``已处置 按期 handled on time``, ``未处置 not handled`` …;
    ``无需 not required`` below :data:`ACTION_LEVEL`."""
    if not loop.required:
        return "无需 not required"
    if loop.handled_at is None:
        return "未处置 not handled"
    return "已处置 按期 handled on time" if loop.on_time else "已处置 超期 handled late"


def loop_of(incident_id: str, threads: Sequence[ThreadRow], versions: Sequence[VersionRow],
            tasks: Sequence[StoredTask], requests: Sequence[AckRequestRow], at: datetime) -> Loop:
    """The loop of an incident as of ``at`` (later facts are not yet known) from its stored rows: its
    warning threads and their versions (in the order recorded), its tasks and its requests (叫应 calls,
    approvals, task hand-offs), and the figures over them (:data:`HANDLING`)."""
    task_rows = [t for t in tasks if t.created_at <= at]
    requests = [r for r in requests if r.created_at <= at]
    answered = {r.request_id: r for r in requests if r.answered_at is not None and r.answered_at <= at}
    done = {t.task_id: t.done_at for t in task_rows if t.done_at is not None and t.done_at <= at}
    escalated = {r.request_id.removesuffix("/handoff") for r in requests if r.escalation_step > 0}
    rows = []
    for t in task_rows:
        done_at = done.get(t.task_id)
        late = t.due_at is not None and (done_at or at) > t.due_at
        rows.append(TaskRow(t.task_id, t.summary, f"{t.owner_role} @ {t.org_unit}", t.due_at, done_at,
                            "done" if done_at else ("open" if t.status == "done" else t.status), late,
                            t.task_id in escalated))
    calls = [CallRow(r.request_id, f"{r.addressee_role} @ {r.org_unit}", r.created_at,
                     r.answered_by if r.request_id in answered else None,
                     r.answered_at if r.request_id in answered else None, r.escalation_step)
             for r in requests if r.kind == "call"]
    on_time_calls = {r.request_id for r in requests if r.kind == "call" and r.request_id in answered
                     and r.escalation_step == 0 and r.answered_at is not None and r.answered_at <= r.deadline}
    by_thread: dict[str, list] = defaultdict(list)
    for v in versions:
        by_thread[v.thread_id].append(v)
    loops = []
    for t in threads:
        sent = [v for v in by_thread[t.thread_id] if v.at <= at]
        if sent:
            loops.append(_warning_loop(t, sent, rows, calls, answered, on_time_calls))
    loops.sort(key=lambda w: w.first_at)
    return Loop(loops, rows, calls, _figures(incident_id, loops, rows, calls), _unhandled(incident_id, loops))


def of_thread(key: str, thread_id: str) -> bool:
    """Whether the task or request ``key`` belongs to the warning thread ``thread_id``: the planner keys them
    ``<incident>/<playbook>@<version>:<thread>/<step>/…``."""
    return f":{thread_id}/" in key


def _warning_loop(thread: ThreadRow, sent: list[VersionRow], tasks: list[TaskRow], calls: list[CallRow],
                  answered: dict[str, AckRequestRow], on_time_calls: set[str]) -> WarningLoop:
    """One thread's loop from its versions by the report's time and the incident's tasks and calls."""
    mine_tasks = [r for r in tasks if of_thread(r.task_id, thread.thread_id)]
    mine_calls = [c for c in calls if of_thread(c.request_id, thread.thread_id)]
    acked = [r.answered_at for key, r in answered.items() if of_thread(key, thread.thread_id)]
    acted = [r.done_at for r in mine_tasks if r.done_at is not None]
    handled = [*acted, *(c.answered_at for c in mine_calls if c.answered_at is not None)]
    on_time = (any(r.done_at is not None and not r.overdue for r in mine_tasks)
               or any(c.request_id in on_time_calls for c in mine_calls))
    last = sent[-1]
    closed = last.at if last.status == "cleared" else None
    return WarningLoop(thread.thread_id, thread.item_id, max(v.level for v in sent), sent[0].at,
                       min(acked, default=None), min(acted, default=None), closed, min(handled, default=None),
                       on_time)


def _figures(incident_id: str, loops: list[WarningLoop], tasks: list[TaskRow], calls: list[CallRow]) -> list[Kpi]:
    """处置率 and 按期办理率 over the warnings that required action, the incident and the tasks; 叫应应答率."""
    required = [w for w in loops if w.required]
    over_warnings = f"需处置预警 warnings that required action (≥{ACTION_LEVEL.zh} {ACTION_LEVEL.colour})"
    over_incident = f"需处置事件 incident that required action ({incident_id})"
    incident = 1 if required else 0
    return [
        Kpi("处置率", over_warnings, sum(w.handled_at is not None for w in required), len(required)),
        Kpi("按期办理率", over_warnings, sum(w.on_time for w in required), len(required)),
        Kpi("处置率", over_incident, int(bool(required) and all(w.handled_at is not None for w in required)), incident),
        Kpi("按期办理率", over_incident, int(bool(required) and all(w.on_time for w in required)), incident),
        Kpi("处置率", "任务 tasks", sum(r.done_at is not None for r in tasks), len(tasks)),
        Kpi("按期办理率", "任务 tasks", sum(r.done_at is not None and not r.overdue for r in tasks), len(tasks)),
        Kpi("叫应应答率", "叫应 calls", sum(c.answered_at is not None for c in calls), len(calls)),
    ]


def _unhandled(incident_id: str, loops: list[WarningLoop]) -> list[Unhandled]:
    """The warnings that required action and were not handled or not on time, and the incident when any was."""
    out = [Unhandled(w.thread_id, w.item_id, w.level, w.first_at,
                     "未处置：无任务完成、无叫应应答 / not handled: no task done, no 叫应 call answered"
                     if w.handled_at is None else "已处置但未按期 / handled, but not within its deadline")
           for w in loops if w.required and not (w.handled_at is not None and w.on_time)]
    if out:
        worst = max(out, key=lambda u: u.level)
        first = min(u.first_at for u in out)
        out.insert(0, Unhandled(incident_id, "—", worst.level, first,
                                f"事件有 {len(out)} 条需处置预警未处置或未按期 / {len(out)} warning(s) that required "
                                "action not handled or not on time"))
    return out
