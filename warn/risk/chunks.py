"""The seam the time-stepped models run through: a kernel over arrays whose last axis is cells.

Every cell of the soil-water, storage-bucket, effective-rain and rolling-rain kernels
(:mod:`warn.risk.kernels`) is independent of the others, so a kernel run on chunks of cells,
its outputs joined along the cells, equals the kernel run on all of them to the last bit.
The public functions of :mod:`warn.risk` take a :class:`CellMap` and hand it a kernel and its
arrays; they never open a cluster. :func:`in_process` runs the kernel here on the whole
arrays; :class:`warn.compute.Compute` sends chunks of cells to dask.distributed workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

#: A kernel: arrays (…, cells) in, a tuple of arrays (…, cells) out, each cell on its own.
Kernel = Callable[..., tuple[NDArray[np.float64], ...]]


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
