"""Photos people send with a task's feedback or a danger report (``store.attachments``).

An attachment is kept by the SHA-256 of its bytes (hex, its id), so the same photo sent twice is one
row. Only images are taken, known by their first bytes — JPEG, PNG or WebP — never by the media type
the phone claims, and none larger than the deployment's ``serve.max_photo_bytes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from warn.errors import Problem, UsageError
from warn.store.schema import attachments

#: Media type by the bytes an image starts with (WebP: ``RIFF`` + size + ``WEBP``).
_MAGIC = (("image/jpeg", 0, b"\xff\xd8\xff"), ("image/png", 0, b"\x89PNG\r\n\x1a\n"), ("image/webp", 8, b"WEBP"))


@dataclass(frozen=True)
class Attachment:
    """One kept photo: its id (SHA-256, hex), media type, bytes, when and from whom."""

    attachment_id: str
    content_type: str
    data: bytes
    received_at: datetime
    received_by: str


def image_type(data: bytes) -> str | None:
    """The media type of ``data`` by its first bytes (JPEG, PNG, WebP); ``None`` for anything else."""
    for media, offset, magic in _MAGIC:
        if data[offset:offset + len(magic)] == magic and (media != "image/webp" or data[:4] == b"RIFF"):
            return media
    return None


class AttachmentTable:
    """Keep and read photos (use ``store.attachments``).

    Parameters
    ----------
    engine, write
        The store's engine and its write-transaction opener.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def put(self, data: bytes, content_type: str, at: datetime, by: str, *, max_bytes: int) -> str:
        """Keep ``data`` (a photo sent by ``by`` at ``at``) and return its id.

        ``content_type`` is what the sender claimed; the type kept is the one the bytes show;
        ``max_bytes`` the largest photo taken (config ``serve.max_photo_bytes``).

        Raises
        ------
        UsageError
            Empty, larger than ``max_bytes``, or not a JPEG, PNG or WebP image.
        """
        if not data or len(data) > max_bytes:
            raise UsageError(Problem("photo", "", f"an image of 1 to {max_bytes} bytes", f"{len(data)} bytes"))
        media = image_type(data)
        if media is None:
            raise UsageError(Problem("photo", "", "a JPEG, PNG or WebP image",
                                     f"bytes of another kind (sent as {content_type[:40] or 'no type'})"))
        digest = hashlib.sha256(data).hexdigest()
        with self._write() as conn:
            if conn.execute(select(attachments.c.attachment_id)
                            .where(attachments.c.attachment_id == digest)).first() is None:
                conn.execute(insert(attachments).values(attachment_id=digest, content_type=media, size=len(data),
                                                        data=data, received_at=at, received_by=by))
        return digest

    def get(self, attachment_id: str) -> Attachment | None:
        """The photo ``attachment_id``; ``None`` when there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(select(attachments).where(attachments.c.attachment_id == attachment_id)).first()
        if row is None:
            return None
        return Attachment(row.attachment_id, row.content_type, bytes(row.data), row.received_at, row.received_by)
