"""The whole municipality: all 38 districts and counties of Chongqing and the municipal centre on one database,
every pair's privileges as PostgreSQL itself reports them, every generated deployment valid."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.municipal.conftest import CITY, init, remove

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_all_38_districts_and_the_city(pg_admin, tmp_path: Path) -> None:
    from warn.check import check_deployment

    prefix = f"t{uuid.uuid4().hex[:8]}"
    out = tmp_path / "cq"
    try:
        started = time.perf_counter()
        code, output = init(out, prefix, ())
        took = time.perf_counter() - started
        assert code == 0, output
        print(f"warn municipal init, 39 centres: {took:.1f} s")
        codes = sorted(p.name for p in out.iterdir())
        assert len(codes) == 39 and CITY in codes
        districts = [c for c in codes if c != CITY]
        city = f"{prefix}_{CITY}"
        with pg_admin.connect() as conn:
            roles = conn.execute(text(
                "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                "WHERE rolname LIKE :p ORDER BY rolname"), {"p": f"{prefix}\\_%"}).all()
            assert [r[0] for r in roles] == [f"{prefix}_{c}" for c in codes]
            assert {tuple(r[1:]) for r in roles} == {(True, False, False, False, False)}
            usage = {(role, schema): ok for role, schema, ok in conn.execute(text(
                "SELECT r.rolname, n.nspname, has_schema_privilege(r.rolname, n.nspname, 'USAGE') "
                "FROM pg_roles r, pg_namespace n WHERE r.rolname LIKE :p AND n.nspname LIKE :p"),
                {"p": f"{prefix}\\_%"})}
            for role, schema in usage:
                expected = role == schema or role == city or schema == city
                assert usage[role, schema] is expected, (role, schema)
            tables = conn.execute(text(
                "SELECT schemaname, tablename, tableowner, has_table_privilege(:city, schemaname || '.' || tablename, "
                "'SELECT'), has_table_privilege(:city, schemaname || '.' || tablename, 'INSERT, UPDATE, DELETE') "
                "FROM pg_tables WHERE schemaname LIKE :p AND schemaname <> :city"), {"p": f"{prefix}\\_%", "city": city}
            ).all()
            assert {t.schemaname for t in tables} == {f"{prefix}_{c}" for c in districts}
            assert all(t.tableowner == t.schemaname and t[3] and not t[4] for t in tables)
            view = f"{city}.linked_response"
            readers = conn.execute(text(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE :p AND has_table_privilege(rolname, :v, 'SELECT')"),
                {"p": f"{prefix}\\_%", "v": view}).scalar_one()
            assert readers == 39
        started = time.perf_counter()
        problems = {c: check_deployment(out / c / "config.yaml") for c in codes}
        print(f"warn check of 39 deployments: {time.perf_counter() - started:.1f} s")
        assert problems == {c: [] for c in codes}
    finally:
        remove(pg_admin, prefix)
