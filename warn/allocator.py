"""glibc's malloc told to keep the memory a warning cycle frees for the next cycle, up to a bound.

By default glibc serves every allocation above its mmap threshold (128 KiB, rising to at most
32 MiB as large blocks are freed) with a mapping of its own and unmaps it on ``free``. A city
cycle (bench/cycle.py: 401 × 491 cells × 24 h, float64 fields of 38–111 MB) makes and frees
dozens of such arrays, and each is fresh memory that the kernel maps, faults in page by page
and zeroes, every cycle again: copying into a new 38 MB array took 0.01 s in memory already
mapped and up to 0.11 s in fresh pages on this project's virtual machine (2026-12-05).

:func:`keep` has large blocks served from the heap as well, so what a cycle frees stays mapped
and serves the next one; :func:`settle`, after each cycle, gives the free pages back once more
than :data:`KEPT` bytes are free (a one-off spike — a spin-up over 30 days of kept rain, a
municipal grid — does not stay mapped for the service's life; glibc by itself returns only the
top of its heap). Over the 12 city cycles of bench/cycle.py, four runs alternating with the
default (2026-12-05): the steady median 2.06–2.26 s against 2.20–2.66 s, the busy cycle 1.47–1.66 s
against 1.58–1.87 s, the peak memory 888–942 MiB against 878–963 MiB; over 36 cycles the steady
median 2.00 s against 2.45 s and the peak 978 MiB (what a cycle frees is reused: the heap does not
grow from cycle to cycle). Other C libraries than glibc are left as they are.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import platform

log = logging.getLogger(__name__)

#: Bytes of free heap memory that stay mapped after a cycle; beyond them the free pages are given back.
KEPT = 1 << 30
#: glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


class _Mallinfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (malloc.h), bytes."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc with ``mallinfo2`` (2.33 and later), else None."""
    if platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _Mallinfo2
    return libc


def keep() -> bool:
    """Serve large blocks from the heap and keep freed memory mapped until :func:`settle`; process-wide.

    Called once by the service at its start. Returns whether it applied: False where the C
    library is not glibc 2.33 or later (the log says so).
    """
    libc = _glibc()
    if libc is None:
        log.info("the C library is not glibc 2.33 or later: its allocator is left as it is")
        return False
    # no allocation gets a mapping of its own (a thread's arena still maps what its heaps cannot hold);
    # the heap's top is not trimmed by free() until more than KEPT of it is free
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, KEPT))


def settle() -> bool:
    """After a cycle: give the free pages of the heap back to the kernel if more than :data:`KEPT` bytes are free.

    Returns whether it did (``malloc_trim``).
    """
    libc = _glibc()
    if libc is None or libc.mallinfo2().fordblks <= KEPT:
        return False
    libc.malloc_trim(0)
    return True
