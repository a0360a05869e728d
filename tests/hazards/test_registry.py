"""The hazard registry: every registered hazard is complete, and the house holds — no module outside a
hazard's own names it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT
from warn import hazards
from warn.cap.event import Category
from warn.command.loading import load_playbooks
from warn.config import load_settings

#: Where a hazard's name may be written, besides its own subpackage and its science module: the
#: registration, the CLI's per-hazard command aliases, and the demo world's scripted scenario.
ALLOWED = ("warn/hazards/__init__.py", "warn/cli/main.py", "warn/cli/score.py", "warn/sim/")


@pytest.mark.parametrize("name", hazards.names())
def test_every_registered_hazard_is_complete(name):
    spec = hazards.get(name)
    assert spec.name == name and spec.zh and spec.en
    assert len({r.name for r in spec.roles}) == len(spec.roles) == len({r.item for r in spec.roles})
    assert spec.roles or spec.district_item
    assert Category(spec.cap.category) and spec.cap.zh and spec.cap.en
    if spec.model is not None:
        assert hazards.load_model(name, ROOT / "models" / f"{name}.yaml").params() is not None
    playbooks = {p.id: p for p in load_playbooks(ROOT / "playbooks", skip=ROOT / "playbooks" / "roster.yaml")}
    for playbook in spec.playbooks:
        assert playbooks[playbook].hazard == name


def test_the_committed_deployment_runs_every_registered_hazard():
    settings = load_settings(ROOT / "config.yaml")
    assert [d.spec.name for d in hazards.deployed(settings)] == list(hazards.names())


def test_an_unknown_hazard_names_the_registered_ones():
    with pytest.raises(KeyError, match="a hazard among flashflood, landslide, rainstorm, river, waterlogging"):
        hazards.get("landslip")


def _names_outside_their_hazard(path: Path, names: tuple[str, ...]) -> list[str]:
    """String constants (not docstrings) of ``path`` equal to a hazard's name, other than its own."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    relative = path.relative_to(ROOT).as_posix()
    own = {name for name in names
           if relative.startswith(f"warn/hazards/{name}/") or relative == f"warn/risk/{name}.py"}
    return [f"{relative}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and node.value in names and node.value not in own]


def test_no_module_outside_a_hazard_names_it():
    """The cycle, the CLI, reports, broadcast, check … ask the registry; only a hazard's own modules
    (and :data:`ALLOWED`) write its name. Store migrations name what old stores hold."""
    names = hazards.names()
    found = [hit for path in sorted((ROOT / "warn").rglob("*.py"))
             if not path.relative_to(ROOT).as_posix().startswith((*ALLOWED, "warn/store/migrations/"))
             for hit in _names_outside_their_hazard(path, names)]
    assert found == []
