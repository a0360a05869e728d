"""The hourly rain a model keeps as its history in its own table, one row per hour.

Until now the landslide model kept, inside its ``model_states`` blob (one per grid), the
tank storages *and* up to 30 days of hourly rain of every cell (``hours_end``,
``hours_mm``), and wrote the blob whole every cycle. ``hourly_rain`` holds that history one
row per (model, key, hour end) (:mod:`warn.store.hourly`), so a cycle appends the hours its
run adds.

Every hour kept in a landslide blob is carried into the table, stamped with the issue time
of the run that saved the blob (the hour before the first time it holds tanks for: its
issue time or one hour earlier, so that any run from that one on replaces the hours it
forecast), and the two arrays are dropped from the blob, which keeps its tanks: an
upgraded deployment continues its soil water without a cold start. Downgrade puts the hours
back into the blobs.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from alembic import op

from warn.store.hourly import decode_hour, encode_hour
from warn.store.schema import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: The model whose blobs held hourly rain.
MODEL = "landslide"
#: The arrays of the blob that move into the table.
MOVED = ("hours_end", "hours_mm")
#: Hours inserted per statement.
_BATCH = 24


def upgrade() -> None:
    """Create ``hourly_rain`` and move the landslide blobs' hours into it."""
    op.create_table(
        "hourly_rain",
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("shape", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("model", "key", "hour_end", name="pk_hourly_rain"),
    )
    conn = op.get_bind()
    states, rain = _tables()
    for row in conn.execute(sa.select(states).where(states.c.model == MODEL)).all():
        arrays = _unpack(row.arrays)
        if not all(name in arrays for name in MOVED):
            continue
        ends, mm = arrays.pop("hours_end"), arrays.pop("hours_mm")
        issued = _aware(arrays["valid"].min() - np.timedelta64(1, "h")) if arrays["valid"].size else row.valid_at
        for start in range(0, len(ends), _BATCH):  # a city grid's month of hours is ~0.6 GB raw
            rows = []
            for end, hour in zip(ends[start:start + _BATCH], mm[start:start + _BATCH], strict=True):
                data, shape = encode_hour(hour)
                rows.append({"model": MODEL, "key": row.key, "hour_end": _aware(end), "issued_at": issued,
                             "shape": shape, "data": data, "updated_at": row.updated_at})
            conn.execute(sa.insert(rain), rows)
        conn.execute(sa.update(states).where(states.c.model == MODEL, states.c.key == row.key)
                     .values(arrays=_pack(arrays)))


def downgrade() -> None:
    """Put every landslide history back into its blob and drop ``hourly_rain``."""
    conn = op.get_bind()
    states, rain = _tables()
    for row in conn.execute(sa.select(states).where(states.c.model == MODEL)).all():
        hours = conn.execute(sa.select(rain.c.hour_end, rain.c.shape, rain.c.data)
                             .where(rain.c.model == MODEL, rain.c.key == row.key).order_by(rain.c.hour_end)).all()
        arrays = _unpack(row.arrays)
        arrays["hours_end"] = np.array([np.datetime64(h.hour_end.astimezone(UTC).replace(tzinfo=None), "s")
                                        for h in hours], dtype="datetime64[s]")
        arrays["hours_mm"] = (np.stack([decode_hour(h.data, h.shape) for h in hours]) if hours
                              else np.empty((0, *arrays["tanks"].shape[2:]), np.float32))
        conn.execute(sa.update(states).where(states.c.model == MODEL, states.c.key == row.key)
                     .values(arrays=_pack(arrays)))
    op.drop_table("hourly_rain")


def _tables() -> tuple[sa.Table, sa.Table]:
    """``model_states`` and ``hourly_rain`` as this revision knows them."""
    meta = sa.MetaData()
    states = sa.Table("model_states", meta, sa.Column("model", sa.String(64)), sa.Column("key", sa.String(128)),
                      sa.Column("valid_at", UTCDateTime), sa.Column("arrays", sa.LargeBinary),
                      sa.Column("updated_at", UTCDateTime))
    rain = sa.Table("hourly_rain", meta, sa.Column("model", sa.String(64)), sa.Column("key", sa.String(128)),
                    sa.Column("hour_end", UTCDateTime), sa.Column("issued_at", UTCDateTime),
                    sa.Column("shape", sa.String(64)), sa.Column("data", sa.LargeBinary),
                    sa.Column("updated_at", UTCDateTime))
    return states, rain


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _aware(moment: np.datetime64) -> datetime:
    return np.datetime64(moment, "us").astype(datetime).replace(tzinfo=UTC)
