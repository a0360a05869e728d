"""The error hierarchy of warn.

Every error the project raises on purpose derives from :class:`WarnError` and
carries *where* the problem is, *what* is wrong and *what was expected*, so that a
duty officer's engineer can act on the message without reading code. The message
reads ``file: key.path: expected …, got … (hint)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in an input.

    Parameters
    ----------
    where
        The file, URL or object the problem is in.
    key
        Dotted key path inside it (``zones.towns.crs``), or a variable name; may be empty.
    expected
        What was expected there.
    got
        What was found instead; may be empty.
    hint
        How to fix it; may be empty.
    """

    where: str
    key: str
    expected: str
    got: str = ""
    hint: str = ""

    def __str__(self) -> str:
        """Render as ``where: key.path: expected …, got … (hint)``."""
        text = f"{self.where}: "
        if self.key:
            text += f"{self.key}: "
        text += f"expected {self.expected}"
        if self.got:
            text += f", got {self.got}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class WarnError(Exception):
    """Root of every error raised on purpose by warn.

    Parameters
    ----------
    problems
        One or more located problems; the message lists them one per line.
    """

    def __init__(self, *problems: Problem) -> None:
        self.problems: tuple[Problem, ...] = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(WarnError):
    """A deployment file (config.yaml, models/, geodata/, playbooks/) is invalid."""


class DataContractError(WarnError):
    """An array or table does not honour its contract (units, dims, times, values)."""


class SourceError(WarnError):
    """A feed could not be fetched or decoded."""


class StoreError(WarnError):
    """The store cannot be reached, or refused what was written to it."""


class UnknownNameError(WarnError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:
        """Return the message as it is (KeyError would quote it)."""
        return Exception.__str__(self)


class CapError(WarnError):
    """A CAP message is invalid (schema, CAP rules or the district profile) or unsafe to read."""


class UsageError(WarnError):
    """A command's argument or option cannot be used as given (a text with control characters, too long)."""


def first_line(err: BaseException) -> str:
    """Return the first line of ``err``'s message, or its type's name when it says nothing (one-sentence logs)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
