"""The timeline: append-only, hash-chained record of every change of state.

时间线只追加、不修改：每条记录带序号、发生与记录时间、操作者、角色、单位、类型、摘要、
明细与引用，并以 SHA-256 与前一条串联；更正是引用原记录的新记录。
The timeline is only ever appended to. Entry ``seq`` gets ``prev_hash`` = the hash of
entry ``seq − 1`` (:data:`GENESIS` for seq 1) and ``hash`` = :func:`entry_hash` of its
content, so editing, deleting, reordering or inserting a row breaks the chain at that
row and :meth:`Timeline.verify` names it. A correction is a new entry of kind
:data:`CORRECTION` whose ``refs`` hold the corrected ``seq``; nothing here updates or
deletes a row. What the chain alone cannot show — entries removed from its end, or the whole
chain rewritten and re-hashed — the signed anchors kept by witnesses show
(:mod:`warn.store.anchors`); the rows of other tables a report presents are bound to the chain
through the entries of the transactions that changed them (:mod:`warn.store.digests`).

Canonical form (what :func:`entry_hash` hashes): the JSON object

``{"actor", "details", "incident", "key", "kind", "occurred_at", "org_unit", "prev_hash",
"recorded_at", "refs", "role", "seq", "summary"}``

with sorted keys, separators ``,`` and ``:`` and no ASCII escaping, encoded UTF-8;
times as UTC ISO 8601 with microseconds (``2026-07-15T00:00:00.000000+00:00``),
``incident`` and ``key`` ``null`` when none, text exactly as stored, and ``details``
and ``refs`` as the exact JSON *text* stored in their columns (written by
:func:`canonical_json`). ``key`` is the idempotency key of the cause: an entry whose
key is already recorded is not appended twice.

Concurrency: an append reads the last entry and writes after it in one transaction
that holds the table's write lock — ``BEGIN IMMEDIATE`` on SQLite, ``LOCK TABLE …
IN SHARE ROW EXCLUSIVE MODE`` on PostgreSQL — so concurrent appenders queue and the
chain never forks (``seq`` being the primary key, a fork could not commit anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    String,
    func,
    insert,
    select,
    text,
    type_coerce,
)

from warn.errors import Problem, StoreError
from warn.store.engine import redact
from warn.store.records import NewEntry, TimelineEntry, VerifyResult
from warn.store.schema import decode_time, timeline

#: ``prev_hash`` of entry 1.
GENESIS = "0" * 64
#: Kind of the entry :meth:`Timeline.correct` appends.
CORRECTION = "correction"
#: The key, in an entry's details, of the rows its transaction changed (:mod:`warn.store.digests`).
ROWS = "rows"
#: Kind of the entry that records changed rows when no other entry of their transaction is new.
ROWS_KIND = "record"
#: Rows fetched at a time while verifying.
VERIFY_BATCH = 2000


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys, no spaces, no ASCII escaping; NaN and infinities refused (ValueError)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_time(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds: ``2026-07-15T00:00:00.000000+00:00``."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(*, seq: int, occurred_at: datetime, recorded_at: datetime, incident: str | None, actor: str,
               role: str, org_unit: str, kind: str, summary: str, details: str, refs: str, key: str | None,
               prev_hash: str) -> str:
    """SHA-256 (hex) of an entry's canonical form (module docstring).

    Parameters
    ----------
    details, refs
        The stored JSON text of the details and refs columns, hashed as text.
    """
    content = {"seq": seq, "occurred_at": canonical_time(occurred_at), "recorded_at": canonical_time(recorded_at),
               "incident": incident, "actor": actor, "role": role, "org_unit": org_unit, "kind": kind,
               "summary": summary, "details": details, "refs": refs, "key": key, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


class Timeline:
    """The store's timeline (``store.timeline``): append, read, verify, correct.

    Parameters
    ----------
    engine
        The store's engine.
    write
        Opens a connection in a write transaction (``Store._write``).
    now
        The store's clock, stamping ``recorded_at``.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._write = write
        self._now = now
        self._where = redact(engine.url)

    def append(self, entries: Iterable[NewEntry]) -> list[TimelineEntry]:
        """Append entries, in order, in one transaction.

        Each gets ``seq`` = the previous one's + 1, ``recorded_at`` from the store's
        clock (one reading for the batch), ``prev_hash`` and ``hash``. An entry whose
        ``key`` is already recorded (a replay, or a retry after a crash) is not appended
        again: the recorded one is returned in its place.

        Returns
        -------
        list of TimelineEntry
            The entries as recorded, in the order given.

        Raises
        ------
        StoreError
            An entry lacks actor, role, kind or summary, its details are not
            JSON-serialisable, or a ref is not the seq of an earlier entry; nothing is written.
        ValueError
            ``occurred_at`` (or the clock) is naive.
        """
        drafts = list(entries)
        if not drafts:
            return []
        with self._write() as conn:
            return self._append(conn, drafts)

    def append_on(self, conn: Connection, entries: list[NewEntry],
                  rows: Mapping[str, Any] | None = None) -> list[TimelineEntry]:
        """:meth:`append` within the caller's write transaction on ``conn`` (it commits both or neither).

        ``rows`` (:mod:`warn.store.digests`: ref → fields of the rows the transaction changed) go into the
        details of the last entry appended (under :data:`ROWS`), or of an entry of kind :data:`ROWS_KIND`
        appended for them when every entry given is already recorded.
        """
        return self._append(conn, entries, rows) if entries or rows else []

    def correct(self, seq: int, *, actor: str, role: str, summary: str, org_unit: str = "",
                details: dict[str, Any] | None = None, occurred_at: datetime | None = None) -> TimelineEntry:
        """更正 / append a correction of entry ``seq``: kind :data:`CORRECTION`, ``refs`` ``(seq,)``.

        The corrected entry stays as it was. The correction belongs to its incident.

        Parameters
        ----------
        seq
            The entry corrected.
        actor, role, org_unit
            Who corrects it.
        summary
            What was wrong and what is right, zh-CN first, then English.
        details
            Machine-readable particulars (e.g. the corrected field and value).
        occurred_at
            When the correction was made (default: the store's clock).

        Raises
        ------
        StoreError
            There is no entry ``seq``.
        """
        with self._write() as conn:
            incident = conn.execute(select(timeline.c.incident_id).where(timeline.c.seq == seq)).one_or_none()
            if incident is None:
                raise StoreError(Problem(redact(self._engine.url), "timeline.seq", "the seq of a recorded entry",
                                         str(seq), "只能更正已有记录 / only a recorded entry can be corrected"))
            draft = NewEntry(occurred_at=occurred_at or self._now(), actor=actor, role=role, kind=CORRECTION,
                             summary=summary, org_unit=org_unit, incident=incident[0], details=details or {},
                             refs=(seq,))
            return self._append(conn, [draft])[0]

    def entries(self, incident: str | None = None, since: datetime | None = None, *, until: datetime | None = None,
                kinds: Collection[str] | None = None) -> list[TimelineEntry]:
        """Entries in seq order: all, or one incident's, or those that occurred at or after ``since`` (and
        at or before ``until``), or those of ``kinds``."""
        query = select(timeline).order_by(timeline.c.seq)
        if incident is not None:
            query = query.where(timeline.c.incident_id == incident)
        if since is not None:
            query = query.where(timeline.c.occurred_at >= since)
        if until is not None:
            query = query.where(timeline.c.occurred_at <= until)
        if kinds is not None:
            query = query.where(timeline.c.kind.in_(list(kinds)))
        with self._engine.connect() as conn:
            return [_entry(row) for row in conn.execute(query)]

    def last_seq(self) -> int:
        """The seq of the last entry (0 when there is none)."""
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(timeline.c.seq), 0))).scalar_one())

    def hashes(self, seqs: Collection[int]) -> dict[int, str]:
        """Seq → stored hash of those of ``seqs`` the timeline holds."""
        wanted = sorted(set(seqs))
        out: dict[int, str] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), VERIFY_BATCH):
                chunk = wanted[start:start + VERIFY_BATCH]
                out |= {row.seq: row.hash for row in conn.execute(
                    select(timeline.c.seq, timeline.c.hash).where(timeline.c.seq.in_(chunk)))}
        return out

    def verify(self) -> VerifyResult:
        """校验哈希链 / recompute the chain from seq 1 and name the first entry that does not match.

        An entry matches when its seq is the previous one's + 1 (the first: 1), its
        hash is :func:`entry_hash` of its stored content, and its ``prev_hash`` is the
        previous entry's hash. An edited field fails the first test of its own row; a
        deleted row, the seq test of the row after it; swapped seqs or a row inserted
        with a made-up hash, the hash test; a row re-hashed after an edit, the link
        test of the row after it. Removing entries from the end leaves a valid, shorter
        chain: compare ``count`` and ``head_hash`` with a copy kept elsewhere (the anchors of
        :mod:`warn.store.anchors`).
        """
        columns = [c if c.name not in ("occurred_at", "recorded_at") else type_coerce(c, String).label(c.name)
                   for c in timeline.c]
        query = select(*columns).order_by(timeline.c.seq).execution_options(yield_per=VERIFY_BATCH)
        count, prev = 0, GENESIS
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                reason = _fault(row, count + 1, prev)
                if reason:
                    return VerifyResult(ok=False, count=count, head_hash=prev, first_bad_seq=row.seq,
                                        first_bad_kind=row.kind, reason=reason)
                count, prev = count + 1, row.hash
        return VerifyResult(ok=True, count=count, head_hash=prev)

    def _append(self, conn: Connection, drafts: list[NewEntry],
                rows: Mapping[str, Any] | None = None) -> list[TimelineEntry]:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"LOCK TABLE {timeline.name} IN SHARE ROW EXCLUSIVE MODE"))
        last = conn.execute(select(timeline.c.seq, timeline.c.hash).order_by(timeline.c.seq.desc()).limit(1)).first()
        seq, prev = (last.seq, last.hash) if last is not None else (0, GENESIS)
        recorded_at = _aware(self._now(), "recorded_at (the store's clock)")
        keys = [d.key for d in drafts if d.key is not None]
        held = {row.idempotency_key: _entry(row) for row in conn.execute(
            select(timeline).where(timeline.c.idempotency_key.in_(keys)))} if keys else {}
        if rows:
            drafts = _carrying(drafts, held, dict(rows), recorded_at)
        rows: list[dict[str, Any]] = []
        recorded: list[TimelineEntry] = []
        for index, draft in enumerate(drafts):
            if draft.key is not None and draft.key in held:
                recorded.append(held[draft.key])
                continue
            seq += 1
            details, refs = self._checked(draft, index, seq)
            occurred_at = _aware(draft.occurred_at, f"timeline[{index}].occurred_at")
            digest = entry_hash(seq=seq, occurred_at=occurred_at, recorded_at=recorded_at, incident=draft.incident,
                                actor=draft.actor, role=draft.role, org_unit=draft.org_unit, kind=draft.kind,
                                summary=draft.summary, details=details, refs=refs, key=draft.key, prev_hash=prev)
            rows.append({"seq": seq, "occurred_at": occurred_at, "recorded_at": recorded_at,
                         "incident_id": draft.incident, "actor": draft.actor, "role": draft.role,
                         "org_unit": draft.org_unit, "kind": draft.kind, "summary": draft.summary,
                         "details": details, "refs": refs, "idempotency_key": draft.key, "prev_hash": prev,
                         "hash": digest})
            entry = TimelineEntry(seq=seq, occurred_at=occurred_at, recorded_at=recorded_at, incident=draft.incident,
                                  actor=draft.actor, role=draft.role, org_unit=draft.org_unit, kind=draft.kind,
                                  summary=draft.summary, details=json.loads(details), refs=tuple(json.loads(refs)),
                                  key=draft.key, prev_hash=prev, hash=digest)
            recorded.append(entry)
            if draft.key is not None:
                held[draft.key] = entry  # a key repeated within the batch is appended once
            prev = digest
        if rows:
            conn.execute(insert(timeline), rows)
        return recorded

    def _checked(self, draft: NewEntry, index: int, seq: int) -> tuple[str, str]:
        """The entry's details and refs as canonical JSON text, after checking what it must carry."""
        where = self._where
        problems = [Problem(where, f"timeline[{index}].{name}", "a non-empty text", repr(getattr(draft, name)),
                            "每次状态变化须写明谁、以何角色、何事 / every change names who, in what role, and what")
                    for name in ("actor", "role", "kind", "summary") if not getattr(draft, name)]
        bad_refs = [ref for ref in draft.refs if not (isinstance(ref, int) and 1 <= ref < seq)]
        if bad_refs:
            problems.append(Problem(where, f"timeline[{index}].refs", f"seqs of earlier entries (1 … {seq - 1})",
                                    ", ".join(map(repr, bad_refs))))
        try:
            details = canonical_json(dict(draft.details))
        except (TypeError, ValueError) as err:
            problems.append(Problem(where, f"timeline[{index}].details",
                                    "JSON-serialisable values (text, numbers, lists, mappings; no NaN)", str(err)))
            details = ""
        if problems:
            raise StoreError(*problems, Problem(where, "timeline", "a valid batch", "",
                                               "本批未写入 / nothing of the batch was written"))
        return details, canonical_json(list(draft.refs))


def _carrying(drafts: list[NewEntry], held: Mapping[str, TimelineEntry], rows: dict[str, Any],
              now: datetime) -> list[NewEntry]:
    """``drafts`` with ``rows`` in the details of the last one that will be appended (not a recorded key,
    nor a key repeated earlier in the batch), or with an entry of kind :data:`ROWS_KIND` added for them."""
    seen = set(held)
    fresh = []
    for index, draft in enumerate(drafts):
        if draft.key is None or draft.key not in seen:
            fresh.append(index)
            if draft.key is not None:
                seen.add(draft.key)
    if not fresh:
        return [*drafts, NewEntry(occurred_at=now, actor="warn", role="system", kind=ROWS_KIND,
                                  summary="行记录入链 / rows recorded on the timeline", details={ROWS: rows})]
    last = fresh[-1]
    return [*drafts[:last], replace(drafts[last], details={**drafts[last].details, ROWS: rows}), *drafts[last + 1:]]


def _fault(row: Row, seq: int, prev: str) -> str:
    """Why a stored row is not entry ``seq`` following hash ``prev``; empty when it is."""
    if row.seq != seq:
        missing = f"{seq}" if row.seq == seq + 1 else f"{seq}–{row.seq - 1}"
        return (f"缺少第 {missing} 条（被删除）/ entries {missing} missing before it (deleted): "
                f"expected seq {seq}, found {row.seq}")
    try:
        occurred_at, recorded_at = decode_time(row.occurred_at), decode_time(row.recorded_at)
    except ValueError as err:
        return f"时间无法读取（被修改）/ unreadable time (edited): {err}"
    digest = entry_hash(seq=row.seq, occurred_at=occurred_at, recorded_at=recorded_at, incident=row.incident_id,
                        actor=row.actor, role=row.role, org_unit=row.org_unit, kind=row.kind, summary=row.summary,
                        details=row.details, refs=row.refs, key=row.idempotency_key, prev_hash=row.prev_hash)
    if digest != row.hash:
        return ("内容与哈希不符（被修改、伪造或换位）/ content does not match its hash (edited, forged or moved): "
                f"stored {row.hash[:12]}…, computed {digest[:12]}…")
    if row.prev_hash != prev:
        return (f"prev_hash 与第 {seq - 1} 条的哈希不符（之前的记录被替换或重写）/ prev_hash does not match the "
                f"hash of entry {seq - 1} (an entry before it was replaced or rewritten): "
                f"stored {row.prev_hash[:12]}…, expected {prev[:12]}…")
    return ""


def _entry(row: Row) -> TimelineEntry:
    return TimelineEntry(seq=row.seq, occurred_at=row.occurred_at, recorded_at=row.recorded_at,
                         incident=row.incident_id, actor=row.actor, role=row.role, org_unit=row.org_unit,
                         kind=row.kind, summary=row.summary, details=json.loads(row.details),
                         refs=tuple(json.loads(row.refs)), key=row.idempotency_key, prev_hash=row.prev_hash,
                         hash=row.hash)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)
