"""Personal tokens: the secret a person sets in ``WARN_TOKEN`` so that commands act as them.

``store.tokens`` (:class:`TokenTable`). A token reads ``wt_<id>_<secret>``: ``<id>`` is its
public row key, ``<secret>`` 32 random bytes (URL-safe base64). The store keeps the id, a
random 16-byte salt and the scrypt digest of the secret (:data:`SCRYPT`: ~16 MiB and tens of
milliseconds per try, so a stolen table is slow to guess from) — never the token itself — and the
org units the token is narrowed to (its scope, ``town.DEMO-T03 …``; none: all its person may see).
Issuing and revoking are timeline entries (kind ``roster``) naming the person and who did it,
in the same transaction; the token and its digest are never on the timeline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from warn.store.records import NewEntry
from warn.store.schema import tokens
from warn.store.timeline import Timeline

#: scrypt cost: n=2**14, r=8, p=1 (16 MiB of memory per try), 32-byte digest.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
#: How every token starts.
PREFIX = "wt_"
#: Tokens a table remembers as checked (by SHA-256).
CHECKED = 1024


@dataclass(frozen=True)
class TokenRow:
    """One issued token, without its secret."""

    token_id: str
    person: str
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    scope: tuple[str, ...] = ()


@dataclass(frozen=True)
class Holder:
    """Whom a token answers for, and the org units it is narrowed to (empty: not narrowed)."""

    person: str
    scope: tuple[str, ...] = ()


class TokenTable:
    """Issue, revoke, list and check personal tokens.

    Parameters
    ----------
    engine, write
        The store's engine and its write-transaction opener.
    timeline
        The store's timeline, on which issuing and revoking are recorded.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 timeline: Timeline) -> None:
        self._engine = engine
        self._write = write
        self._timeline = timeline
        self._checked: dict[str, Holder] = {}
        self._checking = threading.Lock()

    def issue(self, person: str, *, by: str, at: datetime, scope: tuple[str, ...] = ()) -> str:
        """Issue a new token to ``person`` and return it (the only time it is seen).

        ``by`` is who issued it (an OS login); ``at`` the real time (aware UTC); ``scope`` the org units
        (``town.DEMO-T03``) it is narrowed to, none: not narrowed.
        """
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._write() as conn:
            conn.execute(insert(tokens).values(token_id=token_id, person=person, salt=salt, scope=" ".join(scope),
                                               digest=_digest(secret, salt), issued_at=at, issued_by=by))
            self._record(conn, person, by, at, "issued", token_id, scope)
        return f"{PREFIX}{token_id}_{secret}"

    def revoke(self, person: str, *, by: str, at: datetime) -> int:
        """Revoke every token of ``person`` still valid; return how many were."""
        with self._write() as conn:
            ids = conn.execute(select(tokens.c.token_id).where(tokens.c.person == person,
                                                               tokens.c.revoked_at.is_(None))).scalars().all()
            if ids:
                conn.execute(update(tokens).where(tokens.c.token_id.in_(ids)).values(revoked_at=at, revoked_by=by))
                self._record(conn, person, by, at, "revoked", ",".join(sorted(ids)), ())
        return len(ids)

    def rows(self) -> list[TokenRow]:
        """Every token issued, oldest first, without secrets."""
        columns = [tokens.c[name] for name in TokenRow.__dataclass_fields__]
        with self._engine.connect() as conn:
            return [TokenRow(*row[:-1], scope=tuple(row.scope.split()))
                    for row in conn.execute(select(*columns).order_by(tokens.c.issued_at))]

    def person(self, token: str) -> str | None:
        """The person ``token`` was issued to while it is not revoked; ``None`` for any other string."""
        found = self.holder(token)
        return None if found is None else found.person

    def holder(self, token: str) -> Holder | None:
        """Whom ``token`` answers for and its scope while it is not revoked; ``None`` for any other string.

        A token checked once is known by its SHA-256 for the life of this table (up to :data:`CHECKED` of
        them), so that the API's callers do not pay scrypt on every request; revocation still holds at once.
        """
        parts = token.removeprefix(PREFIX).split("_", 1) if token.startswith(PREFIX) else []
        if len(parts) != 2:
            return None
        seen = hashlib.sha256(token.encode("utf-8")).hexdigest()
        with self._engine.connect() as conn:
            row = conn.execute(select(tokens.c.person, tokens.c.salt, tokens.c.digest, tokens.c.scope)
                               .where(tokens.c.token_id == parts[0], tokens.c.revoked_at.is_(None))).first()
        if row is None:
            with self._checking:
                self._checked.pop(seen, None)
            return None
        with self._checking:
            known = self._checked.get(seen)
        if known is not None:
            return known
        if not hmac.compare_digest(_digest(parts[1], row.salt), row.digest):
            return None
        found = Holder(str(row.person), tuple(row.scope.split()))
        with self._checking:
            while len(self._checked) >= CHECKED:
                self._checked.pop(next(iter(self._checked)))
            self._checked[seen] = found
        return found

    def _record(self, conn: Connection, person: str, by: str, at: datetime, what: str, ids: str,
                scope: tuple[str, ...]) -> None:
        zh = {"issued": "签发", "revoked": "吊销"}[what]
        units = " ".join(scope)
        zh_scope, en_scope = (f"（限 {units}）", f" (scope {units})") if scope else ("", "")
        self._timeline.append_on(conn, [NewEntry(
            occurred_at=at, actor=by, role="admin", kind="roster",
            summary=f"为 {person} {zh}个人令牌{zh_scope} / personal token {what} for {person}{en_scope}",
            details={"person": person, "token_ids": ids, "what": what} | ({"scope": list(scope)} if scope else {}))])


def _digest(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, **SCRYPT)
