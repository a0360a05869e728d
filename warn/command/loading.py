"""Reading the command files: playbooks, the roster, the people directory, the ``command:`` section → a :class:`Setup`.

The one module of :mod:`warn.command` that reads files, at start-up and in ``warn check``;
:func:`warn.command.planner.plan` never calls it. Every problem is collected before
raising, and each names the file, the key path (a step by its id:
``phases.respond.evacuate.owner``) and what was expected.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warn.command.bulletins import Publication
from warn.command.dangers import DangerParams
from warn.command.directory import Directory, DirectoryFile, Locate
from warn.command.mode import ModeParams, ModeRule, StandDown
from warn.command.model import Role
from warn.command.org import OrgTree
from warn.command.planner import Setup
from warn.command.playbooks import (
    PHASES,
    Playbook,
    PlaybookFile,
    cross_check,
    parse_post,
)
from warn.command.reports import ReportParams
from warn.command.roster import Roster, RosterFile
from warn.config import CommandSpec
from warn.declarative import problems_from, read_yaml
from warn.errors import ConfigError, Problem
from warn.files import MAX_ROSTER_BYTES, open_text, read_text
from warn.vocab import ItemKind, Level, OrgLevel, ResponseLevel


def load_playbook(path: Path) -> Playbook:
    """Read and validate one playbook file.

    Raises
    ------
    ConfigError
        Every problem in the file, each naming the file, the step id and the key.
    """
    from pydantic import ValidationError

    data = read_yaml(path)
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(Problem(where, "", "a mapping of keys at the top level", type(data).__name__))
    try:
        spec = PlaybookFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(*[_name_step(p, data) for p in problems_from(err, where)]) from None
    problems = cross_check(spec, where)
    if problems:
        raise ConfigError(*problems)
    return spec.params()


def load_playbooks(folder: Path, *, skip: Path | None = None) -> tuple[Playbook, ...]:
    """Read every ``*.yaml`` playbook of ``folder``, sorted by file name; all problems at once.

    ``skip`` (the roster, when it lives there) is not a playbook.
    """
    if not folder.is_dir():
        raise ConfigError(Problem(str(folder), "", "a folder of playbook files (*.yaml)", "no such folder"))
    playbooks: list[Playbook] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        if skip is not None and path.resolve() == skip.resolve():
            continue
        try:
            playbooks.append(load_playbook(path))
        except ConfigError as err:
            problems += err.problems
    ids = [p.id for p in playbooks]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem(str(folder), "playbook", "playbook ids unique in the folder", repr(dup)))
    if problems:
        raise ConfigError(*problems)
    return tuple(playbooks)


def load_roster(path: Path, *, limit: int = MAX_ROSTER_BYTES) -> Roster:
    """Read a roster: YAML (:class:`warn.command.roster.RosterFile`) or CSV (``role, org, person, from, to``).

    The file must be a regular file of at most ``limit`` bytes (``files.max_roster_bytes``).
    """
    from pydantic import ValidationError

    where = str(path)
    if path.suffix.lower() == ".csv":
        with open_text(path, limit=limit, what="a CSV roster", error=ConfigError) as lines:
            rows = list(csv.DictReader(lines))
        data: Any = {"source": where, "shifts": rows}
    else:
        data = read_yaml(path, limit=limit)
    try:
        return RosterFile.model_validate(data).roster()
    except ValidationError as err:
        raise ConfigError(*problems_from(err, where)) from None


#: The CSV files of a directory folder, by section, and whether the folder must hold them.
DIRECTORY_CSV = {"units": True, "persons": True, "posts": False, "points": False}
#: The file of a directory folder holding its source (one line).
DIRECTORY_SOURCE = "source.txt"


def load_directory(path: Path, *, max_bytes: int = MAX_ROSTER_BYTES, district: str | None = None) -> Directory:
    """Read and cross-check the people directory (:mod:`warn.command.directory`): a JSON file or a folder of CSV files.

    Parameters
    ----------
    path
        The JSON file, or the folder holding ``units.csv``, ``persons.csv``, ``posts.csv``,
        ``points.csv`` and ``source.txt``.
    max_bytes
        Largest file read, bytes (``files.max_roster_bytes``); each file of a folder is held to it.
    district
        The deployment's district code, every town's parent; ``None``: the parent the towns name most.

    Raises
    ------
    ConfigError
        Every problem, each naming the file and the key — ``persons.3.mobile`` in a JSON file, the
        line and column in a CSV file (``people/persons.csv:5: mobile: …``).
    """
    from pydantic import ValidationError

    if path.is_dir():
        data, lines = _directory_csv(path, max_bytes)

        def locate(section: str, index: int, key: str) -> tuple[str, str]:
            return f"{path / section}.csv:{lines[section][index]}", key
    else:
        data = _directory_json(path, max_bytes)

        def locate(section: str, index: int, key: str) -> tuple[str, str]:
            return str(path), ".".join(part for part in (section, str(index), key) if part)
    try:
        spec = DirectoryFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(*[_located(p, path, locate) for p in problems_from(err, str(path))]) from None
    district = district or spec.district()
    if district is None:
        raise ConfigError(Problem(str(path / "units.csv" if path.is_dir() else path), "units",
                                  "at least one unit of level town", "none"))
    problems = spec.problems(locate, district)
    if problems:
        raise ConfigError(*problems)
    return spec.directory(district)


def _directory_json(path: Path, max_bytes: int) -> Any:
    """Return the parsed JSON of a directory file."""
    text = read_text(path, limit=max_bytes, what="a JSON directory", error=ConfigError)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(Problem(f"{path}:{err.lineno}", "", "a JSON document",
                                  f"{err.msg} at column {err.colno}")) from None


def _directory_csv(folder: Path, max_bytes: int) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Return a directory folder's sections as rows (empty cells left out), and each row's line number by section."""
    source = folder / DIRECTORY_SOURCE
    data: dict[str, Any] = {"source": read_text(source, limit=max_bytes, what="the directory's source (one line)",
                                                error=ConfigError).strip()}
    lines: dict[str, list[int]] = {}
    for section, required in DIRECTORY_CSV.items():
        path = folder / f"{section}.csv"
        if not required and not path.exists():
            data[section], lines[section] = [], []
            continue
        with open_text(path, limit=max_bytes, what=f"the directory's {section} (CSV)", error=ConfigError) as text:
            reader = csv.DictReader(text)
            rows, numbers = [], []
            for row in reader:
                rows.append({key: value for key, value in row.items() if value not in ("", None)})
                numbers.append(reader.line_num)
        data[section], lines[section] = rows, numbers
    return data, lines


def _located(problem: Problem, path: Path, locate: Locate) -> Problem:
    """Return a schema problem of a directory with its key (``persons.3.mobile``) located by ``locate``."""
    section, _, rest = problem.key.partition(".")
    index, _, key = rest.partition(".")
    if index.isdigit():
        where, key = locate(section, int(index), key)
    elif path.is_dir():
        where, key = str(path / (DIRECTORY_SOURCE if section == "source" else f"{section}.csv")), rest
    else:
        where, key = str(path), problem.key
    return Problem(where, key, problem.expected, problem.got, problem.hint)


def load_setup(spec: CommandSpec, district: str, hazard_names: Mapping[str, str], *,
               roster_limit: int = MAX_ROSTER_BYTES) -> Setup:
    """Build the planner's setup from config.yaml's ``command:`` section and the hazards' names.

    Paths are already resolved; ``hazard_names`` are the names people read by registry name
    (:func:`warn.hazards.names_zh`); ``roster_limit`` is ``files.max_roster_bytes``. With
    ``command.directory``, the roster is the roster file's shifts then the directory's standing posts,
    every person of the roster file must be in the directory, and the org tree is the directory's.
    """
    problems: list[Problem] = []
    try:
        playbooks = load_playbooks(spec.playbooks, skip=spec.roster)
    except ConfigError as err:
        problems += err.problems
    roster: Roster | None = None
    try:
        roster = load_roster(spec.roster, limit=roster_limit)
    except ConfigError as err:
        problems += err.problems
    org = OrgTree()
    if spec.directory is not None:
        try:
            directory = load_directory(spec.directory, max_bytes=roster_limit, district=district)
        except ConfigError as err:
            problems += err.problems
        else:
            if roster is not None:
                problems += unlisted(roster, directory, spec.roster)
                roster, org = Roster(roster.shifts + directory.posts), directory.org
    if problems or roster is None:
        raise ConfigError(*problems)
    problems = coverage(playbooks, roster, spec.playbooks, spec.roster, district)
    stand_down = _stand_down(spec, roster, problems)
    if problems:
        raise ConfigError(*problems)
    rules = tuple(
        ModeRule(r.id, r.label, Level[r.level.upper()], r.places, tuple(ItemKind(s) for s in r.scope),
                 ResponseLevel[r.response])
        for r in spec.mode_rules
    )
    return Setup(
        district=district, playbooks=playbooks, roster=roster,
        mode=ModeParams(rules, district, spec.automatic, spec.wartime_max_quiet, stand_down=stand_down,
                        hazard_names=dict(hazard_names), ask=spec.ask_decider),
        reports=ReportParams(spec.reports.initial, spec.reports.follow_up_every, spec.reports.final),
        all_clear_hold=spec.all_clear_hold, hazard_names=dict(hazard_names),
        publication=Publication({h: Level[c.upper()] for h, c in spec.publication.public_from.items()},
                                spec.publication.min_interval),
        org=org,
        dangers=DangerParams(spec.dangers.verify_within, spec.dangers.handle_within),
    )


def unlisted(roster: Roster, directory: Directory, roster_path: Path) -> list[Problem]:
    """Every person of the roster file missing from the directory's persons (each once, at their first shift)."""
    first: dict[str, int] = {}
    for index, shift in enumerate(roster.shifts):
        first.setdefault(shift.person, index)
    return [Problem(str(roster_path), f"shifts.{index}.person", "a person of the people directory", repr(person),
                    f"add them to the directory's persons with their contact points ({directory.source})")
            for person, index in first.items() if person not in directory.persons]


def coverage(playbooks: tuple[Playbook, ...], roster: Roster, folder: Path, roster_path: Path,
             district: str) -> list[Problem]:
    """Every role a playbook names (owner, chain) has some shift at its org level in the roster."""
    problems = []
    for playbook in playbooks:
        for step in playbook.steps:
            posts = [("owner", step.owner), *((f"escalate.{i}", p) for i, p in enumerate(step.escalate))]
            for key, post in posts:
                if not roster.covers(post.role, post.level):
                    problems.append(Problem(
                        str(folder / f"{playbook.id}.yaml"), f"phases.{step.phase}.{step.id}.{key}",
                        f"a role the roster fills at level {post.level}", str(post),
                        f"add a shift for {post.level}.<unit>.{post.role} to {roster_path}"))
    for role in ("commander", "scribe", "leader_on_duty"):
        post = parse_post(f"district.{district}.{role}")
        if not roster.covers(post.role, OrgLevel.DISTRICT):
            problems.append(Problem(str(roster_path), "shifts", f"a shift for {post}", "none",
                                    "chains end with the commander; situation reports go to the scribe"))
    return problems


def _stand_down(spec: CommandSpec, roster: Roster, problems: list[Problem]) -> StandDown:
    """Return the stand-down rule of ``command.stand_down``.

    A role that is none, or that no district shift fills, is added to ``problems`` (config.yaml
    is named by the key, as ``warn check`` reports it).
    """
    level = Level[spec.stand_down.refuse_while.upper()]
    key = "command.stand_down.override"
    try:
        role = Role(spec.stand_down.override)
    except ValueError:
        problems.append(Problem("config.yaml", key, f"a role among {', '.join(sorted(Role))}",
                                repr(spec.stand_down.override)))
        return StandDown(level)
    if not roster.covers(role, OrgLevel.DISTRICT):
        problems.append(Problem("config.yaml", key, "a role the roster fills at the district", str(role),
                                f"add a shift for district.<code>.{role} to {spec.roster}"))
    return StandDown(level, role)


def _name_step(problem: Problem, data: dict[str, Any]) -> Problem:
    """Name a step by its id in a key path: ``phases.respond.2.owner`` → ``phases.respond.evacuate.owner``."""
    parts = problem.key.split(".")
    if len(parts) >= 3 and parts[0] == "phases" and parts[1] in PHASES and parts[2].isdigit():
        steps = (data.get("phases") or {}).get(parts[1]) or []
        index = int(parts[2])
        step = steps[index] if isinstance(steps, list) and index < len(steps) else None
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            parts[2] = step["id"]
            return Problem(problem.where, ".".join(parts), problem.expected, problem.got, problem.hint)
    return problem
