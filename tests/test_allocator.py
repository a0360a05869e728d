"""The allocator keeps what a cycle frees mapped for the next one, up to a bound; each case in a process of its own."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from warn import allocator

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's; other C libraries "
                                                                          "are left as they are")

#: Allocates and touches an array of MB megabytes with a small one after it (the heap's top is not the big one's),
#: frees the big one, allocates one a megabyte smaller (the small allocations made meanwhile are carved from the
#: freed block, as they are in a cycle), frees it and settles; prints the resident memory (MiB) at each point.
_CHURN = textwrap.dedent("""
    import os, sys
    import numpy as np
    from warn import allocator
    page = os.sysconf("SC_PAGE_SIZE")
    def resident():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page / 2**20
    if sys.argv[1] == "keep":
        assert allocator.keep()
    size = int(sys.argv[2]) * 2**20 // 8
    before = resident()
    block = np.ones(size)
    pin = np.ones(1000)
    held = resident()
    del block
    after = resident()
    block = np.ones(size - 2**20 // 8)
    again = resident()
    del block
    settled = allocator.settle()
    print(before, held, after, again, resident(), int(settled))
""")


def _churn(mode: str, megabytes: int) -> tuple[float, ...]:
    out = subprocess.run([sys.executable, "-c", _CHURN, mode, str(megabytes)], check=True, capture_output=True,
                         text=True).stdout
    return tuple(float(x) for x in out.split())


def test_by_default_a_large_array_freed_is_given_back_to_the_kernel() -> None:
    before, held, after, again, _, _ = _churn("default", 200)
    assert held - before > 190
    assert after - before < 10
    assert again - before > 190  # faulted in anew


def test_kept_a_large_array_freed_stays_mapped_and_serves_the_next_one() -> None:
    before, held, after, again, settled, trimmed = _churn("keep", 200)
    assert held - before > 190
    assert after - before > 190  # kept
    assert again - after < 10  # the next array in the memory kept, not new pages
    assert not trimmed and settled - before > 190  # within the bound: still kept after the cycle


def test_more_than_the_bound_free_after_a_cycle_is_given_back() -> None:
    megabytes = allocator.KEPT // 2**20 + 200
    before, held, after, _, settled, trimmed = _churn("keep", megabytes)
    assert held - before > megabytes - 10
    assert after - before > megabytes - 10  # free() alone keeps it: the small array is above it
    assert trimmed and settled - before < 10
