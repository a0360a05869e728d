"""The deployment files (deploy/): what CI can check and build without a container runtime.

The compose file's topology and commands, the Containerfile's inputs, and the wheel the image installs —
built here and, installed on its own outside the checkout, migrating a store and passing ``warn check``.
The topology's behaviour (two ``warn run`` on one PostgreSQL, the leader killed) is the chaos drill's
test (tests/sim/chaos/test_drill.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer
import yaml

from tests.conftest import ROOT, committed_data
from warn.cli.main import app
from warn.compute import SCHEDULER_ENV, configured
from warn.config import ComputeSpec

DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _options(command) -> set[str]:  # noqa: ANN001 - a click command of typer's
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def _warn(compose: dict) -> dict[str, dict]:
    """The services that run a `warn` command (the image's entrypoint, not replaced)."""
    return {name: spec for name, spec in compose["services"].items()
            if spec.get("image", "").startswith("warn:") and "entrypoint" not in spec}


def test_the_topology_is_one_store_two_runs_a_server_the_broker_and_a_dask_cluster(compose: dict):
    services = compose["services"]
    assert set(services) == {"postgres", "mosquitto", "run-a", "run-b", "serve", "dask-scheduler", "dask-worker"}
    warn = _warn(compose)
    assert {name: spec["command"][0] for name, spec in warn.items()} == {"run-a": "run", "run-b": "run",
                                                                         "serve": "serve"}
    for spec in warn.values():
        assert spec["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for spec in services.values():
        if spec.get("image", "").startswith("warn:"):
            assert spec["build"]["dockerfile"] == "deploy/Containerfile"
            assert (DEPLOY / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()
    assert (DEPLOY / services["mosquitto"]["volumes"][0].split(":")[0]).is_file()
    # every warn container (the runs, the server, the dask scheduler and workers) sees the deployment folder
    # read-only and the fetched runs on one shared volume, where the workers read a large run's parts
    for spec in services.values():
        if spec.get("image", "").startswith("warn:"):
            assert spec["volumes"] == ["./deployment:/srv/deployment:ro", "cache:/srv/cache"]
    assert "cache" in compose["volumes"]


def test_the_runs_send_their_grids_to_the_dask_scheduler_its_workers_join(compose: dict):
    services = compose["services"]
    scheduler, worker = services["dask-scheduler"], services["dask-worker"]
    assert scheduler["image"] == worker["image"] == services["run-a"]["image"]  # the same code and kernels
    assert scheduler["entrypoint"] == worker["entrypoint"] == ["tini", "--"]
    assert scheduler["command"][:2] == ["dask", "scheduler"] and worker["command"][:2] == ["dask", "worker"]
    port = scheduler["command"][scheduler["command"].index("--port") + 1]
    address = f"tcp://dask-scheduler:{port}"
    assert worker["command"][2] == address
    assert worker["depends_on"]["dask-scheduler"] == {"condition": "service_started"}
    for name in ("run-a", "run-b"):
        environment = services[name]["environment"]
        assert environment[SCHEDULER_ENV] == address
        assert configured(ComputeSpec(), environment).scheduler == address
        assert services[name]["depends_on"]["dask-scheduler"] == {"condition": "service_started"}


def test_the_dask_commands_are_real_with_real_options(compose: dict):
    dask = Path(sys.executable).with_name("dask")
    for name in ("dask-scheduler", "dask-worker"):
        command = compose["services"][name]["command"]
        helped = subprocess.run([str(dask), command[1], "--help"], capture_output=True, text=True, check=True,
                                timeout=120).stdout
        given = {word for word in command[2:] if word.startswith("--")}
        assert given and all(re.search(rf"(^|\s|/){re.escape(option)}\b", helped) for option in given), (name, given)


def test_every_warn_command_in_the_compose_file_and_the_image_is_a_real_command_with_real_options(compose: dict):
    cli = typer.main.get_command(app)
    containerfile = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    default = yaml.safe_load(re.search(r"^CMD (\[.*\])$", containerfile, re.MULTILINE).group(1))
    commands = [spec["command"] for spec in _warn(compose).values()] + [default]
    for command in commands:
        sub = cli.commands[command[0]]  # type: ignore[attr-defined]  # the app is a group
        given = {word for word in command[1:] if word.startswith("--")}
        assert given <= _options(sub), (command, given - _options(sub))


def _copied(containerfile: Path) -> list[str]:
    """What the Containerfile copies from the build context (paths relative to the checkout)."""
    lines = re.findall(r"^COPY (?!--from)(.+)$", containerfile.read_text(encoding="utf-8"), re.MULTILINE)
    return list(dict.fromkeys(word for line in lines for word in line.split()[:-1]))


def test_the_containerfile_copies_what_exists_and_pins_by_the_constraints():
    sources = _copied(DEPLOY / "Containerfile")
    assert sources and all((ROOT / source).exists() for source in sources), sources
    containerfile = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert "-c /tmp/constraints.txt" in containerfile and 'ENTRYPOINT ["tini", "--", "warn"]' in containerfile


@pytest.mark.slow
def test_the_wheel_the_image_installs_carries_the_store_the_schemas_and_the_screens(tmp_path: Path):
    source, wheels = tmp_path / "src", tmp_path / "wheels"  # what the image's first stage copies, built there
    source.mkdir()
    for name in _copied(DEPLOY / "Containerfile"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--wheel-dir", str(wheels), str(source)], check=True, timeout=600)
    (wheel,) = wheels.glob("warn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = {f"warn/store/migrations/versions/{p.name}" for p in
                  (ROOT / "warn/store/migrations/versions").glob("*.py")}
    assert migrations <= names
    assert {"warn/web/static/vendor/ol.js", "warn/web/static/screen.js"} <= names
    assert any(name.startswith("warn/cap/schema/") for name in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                    str(wheel)], check=True, timeout=600)
    deployment = tmp_path / "deployment"
    deployment.mkdir()
    data = committed_data(deployment)
    (deployment / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(target)}  # the installed wheel before the checkout's editable install
    where = subprocess.run([sys.executable, "-c", "import warn; print(warn.__file__)"], cwd=deployment, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(target)), where
    checked = subprocess.run([sys.executable, "-m", "warn", "check", "--config", str(deployment / "config.yaml")],
                             cwd=deployment, env=env, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    migrated = subprocess.run([sys.executable, "-c", "from warn.store import Store, migrate; "
                               f"s = Store.connect('sqlite:///{deployment / 'warn.db'}'); s.upgrade(); "
                               "print(s.revision(), migrate.head())"],
                              cwd=deployment, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert migrated[0] == migrated[1]
    shutil.rmtree(target)
