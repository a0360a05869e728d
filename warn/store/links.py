"""Signed one-tap links as issued and used (``store.links``).

The claims of every link sent to a person (:class:`warn.links.LinkClaims`) are kept here by link id,
with when it was issued and when and through what it was used. A token is checked against these
claims (:func:`warn.links.check`); single use is :meth:`LinkTable.use`, one ``UPDATE … WHERE used_at IS
NULL``, so of two answers through the same link at the same instant exactly one is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from warn.links import LinkClaims, Purpose
from warn.store.schema import links


@dataclass(frozen=True)
class LinkRow:
    """One issued link: its claims, when it was issued, and when and how it was used (``None``: not yet)."""

    claims: LinkClaims
    issued_at: datetime
    used_at: datetime | None
    used_via: str | None


class LinkTable:
    """Issue, read and use one-tap links (use ``store.links``).

    Parameters
    ----------
    engine, write
        The store's engine and its write-transaction opener.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def issue(self, claims: LinkClaims, issued_at: datetime) -> None:
        """Keep the claims of a new link (its id must be new)."""
        with self._write() as conn:
            conn.execute(insert(links).values(link_id=claims.link_id, purpose=str(claims.purpose),
                                               subject=claims.subject, person=claims.person, issued_at=issued_at,
                                               expires_at=claims.expires))

    def row(self, link_id: str) -> LinkRow | None:
        """The link ``link_id`` as issued and used; ``None`` when there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(select(links).where(links.c.link_id == link_id)).first()
        if row is None:
            return None
        claims = LinkClaims(row.link_id, Purpose(row.purpose), row.subject, row.person, row.expires_at)
        return LinkRow(claims, row.issued_at, row.used_at, row.used_via)

    def claims(self, link_id: str) -> LinkClaims | None:
        """The claims of link ``link_id``; ``None`` when there is none."""
        found = self.row(link_id)
        return found.claims if found is not None else None

    def use(self, link_id: str, at: datetime, via: str) -> bool:
        """Mark link ``link_id`` used at ``at`` through ``via`` (a channel); ``False`` when it was used already
        (or does not exist): nothing is written then."""
        with self._write() as conn:
            done = conn.execute(update(links).where(links.c.link_id == link_id, links.c.used_at.is_(None))
                                .values(used_at=at, used_via=via))
            return done.rowcount == 1
