"""The summary of a drill or a storm, read from the store: what was warned, sent, asked, done and decided.

:func:`summary` is what ``warn demo`` prints (and ``--json`` emits): one JSON-ready object
with the keys ``warnings``, ``cap_messages``, ``tasks``, ``acks``, ``mode_changes``,
``notices``, ``outbox`` (rows sent, and those not delivered counted per channel, status and
reason), ``deliveries`` (messages to persons by channel kind and by org level, and by status),
``answered_via`` (answered requests by the channel the answer came through) and ``report``. Every figure is counted from the store's tables at the time
``now``; every CAP message is validated again against the official schemas.
:func:`all_clear` says when a drill may stop; :func:`incident_ids` lists what to report on.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from warn.cap.codec import validate
from warn.store import Store
from warn.vocab import Level


def summary(store: Store, now: datetime, *, report: dict[str, str] | None = None) -> dict[str, Any]:
    """The drill's summary at ``now`` (see the module notes); ``report`` the incident reports' paths by incident."""
    threads = store.warnings.threads()
    versions = store.warnings.versions()
    messages = store.warnings.messages()
    task_rows = store.command.tasks()
    requests = store.command.ack_requests()
    changes = store.command.mode_changes(decided=True)
    notices = store.timeline.entries(kinds=("notice",))
    return {
        "warnings": _warnings(threads, versions),
        "peak": peak(versions),
        "cap_messages": _messages(messages),
        "tasks": _tasks(task_rows, now),
        "acks": _acks(requests),
        "mode_changes": [{"at": c.at.isoformat(), "from": c.from_mode, "to": c.to_mode,
                          "response": _response(c.response_level), "decided_by": c.decided_by, "rule": c.rule_id}
                         for c in changes],
        "notices": {"began": sum(n.details.get("state") == "began" for n in notices),
                    "ended": sum(n.details.get("state") == "ended" for n in notices),
                    "first": [n.summary for n in notices[:3]]},
        "outbox": _outbox(store.outbox.rows()),
        "deliveries": _deliveries(store.deliveries.all()),
        "answered_via": dict(sorted(Counter(r.channel for r in requests if r.answered_at is not None).items())),
        "report": report or {},
    }


#: Characters of a delivery error kept as the reason in the summary.
REASON_LIMIT = 160


def _outbox(rows) -> dict[str, Any]:
    """Rows sent, and the others as ``undelivered`` [{channel, status, reason, count}] (queued or sending: still
    owed; failed: given up; refused: never allowed), largest count first."""
    left = Counter((r.message.channel, str(r.status), _reason(r)) for r in rows if r.status != "sent")
    return {"sent": sum(r.status == "sent" for r in rows), "undelivered": [
        {"channel": channel, "status": status, "reason": reason, "count": n}
        for (channel, status, reason), n in sorted(left.items(), key=lambda kv: (-kv[1], kv[0]))]}


def _deliveries(rows) -> dict[str, Any]:
    """Messages to persons: by channel kind, by org level (district, town, community, grid, point), by status."""
    return {"total": len(rows),
            "by_channel": dict(sorted(Counter(r.channel_kind for r in rows).items())),
            "by_org_level": dict(sorted(Counter(r.org_level for r in rows).items())),
            "by_status": dict(sorted(Counter(str(r.status) for r in rows).items()))}


def _reason(row) -> str:
    """Why a row is not delivered: its last error's first line, or that it was never tried."""
    lines = row.last_error.strip().splitlines()
    return lines[0][:REASON_LIMIT] if lines else "尚未尝试发送 / never tried"


def _warnings(threads, versions) -> dict[str, Any]:
    """Per hazard: threads raised, by highest level reached (over their versions), and how many were cleared."""
    highest: dict[str, int] = {}
    for v in versions:
        highest[v.thread_id] = max(highest.get(v.thread_id, 0), v.level)
    out: dict[str, Any] = {}
    for t in threads:
        entry = out.setdefault(t.hazard, {"raised": 0, "cleared": 0, "active": 0, "highest": Counter()})
        entry["raised"] += 1
        entry["cleared" if t.status == "cleared" else "active"] += 1
        entry["highest"][Level(highest.get(t.thread_id, t.level)).colour] += 1
    return {hazard: {**e, "highest": dict(e["highest"])} for hazard, e in out.items()}


def peak(versions) -> dict[str, Any] | None:
    """When the most warnings were at once in force at their highest levels: the first instant with the most red,
    then orange, … (``at`` ISO 8601 UTC, ``levels`` {colour: count}); ``None`` before any warning."""
    level: dict[str, int] = {}
    best: tuple[tuple[int, ...], datetime] | None = None
    for v in sorted(versions, key=lambda v: (v.at, v.id)):
        level[v.thread_id] = v.level if v.status != "cleared" else 0
        counts = Counter(level.values())
        score = tuple(counts[lv] for lv in (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE))
        if best is None or score > best[0]:
            best = (score, v.at)
    if best is None:
        return None
    colours = (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)
    return {"at": best[1].isoformat(), "levels": {lv.colour: n for lv, n in zip(colours, best[0]) if n}}


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
    return [i.incident_id for i in store.command.incidents()]


def all_clear(store: Store) -> bool:
    """Every warning cleared, every incident closed, the centre back in peacetime."""
    raised, active = store.warnings.counts()
    open_ = sum(i.closed_at is None for i in store.command.incidents())
    decided = store.command.mode_changes(decided=True)
    mode = decided[-1].to_mode if decided else None
    return raised > 0 and active == 0 and open_ == 0 and mode in (None, "peacetime")
