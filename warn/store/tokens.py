"""Personal tokens: the secret a person sets in ``WARN_TOKEN`` so that commands act as them.

``store.tokens`` (:class:`TokenTable`). A token reads ``wt_<id>_<secret>``: ``<id>`` is its
public row key, ``<secret>`` 32 random bytes (URL-safe base64). The store keeps the id, a
random 16-byte salt and the scrypt digest of the secret (:data:`SCRYPT`: ~16 MiB and tens of
milliseconds per try, so a stolen table is slow to guess from) — never the token itself.
Issuing and revoking are timeline entries (kind ``roster``) naming the person and who did it,
in the same transaction; the token and its digest are never on the timeline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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


@dataclass(frozen=True)
class TokenRow:
    """One issued token, without its secret."""

    token_id: str
    person: str
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str | None


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

    def issue(self, person: str, *, by: str, at: datetime) -> str:
        """Issue a new token to ``person`` and return it (the only time it is seen).

        ``by`` is who issued it (an OS login); ``at`` the real time (aware UTC).
        """
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._write() as conn:
            conn.execute(insert(tokens).values(token_id=token_id, person=person, salt=salt,
                                               digest=_digest(secret, salt), issued_at=at, issued_by=by))
            self._record(conn, person, by, at, "issued", token_id)
        return f"{PREFIX}{token_id}_{secret}"

    def revoke(self, person: str, *, by: str, at: datetime) -> int:
        """Revoke every token of ``person`` still valid; return how many were."""
        with self._write() as conn:
            ids = conn.execute(select(tokens.c.token_id).where(tokens.c.person == person,
                                                               tokens.c.revoked_at.is_(None))).scalars().all()
            if ids:
                conn.execute(update(tokens).where(tokens.c.token_id.in_(ids)).values(revoked_at=at, revoked_by=by))
                self._record(conn, person, by, at, "revoked", ",".join(sorted(ids)))
        return len(ids)

    def rows(self) -> list[TokenRow]:
        """Every token issued, oldest first, without secrets."""
        columns = [tokens.c[name] for name in TokenRow.__dataclass_fields__]
        with self._engine.connect() as conn:
            return [TokenRow(*row) for row in conn.execute(select(*columns).order_by(tokens.c.issued_at))]

    def person(self, token: str) -> str | None:
        """The person ``token`` was issued to while it is not revoked; ``None`` for any other string."""
        parts = token.removeprefix(PREFIX).split("_", 1) if token.startswith(PREFIX) else []
        if len(parts) != 2:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(select(tokens.c.person, tokens.c.salt, tokens.c.digest)
                               .where(tokens.c.token_id == parts[0], tokens.c.revoked_at.is_(None))).first()
        if row is None or not hmac.compare_digest(_digest(parts[1], row.salt), row.digest):
            return None
        return str(row.person)

    def _record(self, conn: Connection, person: str, by: str, at: datetime, what: str, ids: str) -> None:
        zh = {"issued": "签发", "revoked": "吊销"}[what]
        self._timeline.append_on(conn, [NewEntry(
            occurred_at=at, actor=by, role="admin", kind="roster",
            summary=f"为 {person} {zh}个人令牌 / personal token {what} for {person}",
            details={"person": person, "token_ids": ids, "what": what})])


def _digest(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, **SCRYPT)
