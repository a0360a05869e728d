"""Rows under the chain: a mode change, task, acknowledgement request or CAP message row changed, deleted
or added outside the timeline is named by table, row and field (real stores: SQLite, and PostgreSQL
when the test server answers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from tests.store.test_views_pg import INCIDENT, MINUTE, T0, _actions
from warn.store import Store
from warn.store.digests import check_rows
from warn.store.schema import mode_changes
from warn.vocab import Level
from warn.store.incidents import NewCapMessage


@pytest.fixture
def held(store: Store) -> Store:
    """The store with a decided mode change, two tasks, a 叫应 call and one CAP message, all through the store."""
    store.execute_actions(_actions())
    store.warnings.record_messages([NewCapMessage("landslide:T1:public", "Alert", int(Level.ORANGE), T0 + 6 * MINUTE,
                                                  "id-1", "<alert/>")])
    return store


def test_rows_written_through_the_store_are_all_under_the_chain(held: Store) -> None:
    held.finish_task("t1", by="镇长乙", role="town_leader", at=T0 + 20 * MINUTE, note="已转移 12 人", evidence="")
    found = check_rows(held.engine)
    assert found.problems == [] and found.uncovered == 0
    assert found.checked == 5  # 1 mode change, 2 tasks, 1 call, 1 message
    assert held.timeline.verify().ok


def test_a_mode_change_edited_in_its_table_is_named_with_what_differs(held: Store) -> None:
    """Before: the report listed the edited row under '✓ verified' (the table was not under the chain)."""
    with held.engine.begin() as conn:
        conn.execute(text("UPDATE mode_changes SET decided_by = '值班员丙', response_level = 4"))
    found = check_rows(held.engine)
    assert len(found.problems) == 1
    problem = found.problems[0]
    assert problem.startswith("mode_changes 行 mode_changes:1 在时间线之外被修改 / row mode_changes:1 of mode_changes "
                              "was changed outside the timeline (recorded at seq ")
    assert "decided_by: recorded '指挥长甲', now '值班员丙'; response_level: recorded 1, now 4" in problem


def test_a_task_deleted_and_a_message_body_edited_are_named(held: Store) -> None:
    with held.engine.begin() as conn:
        conn.execute(text("DELETE FROM tasks WHERE task_id = 't2'"))
        conn.execute(text("UPDATE warning_messages SET body = '<alert>red</alert>'"))
    problems = check_rows(held.engine).problems
    assert len(problems) == 2
    assert problems[0].startswith("warning_messages 行 warning_messages:id-1 在时间线之外被修改") and "body_sha256" in problems[0]
    assert "row tasks:t2 recorded at seq" in problems[1] and problems[1].endswith("deleted outside the timeline")


def test_a_row_added_outside_the_chain_is_named_and_an_older_one_counted_as_not_covered(held: Store) -> None:
    row = {"from_mode": "peacetime", "to_mode": "wartime", "response_level": 4, "proposed_by": "warn",
           "decided_by": "指挥长甲", "reason": "", "rule_id": "MODE-ORDER"}
    with held.engine.begin() as conn:
        conn.execute(insert(mode_changes).values(at=T0 + timedelta(hours=2), idempotency_key="forged", **row))
        conn.execute(insert(mode_changes).values(at=T0 - timedelta(days=1), idempotency_key="legacy", **row))
    found = check_rows(held.engine)
    assert found.uncovered == 1  # dated before the first entry carrying rows: written before row digests
    assert found.problems == ["mode_changes 行 mode_changes:2 不在时间线上（在其之外添加）/ row mode_changes:2 of "
                              "mode_changes is on no timeline entry: added outside the timeline"]


def test_a_store_without_row_digests_verifies_with_every_row_not_covered(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(mode_changes).values(at=T0, from_mode="peacetime", to_mode="wartime", response_level=1,
                                                 proposed_by="warn", decided_by="指挥长甲", reason="", rule_id="R",
                                                 idempotency_key=f"{INCIDENT}/old"))
    found = check_rows(store.engine)
    assert (found.checked, found.uncovered, found.problems) == (0, 1, [])


def test_executing_the_same_actions_again_appends_nothing(held: Store) -> None:
    from warn.command.model import RecordTimeline

    answer = RecordTimeline(key="c1/answer", at=T0 + 2 * MINUTE, incident=INCIDENT, rule_id="ACK-ANSWER", label="应答",
                            actor="镇长乙", role=None, org_unit="town.DEMO-T03", entry="ack", summary="已应答",
                            details={"request": "c1", "channel": "cli"})
    first = held.execute_actions([*_actions(), answer])
    count = held.timeline.last_seq()
    again = held.execute_actions([*_actions(), answer])
    assert first.appended == 1 and again.appended == 0 and held.timeline.last_seq() == count
    assert check_rows(held.engine).problems == []


def test_a_row_changed_by_an_action_without_an_entry_of_its_own_gets_one(store: Store) -> None:
    """A task created alone (the planner's CreateTask has no entry of its own) is still put on the chain."""
    alone = [a for a in _actions() if a.key.endswith(("/open", "/t2"))]  # neither has an entry of its own
    done = store.execute_actions(alone)
    entries = store.timeline.entries()
    assert done.appended == 1 and [e.kind for e in entries] == ["record"]
    assert list(entries[0].details["rows"]) == ["tasks:t2"]
    assert check_rows(store.engine).problems == []


def test_a_batch_of_messages_records_each_new_one_under_the_chain_and_reads_their_bodies_back(held: Store) -> None:
    from warn.errors import WarnError

    thread = "landslide:T1:public"
    batch = [NewCapMessage(thread, "Update", int(Level.RED), T0 + 7 * MINUTE, "id-2", "<update/>"),
             NewCapMessage(thread, "Alert", int(Level.ORANGE), T0 + 6 * MINUTE, "id-1", "<other/>")]
    assert held.warnings.record_messages(batch) == {"id-2"}  # id-1 was recorded: left as it is
    assert held.warnings.bodies(["id-1", "id-2", "id-9"]) == {"id-1": "<alert/>", "id-2": "<update/>"}
    assert held.warnings.bodies([]) == {}
    assert check_rows(held.engine).problems == [] and held.timeline.verify().ok
    with pytest.raises(WarnError, match="no such message thread"):
        held.warnings.record_messages([NewCapMessage("landslide:T9:public", "Alert", 1, T0, "id-3", "<a/>"), *batch])
    assert held.warnings.bodies(["id-3"]) == {}  # nothing of a refused batch


def test_threads_advanced_in_one_batch_keep_the_newest_version_and_a_version_row_per_advance(held: Store) -> None:
    """One call raising a thread to v2 then v3 and repeating v1 and v2 (the thread and message thread of the
    fixture are at v1): each advance is applied and versioned once, an older or repeated version not at all."""
    from dataclasses import replace

    from sqlalchemy import select

    from warn.command.model import Broadcast, WarningChange
    from warn.store.schema import bulletins, warning_versions, warnings

    change = next(a for a in _actions() if isinstance(a, WarningChange))
    message = next(a for a in _actions() if isinstance(a, Broadcast))
    steps = [(2, Level.RED), (3, Level.YELLOW), (1, Level.BLUE), (2, Level.ORANGE)]
    batch = [action for version, level in steps for action in (
        replace(change, key=f"landslide:T1/v{version}x", version=version, level=level),
        replace(message, key=f"landslide:T1:public/v{version}x", version=version, level=level))]
    done = held.execute_actions(batch)
    with held.engine.connect() as conn:
        thread = conn.execute(select(warnings.c.version, warnings.c.level)).one()
        bulletin = conn.execute(select(bulletins.c.version, bulletins.c.level)).one()
        versions = conn.execute(select(warning_versions.c.version, warning_versions.c.level)
                                .order_by(warning_versions.c.version)).all()
    assert tuple(thread) == tuple(bulletin) == (3, int(Level.YELLOW))
    assert [tuple(v) for v in versions] == [(1, int(Level.ORANGE)), (2, int(Level.RED)), (3, int(Level.YELLOW))]
    assert done.applied == 2 + 4  # the warning thread's two advances; every broadcast appends its own entry
    assert held.timeline.verify().ok and check_rows(held.engine).problems == []
