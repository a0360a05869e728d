"""Signed one-tap links: the short token in every message to a person, bound to what it answers and whom.

A link is ``{public_url}/a/{token}``. The token reads ``{link_id}.{mac}``: ``link_id`` is the key of the
link's row in the store (``store.links``), which holds its claims — the purpose, the subject (the request
or task it answers), the person it was sent to and when it expires; ``mac`` is the first
:data:`MAC_BYTES` bytes of HMAC-SHA256 over the id and those claims with the deployment's link secret,
URL-safe base64 without padding. A token whose row is missing, whose claims were changed, or that was
made with another secret fails :func:`check`; so does an expired one. Single use is the store's: the
first answer through a link marks its row used, in the transaction that records the answer.

Pure functions (no store, no clock): the cycle mints, the web service checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: Bytes of the MAC kept in a token (128 bits).
MAC_BYTES = 16
#: Random bytes of a link id (96 bits).
ID_BYTES = 12


class Purpose(StrEnum):
    """What a link lets its person do."""

    ANSWER = "answer"  # answer a 叫应 call, an approval or a task hand-off (收到 / 已到岗 / 需要支援)
    TASK = "task"  # see a task and mark it done with a note, a photo and the phone's location
    TASKS = "tasks"  # see my tasks
    REPORT = "report"  # report a new danger (险情上报)

    @property
    def zh(self) -> str:
        """Chinese name."""
        return {"answer": "应答", "task": "任务反馈", "tasks": "我的任务", "report": "险情上报"}[self.value]


@dataclass(frozen=True)
class LinkClaims:
    """What a link is bound to.

    Attributes
    ----------
    link_id
        Its key (random, URL-safe).
    purpose
        What it lets its person do.
    subject
        The request or task it answers; empty for ``tasks`` and ``report``.
    person
        The person it was sent to (their directory name).
    expires
        When it stops working (UTC-aware).
    """

    link_id: str
    purpose: Purpose
    subject: str
    person: str
    expires: datetime


class LinkRefused(Exception):  # noqa: N818 - a refusal, not a failure of the code
    """A token that does not hold; ``reason`` says why, in zh-CN then English, for the person's screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_link_id() -> str:
    """A fresh random link id."""
    return _b64(secrets.token_bytes(ID_BYTES))


def token_of(secret: bytes, claims: LinkClaims) -> str:
    """The token of ``claims`` under ``secret``."""
    return f"{claims.link_id}.{_mac(secret, claims)}"


def link_id_of(token: str) -> str:
    """The link id a token names (its row in the store); :class:`LinkRefused` when it is not a token."""
    link_id, dot, mac = token.partition(".")
    if not dot or not link_id or not mac or len(token) > 64:
        raise LinkRefused("链接无效 / not a valid link")
    return link_id


def check(secret: bytes, token: str, claims: LinkClaims | None, now: datetime) -> LinkClaims:
    """Return ``claims`` when ``token`` was minted for them under ``secret`` and has not expired.

    Parameters
    ----------
    secret
        The deployment's link secret.
    token
        The token from the URL.
    claims
        The stored claims of the token's link id; ``None`` when the store has none.
    now
        The time of the check (UTC-aware).

    Raises
    ------
    LinkRefused
        Unknown, forged or altered, or expired.
    """
    link_id = link_id_of(token)
    if claims is None or claims.link_id != link_id:
        raise LinkRefused("链接无效 / unknown link")
    if not hmac.compare_digest(token, token_of(secret, claims)):
        raise LinkRefused("链接签名不符 / the link's signature does not match")
    if now >= claims.expires:
        raise LinkRefused(f"链接已过期（{claims.expires.isoformat()}）/ the link expired")
    return claims


def _mac(secret: bytes, claims: LinkClaims) -> str:
    message = "\x1f".join((claims.link_id, str(claims.purpose), claims.subject, claims.person,
                           claims.expires.isoformat()))
    return _b64(hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest()[:MAC_BYTES])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
