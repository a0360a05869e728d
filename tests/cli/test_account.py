"""``warn account``: passwords for the centre's pages set from standard input by an administrator, accounts
unlocked and listed without digests, all on the timeline (issue 18)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import acting_deployment
from warn.cli.main import app

DUTY = "演示值班员01"
PASSWORD = "a long enough passphrase"
CLEAN = {"NO_COLOR": "1", "WARN_TOKEN": None, "WARN_USER": None}


def warn(config: Path, *args: str, stdin: str = ""):
    return CliRunner().invoke(app, [*args, "--config", str(config)], input=stdin, env=CLEAN)


def query(config: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(config.parent / "warn.sqlite") as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def live(tmp_path: Path) -> Path:
    return acting_deployment(tmp_path, live=True)


def test_a_password_is_read_from_stdin_and_kept_as_a_digest_only(live):
    result = warn(live, "account", "password", DUTY, stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD.encode() not in (live.parent / "warn.sqlite").read_bytes()
    [(person, kdf, failures)] = query(live, "select person, kdf, failed_in_a_row from accounts")
    assert (person, kdf, failures) == (DUTY, "scrypt:16384:8:1:32", 0)
    listed = warn(live, "account", "list", "--json")
    assert listed.exit_code == 0 and DUTY in listed.stdout
    assert "digest" not in listed.stdout and "salt" not in listed.stdout and PASSWORD not in listed.stdout
    assert query(live, "select kind, json_extract(details, '$.what') from timeline") == [("account", "password")]


@pytest.mark.parametrize(("person", "stdin", "says"), [
    (DUTY, "short\n", "12 to 256 characters"), (DUTY, "x" * 300 + "\n", "got 300 characters"),
    (DUTY, "with a\ttab inside it\n", "without control characters"), ("无此人", PASSWORD + "\n", "on the roster")])
def test_a_bad_password_or_person_is_refused_and_writes_nothing(live, person, stdin, says):
    result = warn(live, "account", "password", person, stdin=stdin)
    assert result.exit_code == 2 and says in result.output
    assert stdin.strip() not in result.output  # the password is never repeated
    assert query(live, "select count(*) from accounts") == [(0,)]


def test_unlock_clears_a_lockout_and_only_an_administrator_may(live, tmp_path):
    assert warn(live, "account", "password", DUTY, stdin=PASSWORD + "\n").exit_code == 0
    with sqlite3.connect(live.parent / "warn.sqlite") as db:
        db.execute("update accounts set failed_in_a_row = 3, locked_until = '2099-01-01 00:00:00.000000'")
    assert "locked until 2099-01-01 00:00Z" in warn(live, "account", "list").stdout
    assert warn(live, "account", "unlock", DUTY).exit_code == 0
    assert "not locked" in warn(live, "account", "list").stdout
    assert query(live, "select failed_in_a_row, locked_until from accounts") == [(0, None)]
    missing = warn(live, "account", "unlock", "演示指挥长01")
    assert missing.exit_code == 1 and "has no account" in missing.output
    other = acting_deployment(tmp_path / "other", live=True, identity={"admins": ["somebody-else"]})
    refused = warn(other, "account", "password", DUTY, stdin=PASSWORD + "\n")
    assert refused.exit_code == 1 and "warn account" in refused.output and "identity.admins" in refused.output
