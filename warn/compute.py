"""Where the gridded steps run: this process, a dask.distributed ``LocalCluster``, or a scheduler by address.

``compute:`` in config.yaml (:class:`warn.config.ComputeSpec`) chooses. A :class:`Compute` is
opened by the service for its life (``warn run``) and handed down by the cycle to the decoding, the
analysis, the nowcast and the hazards, which hand it on as a :class:`~warn.risk.chunks.CellMap` or as
:class:`~warn.risk.chunks.Workers`:

- **Cells.** A kernel over arrays (…, cells) — soil water, storage bucket, effective rain,
  rolling rain, the analysis's inverse-distance field of the gauges, the nowcast's extrapolation
  along each cell's trajectory — on a grid of at least ``min_cells`` cells is cut into chunks of
  ``chunk_cells`` cells, each chunk scattered to a worker, run there and joined here. The cells
  are independent, so the result equals the single-process one to the last bit.
- **Parts** (:meth:`Compute.map`, the :class:`~warn.risk.chunks.Workers` of the service). Work that
  splits another way, each part a task: the zonal statistics by zones (each part with the series
  of just the cells its zones cover), a forecast file by its members or steps (each worker reads
  its part from the file: the workers see the files where ``warn run`` fetches them), and the
  members of an ensemble run, each scored read-only, when members × cells reach ``min_cells``.

Smaller work stays in the process, so the demo and a district's grid never wait for a
cluster. The local cluster starts the first time it is needed (a few seconds) and is closed
with the service; an address is connected to the same way. When the scheduler cannot be
reached or loses its workers, the step runs here instead (the same result, later) and the log
says so once; it is tried again after :data:`RETRY`. ``warn check`` asks the scheduler at
the address (:func:`check`).

What stays whole in the process: the nowcast's motion (the optical flow is estimated from the
whole radar field, about 80 % of a nowcast on the municipality's 1 km grid) and its S-PROG and
STEPS cascades (the spectra of the whole field), the analysis's bias factor (a sum over the
gauges) and the radar's regridding to the model grid (one bincount a step). Each is whole-field by
its method or costs less than shipping its arrays; what follows from them splits by cells.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from warn.config import ComputeSpec
from warn.errors import ConfigError, Problem, first_line
from warn.risk.chunks import Kernel

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

log = logging.getLogger(__name__)

#: The environment variable that overrides ``compute.scheduler`` (as ``WARN_STORE`` does ``store.url``).
SCHEDULER_ENV = "WARN_COMPUTE_SCHEDULER"
#: Seconds before a scheduler that did not answer is tried again (the steps run here meanwhile).
RETRY = 60.0
#: What a scheduler that does not answer raises.
_LOST = (OSError, TimeoutError)

#: The environment of a local cluster's worker processes: dask's, less its ``MALLOC_TRIM_THRESHOLD_``.
#: Any value of it stops glibc from raising its mmap threshold, so every large array a kernel or a
#: member allocates is mapped afresh and faulted in page by page: 2-3× slower workers here.
WORKER_ENVIRON = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}

T = TypeVar("T")
R = TypeVar("R")


class Compute:
    """The gridded steps' executor of one service: a :class:`~warn.risk.chunks.CellMap` and a member map.

    Parameters
    ----------
    spec
        ``compute:`` of config.yaml.
    """

    def __init__(self, spec: ComputeSpec) -> None:
        self.spec = spec
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._failed_at = -RETRY
        self._lock = threading.Lock()

    @classmethod
    def here(cls) -> Compute:
        """Everything in this process (``scheduler: none``)."""
        return cls(ComputeSpec(scheduler="none"))

    @property
    def running(self) -> bool:
        """Whether a client is open (a local cluster started, or the scheduler connected)."""
        return self._client is not None

    def distributes(self, size: int) -> bool:
        """Whether work of ``size`` cells (× members) leaves the process: a scheduler is configured and
        the work reaches ``min_cells``."""
        return self.spec.distributed and size >= max(self.spec.min_cells, 1)

    def __call__(self, kernel: Kernel, *arrays: np.ndarray) -> tuple[NDArray[np.float64], ...]:
        """Run ``kernel`` over ``arrays`` (last axis cells) in chunks of ``chunk_cells`` on the workers,
        or here (see the module docstring); the outputs joined along the cells."""
        ncell = arrays[0].shape[-1]
        client = self._workers() if self.distributes(ncell) and ncell > self.spec.chunk_cells else None
        if client is None:
            return kernel(*arrays)
        try:
            run = client.scatter(kernel, hash=False, broadcast=True)  # what a partial binds travels once a worker
            futures = []
            for lo in range(0, ncell, self.spec.chunk_cells):
                chunk = [np.ascontiguousarray(a[..., lo:lo + self.spec.chunk_cells]) for a in arrays]
                futures.append(client.submit(_apply, run, *client.scatter(chunk, hash=False), pure=False))
            parts: list[tuple[NDArray[np.float64], ...]] = client.gather(futures)
        except Exception as err:
            self._lost(err)
            return kernel(*arrays)
        return tuple(np.concatenate([part[i] for part in parts], axis=-1) for i in range(len(parts[0])))

    def map(self, work: Callable[[T], R], jobs: Iterable[T], *, size: int) -> list[R]:
        """``[work(job) for job in jobs]``, each job on a worker when ``size`` (cells, × members) reaches
        ``min_cells`` and a cluster can be had, else here; results in the order of ``jobs`` (the
        :class:`~warn.risk.chunks.Workers` of the service)."""
        jobs = list(jobs)
        client = self._workers() if self.distributes(size) and len(jobs) > 1 else None
        if client is None:
            return [work(job) for job in jobs]
        try:
            run = client.scatter(work, hash=False, broadcast=True)
            shipped = client.scatter(jobs, hash=False)  # the jobs as data, not in the task graph
            return list(client.gather(client.map(_apply, [run] * len(jobs), shipped, pure=False)))
        except Exception as err:
            self._lost(err)
            return [work(job) for job in jobs]

    def client(self) -> Client | None:
        """The dask client, opened the first time (a local cluster started, or the scheduler at the
        address connected); ``None`` when there is none to have now (here, or not answering)."""
        with self._lock:
            if self._client is not None or not self.spec.distributed:
                return self._client
            if time.monotonic() - self._failed_at < RETRY:
                return None
            try:
                self._client, self._cluster = open_client(self.spec)
            except _LOST as err:
                self._failed_at = time.monotonic()
                log.warning("计算调度器不可用，网格计算在本进程内进行 / the dask scheduler %s is not available, the "
                            "gridded steps run in this process (tried again in %.0f s): %s",
                            self.spec.scheduler, RETRY, first_line(err))
            return self._client

    def _workers(self) -> Client | None:
        """The client when its scheduler has workers now (tasks would wait for ever without), else ``None``."""
        client = self.client()
        if client is None:
            return None
        try:
            if client.nthreads():
                return client
            raise OSError(f"the scheduler {client.scheduler.address} has no workers")
        except Exception as err:
            self._lost(err)
            return None

    def _lost(self, err: Exception) -> None:
        """Re-raise ``err`` unless it says the cluster was lost (a scheduler or its workers gone, a worker killed
        by its task); then close the client and let the caller run the step here."""
        from concurrent.futures import CancelledError

        from distributed.scheduler import KilledWorker

        if not isinstance(err, (*_LOST, KilledWorker, CancelledError)):
            raise err
        log.warning("计算集群中断，本步在本进程内重算 / the dask cluster was lost, this step runs again in this "
                    "process: %s", first_line(err))
        self.close()
        with self._lock:
            self._failed_at = time.monotonic()

    def close(self) -> None:
        """Close the client and, for ``local``, stop the cluster's workers."""
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> Compute:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _apply(work: Callable[..., R], *args: object) -> R:
    """``work(*args)``: on a worker, a function scattered to it called on data scattered to it."""
    return work(*args)


def configured(spec: ComputeSpec, env: Mapping[str, str]) -> ComputeSpec:
    """``spec`` with its scheduler taken from :data:`SCHEDULER_ENV` in ``env`` when set there (the compose
    file points its ``warn run`` at its ``dask-scheduler`` so; deploy/README.md).

    Raises
    ------
    ConfigError
        The variable holds something other than local, none, off or tcp://host:port.
    """
    scheduler = env.get(SCHEDULER_ENV)
    if scheduler is None:
        return spec
    try:
        return ComputeSpec.model_validate({**spec.model_dump(), "scheduler": scheduler})
    except ValidationError:
        raise ConfigError(Problem(SCHEDULER_ENV, "", "local, none, off or tcp://host:port of a dask scheduler",
                                  repr(scheduler))) from None


def open_client(spec: ComputeSpec) -> tuple[Client, LocalCluster | None]:
    """A client of the scheduler ``spec`` names, with the local cluster it started (``None`` for an address).

    Raises
    ------
    OSError, TimeoutError
        The scheduler did not answer within ``spec.timeout``, or the local workers did not start.
    """
    import dask
    from distributed import Client, LocalCluster

    seconds = spec.timeout.total_seconds()
    if spec.scheduler == "local":
        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRON,
                              "distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=spec.threads_per_worker,
                                   processes=True, dashboard_address=None, silence_logs=logging.WARNING,
                                   timeout=seconds)
        try:
            return Client(cluster, timeout=seconds, set_as_default=False), cluster
        except BaseException:
            cluster.close()
            raise
    return Client(spec.scheduler, timeout=seconds, set_as_default=False), None


def check(spec: ComputeSpec, where: str = "config.yaml") -> list[Problem]:
    """``warn check`` of ``compute:``: a scheduler at an address must answer within ``timeout`` and have workers.

    A local cluster is not started here (it starts when a grid needs it).
    """
    if not spec.scheduler.startswith("tcp://"):
        return []
    expected = (f"a dask scheduler answering at {spec.scheduler} within {spec.timeout.total_seconds():g} s, with "
                "workers (`dask scheduler` and `dask worker`, deploy/README.md), or compute.scheduler: local / none")
    try:
        client, _ = open_client(spec)
    except _LOST as err:
        return [Problem(where, "compute.scheduler", expected, f"no answer: {first_line(err)}")]
    try:
        workers = len(client.scheduler_info().get("workers", {}))
    finally:
        client.close()
    if not workers:
        return [Problem(where, "compute.scheduler", expected, "a scheduler with no workers")]
    return []

