"""The summary of a drill or a storm, read from the store: what was warned, sent, asked, done and decided.

:func:`summary` is what ``warn demo`` prints (and ``--json`` emits): one JSON-ready object
with the keys ``warnings``, ``cap_messages``, ``tasks``, ``acks``, ``mode_changes``,
``notices`` and ``report``. Every figure is counted from the store's tables at the time
``now``; every CAP message is validated again against the official schemas.
:func:`all_clear` says when a drill may stop; :func:`incident_ids` lists what to report on.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from warn.cap.codec import validate
from warn.store import Store
from warn.store.schema import ack_requests, incidents, mode_changes, tasks, timeline, warning_messages, warnings
from warn.vocab import Level


def summary(store: Store, now: datetime, *, report: dict[str, str] | None = None) -> dict[str, Any]:
    """The drill's summary at ``now`` (see the module notes); ``report`` the incident reports' paths by incident."""
    with store.engine.connect() as conn:
        threads = conn.execute(select(warnings)).all()
        messages = conn.execute(select(warning_messages).order_by(warning_messages.c.id)).all()
        task_rows = conn.execute(select(tasks)).all()
        requests = conn.execute(select(ack_requests)).all()
        changes = conn.execute(select(mode_changes).where(mode_changes.c.decided_by.is_not(None))
                               .order_by(mode_changes.c.id)).all()
        notices = conn.execute(select(timeline.c.occurred_at, timeline.c.summary, timeline.c.details)
                               .where(timeline.c.kind == "notice").order_by(timeline.c.seq)).all()
    return {
        "warnings": _warnings(threads, messages),
        "cap_messages": _messages(messages),
        "tasks": _tasks(task_rows, now),
        "acks": _acks(requests),
        "mode_changes": [{"at": c.at.isoformat(), "from": c.from_mode, "to": c.to_mode,
                          "response": _response(c.response_level), "decided_by": c.decided_by, "rule": c.rule_id}
                         for c in changes],
        "notices": {"began": sum('"began"' in n.details for n in notices),
                    "ended": sum('"ended"' in n.details for n in notices),
                    "first": [n.summary for n in notices[:3]]},
        "report": report or {},
    }


def _warnings(threads, messages) -> dict[str, Any]:
    """Per hazard: threads raised, by highest level reached, and how many were cleared."""
    highest: dict[str, int] = {}
    for m in messages:
        highest[m.thread_id] = max(highest.get(m.thread_id, 0), m.level)
    out: dict[str, Any] = {}
    for t in threads:
        entry = out.setdefault(t.hazard, {"raised": 0, "cleared": 0, "active": 0, "highest": Counter()})
        entry["raised"] += 1
        entry["cleared" if t.status == "cleared" else "active"] += 1
        entry["highest"][Level(highest.get(t.thread_id, t.level)).colour] += 1
    return {hazard: {**e, "highest": dict(e["highest"])} for hazard, e in out.items()}


def _messages(messages) -> dict[str, Any]:
    invalid = [m.identifier for m in messages if validate(m.body.encode("utf-8"))]
    kinds = Counter(m.kind for m in messages)
    all_clear = sum("<responseType>AllClear</responseType>" in m.body for m in messages)
    return {"total": len(messages), "by_type": dict(kinds), "all_clear": all_clear, "valid": len(messages) - len(invalid),
            "invalid": invalid}


def _tasks(rows, now: datetime) -> dict[str, int]:
    late = sum(1 for r in rows if r.due_at is not None and (r.done_at or now) > r.due_at)
    return {"created": len(rows), "acknowledged": sum(r.acked_at is not None for r in rows),
            "done": sum(r.status == "done" for r in rows), "overdue": late,
            "open": sum(r.status in ("open", "acknowledged") for r in rows)}


def _acks(rows) -> dict[str, Any]:
    calls = [r for r in rows if r.kind == "call"]
    return {"requests": len(rows), "calls": len(calls), "answered": sum(r.answered_at is not None for r in rows),
            "escalated": sum(r.escalation_step > 0 for r in rows),
            "unanswered": sum(r.answered_at is None for r in rows),
            "answers": [{"request": r.request_id, "by": r.answered_by, "at": r.answered_at.isoformat(),
                         "after_escalations": r.escalation_step}
                        for r in calls if r.answered_at is not None][:5]}


def _response(level: int) -> str | None:
    from warn.vocab import ResponseLevel

    return ResponseLevel(level).name if level else None


def incident_ids(store: Store) -> list[str]:
    """Every incident's id, in the order they opened."""
    with store.engine.connect() as conn:
        return list(conn.execute(select(incidents.c.incident_id).order_by(incidents.c.opened_at)).scalars())


def all_clear(store: Store) -> bool:
    """Every warning cleared, every incident closed, the centre back in peacetime."""
    with store.engine.connect() as conn:
        active = conn.execute(select(func.count()).select_from(warnings).where(warnings.c.status != "cleared")
                              ).scalar_one()
        open_ = conn.execute(select(func.count()).select_from(incidents).where(incidents.c.closed_at.is_(None))
                             ).scalar_one()
        mode = conn.execute(select(mode_changes.c.to_mode).where(mode_changes.c.decided_by.is_not(None))
                            .order_by(mode_changes.c.id.desc()).limit(1)).scalar()
        raised = conn.execute(select(func.count()).select_from(warnings)).scalar_one()
    return raised > 0 and active == 0 and open_ == 0 and mode in (None, "peacetime")
