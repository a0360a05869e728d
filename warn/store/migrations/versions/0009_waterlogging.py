"""The urban-waterlogging model keeps its state under its hazard's name, ``waterlogging``.

Until now the model's bucket storages (``model_states``) and its remembered levels
(``level_memory``) were kept under the name ``flood``; the hazard is ``waterlogging`` (a
flash flood is another hazard). Every row is carried over under the new name, so a running
deployment continues its bucket and its levels with memory instead of starting cold.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: The old and the new name of the model's state.
OLD, NEW = "flood", "waterlogging"


def upgrade() -> None:
    """Rename the state and the remembered levels ``flood`` → ``waterlogging``."""
    _rename(OLD, NEW)


def downgrade() -> None:
    """Rename them back."""
    _rename(NEW, OLD)


def _rename(old: str, new: str) -> None:
    op.execute(sa.text("UPDATE model_states SET model = :new WHERE model = :old").bindparams(old=old, new=new))
    op.execute(sa.text("UPDATE level_memory SET hazard = :new WHERE hazard = :old").bindparams(old=old, new=new))
