"""The collector's thresholds for warning cycles: the youngest generation less often, cycles still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from warn import collector


@pytest.fixture
def thresholds() -> Iterator[None]:
    """The process's thresholds put back after the test."""
    kept = gc.get_threshold()
    yield
    gc.set_threshold(*kept)


class _Node:
    def __init__(self) -> None:
        self.other: object = self


def test_tuning_collects_the_youngest_generation_less_often_and_keeps_the_older_ratios(thresholds: None) -> None:
    gc.set_threshold(700, 7, 9)
    collector.tune()
    assert gc.get_threshold() == (collector.YOUNG, 7, 9)
    collector.tune()  # again: the same
    assert gc.get_threshold() == (collector.YOUNG, 7, 9)


def test_a_reference_cycle_is_still_collected_without_being_asked(thresholds: None) -> None:
    collector.tune()
    gc.collect()
    garbage = _Node()  # refers to itself: only the collector frees it
    alive = weakref.ref(garbage)
    del garbage
    assert alive() is not None
    kept = [[] for _ in range(2 * collector.YOUNG)]  # tracked allocations enough for a young collection
    assert alive() is None
    assert len(kept) == 2 * collector.YOUNG
