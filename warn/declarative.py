"""Strict loading of declarative YAML files (config.yaml, models/*.yaml, playbooks/*.yaml).

Every declarative file is read into a pydantic model with ``extra="forbid"``, and every
validation error becomes a :class:`warn.errors.Problem` that names the file, the key
path and what was expected, so that ``warn check`` can list them all at once.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from warn.durations import parse_duration
from warn.errors import ConfigError, Problem
from warn.files import MAX_YAML_BYTES, read_text
from warn.vocab import COLOURS, RESPONSE_NAMES

M = TypeVar("M", bound=BaseModel)

#: Most nodes a YAML document may hold once its aliases are expanded: a config.yaml holds about
#: 2,000 and a year's roster about 100,000; a "billion laughs" anchor bomb holds 10⁹ in 1 KB.
MAX_YAML_NODES = 1_000_000


class Strict(BaseModel):
    """Base of every declarative schema: unknown keys are errors, objects are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def one_of(names: Sequence[str]) -> AfterValidator:
    """A validator accepting only ``names``; the message lists them as pydantic lists a Literal's."""
    quoted = [repr(name) for name in names]
    expected = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)

    def check(value: str) -> str:
        if value not in names:
            raise ValueError(expected)
        return value

    return AfterValidator(check)


#: A warning colour as written in files: blue, yellow, orange or red (:data:`warn.vocab.COLOURS`).
ColourName = Annotated[str, one_of(COLOURS)]
#: A colour or ``none``.
ColourOrNone = Annotated[str, one_of(("none", *COLOURS))]
#: A response level as written: IV … I (:data:`warn.vocab.RESPONSE_NAMES`).
ResponseName = Annotated[str, one_of(RESPONSE_NAMES)]


def _duration(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError("an ISO-8601 duration like PT1H or PT10M") from None


#: An ISO-8601 duration in YAML (``PT1H``), a :class:`datetime.timedelta` in code.
Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("a duration longer than zero, like PT15M")
    return value


#: A :data:`Duration` longer than zero (an interval, an age, a window).
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


def read_yaml(path: Path, *, limit: int = MAX_YAML_BYTES) -> Any:
    """Parse a YAML file of at most ``limit`` bytes (:func:`parse_yaml`); a missing, irregular (a pipe,
    a device), oversized or malformed file raises :class:`ConfigError`.

    Parsed files are remembered by (path, modification time, size), so a service that
    reads the same models and playbooks every cycle parses them once, and an operator's
    edit is read on the next call. Each call returns its own copy.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(Problem(str(path), "", "an existing file", "no such file")) from None
    except OSError as err:
        raise ConfigError(Problem(str(path), "", "a readable file", str(err))) from None
    return copy.deepcopy(_parsed(path.resolve(), stat.st_mtime_ns, stat.st_size, limit))


@lru_cache(maxsize=256)
def _parsed(path: Path, _mtime_ns: int, _size: int, limit: int) -> Any:
    """The YAML document in ``path`` (the file's identity in the arguments keys the cache)."""
    return parse_yaml(read_text(path, limit=limit, what="a YAML file", error=ConfigError), where=str(path))


def parse_yaml(text: str, *, where: str, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse YAML safely, refusing documents that expand past ``max_nodes`` nodes or nest too deep.

    Aliases are counted as the nodes they stand for, so an anchor bomb ("billion laughs")
    is refused after composition, before anything walks the expanded document.

    Raises
    ------
    ConfigError
        Naming ``where`` (and the line for malformed YAML).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > max_nodes:
            raise ConfigError(Problem(where, "", f"a YAML document of at most {max_nodes:,} nodes with its aliases "
                                      "expanded", f"{size:,} nodes",
                                      "anchors (&) and aliases (*) that multiply each other are refused"))
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark else where
        raise ConfigError(Problem(at, "", "valid YAML", str(getattr(err, "problem", err)))) from None
    except RecursionError:
        raise ConfigError(Problem(where, "", "YAML nested a few dozen levels deep at most",
                                  "nesting deeper than the parser can follow")) from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under ``node`` counting every alias as a copy (memoised per node in ``sizes``)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once, not forever
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    else:
        size = 1
    sizes[id(node)] = size
    return size


def parse_file(schema: type[M], path: Path) -> M:
    """Read ``path`` and validate it against ``schema``.

    Raises
    ------
    ConfigError
        With one problem per validation error, each naming the file and key path.
    """
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(Problem(str(path), "", "a mapping of keys at the top level", type(data).__name__))
    return validate(schema, data, where=str(path))


def validate(schema: type[M], data: Any, *, where: str, prefix: str = "") -> M:
    """Validate ``data`` against ``schema``, turning pydantic errors into problems."""
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        raise ConfigError(*problems_from(err, where, prefix)) from None


def problems_from(err: ValidationError, where: str, prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per pydantic error, with a readable key path and expectation."""
    problems = []
    for item in err.errors(include_url=False):
        key = ".".join([prefix] * bool(prefix) + [str(part) for part in item["loc"]])
        if item["type"] == "missing":
            problems.append(Problem(where, key, "this key (it is required)", "nothing", ""))
        elif item["type"] == "extra_forbidden":
            problems.append(Problem(where, key, "no such key", "an unknown key", "check the spelling against the documented keys"))
        elif item["type"] == "string_pattern_mismatch":
            problems.append(Problem(where, key, f"a string matching the pattern {item['ctx']['pattern']}",
                                    _short(item.get("input"))))
        else:
            expected = item["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
            problems.append(Problem(where, key, expected, _short(item.get("input"))))
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
