"""Item levels kept as one set per cycle, hazard, item kind and lead (issue 20, the cycle flat in service age).

A city cycle (14,000 items × 3 leads) wrote 42,000 ``item_levels`` rows, and the write grew with the
store's age: the index ``(hazard, item_kind, item_id, lead, cycle_at)`` took an entry at each item's
place every cycle, and once it outgrew the page cache every cycle dirtied a page per item (SQLite:
0.70 s on day 1, 1.95 s on day 7). Now (:mod:`warn.store.levelsets`):

- ``level_item_lists``: each distinct list of item ids once (JSON text), by digest;
- ``level_sets``: per cycle time, hazard, item kind and lead, the list's id, the levels (int8) and
  scores (float64, NaN: none) as little-endian arrays in the list's order, the drivers and the
  probabilities as JSON arrays (the probabilities NULL when no item has any);
- ``item_levels`` is dropped.

Every row is moved, and back on downgrade, in one transaction. The sets are written and read here in the
form this revision gives them (frozen: the module's codec may change after it).

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from itertools import groupby
from math import isnan, nan

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_ROW = ("cycle_at", "hazard", "item_kind", "item_id", "lead", "level", "score", "drivers", "probability")
_SET = ("cycle_at", "hazard", "item_kind", "lead")


def upgrade() -> None:
    """Make the two tables, move every row of ``item_levels`` into its set, drop ``item_levels``."""
    lists = op.create_table(
        "level_item_lists",
        sa.Column("list_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("item_ids", sa.Text, nullable=False),
        sa.UniqueConstraint("digest", name="uq_level_item_lists_digest"),
    )
    sets = op.create_table(
        "level_sets",
        sa.Column("cycle_at", UTCDateTime, nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("lead", sa.String(8), nullable=False),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("level_item_lists.list_id"), nullable=False),
        sa.Column("levels", sa.LargeBinary, nullable=False),
        sa.Column("scores", sa.LargeBinary, nullable=False),
        sa.Column("drivers", sa.Text, nullable=False),
        sa.Column("probability", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint(*_SET, name="pk_level_sets"),
    )
    op.create_index("ix_level_sets_group", "level_sets", ["hazard", "item_kind", "lead", "cycle_at", "list_id"])
    conn = op.get_bind()
    old = _item_levels(sa.MetaData())
    ids: dict[str, int] = {}
    rows = conn.execute(sa.select(old).order_by(old.c.cycle_at, old.c.hazard, old.c.item_kind, old.c.lead,
                                                old.c.item_id))
    for (cycle_at, hazard, kind, lead), group in groupby(rows, key=lambda r: (r.cycle_at, r.hazard, r.item_kind,
                                                                            r.lead)):
        items = list(group)
        text = json.dumps([r.item_id for r in items], ensure_ascii=False)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        if digest not in ids:
            ids[digest] = conn.execute(sa.insert(lists).values(digest=digest, item_ids=text)).inserted_primary_key[0]
        probability = [None if r.probability is None else json.loads(r.probability) for r in items]
        conn.execute(sa.insert(sets).values(
            cycle_at=cycle_at, hazard=hazard, item_kind=kind, lead=lead, list_id=ids[digest],
            levels=_packed("b", [r.level for r in items]),
            scores=_packed("d", [nan if r.score is None else r.score for r in items]),
            drivers=json.dumps([json.loads(r.drivers) for r in items], ensure_ascii=False),
            probability=None if all(p is None for p in probability) else json.dumps(probability)))
    op.drop_index("ix_item_levels_item", table_name="item_levels")
    op.drop_table("item_levels")


def downgrade() -> None:
    """Make ``item_levels`` again, move every set's items back into rows, drop the two tables."""
    metadata = sa.MetaData()
    rows = _item_levels(metadata)
    rows.create(op.get_bind())
    op.create_index("ix_item_levels_item", "item_levels", ["hazard", "item_kind", "item_id", "lead", "cycle_at"])
    conn = op.get_bind()
    lists = {list_id: json.loads(text) for list_id, text in conn.execute(sa.text(
        "SELECT list_id, item_ids FROM level_item_lists"))}
    sets = sa.table("level_sets", sa.column("cycle_at", UTCDateTime), *map(sa.column, _SET[1:]),
                    *map(sa.column, ("list_id", "levels", "scores", "drivers", "probability")))
    stored = conn.execute(sa.select(sets).order_by(*(sets.c[c] for c in _SET))).mappings()
    for row in stored:
        level, score = _unpacked("b", row["levels"]), _unpacked("d", row["scores"])
        drivers = json.loads(row["drivers"])
        probability = json.loads(row["probability"]) if row["probability"] is not None else None
        conn.execute(sa.insert(rows), [
            {"cycle_at": row["cycle_at"], "hazard": row["hazard"], "item_kind": row["item_kind"], "item_id": item_id,
             "lead": row["lead"], "level": level[i], "score": None if isnan(score[i]) else score[i],
             "drivers": json.dumps(list(drivers[i]), ensure_ascii=False),
             "probability": None if probability is None or probability[i] is None else json.dumps(probability[i])}
            for i, item_id in enumerate(lists[row["list_id"]])])
    op.drop_index("ix_level_sets_group", table_name="level_sets")
    op.drop_table("level_sets")
    op.drop_table("level_item_lists")


def _packed(code: str, values: list[float]) -> bytes:
    """``values`` as a little-endian array of ``code`` (``b``: int8, ``d``: float64), as this revision stores them."""
    packed = array(code, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpacked(code: str, blob: bytes) -> array:
    """The inverse of :func:`_packed`."""
    packed = array(code)
    packed.frombytes(bytes(blob))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed


def _item_levels(metadata: sa.MetaData) -> sa.Table:
    """``item_levels`` as migrations 0008 and 0017 left it."""
    return sa.Table(
        "item_levels", metadata,
        sa.Column("cycle_at", UTCDateTime, nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("lead", sa.String(8), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.Double, nullable=True),
        sa.Column("drivers", sa.Text, nullable=False, server_default="[]"),
        sa.Column("probability", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("cycle_at", "hazard", "item_kind", "item_id", "lead", name="pk_item_levels"),
    )
