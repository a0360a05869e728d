"""The demo duty staff: people who answer, decide and get things done — or, one of them, do not.

:class:`DemoStaff` plays the roster during a drill, reading the store as the duty officer's
screen shows it and answering through the same inbox the CLI uses
(:func:`warn.cycle.command.submit`) and the store's task API:

- a 叫应 call, an approval or a task hand-off addressed to a post is answered by the person
  on duty there after a delay of 2–9 minutes (fixed per person and request, so a drill
  replays the same way); the person named ``silent`` never answers, so the request
  escalates along its chain and the next person answers;
- a mode proposal is accepted by the commander on duty after 5–12 minutes;
- a task is done 20–100 minutes after it was acknowledged (by whoever acknowledged it) or,
  when it asks for no hand-off, after it was given (by the person on duty in its post),
  which makes some of them late (overdue); the silent person's tasks stay open.

The people and their behaviour are synthetic.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from warn.command.model import AckAnswered, Channel, ModeDecision, OrgUnit, Role, TaskState
from warn.vocab import OrgLevel
from warn.command.roster import Roster
from warn.cycle.command import submit
from warn.store import Store
from warn.store.command import HANDOFF
from warn.store.schema import ack_requests, mode_changes, tasks

#: The demo's silent person: the leader of the steep town DEMO-T11, who never picks up.
SILENT = "演示镇街负责人11"


class DemoStaff:
    """The roster's people, acting at each step of a replay.

    Parameters
    ----------
    store
        The drill's store.
    roster
        Who is on duty where.
    district
        The district's code (where the commander sits).
    silent
        The person who never answers.
    """

    def __init__(self, store: Store, roster: Roster, district: str, *, silent: str = SILENT) -> None:
        self.store, self.roster, self.silent = store, roster, silent
        self.district = OrgUnit(OrgLevel.DISTRICT, district)
        self._seen: dict[tuple[str, int], datetime] = {}

    def act(self, now: datetime) -> int:
        """Answer, decide and finish what is due by ``now``; the number of things done."""
        return self._answer(now) + self._decide(now) + self._finish(now)

    def _answer(self, now: datetime) -> int:
        with self.store.engine.connect() as conn:
            waiting = conn.execute(select(ack_requests).where(ack_requests.c.answered_at.is_(None))).all()
        done = 0
        for row in waiting:
            seen = self._seen.setdefault((row.request_id, row.escalation_step), now)
            role = Role(row.addressee_role)
            person = self.roster.who(role, _org(row.org_unit), now)
            if person is None or person == self.silent or now < seen + _delay(person, row.request_id, 2, 9):
                continue
            done += submit(self.store, AckAnswered(request=row.request_id, by=person, role=role,
                                                   channel=Channel.APP, at=now))
        return done

    def _decide(self, now: datetime) -> int:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(mode_changes.c.idempotency_key, mode_changes.c.at, mode_changes.c.decided_by)
                                ).all()
        keys = {r.idempotency_key for r in rows}
        done = 0
        for row in rows:
            proposal = row.idempotency_key
            if row.decided_by is not None or not proposal or {f"{proposal}/change", f"{proposal}/rejected"} & keys:
                continue
            commander = self.roster.who(Role.COMMANDER, self.district, now)
            if commander is None or now < row.at + _delay(commander, proposal, 5, 12):
                continue
            done += submit(self.store, ModeDecision(proposal=proposal, by=commander, role=Role.COMMANDER, accept=True,
                                                    reason="同意，按预案执行 / agreed, as the plan says", at=now))
        return done

    def _finish(self, now: datetime) -> int:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(tasks).where(tasks.c.status.in_([str(TaskState.OPEN),
                                                                        str(TaskState.ACKNOWLEDGED)]))).all()
            handoffs = set(conn.execute(select(ack_requests.c.request_id)
                                        .where(ack_requests.c.request_id.like(f"%{HANDOFF}"))).scalars())
        done = 0
        for row in rows:
            if row.acked_by is not None:
                person, since = row.acked_by, row.acked_at
            elif f"{row.task_id}{HANDOFF}" in handoffs:
                continue  # waits for its hand-off to be acknowledged
            else:
                person, since = self.roster.who(Role(row.owner_role), _org(row.org_unit), now), row.created_at
            if person is None or person == self.silent or now < since + _delay(person, row.task_id, 20, 100):
                continue
            done += self.store.finish_task(row.task_id, by=person, role=row.owner_role, at=now,
                                           note="已处置并现场核查 / handled and checked on site")
        return done


def _delay(person: str, subject: str, low: int, high: int) -> timedelta:
    """A fixed delay in [low, high] minutes for ``person`` and ``subject``."""
    digest = hashlib.sha256(f"{person}|{subject}".encode()).digest()
    return timedelta(minutes=low + digest[0] % (high - low + 1))


def _org(text: str) -> OrgUnit:
    level, code = text.split(".", 1)
    return OrgUnit(OrgLevel(level), code)
