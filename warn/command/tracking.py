"""What the planner keeps beside its state during one :func:`warn.command.plan` call.

With it a step costs what changed, not what is open.

- :class:`ThreadIndex`: the warning threads by what the mode rules and the incident ask of them — how
  many are active, and one active thread per (town, item kind, level), which is all
  :func:`warn.command.mode.review` reads (:meth:`warn.command.mode.ModeRule.matches` counts the places
  with a thread of a kind at a level or above; :meth:`warn.command.mode.StandDown.blockers` asks whether
  any is at a level or above) — and the playbook runs of each thread's slot.
- :class:`Dirty`: the slots, runs and requests changed since time last advanced over them. Advancing
  the clock to the time it already has only revisits those: any other is where the last advance left
  it (its steps, escalations and all-clear depend on itself, its thread, the mode and the time).

Nothing here is saved: both are rebuilt from the state at the start of every call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from warn.command.warnings import WarningThread
from warn.vocab import ItemKind, Level

#: What groups the active threads for the mode rules: town (``None``: district-wide), item kind, level.
Group = tuple[str | None, ItemKind, Level]


class ThreadIndex:
    """The active warning threads by (town, item kind, level), and the runs by thread slot.

    Parameters
    ----------
    threads
        The planner's threads by slot (:func:`warn.command.warnings.thread_key`), in their order.
    runs
        The planner's runs by id: (run id, slot) pairs.
    """

    def __init__(self, threads: Mapping[str, WarningThread], runs: Iterable[tuple[str, str]]) -> None:
        self._groups: dict[Group, dict[str, WarningThread]] = {}
        self._group_of: dict[str, Group] = {}
        self._runs: dict[str, list[str]] = {}
        self._order: dict[str, int] = {}
        self._first: dict[Group, WarningThread] = {}
        for slot, thread in threads.items():
            self.put(slot, None, thread)
        for run_id, slot in runs:
            self.add_run(run_id, slot)

    @property
    def active(self) -> int:
        """How many threads are active (not cleared)."""
        return len(self._group_of)

    def put(self, slot: str, old: WarningThread | None, new: WarningThread) -> None:
        """Note that ``slot`` holds ``new`` in place of ``old`` (``None``: it held nothing)."""
        self._order.setdefault(slot, len(self._order))
        if old is not None and old.active:
            group = self._group_of.pop(slot)
            members = self._groups[group]
            del members[slot]
            if members:
                self._first[group] = next(iter(members.values()))
            else:
                del self._groups[group], self._first[group]
        if new.active:
            group = (new.town, new.item_kind, new.level)
            self._group_of[slot] = group
            members = self._groups.setdefault(group, {})
            members[slot] = new
            self._first[group] = next(iter(members.values()))  # a group keeps its place among the groups

    def order(self, slot: str) -> int:
        """Where ``slot`` is among the threads (the order they were first put in)."""
        return self._order[slot]

    def representatives(self) -> list[WarningThread]:
        """One active thread per (town, item kind, level), the group's first, groups in the order they began.

        What the mode rules and the stand-down read of all (kept as threads are put: a storm's plan asks for
        them once per event).
        """
        return list(self._first.values())

    def add_run(self, run_id: str, slot: str) -> None:
        """Note a run started for the thread of ``slot``."""
        self._runs.setdefault(slot, []).append(run_id)

    def runs(self, slot: str) -> list[str]:
        """Return the ids of the runs started for the threads of ``slot``, in the order they started."""
        return self._runs.get(slot, [])


@dataclass
class Dirty:
    """What changed since the clock last advanced over it, and the time and mode of that advance.

    ``everything``: something that any run or request may depend on changed (an answer, a decision, an
    order, a danger, a manual warning): the next advance revisits all.
    """

    slots: set[str] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)
    requests: set[str] = field(default_factory=set)
    everything: bool = True
    at: datetime | None = None
    mode: tuple[object, ...] = ()

    def full(self, t: datetime, mode: tuple[object, ...]) -> bool:
        """Whether advancing to ``t`` under ``mode`` must revisit all (time moved, the mode changed, or flagged).

        Records ``t`` and ``mode`` as those of this advance and lowers the flag.
        """
        full = self.everything or self.at != t or self.mode != mode
        self.everything, self.at, self.mode = False, t, mode
        return full

    @staticmethod
    def take(marked: set[str], everything: Mapping[str, object], full: bool,
             order: Callable[[str], int] | None = None) -> list[str]:
        """Return the keys to revisit, and empty ``marked``.

        All of ``everything`` when ``full``, else those ``marked`` among them; sorted by ``order`` (``None``: by
        key; the order of ``everything`` when ``full``). What is marked from now on is for the next advance.
        """
        if full:
            keys = list(everything) if order is not None else sorted(everything)
        else:
            keys = sorted((k for k in marked if k in everything), key=order)
        marked.clear()
        return keys
