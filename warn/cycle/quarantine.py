"""Quarantine of inbox events that make the command step fail (:func:`warn.cycle.command.advance`).

A person's event that cannot be decoded, planned, executed or published is set aside
instead of failing the step for good: the inbox row is marked with its error, a timeline
entry (actor ``warn``, role ``system``, kind ``inbox``) records it under the hash chain, and
``warn status`` lists it for the duty officer. It is never retried automatically. Failures
that are not the event's (:data:`NOT_THE_EVENT`: the store's own, a broken configuration) stop
the step, which is run again, and quarantine nothing.
"""

from __future__ import annotations

import re
from datetime import datetime

from warn.errors import ConfigError
from warn.store import STORE_FAILURES, InboxRow, NewEntry, Store
from warn.store.command import SYSTEM_ACTOR, SYSTEM_ROLE

#: Failures that are not the event's fault: the store's (down, locked, read-only) and the deployment's.
NOT_THE_EVENT: tuple[type[Exception], ...] = (*STORE_FAILURES, ConfigError)

#: Timeline kind of a quarantine record.
KIND = "inbox"
#: Characters of the error kept (the first line of its message).
ERROR_LIMIT = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def error_text(err: BaseException) -> str:
    """The error as one line for people: its type and the first line of its message, control characters
    shown as ``�``, at most :data:`ERROR_LIMIT` characters."""
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)[:ERROR_LIMIT]


def set_aside(store: Store, row: InboxRow, at: datetime, err: BaseException) -> bool:
    """Quarantine inbox event ``row`` at ``at`` because of ``err``, with its timeline entry (one transaction).

    Returns
    -------
    bool
        ``False`` when it was consumed or quarantined already (nothing written).
    """
    error = error_text(err)
    entry = NewEntry(occurred_at=at, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, kind=KIND, key=f"inbox/{row.id}/quarantine",
                     summary=f"收件事件 #{row.id}（{row.kind}）使指挥步骤失败，已隔离，不再自动重试：{error} / "
                             f"inbox event #{row.id} ({row.kind}) made the command step fail; quarantined, "
                             f"never retried automatically: {error}",
                     details={"inbox": row.id, "kind": row.kind, "at": row.at.isoformat(), "error": error})
    return store.quarantine_event(row.id, at=at, error=error, entry=entry)
