"""A small municipality provisioned on the test PostgreSQL by ``warn municipal init``, removed afterwards.

Roles are the server's, not the database's: every municipality gets a prefix of its own (``t<hex>``),
and its schemas and roles are dropped at the end, so runs side by side never meet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from tests.conftest import PG_URL

#: The districts of the small municipality: Yubei, Jiangbei, Wanzhou.
DISTRICTS = ("500112", "500105", "500101")
CITY = "500000"


@dataclass(frozen=True)
class Municipality:
    """A provisioned municipality: its folder of deployments and the names of its schemas and roles."""

    out: Path
    prefix: str

    def name(self, code: str) -> str:
        """Schema and role of the centre ``code``."""
        return f"{self.prefix}_{code}"

    def config(self, code: str) -> Path:
        return self.out / code / "config.yaml"

    def url(self, code: str) -> str:
        """The centre's store URL as its config.yaml has it (its role, its schema)."""
        from warn.config import load_settings

        return load_settings(self.config(code)).store.url

    def engine(self, code: str) -> Engine:
        """An engine connected as the centre's role, in its schema."""
        return create_engine(self.url(code))


def init(out: Path, prefix: str, codes: tuple[str, ...] = DISTRICTS) -> tuple[int, str]:
    """Run ``warn municipal init`` (exit code, output)."""
    from warn.cli.main import app

    only = [arg for code in codes for arg in ("--only", code)]
    got = CliRunner().invoke(app, ["municipal", "init", str(out), "--store", PG_URL, "--prefix", prefix, *only],
                             env={"NO_COLOR": "1"})
    return got.exit_code, got.output


def remove(admin: Engine, prefix: str) -> None:
    """Drop the schemas and roles named ``<prefix>_…``, each in a transaction of its own (a schema's tables
    take a lock each: all of the municipality's at once would need more than the server's lock table)."""
    with admin.connect() as conn:
        schemas = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                               {"p": f"{prefix}\\_%"}).scalars().all()
        roles = conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"),
                             {"p": f"{prefix}\\_%"}).scalars().all()
    for schema in schemas:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    for role in roles:
        with admin.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


@pytest.fixture
def municipality(pg_admin: Engine, tmp_path: Path) -> Iterator[Municipality]:
    """Yubei, Jiangbei, Wanzhou and the municipal centre, provisioned and written under tmp_path."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    try:
        code, output = init(tmp_path / "cq", prefix)
        assert code == 0, output
        yield Municipality(tmp_path / "cq", prefix)
    finally:
        remove(pg_admin, prefix)
