"""The org tree: district → towns/streets → communities/villages → grids, and the points in communities.

Built from the people directory (:mod:`warn.command.directory`); the planner reads it to fan a playbook
step out to every unit below one (the town calls each of its communities) and to find the unit above
one (where an unanswered call escalates). An empty tree knows no units: steps then address the posts
their templates name and nothing fans out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from warn.command.model import OrgUnit
from warn.vocab import OrgLevel


@dataclass(frozen=True)
class OrgTree:
    """Org units with their parent and name.

    Attributes
    ----------
    parents
        Every unit below the district and its parent (a point's parent is its community).
    names
        The unit's name for people (``两路街道``, ``双凤桥社区``), by unit.
    """

    parents: Mapping[OrgUnit, OrgUnit] = field(default_factory=dict)
    names: Mapping[OrgUnit, str] = field(default_factory=dict)

    def parent(self, unit: OrgUnit) -> OrgUnit | None:
        """Return the unit directly above ``unit``; ``None`` for the district or a unit the tree does not know."""
        return self.parents.get(unit)

    def ancestor(self, unit: OrgUnit, level: OrgLevel) -> OrgUnit | None:
        """Return the unit at ``level`` above ``unit`` (``unit`` itself when it is at ``level``); ``None`` when none."""
        current: OrgUnit | None = unit
        while current is not None and current.level is not level:
            current = self.parents.get(current)
        return current

    def children(self, unit: OrgUnit, level: OrgLevel | None = None) -> tuple[OrgUnit, ...]:
        """Return the units directly below ``unit`` (only those at ``level`` when given), in code order."""
        found = [u for u, p in self.parents.items() if p == unit and (level is None or u.level is level)]
        return tuple(sorted(found, key=lambda u: (u.level, u.code)))

    def below(self, unit: OrgUnit, level: OrgLevel) -> tuple[OrgUnit, ...]:
        """Return every unit at ``level`` anywhere below ``unit``, in code order."""
        found = [u for u in self.parents if u.level is level and self._under(u, unit)]
        return tuple(sorted(found, key=lambda u: u.code))

    def name(self, unit: OrgUnit) -> str:
        """Return the unit's name for people; its code when the tree has none."""
        return self.names.get(unit, unit.code)

    def _under(self, unit: OrgUnit, top: OrgUnit) -> bool:
        current = self.parents.get(unit)
        while current is not None:
            if current == top:
                return True
            current = self.parents.get(current)
        return False
