"""Escalations executed in bulk change the 叫应 calls as one statement after another would: a call takes the
last escalation whose attempt is past its step, an older or repeated attempt changes nothing, an escalation
of a call not yet made changes nothing (real stores: SQLite, and PostgreSQL when the test server answers)."""

from __future__ import annotations

from datetime import datetime

from tests.store.test_views_pg import DISTRICT, INCIDENT, MINUTE, T0, TOWN
from warn.command.model import Action, AckKind, Assignee, Escalate, OpenIncident, Post, RequestAck, Role
from warn.store import Store

WHY = {"rule_id": "TEST", "label": "测试 test"}
COMMANDER = Post(DISTRICT.org, Role.COMMANDER)
#: Who each attempt goes to.
TO = {1: TOWN, 2: DISTRICT, 3: COMMANDER}


def call(request: str) -> RequestAck:
    return RequestAck(key=f"{INCIDENT}/{request}", at=T0, incident=INCIDENT, request=request, ack=AckKind.CALL,
                      to=Assignee(TOWN, "镇长乙"), subject="叫应", deadline=T0 + 10 * MINUTE, chain=(TOWN, DISTRICT),
                      **WHY)


def escalate(request: str, attempt: int, n: int) -> Escalate:
    """Attempt ``attempt`` of ``request`` (the ``n``-th escalation of the test: its key and deadline)."""
    return Escalate(key=f"{INCIDENT}/{request}/e{n}", at=T0 + n * MINUTE, incident=INCIDENT, request=request,
                    attempt=attempt, previous=TOWN, to=Assignee(TO[attempt], None), subject="叫应升级",
                    deadline=T0 + (30 + n) * MINUTE, **WHY)


def state(store: Store, request: str) -> tuple[int, str, str, datetime] | None:
    row = store.ack_request(request)
    if row is None:
        return None
    return row.escalation_step, row.addressee_role, row.org_unit, row.deadline


def test_a_batch_of_escalations_leaves_each_call_as_one_after_another_would(store: Store) -> None:
    store.execute_actions([OpenIncident(key=f"{INCIDENT}/open", at=T0, incident=INCIDENT, hazard="landslide", **WHY),
                           call("c1"), call("c2"), call("c5")])
    store.execute_actions([escalate("c5", 2, 0)])  # c5 is at step 2 before the batch
    batch: list[Action] = [
        escalate("c1", 1, 1), escalate("c1", 1, 2),  # the repeat finds step 1: no change
        escalate("c1", 3, 3), escalate("c1", 2, 4),  # 3 changes it; 2 is older: no change
        escalate("c9", 1, 5),  # no such call
        escalate("c2", 1, 6),
        call("c3"), escalate("c3", 1, 7),  # made in the batch, then escalated
        escalate("c4", 1, 8), call("c4"),  # escalated before it is made: nothing to change yet
        escalate("c5", 1, 9), escalate("c5", 3, 10),
    ]
    store.execute_actions(batch)
    assert state(store, "c1") == (3, str(COMMANDER.role), str(COMMANDER.org), T0 + 33 * MINUTE)
    assert state(store, "c2") == (1, str(TOWN.role), str(TOWN.org), T0 + 36 * MINUTE)
    assert state(store, "c3") == (1, str(TOWN.role), str(TOWN.org), T0 + 37 * MINUTE)
    assert state(store, "c4") == (0, str(TOWN.role), str(TOWN.org), T0 + 10 * MINUTE)
    assert state(store, "c5") == (3, str(COMMANDER.role), str(COMMANDER.org), T0 + 40 * MINUTE)
    assert state(store, "c9") is None
    store.execute_actions(batch)  # again: only the call made after its escalation is changed now
    assert state(store, "c1") == (3, str(COMMANDER.role), str(COMMANDER.org), T0 + 33 * MINUTE)
    assert state(store, "c4") == (1, str(TOWN.role), str(TOWN.org), T0 + 38 * MINUTE)
    assert state(store, "c5") == (3, str(COMMANDER.role), str(COMMANDER.org), T0 + 40 * MINUTE)
    assert store.timeline.verify().ok


def test_an_escalation_is_told_applied_only_when_it_changed_its_call(store: Store) -> None:
    store.execute_actions([OpenIncident(key=f"{INCIDENT}/open", at=T0, incident=INCIDENT, hazard="landslide", **WHY),
                           call("c1")])
    first = store.execute_actions([escalate("c1", 2, 1)])
    assert first.applied == 1
    again = store.execute_actions([escalate("c1", 2, 1), escalate("c1", 1, 2)])  # a repeat and an older attempt
    assert (again.applied, again.repeated) == (0, 2)
    assert state(store, "c1") == (2, str(DISTRICT.role), str(DISTRICT.org), T0 + 31 * MINUTE)
    mixed = store.execute_actions([escalate("c1", 1, 3), escalate("c1", 3, 4), escalate("c9", 3, 5)])
    assert (mixed.applied, mixed.repeated) == (1, 2)
    assert state(store, "c1") == (3, str(COMMANDER.role), str(COMMANDER.org), T0 + 34 * MINUTE)
