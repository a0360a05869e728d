"""``compute:`` in config.yaml, and ``warn check`` of a scheduler given by address.

The scheduler is a real ``dask scheduler`` and a real ``dask worker`` started as processes on
127.0.0.1; the unreachable one is a port nothing listens on.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from tests.conftest import committed_data
from warn.check import check_deployment
from warn.compute import SCHEDULER_ENV, Compute, check, configured
from warn.config import ComputeSpec, load_settings
from warn.errors import ConfigError
from warn.risk.flashflood import rolling_rain

DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_default_is_a_local_cluster_of_two_workers_for_grids_worth_it():
    spec = ComputeSpec()
    assert (spec.scheduler, spec.workers, spec.threads_per_worker) == ("local", 2, 1)
    assert spec.distributed and spec.min_cells > 81 * 84  # the demo's grid stays in the process
    assert not ComputeSpec(scheduler="none").distributed and not ComputeSpec(scheduler="off").distributed
    assert ComputeSpec(scheduler="tcp://dask-scheduler:8786").distributed


@pytest.mark.parametrize("scheduler", ["cluster", "tcp://dask-scheduler", "http://host:8786", "tcp://a b:1"])
def test_a_scheduler_that_is_not_local_none_off_or_tcp_host_port_is_refused(scheduler):
    with pytest.raises(ValidationError, match="scheduler"):
        ComputeSpec(scheduler=scheduler)


def test_the_environment_points_a_deployment_at_a_scheduler_and_a_bad_value_is_named():
    spec = ComputeSpec(workers=3)
    assert configured(spec, {}) is spec
    pointed = configured(spec, {SCHEDULER_ENV: "tcp://dask-scheduler:8786"})
    assert (pointed.scheduler, pointed.workers) == ("tcp://dask-scheduler:8786", 3)
    with pytest.raises(ConfigError, match=f"{SCHEDULER_ENV}.*tcp://host:port.*'dask-scheduler:8786'"):
        configured(spec, {SCHEDULER_ENV: "dask-scheduler:8786"})


def test_the_committed_config_says_where_the_grids_run(tmp_path):
    settings = load_settings(Path(__file__).parents[1] / "config.yaml")
    assert settings.compute.scheduler == "local"
    assert check(settings.compute) == []  # a local cluster is not started by warn check


def test_warn_check_names_an_unreachable_scheduler_and_what_was_expected(tmp_path):
    port = free_port()
    data = committed_data(tmp_path)
    data["compute"] = {"scheduler": f"tcp://127.0.0.1:{port}", "timeout": "PT1S"}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    started = time.monotonic()
    problems = [p for p in check_deployment(config) if p.key == "compute.scheduler"]
    assert time.monotonic() - started < 30
    assert len(problems) == 1
    text = str(problems[0])
    assert f"tcp://127.0.0.1:{port}" in text and "dask scheduler" in text and "no answer" in text


def test_a_scheduler_that_is_not_reached_leaves_the_work_in_the_process(caplog):
    compute = Compute(ComputeSpec(scheduler=f"tcp://127.0.0.1:{free_port()}", timeout="PT1S", min_cells=0,
                                  chunk_cells=10))
    rain = np.arange(200.0).reshape(4, 50)
    np.testing.assert_array_equal(rolling_rain(rain, (1, 2), cells=compute), rolling_rain(rain, (1, 2)))
    assert not compute.running and "not available" in caplog.text


@pytest.fixture
def scheduler():
    """A ``dask scheduler`` and one ``dask worker`` on 127.0.0.1, as real processes; their address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    processes.append(subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield address, processes
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.slow
def test_a_running_scheduler_passes_warn_check_and_runs_the_kernels_as_the_process_does(scheduler):
    address, processes = scheduler
    spec = ComputeSpec(scheduler=address, timeout="PT2S", min_cells=0, chunk_cells=7)
    deadline = time.monotonic() + 60
    while (problems := check(spec)) and time.monotonic() < deadline:
        time.sleep(0.5)  # the scheduler starts, then the worker registers
    assert problems == []
    rain = np.random.default_rng(3).gamma(0.5, 4.0, size=(30, 40))
    with Compute(spec) as compute:
        np.testing.assert_array_equal(rolling_rain(rain, (1, 3, 6), cells=compute), rolling_rain(rain, (1, 3, 6)))
        assert compute.running
    processes[1].terminate()
    processes[1].wait(timeout=30)
    deadline = time.monotonic() + 30
    while not (problems := check(spec)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p.got for p in problems] == ["a scheduler with no workers"]
    with Compute(spec) as compute:  # no worker to wait for: the kernels run here, and the log says why
        np.testing.assert_array_equal(rolling_rain(rain, (2,), cells=compute), rolling_rain(rain, (2,)))
        assert not compute.running
