"""Named registries, one per extension point.

A registry maps names to implementations (forecast decoders, storm-intensity
formulas, QC rules, channels, …). Registering a name twice fails at once; looking up
an unknown name fails with the available names and the closest match. Config and
models refer to entries only by name, and help texts list :meth:`Registry.names`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from warn.errors import Problem, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A typed name → object registry.

    Parameters
    ----------
    kind
        What the entries are, for messages (``"forecast decoder"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name``; a second registration of a name fails."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Register the decorated entry under ``name``: the decorator form of :meth:`add`."""

        def decorate(entry: T) -> T:
            return self.add(name, entry)

        return decorate

    def get(self, name: str, *, where: str = "", key: str = "") -> T:
        """Return the entry called ``name``.

        Raises
        ------
        UnknownNameError
            With the available names and the closest match.
        """
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=1)
            hint = f"did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                Problem(
                    where or self.kind,
                    key,
                    f"a {self.kind} among {', '.join(self.names())}",
                    repr(name),
                    hint,
                )
            ) from None

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        """Tell whether ``name`` is registered."""
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        """Iterate over the registered names, sorted."""
        return iter(self.names())
