"""Loading YAML (warn/declarative.py): anchor bombs and deep nesting refused with a sentence, normal files untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from warn.declarative import parse_yaml, read_yaml
from warn.errors import ConfigError

#: "Billion laughs": 9 levels of 10 aliases each expand to 10⁹ strings from under 1 KB.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join(['*' + prev] * 10)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi")
)


def test_an_anchor_bomb_is_refused_with_the_size_it_would_expand_to():
    with pytest.raises(ConfigError) as caught:
        parse_yaml(BOMB, where="bomb.yaml")
    assert str(caught.value).startswith("bomb.yaml: expected a YAML document of at most 1,000,000 nodes with its "
                                        "aliases expanded, got 1,123,456,798 nodes")


def test_aliases_within_the_limit_still_load():
    assert parse_yaml("base: &b {x: 1}\nother: *b\n", where="ok.yaml") == {"base": {"x": 1}, "other": {"x": 1}}
    assert parse_yaml("a: &a [1, 2]\nb: [*a, *a]\n", where="ok.yaml", max_nodes=13) == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    with pytest.raises(ConfigError, match="at most 12 nodes with its aliases expanded, got 13 nodes"):
        parse_yaml("a: &a [1, 2]\nb: [*a, *a]\n", where="ok.yaml", max_nodes=12)


def test_yaml_nested_beyond_the_parser_is_a_sentence():
    with pytest.raises(ConfigError, match="deep.yaml: expected YAML nested a few dozen levels deep at most"):
        parse_yaml("[" * 700 + "]" * 700, where="deep.yaml")


def test_every_committed_yaml_file_still_loads():
    for path in [ROOT / "config.yaml", *ROOT.glob("models/*.yaml"), *ROOT.glob("playbooks/*.yaml")]:
        assert read_yaml(path) is not None, path


def bomb_config(folder: Path) -> Path:
    """The committed config.yaml with the bomb under x- keys and the deployment's name an alias of its top."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    name = next(line for line in text.splitlines() if line.startswith("  name: "))
    config = folder / "config.yaml"
    config.write_text("x-" + BOMB.replace("\n", "\nx-").removesuffix("x-") + text.replace(name, "  name: *i", 1),
                      encoding="utf-8")
    return config


def test_warn_check_refuses_a_config_with_an_anchor_bomb_in_seconds(tmp_path):
    config = bomb_config(tmp_path)
    done = subprocess.run([sys.executable, "-m", "warn", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, env={"NO_COLOR": "1", "COLUMNS": "400", "PATH": ""})
    assert done.returncode == 2, done.stdout + done.stderr
    said = " ".join((done.stdout + done.stderr).split())  # as one line, however the terminal wrapped it
    assert f"{config}: expected a YAML document of at most 1,000,000 nodes" in said
