"""What the web tests share: the service's time and secret, the demo's people and ids, a served store."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette

from tests.conftest import ROOT
from tests.helpers import demo_deployment
from warn.command.directory import ContactKind
from warn.config import Settings
from warn.links import LinkClaims, Purpose, new_link_id, token_of
from warn.store import Store
from warn.web import create_app
from warn.web.server import Background

#: The service's time.
NOW = datetime(2026, 7, 15, 5, 5, tzinfo=UTC)
SECRET = "s" * 32
#: The environment of the service: the links' secret and the person channels' callback secrets (config.yaml).
ENV = {"WARN_LINK_SECRET": SECRET, "WARN_SMS_CALLBACK_SECRET": "sms-callback-secret",
       "WARN_VOICE_CALLBACK_SECRET": "voice-callback-secret", "WARN_WECOM_CORP_ID": "ww-demo-corp",
       "WARN_WECOM_CORP_SECRET": "corp-secret", "WARN_WECOM_CALLBACK_TOKEN": "wecom-token",
       "WARN_WECOM_AES_KEY": base64.b64encode(bytes(range(32))).decode().rstrip("=")}
#: What the tests' requests wrote (the replayed store holds what the drill's people did before).
SINCE = "occurred_at >= '2026-07-15 05:05'"
#: The town leader of DEMO-T04, the call to them, and their task.
LEADER04 = "演示镇街负责人04"
CALL04 = "INC-storm-20260715T0200Z/landslide_town@1:landslide:DEMO-T04:20260715T0500Z/call_town_leader/a0"
TASK04 = "INC-storm-20260715T0200Z/landslide_town@1:landslide:DEMO-T04:20260715T0500Z/team_ready/a0"
#: The town leader's contact points, as the people directory has them (synthetic).
MOBILE04, WECOM04 = "13900000004", "demo-leader-04"


def person_of(kind: ContactKind, address: str) -> str | None:
    """Who is behind a contact point, as ``Directory.person_by`` answers (the one person the tests know)."""
    return LEADER04 if (kind, address) in {(ContactKind.MOBILE, MOBILE04), (ContactKind.WECOM, WECOM04)} else None


#: Tables a request through the service may write.
TABLES = ("timeline", "tasks", "ack_requests", "inbox", "links", "attachments", "danger_reports", "outbox",
          "accounts", "sessions", "tokens")
#: The smallest JPEG header the store recognises, with some bytes after it.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(200) + b"\xff\xd9"



@dataclass
class Served:
    """The running service, its store file and a client."""

    url: str
    db: Path
    store: Store
    client: httpx.Client
    app: Starlette | None = None

    def link(self, purpose: Purpose, subject: str, person: str, *, expires: datetime = NOW + timedelta(hours=1)) -> str:
        """A token minted and recorded as the reach step does."""
        claims = LinkClaims(new_link_id(), purpose, subject, person, expires)
        self.store.links.issue(claims, NOW)
        return token_of(SECRET.encode(), claims)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql, params).fetchall()

    def snapshot(self) -> dict[str, object]:
        """Row counts of every table the service may write, the timeline's head and the links' use."""
        counts: dict[str, object] = {t: self.query(f"select count(*) from {t}")[0][0] for t in TABLES}
        return counts | {"head": self.query("select hash from timeline order by seq desc limit 1"),
                         "used": self.query("select link_id, used_at from links order by 1"),
                         "tasks_state": self.query("select task_id, status from tasks order by 1")}


@contextmanager
def running(db: Path, *, settings: Settings | None = None, clock: Callable[[], datetime] = lambda: NOW
            ) -> Iterator[Served]:
    """The web service of the store ``db`` (migrated here) on a real uvicorn server on 127.0.0.1: the demo's
    deployment (or ``settings``), the tests' environment :data:`ENV`, on ``clock`` (default :data:`NOW`)."""
    settings, setup, store = demo_deployment(db, clock, settings)
    app = create_app(settings, store, setup, clock=clock, env=ENV, config=ROOT / "config.yaml", people=person_of)
    server = Background(app, "127.0.0.1", 0).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield Served(server.url, db, store, client, app)
    finally:
        server.stop()
        store.close()
