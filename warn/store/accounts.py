"""Passwords, sessions and login attempts for the centre's pages (``warn serve``).

``store.accounts`` (:class:`AccountTable`): one account per person with a password — a random 16-byte
salt, the scrypt digest of the password and the scrypt parameters it was made with (``kdf``, so they can
be raised later without breaking older accounts), the failed logins in a row and the time the account is
locked until. ``store.sessions`` (:class:`SessionTable`): one row per login in the browser, keyed by the
SHA-256 of its session id — the id itself is only ever in the person's cookie — with the person, the
session's CSRF token, the client address, and when it began, expires and ended. ``store.login_attempts``
(:class:`AttemptTable`): every login attempt admitted, by client address and time, so that the rate limit
holds across restarts of the service.

On the timeline, in the same transaction as the change: a password set or an account unlocked (kind
``account``), a failed login and a lockout (``login``, ``lockout``), a login and a logout (``login``,
``logout``), each with the client address. Never a password, a digest, a session id or a CSRF token; a
failed login names the person only when the name typed is a known person.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from warn.store.records import NewEntry
from warn.store.schema import accounts, login_attempts, sessions
from warn.store.timeline import Timeline

#: scrypt cost of a new password: n=2**14, r=8, p=1 (16 MiB of memory per try), a 32-byte digest.
KDF = "scrypt:16384:8:1:32"
#: The actor of a failed login whose name is not a known person's.
UNKNOWN = "unknown name"
#: The timeline kind of a change made through the centre's pages or API (written by the web service's gate).
WEB_REQUEST = "web_request"
#: Timeline kinds of the access record — who got an account, logged in or out, was locked out, changed what
#: through the pages or API — kept for the record, left out of a screen's incident timeline.
ACCESS_KINDS = ("account", "login", "lockout", "logout", WEB_REQUEST)


class Outcome(StrEnum):
    """What a password login came to."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Attempt:
    """Who is logging in, from where, when.

    Attributes
    ----------
    person
        The name typed when it is a known person (on the roster); ``None`` otherwise.
    role, org_unit
        Their post's role and org unit now (role ``none`` and no unit when they hold none), for the timeline.
    address
        The client address.
    at
        When (aware UTC).
    """

    person: str | None
    role: str
    org_unit: str
    address: str
    at: datetime

    def entry(self, kind: str, summary: str, **details: object) -> NewEntry:
        """A timeline entry of this attempt: the person (or :data:`UNKNOWN`) as actor, the address in details."""
        actor = self.person or UNKNOWN
        return NewEntry(occurred_at=self.at, actor=actor, role=self.role, kind=kind, org_unit=self.org_unit,
                        summary=summary, details={"person": actor, "address": self.address, **details})


@dataclass(frozen=True)
class Verdict:
    """A password login's outcome; ``locked_until`` when the account is (now) locked."""

    outcome: Outcome
    locked_until: datetime | None = None


@dataclass(frozen=True)
class AccountRow:
    """One account, without its digest."""

    person: str
    failed_in_a_row: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    changed_at: datetime
    changed_by: str


@dataclass(frozen=True)
class SessionRow:
    """A session in force: whose, its CSRF token, from where, since and until when."""

    person: str
    csrf: str
    address: str
    created_at: datetime
    expires_at: datetime


Write = Callable[[], AbstractContextManager[Connection]]


class _Recorded:
    """A table whose changes go on the timeline in their transaction.

    Parameters
    ----------
    engine, write
        The store's engine and its write-transaction opener.
    timeline
        The store's timeline.
    """

    def __init__(self, engine: Engine, write: Write, timeline: Timeline) -> None:
        self._engine = engine
        self._write = write
        self._timeline = timeline


class AccountTable(_Recorded):
    """Set and check passwords, lock and unlock accounts (parameters: :class:`_Recorded`)."""

    def set_password(self, person: str, password: str, *, by: str, at: datetime) -> None:
        """Give ``person`` the password ``password`` (a new account, or a changed one, unlocked); ``by`` who did."""
        salt = secrets.token_bytes(16)
        values = {"salt": salt, "digest": digest(password, salt, KDF), "kdf": KDF, "failed_in_a_row": 0,
                  "locked_until": None, "changed_at": at, "changed_by": by}
        with self._write() as conn:
            changed = conn.execute(update(accounts).where(accounts.c.person == person).values(**values)).rowcount
            if not changed:
                conn.execute(insert(accounts).values(person=person, created_at=at, **values))
            self._record(conn, person, by, at, "password")

    def unlock(self, person: str, *, by: str, at: datetime) -> bool:
        """Clear the failures and the lock of ``person``'s account; ``False`` when they have none."""
        with self._write() as conn:
            changed = conn.execute(update(accounts).where(accounts.c.person == person).values(
                failed_in_a_row=0, locked_until=None, changed_at=at, changed_by=by)).rowcount
            if changed:
                self._record(conn, person, by, at, "unlocked")
        return bool(changed)

    def rows(self) -> list[AccountRow]:
        """Every account, by person, without digests."""
        columns = [accounts.c[name] for name in AccountRow.__dataclass_fields__]
        with self._engine.connect() as conn:
            return [AccountRow(*row) for row in conn.execute(select(*columns).order_by(accounts.c.person))]

    def check(self, attempt: Attempt, password: str, *, max_failures: int, lockout: timedelta) -> Verdict:
        """Check ``password`` for the person of ``attempt`` (constant time; as slow for an unknown name).

        A locked account is not checked. A wrong password counts a failure; the ``max_failures``-th in a row
        locks the account for ``lockout``. A failure and a lockout go on the timeline here; a success resets
        the failures (its ``login`` entry comes with its session, :meth:`SessionTable.start`).
        """
        with self._engine.connect() as conn:
            row = None if attempt.person is None else conn.execute(
                select(accounts.c.salt, accounts.c.digest, accounts.c.kdf, accounts.c.locked_until)
                .where(accounts.c.person == attempt.person)).first()
        if row is not None and row.locked_until is not None and row.locked_until > attempt.at:
            return Verdict(Outcome.LOCKED, row.locked_until)
        salt, kdf, stored = (row.salt, row.kdf, row.digest) if row is not None else (bytes(16), KDF, b"")
        if hmac.compare_digest(digest(password, salt, kdf), stored) and row is not None:
            with self._write() as conn:
                conn.execute(update(accounts).where(accounts.c.person == attempt.person).values(
                    failed_in_a_row=0, locked_until=None, last_login_at=attempt.at))
            return Verdict(Outcome.OK)
        return self._failed(attempt, max_failures, lockout, known_account=row is not None)

    def _failed(self, attempt: Attempt, max_failures: int, lockout: timedelta, *, known_account: bool) -> Verdict:
        entries = [attempt.entry("login", f"登录失败（{attempt.person or '未知姓名'}）/ login failed "
                                          f"({attempt.person or UNKNOWN})", outcome="failed")]
        until = None
        with self._write() as conn:
            if known_account:
                failures = conn.execute(update(accounts).where(accounts.c.person == attempt.person)
                                        .values(failed_in_a_row=accounts.c.failed_in_a_row + 1)
                                        .returning(accounts.c.failed_in_a_row)).scalar_one()
                if failures >= max_failures:
                    until = attempt.at + lockout
                    conn.execute(update(accounts).where(accounts.c.person == attempt.person)
                                 .values(failed_in_a_row=0, locked_until=until))
                    entries.append(attempt.entry("lockout", f"{attempt.person} 连续 {failures} 次登录失败，账户锁定至 "
                                                            f"{until:%Y-%m-%d %H:%MZ} / account locked after "
                                                            f"{failures} failed logins in a row",
                                                 locked_until=until.isoformat()))
            self._timeline.append_on(conn, entries)
        return Verdict(Outcome.LOCKED if until else Outcome.WRONG, until)

    def _record(self, conn: Connection, person: str, by: str, at: datetime, what: str) -> None:
        zh = {"password": "设置登录密码", "unlocked": "解除账户锁定"}[what]
        en = {"password": "password set", "unlocked": "account unlocked"}[what]
        self._timeline.append_on(conn, [NewEntry(
            occurred_at=at, actor=by, role="admin", kind="account", summary=f"为 {person} {zh} / {en} for {person}",
            details={"person": person, "what": what})])


class SessionTable(_Recorded):
    """Start, find and end the sessions of logins in the browser (parameters: :class:`_Recorded`)."""

    def start(self, attempt: Attempt, *, how: str, ttl: timedelta, ending: str | None = None) -> tuple[str, str]:
        """A new session for the (known) person of ``attempt``, lasting ``ttl``; returns its id and CSRF token.

        ``how`` is how they logged in (``password``, ``drill``); ``ending`` the id of the session the browser
        held before, ended now (a login always gets a new id). The login goes on the timeline.
        """
        if attempt.person is None:
            raise ValueError("a session is started for a known person only")
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._write() as conn:
            if ending is not None:
                self._end(conn, ending, attempt.at)
            conn.execute(insert(sessions).values(digest=_key(session_id), person=attempt.person, csrf=csrf,
                                                 address=attempt.address, created_at=attempt.at,
                                                 expires_at=attempt.at + ttl))
            self._timeline.append_on(conn, [attempt.entry("login", f"{attempt.person} 登录（{how}）/ logged in "
                                                                   f"({how})", outcome="ok", how=how)])
        return session_id, csrf

    def find(self, session_id: str, at: datetime) -> SessionRow | None:
        """The session of ``session_id`` while it holds at ``at`` (not expired, not ended); ``None`` otherwise."""
        columns = [sessions.c[name] for name in SessionRow.__dataclass_fields__]
        with self._engine.connect() as conn:
            row = conn.execute(select(*columns).where(sessions.c.digest == _key(session_id),
                                                      sessions.c.ended_at.is_(None),
                                                      sessions.c.expires_at > at)).first()
        return None if row is None else SessionRow(*row)

    def end(self, session_id: str, attempt: Attempt) -> bool:
        """End the session ``session_id`` (a logout by the person of ``attempt``); ``False`` when it was not in
        force. The logout goes on the timeline."""
        with self._write() as conn:
            ended = self._end(conn, session_id, attempt.at)
            if ended:
                self._timeline.append_on(conn, [attempt.entry("logout", f"{attempt.person} 退出登录 / logged out")])
        return ended

    @staticmethod
    def _end(conn: Connection, session_id: str, at: datetime) -> bool:
        return bool(conn.execute(update(sessions).where(sessions.c.digest == _key(session_id),
                                                        sessions.c.ended_at.is_(None)).values(ended_at=at)).rowcount)


class AttemptTable:
    """The login attempts of each client address in the last minute (the rate limit).

    Parameters
    ----------
    engine, write
        The store's engine and its write-transaction opener.
    """

    def __init__(self, engine: Engine, write: Write) -> None:
        self._engine = engine
        self._write = write

    def admit(self, address: str, at: datetime, *, rate: int, window: timedelta = timedelta(minutes=1)) -> timedelta:
        """Record an attempt from ``address`` at ``at`` unless it already made ``rate`` in the ``window`` before;
        returns how long until it may try again (zero: admitted and recorded). Older attempts are forgotten."""
        with self._write() as conn:
            conn.execute(delete(login_attempts).where(login_attempts.c.at <= at - window))
            recent = conn.execute(select(func.count(), func.min(login_attempts.c.at))
                                  .where(login_attempts.c.address == address)).one()
            if recent[0] >= rate:
                return recent[1] + window - at
            conn.execute(insert(login_attempts).values(address=address, at=at))
        return timedelta(0)


def digest(password: str, salt: bytes, kdf: str) -> bytes:
    """The scrypt digest of ``password`` with ``salt`` and the parameters ``kdf`` names (``scrypt:n:r:p:dklen``)."""
    _name, n, r, p, dklen = kdf.split(":")
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=int(dklen))


def _key(session_id: str) -> str:
    """What the store keeps of a session id: its SHA-256, hex."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()
