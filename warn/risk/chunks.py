"""The seams the gridded steps run through: a kernel over cells, and independent jobs.

Every cell of the soil-water, storage-bucket, effective-rain and rolling-rain kernels
(:mod:`warn.risk.kernels`), of the analysis's inverse-distance field and of the nowcast's
trajectories is independent of the others, so a kernel run on chunks of cells,
its outputs joined along the cells, equals the kernel run on all of them to the last bit.
The public functions of :mod:`warn.risk` take a :class:`CellMap` and hand it a kernel and its
arrays; they never open a cluster. :func:`in_process` runs the kernel here on the whole
arrays; :class:`warn.compute.Compute` sends chunks of cells to dask.distributed workers.

Work that splits another way — the zonal statistics by zones, a forecast file by its members or
steps, an ensemble by its members — takes :class:`Workers`: it asks whether work of its size leaves the
process (and splits it only then: the split costs copies that one process does not need), and
maps a function over the parts. :data:`here` is this process; a ``Compute`` is the cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

#: A kernel: arrays (…, cells) in, a tuple of arrays (…, cells) out, each cell on its own.
Kernel = Callable[..., tuple[NDArray[np.float64], ...]]

T = TypeVar("T")
R = TypeVar("R")


class CellMap(Protocol):
    """Runs a :data:`Kernel` over its arrays, in one piece or in chunks of cells, and joins the outputs."""

    def __call__(self, kernel: Kernel, *arrays: np.ndarray) -> tuple[NDArray[np.float64], ...]:
        """``kernel(*arrays)``: the arrays share their last axis (cells), as do the outputs.

        ``kernel`` must be picklable (a module-level function or a ``functools.partial`` of one)
        and the same on any chunk of cells.
        """
        ...


def in_process(kernel: Kernel, *arrays: np.ndarray) -> tuple[NDArray[np.float64], ...]:
    """Run ``kernel`` on the whole ``arrays`` in this process (the :class:`CellMap` of one process)."""
    return kernel(*arrays)


class Workers(Protocol):
    """Where independent jobs run: mapped onto workers when their work is large enough, else here."""

    def distributes(self, size: int) -> bool:
        """Whether work of ``size`` (grid cells, × members for an ensemble) would leave the process."""
        ...

    def map(self, work: Callable[[T], R], jobs: Sequence[T], *, size: int) -> list[R]:
        """``[work(job) for job in jobs]``, in the order of ``jobs``; ``work`` and the jobs picklable."""
        ...


class _Here:
    """The :class:`Workers` of one process: nothing leaves it."""

    def distributes(self, size: int) -> bool:
        return False

    def map(self, work: Callable[[T], R], jobs: Sequence[T], *, size: int) -> list[R]:
        return [work(job) for job in jobs]


#: This process, as :class:`Workers`.
here: Workers = _Here()
