"""Isolation by the database itself: connected as a district's role, another district's rows can be neither
read nor written; the city's role reads every district and writes none; the district's own CLI and store work."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from tests.municipal.conftest import CITY, DISTRICTS, init

pytestmark = pytest.mark.postgres

YUBEI, JIANGBEI, WANZHOU = DISTRICTS
AT = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)


def refused(conn, sql: str) -> str:
    """The first line of PostgreSQL's refusal of ``sql`` (rolled back to a savepoint, the connection goes on)."""
    with pytest.raises(ProgrammingError) as caught, conn.begin_nested():
        conn.execute(text(sql))
    return str(caught.value.orig).splitlines()[0]


def note(municipality, code: str, summary: str) -> None:
    """A timeline entry written through the centre's own store (its role, its schema)."""
    from warn.store import NewEntry, Store

    store = Store.connect(municipality.url(code))
    try:
        store.timeline.append([NewEntry(occurred_at=AT, actor="演示值班员", role="duty_officer", kind="note",
                                        summary=summary)])
    finally:
        store.close()


def test_a_district_reads_and_writes_only_its_own_schema(municipality) -> None:
    other = municipality.name(JIANGBEI)
    note(municipality, YUBEI, "渝北区的记录")
    note(municipality, JIANGBEI, "江北区的记录")
    with municipality.engine(YUBEI).connect() as conn:
        assert conn.execute(text("SELECT current_user, current_schema()")).one() == (municipality.name(YUBEI),) * 2
        assert conn.execute(text("SELECT summary FROM timeline")).scalars().all() == ["渝北区的记录"]
        for sql in (f"SELECT * FROM {other}.timeline", f"SELECT * FROM {other}.mode_changes",
                    f"INSERT INTO {other}.inbox (kind) VALUES ('x')", f"DELETE FROM {other}.timeline",
                    f"CREATE TABLE {other}.mine (x int)"):
            assert f"permission denied for schema {other}" in refused(conn, sql)
        city = municipality.name(CITY)
        assert "permission denied for table mode_changes" in refused(conn, f"SELECT * FROM {city}.mode_changes")
        assert "permission denied for table mode_changes" in refused(
            conn, f"INSERT INTO {city}.mode_changes (at, from_mode, to_mode, proposed_by) "
                  "VALUES (now(), 'peacetime', 'wartime', 'x')")
        assert conn.execute(text(f"SELECT * FROM {city}.linked_response")).all() == []  # the one thing it reads
        assert "permission denied for schema public" in refused(conn, "CREATE TABLE public.mine (x int)")
        assert "permission denied" in refused(conn, "CREATE SCHEMA mine")
        assert "permission denied" in refused(conn, f"SET ROLE {municipality.name(JIANGBEI)}")
        owners = conn.execute(text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = current_schema()"))
        assert owners.scalars().all() == [municipality.name(YUBEI)]
        attributes = conn.execute(text("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
                                       "FROM pg_roles WHERE rolname = current_user")).one()
        assert tuple(attributes) == (True, False, False, False, False)


def test_the_city_reads_every_district_and_writes_none(municipality) -> None:
    note(municipality, YUBEI, "渝北区的记录")
    note(municipality, WANZHOU, "万州区的记录")
    with municipality.engine(CITY).connect() as conn:
        for code, summary in ((YUBEI, "渝北区的记录"), (WANZHOU, "万州区的记录")):
            schema = municipality.name(code)
            assert conn.execute(text(f"SELECT summary FROM {schema}.timeline")).scalars().all() == [summary]
            assert conn.execute(text(f"SELECT count(*) FROM {schema}.mode_changes")).scalar_one() == 0
            for sql in (f"INSERT INTO {schema}.inbox (kind) VALUES ('x')", f"DELETE FROM {schema}.timeline",
                        f"UPDATE {schema}.timeline SET summary = 'x'", f"CREATE TABLE {schema}.mine (x int)"):
                assert "permission denied" in refused(conn, sql)
        assert conn.execute(text("SELECT count(*) FROM timeline")).scalar_one() == 0  # its own schema


def test_the_districts_cli_works_through_its_generated_config(municipality) -> None:
    from warn.cli.main import app

    runner = CliRunner()
    for code in (CITY, YUBEI):
        checked = runner.invoke(app, ["check", "--config", str(municipality.config(code))], env={"NO_COLOR": "1"})
        assert checked.exit_code == 0, checked.output
    ordered = runner.invoke(app, ["mode", "wartime", "--level", "III", "--reason", "区内强降雨", "--as",
                                  "演示渝北区指挥长01", "--config", str(municipality.config(YUBEI))],
                            env={"NO_COLOR": "1"})
    assert ordered.exit_code == 0, ordered.output
    status = runner.invoke(app, ["status", "--config", str(municipality.config(YUBEI))], env={"NO_COLOR": "1"})
    assert status.exit_code == 0 and "三级响应" in status.output, status.output
    other = runner.invoke(app, ["status", "--config", str(municipality.config(JIANGBEI))], env={"NO_COLOR": "1"})
    assert other.exit_code == 0 and "平时" in other.output, other.output
    # the municipal centre sees every district; a district sees none but itself
    city = runner.invoke(app, ["municipal", "status", "--json", "--config", str(municipality.config(CITY))])
    assert city.exit_code == 0, city.output
    assert [(r["schema"], r["mode"], r["response_level"], r["active_warnings"]) for r in json.loads(city.output)] == [
        (municipality.name(WANZHOU), "peacetime", 0, 0), (municipality.name(JIANGBEI), "peacetime", 0, 0),
        (municipality.name(YUBEI), "wartime", 2, 0)]
    alone = runner.invoke(app, ["municipal", "status", "--json", "--config", str(municipality.config(YUBEI))])
    assert alone.exit_code == 0 and json.loads(alone.output) == [], alone.output
    # the district's own config cannot be pointed at another district's schema: its role is refused there
    stolen = municipality.url(YUBEI).replace(municipality.name(YUBEI) + "?", "x?").replace(
        f"search_path%3D{municipality.name(YUBEI)}", f"search_path%3D{municipality.name(JIANGBEI)}")
    peek = runner.invoke(app, ["status", "--config", str(municipality.config(YUBEI)), "--store", stolen],
                         env={"NO_COLOR": "1"})
    assert peek.exit_code != 0


def test_init_again_changes_nothing_that_is_right(municipality) -> None:
    note(municipality, YUBEI, "渝北区的记录")
    before = (municipality.out / YUBEI / "config.yaml").read_bytes()
    code, output = init(municipality.out, municipality.prefix)
    assert code == 0, output
    assert (municipality.out / YUBEI / "config.yaml").read_bytes() == before
    with municipality.engine(CITY).connect() as conn:
        assert conn.execute(text(f"SELECT summary FROM {municipality.name(YUBEI)}.timeline")).scalars().all() == [
            "渝北区的记录"]
