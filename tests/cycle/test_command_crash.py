"""Execute → publish → save → consume, interrupted at every step boundary (issue 15): a real exception raised
from the real store's method at that point, then the step run again. Nothing is written twice, nothing is lost,
and every inbox event is consumed exactly once: the store ends as a run without the crash leaves it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cycle.conftest import DISTRICT, manual, minutes, step, written
from warn.cycle.command import submit
from warn.store import Store
from warn.vocab import Level


class Crash(RuntimeError):
    """The injected failure (a process dying there, as far as the store can tell)."""


def before(method: Callable) -> Callable:
    """``method`` failing before it runs."""
    def failing(*args, **kwargs):
        raise Crash(method.__name__)
    return failing


def after(method: Callable) -> Callable:
    """``method`` failing once it has run (its transaction committed)."""
    def failing(*args, **kwargs):
        method(*args, **kwargs)
        raise Crash(method.__name__)
    return failing


#: Where the step is interrupted: (owner of the method, method name, how it fails).
BOUNDARIES = {
    "after-execute": (lambda s: s, "execute_actions", after),
    "publish-record": (lambda s: s.warnings, "record_messages", before),  # a batch of messages, one transaction
    "after-publish-record": (lambda s: s.warnings, "record_messages", after),  # recorded, none queued
    "publish-queue": (lambda s: s.outbox, "enqueue_many", before),  # a step's rows are queued in one transaction
    "after-publish": (lambda s: s.planner, "save", before),
    "after-save": (lambda s: s.planner, "save", after),
    "before-consume": (lambda s: s.inbox, "consumed", before),
    "after-consume": (lambda s: s.inbox, "consumed", after),
}


def storm(store: Store, settings, setup, *, crash: str | None = None) -> None:
    """Two steps of people's warnings (a district red: incident, playbook tasks, 叫应 calls, a mode proposal;
    an orange on DEMO-T04; then a yellow on DEMO-T05), the first interrupted at ``crash`` and run again."""
    submit(store, manual(DISTRICT, Level.RED, "人工红色暴雨预警", minutes(0)))
    submit(store, manual("DEMO-T04", Level.ORANGE, "人工橙色暴雨预警", minutes(1)))
    if crash is not None:
        owner, name, failing = BOUNDARIES[crash]
        target = owner(store)
        setattr(target, name, failing(getattr(target, name)))
        with pytest.raises(Crash):
            step(store, settings, setup, minutes(5))
        delattr(target, name)
    step(store, settings, setup, minutes(5))
    submit(store, manual("DEMO-T05", Level.YELLOW, "人工黄色暴雨预警", minutes(20)))
    step(store, settings, setup, minutes(30))


@pytest.mark.parametrize("crash", sorted(BOUNDARIES))
def test_a_step_interrupted_at_every_boundary_then_run_again_writes_what_an_uninterrupted_one_does(
        crash, command_settings, setup, tmp_path) -> None:
    reference_url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    with Store.connect(reference_url) as reference:
        reference.upgrade()
        storm(reference, load_settings_at(command_settings, reference_url), setup)
        expected = written(reference)
    with Store.connect(command_settings.store.url) as store:
        store.upgrade()
        storm(store, command_settings, setup, crash=crash)
        got = written(store)
        assert store.timeline.verify().ok
    for table in expected:
        assert got[table] == expected[table], table
    assert all(row[1] is not None for row in got["inbox"])  # every event consumed, once (its one time)
    assert len(got["warning_messages"]) >= 3 and got["tasks"] and got["ack_requests"]


def load_settings_at(settings, url: str):
    """``settings`` with its store at ``url``."""
    return settings.model_copy(update={"store": settings.store.model_copy(update={"url": url})})
