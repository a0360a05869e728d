"""``warn check`` of a district's ``municipal:`` section: one rejection per rule, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from warn.check import check_deployment

PG = "postgresql+psycopg://cq_500112@127.0.0.1:5432/warn?options=-csearch_path%3Dcq_500112"


def rewrite(config: Path, store: str, municipal: dict) -> list[tuple[str, str]]:
    """The (key, expected) of every problem of the deployment with ``store`` and ``municipal``."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["store"]["url"] = store
    data["municipal"] = municipal
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return [(p.key, p.expected) for p in check_deployment(config)]


def test_a_valid_district_section_passes(deployment: Path) -> None:
    assert rewrite(deployment, PG, {"city_code": "500000", "city_schema": "cq_500000"}) == []


@pytest.mark.parametrize(("store", "municipal", "key", "says"), [
    ("sqlite:///var/warn.sqlite", {"city_code": "500000", "city_schema": "cq_500000"}, "store.url", "postgresql"),
    (PG.split("?")[0], {"city_code": "500000", "city_schema": "cq_500000"}, "store.url", "search_path"),
    (PG, {"city_code": "500000", "city_schema": "cq_500112"}, "municipal.city_schema", "not the district's own"),
    (PG, {"city_code": "500112", "city_schema": "cq_500000"}, "municipal.city_code", "not the district's own"),
    (PG, {"city_code": "500000", "city_schema": "CQ-500000"}, "municipal.city_schema", "pattern"),
    (PG, {"city_code": "500000", "city_schema": "cq_500000", "city_role": "x"}, "municipal.city_role", ""),
])
def test_each_rule_is_refused_naming_the_key(deployment: Path, store: str, municipal: dict, key: str,
                                             says: str) -> None:
    problems = rewrite(deployment, store, municipal)
    assert [k for k, _ in problems] == [key], problems
    assert says in problems[0][1]


def test_init_refuses_an_unknown_district_and_an_unreachable_store(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from warn.cli.main import app

    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/warn"
    got = CliRunner().invoke(app, ["municipal", "init", str(tmp_path), "--store", unreachable, "--only", "500199"],
                             env={"NO_COLOR": "1"})
    assert got.exit_code == 2 and "--only" in got.output and "500199" in got.output, got.output
    assert not any(tmp_path.iterdir())
    got = CliRunner().invoke(app, ["municipal", "init", str(tmp_path), "--store", unreachable, "--only", "500112"],
                             env={"NO_COLOR": "1"})
    assert got.exit_code == 1 and "127.0.0.1:1" in got.output, got.output
