"""Playbooks (预案): the warn → prevent → respond steps of one hazard, as data.

A playbook file (``playbooks/*.yaml``) is validated by :class:`PlaybookFile`
(``extra="forbid"``) and becomes a frozen :class:`Playbook`. Schema::

    playbook: landslide            # id, [a-z0-9_]
    version: 1
    hazard: landslide              # a registered hazard (warn check says which)
    title: 地质灾害隐患点预案 …
    source: where the procedure comes from
    attributes: [threatened_people]  # item attributes the texts quote
    trigger:
      level: blue                  # a run starts when an item is at this level or above
      scope: point                 # zone | point | district
    phases:                        # warn, prevent, respond: lists of steps
      warn:
        - id: notify_monitor       # unique in the file
          action: notify           # notify | task | ack_request | propose_mode
          owner: point.{item}.monitor    # <district|town|community|grid|point>.<unit>.<role>; unit a literal
                                         # code, {district}, {town}, {item}, {community}, {grid}, or * (fan-out)
          text: "{item} {level_zh}预警 …"  # fields: item, town, district, hazard, level, level_zh,
                                         # drivers, unit (the addressed unit's name), and the declared attributes
          condition: level >= orange and mode == wartime   # optional
          after: other_step        # optional: due counts from that step's emission
          after_answer: a_call     # optional (instead of after): the downward cascade, see below
          due: PT30M               # optional (PT0M): after the run's start, `after` or `after_answer`
          within: PT1H             # task: time to complete (required for task)
          ack: PT15M               # deadline to answer (required for ack_request; a task with
                                   # ack is a hand-off); each escalation gets the same time again
          escalate: [town.{town}.town_leader, district.{district}.commander]
                                   # ordered: who gets it when unanswered or unfilled
          response: III            # propose_mode only: the response level proposed

Fan-out. An owner whose unit is ``*`` (``community.*.community_lead``, ``grid.*.grid_worker``,
``point.*.monitor``) addresses every unit of that level in the warned area, from the org tree
(:class:`warn.command.org.OrgTree`, the people directory's): the area is the town of a zone
warning (the district for a district-wide one) and the community of a hazard point (its town when
the tree does not place it; a catchment is placed as a point). The step gives one notice, task or
request per unit, each keyed by the unit's code and escalating along its own chain, where
``{town}``, ``{community}`` and ``{grid}`` are the addressed unit's own (``escalate:
[town.{town}.town_leader]`` reaches the town above each community). Fan-out levels: ``town``
(district scope), ``community``, ``grid``, ``point`` (zone and district scope), ``community`` and
``grid`` (point and catchment scope). A fan-out finding no unit is recorded (``ORG-EMPTY``), never
skipped silently. ``{community}`` may be used by a step fanning out at community level or below, or
in a point or catchment playbook (the item's community); ``{grid}`` by a step fanning out at grid
level. ``warn check`` rejects any other use. An escalation post whose field the run cannot give (a
point the tree does not place in a community) is left out of the chain; an owner that cannot be
given is recorded as ``ORG-EMPTY``.

The downward cascade. ``after_answer: <an earlier ack_request step>``: the step comes when that
step's 叫应 is answered (by anyone of its chain) or when its first deadline passes unanswered — a
silent town leader does not stop the communities being called. When both steps fan out and this
one at a lower level (communities, then grids), each unit above cascades on its own: a community
lead's answer calls that community's grid workers. Otherwise the step comes once every request of
that step has answered or reached its first deadline. Each cascade is recorded (``CASCADE``). Points
lie in communities, not grids: a fan-out to point monitors follows a community call.

The planner runs one playbook per warning thread whose hazard and item kind match
and whose level reaches the trigger. A step is emitted once, when its due time has
come and its condition holds (it waits while the condition does not hold).

Playbooks do not publish: what people read, and who reads it, is declared per hazard and level in
config.yaml ``publication:`` (:mod:`warn.command.bulletins`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from warn.command.model import OrgUnit, Post, Role
from warn.declarative import ColourName, Duration, ResponseName, Strict
from warn.errors import Problem
from warn.vocab import HazardName, ItemKind, Level, Mode, OrgLevel, ResponseLevel

#: Fields an org-unit template may use.
UNIT_FIELDS = ("community", "district", "grid", "item", "town")
#: The unit of an owner that fans the step out to every unit of its level in the warned area.
FAN_OUT = "*"
#: Fan-out levels by the trigger's scope (the warned area: the district, a town, a point's community).
FAN_OUT_LEVELS: Mapping[ItemKind, tuple[OrgLevel, ...]] = {
    ItemKind.DISTRICT: (OrgLevel.TOWN, OrgLevel.COMMUNITY, OrgLevel.GRID, OrgLevel.POINT),
    ItemKind.ZONE: (OrgLevel.COMMUNITY, OrgLevel.GRID, OrgLevel.POINT),
    ItemKind.POINT: (OrgLevel.COMMUNITY, OrgLevel.GRID),
    ItemKind.CATCHMENT: (OrgLevel.COMMUNITY, OrgLevel.GRID),
}
#: Item kinds whose warned area is the community the item lies in (the org tree places it as a point).
IN_COMMUNITY = (ItemKind.POINT, ItemKind.CATCHMENT)
#: Fields every text may use (besides the playbook's declared attributes).
TEXT_FIELDS = ("district", "drivers", "hazard", "item", "level", "level_zh", "town", "unit")
#: The phases, in order.
PHASES = ("warn", "prevent", "respond")


class StepAction(StrEnum):
    """What a step does (the playbook vocabulary)."""

    NOTIFY = "notify"
    TASK = "task"
    ACK_REQUEST = "ack_request"
    PROPOSE_MODE = "propose_mode"


# --- templates and conditions -----------------------------------------------------------------


@dataclass(frozen=True)
class PostTemplate:
    """``<level>.<unit>.<role>`` with the unit a literal code, a template field (:data:`UNIT_FIELDS`) or ``*``."""

    level: OrgLevel
    unit: str
    role: Role

    @property
    def fans_out(self) -> bool:
        """Whether it addresses every unit of its level in the warned area (unit ``*``)."""
        return self.unit == FAN_OUT

    @property
    def field(self) -> str | None:
        """The template field its unit names (``town`` for ``{town}``), ``None`` for a code or ``*``."""
        return self.unit[1:-1] if self.unit.startswith("{") else None

    def resolve(self, context: Mapping[str, str], addressed: OrgUnit | None = None) -> Post | None:
        """Return the post for a run's context (``district``, ``town``, ``item``, ``community``, ``grid``).

        ``addressed`` is the unit a fan-out step addresses (required for ``*``); ``None`` when a field
        the context lacks is named (a point the org tree does not place in a community).
        """
        if self.fans_out:
            return None if addressed is None else Post(addressed, self.role)
        code = context.get(self.field) if self.field else self.unit
        return None if code is None else Post(OrgUnit(self.level, code), self.role)

    def __str__(self) -> str:
        """Write the post as in a playbook: ``level.unit.role``."""
        return f"{self.level}.{self.unit}.{self.role}"


def parse_post(text: str, *, fan_out: bool = False) -> PostTemplate:
    """Parse an owner / escalation / approval template; ``ValueError`` says what was expected.

    ``fan_out``: the unit may be ``*`` (a step's owner).
    """
    parts = text.split(".")
    if len(parts) != 3:
        raise ValueError("an org unit template <district|town|community|grid|point>.<unit>.<role>, "
                         "e.g. town.{town}.duty_officer")
    level, unit, role = parts
    if level not in OrgLevel.__members__.values():
        raise ValueError(f"an org level among {', '.join(OrgLevel)} before the first dot, got {level!r} in {text!r}")
    if unit == FAN_OUT:
        if not fan_out:
            raise ValueError(f"a unit code or a template field, not * (fan-out is for a step's owner), in {text!r}")
        if level == OrgLevel.DISTRICT:
            raise ValueError(f"a fan-out level below the district (town, community, grid or point), in {text!r}")
    elif unit.startswith("{") or unit.endswith("}"):
        if unit[1:-1] not in UNIT_FIELDS or not (unit.startswith("{") and unit.endswith("}")):
            raise ValueError(f"a template field among {', '.join('{' + f + '}' for f in UNIT_FIELDS)}, "
                             f"got {unit!r} in {text!r}")
    elif not re.fullmatch(r"[A-Za-z0-9-]+", unit):
        raise ValueError(f"an org unit code (letters, digits, -) or a template field, got {unit!r} in {text!r}")
    if role not in Role.__members__.values():
        raise ValueError(f"a role among {', '.join(sorted(Role))}, got {role!r} in {text!r}")
    return PostTemplate(OrgLevel(level), unit, Role(role))


@dataclass(frozen=True)
class Clause:
    """One clause of a condition: ``level <op> <level>``, ``mode <op> <mode>`` or ``attr.<name> <op> <word>``."""

    subject: Literal["level", "mode", "attr"]
    op: str
    value: Level | Mode | str
    name: str = ""

    def holds(self, level: Level, mode: Mode, attributes: Mapping[str, object]) -> bool:
        """Whether the clause holds at ``level`` and ``mode`` for an item with ``attributes``."""
        if self.subject == "mode":
            return (mode is self.value) == (self.op == "==")
        if self.subject == "attr":
            return (str(attributes.get(self.name)) == self.value) == (self.op == "==")
        return _OPS[self.op](int(level), int(self.value))


_OPS = {">=": int.__ge__, ">": int.__gt__, "==": int.__eq__, "<=": int.__le__, "<": int.__lt__, "!=": int.__ne__}
_CLAUSE = re.compile(r"^\s*(level|mode|attr\.[a-z_][a-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([A-Za-z0-9_-]+)\s*$")


def parse_condition(text: str) -> tuple[Clause, ...]:
    """Parse ``level >= orange and mode == wartime and attr.kind == underpass``.

    A ``ValueError`` says what was expected.
    """
    clauses = []
    for part in text.split(" and "):
        match = _CLAUSE.match(part)
        if not match:
            raise ValueError("clauses like 'level >= orange', 'mode == wartime' or 'attr.kind == underpass' "
                             f"joined by 'and', got {part.strip()!r}")
        subject, op, value = match.groups()
        if subject.startswith("attr."):
            if op not in ("==", "!="):
                raise ValueError(f"an attribute compared with == or !=, got {op!r}")
            clauses.append(Clause("attr", op, value, subject.removeprefix("attr.")))
        elif subject == "level":
            if value not in ("none", "blue", "yellow", "orange", "red"):
                raise ValueError(f"a level among none, blue, yellow, orange, red, got {value!r}")
            clauses.append(Clause("level", op, Level[value.upper()]))
        else:
            if op not in ("==", "!="):
                raise ValueError(f"mode compared with == or !=, got {op!r}")
            if value not in ("peacetime", "wartime"):
                raise ValueError(f"a mode among peacetime, wartime, got {value!r}")
            clauses.append(Clause("mode", op, Mode(value)))
    return tuple(clauses)


def text_fields(text: str) -> list[str]:
    """Return the replacement fields of a text template (``ValueError`` if it does not parse)."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


# --- the file schema --------------------------------------------------------------------------


class StepSpec(Strict):
    """One step of a phase."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    action: StepAction
    owner: str
    text: str = Field(min_length=1)
    condition: str | None = None
    after: str | None = None
    after_answer: str | None = None
    due: Duration = timedelta(0)
    within: Duration | None = None
    ack: Duration | None = None
    escalate: list[str] = Field(default_factory=list)
    response: ResponseName | None = None

    @field_validator("owner")
    @classmethod
    def _post(cls, value: str) -> str:
        parse_post(value, fan_out=True)
        return value

    @field_validator("escalate")
    @classmethod
    def _chain(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            try:
                parse_post(item)
            except ValueError as err:
                raise ValueError(f"{err} (escalate entry {i})") from None
        return value

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None:
            parse_condition(value)
        return value

    @field_validator("due", "within", "ack")
    @classmethod
    def _not_negative(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(0):
            raise ValueError("a duration of zero or more, like PT30M")
        return value

    @model_validator(mode="after")
    def _complete_for_action(self) -> StepSpec:
        if self.action == StepAction.TASK and self.within is None:
            raise ValueError("a task step to give within (time to complete, e.g. PT1H)")
        if self.action == StepAction.ACK_REQUEST and self.ack is None:
            raise ValueError("an ack_request step to give ack (the answer deadline, e.g. PT15M)")
        if self.action == StepAction.PROPOSE_MODE and self.response is None:
            raise ValueError("a propose_mode step to give response (IV, III, II or I)")
        if self.ack is not None and self.action not in (StepAction.TASK, StepAction.ACK_REQUEST):
            raise ValueError("ack only on a task or an ack_request")
        if self.after is not None and self.after_answer is not None:
            raise ValueError("after or after_answer, not both")
        if self.action == StepAction.PROPOSE_MODE and self.owner.split(".")[1:2] == [FAN_OUT]:
            raise ValueError("a notify, task or ack_request step to fan out (owner unit *), not propose_mode")
        return self


class TriggerSpec(Strict):
    """When a playbook starts for an item."""

    level: ColourName
    scope: ItemKind


class PhasesSpec(Strict):
    """The three phases, each a list of steps."""

    warn: list[StepSpec] = Field(default_factory=list)
    prevent: list[StepSpec] = Field(default_factory=list)
    respond: list[StepSpec] = Field(default_factory=list)


class PlaybookFile(Strict):
    """A playbook file (``playbooks/<hazard>.yaml``)."""

    playbook: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    hazard: HazardName = Field(pattern=r"^[a-z][a-z0-9_]*$", description="a registered hazard (checked by warn check)")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    attributes: list[str] = Field(default_factory=list)
    trigger: TriggerSpec
    phases: PhasesSpec

    def steps(self) -> list[tuple[str, int, StepSpec]]:
        """Every step with its phase and position, in phase order."""
        return [(phase, i, step) for phase in PHASES for i, step in enumerate(getattr(self.phases, phase))]

    def params(self) -> Playbook:
        """Return the frozen playbook."""
        return Playbook(
            id=self.playbook, version=self.version, hazard=self.hazard, title=self.title,
            attributes=tuple(self.attributes),
            trigger=Level[self.trigger.level.upper()], scope=self.trigger.scope,
            steps=tuple(
                Step(
                    id=s.id, phase=phase, action=s.action, owner=parse_post(s.owner, fan_out=True), text=s.text,
                    condition=parse_condition(s.condition) if s.condition else (), after=s.after, due=s.due,
                    within=s.within, ack=s.ack, escalate=tuple(parse_post(e) for e in s.escalate),
                    response=ResponseLevel[s.response] if s.response else None, after_answer=s.after_answer,
                )
                for phase, _, s in self.steps()
            ),
        )


def _unit_problems(scope: ItemKind, step: StepSpec, where: str, key: str) -> list[Problem]:
    """Return the problems of a fan-out level the scope lacks, or a ``{community}`` / ``{grid}`` it cannot resolve."""
    problems = []
    owner = parse_post(step.owner, fan_out=True)
    levels = FAN_OUT_LEVELS[scope]
    if owner.fans_out and owner.level not in levels:
        problems.append(Problem(where, f"{key}.owner", f"a fan-out level among {', '.join(levels)} for a {scope} "
                                "playbook", step.owner))
    below_community = owner.fans_out and owner.level in (OrgLevel.COMMUNITY, OrgLevel.GRID, OrgLevel.POINT)
    given = {"community": below_community or scope in IN_COMMUNITY,
             "grid": owner.fans_out and owner.level is OrgLevel.GRID}
    for name, template in [("owner", owner), *((f"escalate.{i}", parse_post(e)) for i, e in enumerate(step.escalate))]:
        if template.field in given and not given[template.field]:
            problems.append(Problem(where, f"{key}.{name}", f"{{{template.field}}} only where the step addresses "
                                    f"a unit at {template.field} level or below (owner {template.field}.* or lower; "
                                    "{community} also in a point playbook)", str(template)))
    return problems


# --- the frozen playbook ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A validated step (see the module docstring for the meaning of each field)."""

    id: str
    phase: str
    action: StepAction
    owner: PostTemplate
    text: str
    condition: tuple[Clause, ...]
    after: str | None
    due: timedelta
    within: timedelta | None
    ack: timedelta | None
    escalate: tuple[PostTemplate, ...]
    response: ResponseLevel | None
    after_answer: str | None = None

    def applies(self, level: Level, mode: Mode, attributes: Mapping[str, object]) -> bool:
        """Whether every clause of the condition holds."""
        return all(clause.holds(level, mode, attributes) for clause in self.condition)


@dataclass(frozen=True)
class Playbook:
    """A validated playbook."""

    id: str
    version: int
    hazard: HazardName
    title: str
    trigger: Level
    scope: ItemKind
    steps: tuple[Step, ...]
    attributes: tuple[str, ...] = ()

    def matches(self, hazard: HazardName, item_kind: ItemKind, level: Level) -> bool:
        """Whether a warning of ``hazard`` on an ``item_kind`` at ``level`` starts this playbook."""
        return hazard == self.hazard and item_kind is self.scope and level >= self.trigger


def cross_check(spec: PlaybookFile, where: str) -> list[Problem]:
    """Return the problems between steps.

    Duplicate ids, ``after`` / ``after_answer`` naming no earlier (ack_request) step, fan-out levels and unit
    fields the scope cannot give, unknown text fields.
    """
    problems: list[Problem] = []
    seen: dict[str, StepSpec] = {}
    fields = set(TEXT_FIELDS) | set(spec.attributes)
    for phase, _, step in spec.steps():
        key = f"phases.{phase}.{step.id}"
        if step.id in seen:
            problems.append(Problem(where, f"{key}.id", "step ids unique in the file", repr(step.id)))
        if step.after is not None and step.after not in seen:
            problems.append(Problem(where, f"{key}.after", "the id of a step defined before this one",
                                    repr(step.after), f"steps before it: {', '.join(sorted(seen)) or 'none'}"))
        calls = sorted(s.id for s in seen.values() if s.action == StepAction.ACK_REQUEST)
        if step.after_answer is not None and step.after_answer not in calls:
            problems.append(Problem(where, f"{key}.after_answer", "the id of an ack_request step defined before "
                                    "this one", repr(step.after_answer),
                                    f"calls before it: {', '.join(calls) or 'none'}"))
        problems += _unit_problems(spec.trigger.scope, step, where, key)
        seen[step.id] = step
        for clause in parse_condition(step.condition) if step.condition else ():
            if clause.subject == "attr" and clause.name not in spec.attributes:
                problems.append(Problem(where, f"{key}.condition", f"attributes among the declared ones "
                                        f"({', '.join(spec.attributes) or 'none'})", f"attr.{clause.name}",
                                        "declare item attributes under attributes:"))
        try:
            names = text_fields(step.text)
        except ValueError as err:
            problems.append(Problem(where, f"{key}.text", "a text with {field} templates", str(err)))
            continue
        for name in names:
            if name not in fields:
                problems.append(Problem(where, f"{key}.text", f"template fields among {', '.join(sorted(fields))}",
                                        "{" + name + "}", "declare item attributes under attributes:"))
    return problems
