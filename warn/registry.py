"""Named registries, one per extension point.

A registry maps names to implementations (forecast decoders, storm-intensity
formulas, QC rules, channels, …). Registering a name twice fails at once; looking up
an unknown name fails with the available names and the closest match. Config and
models refer to entries only by name, and help texts list :meth:`Registry.names`.

A registry may be filled by the modules that implement its entries, each registering
its own when imported: the registry is given their names and imports them on first use,
so that the module defining it imports none of them and an entry's heavy dependencies
load only when that entry is needed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from importlib import import_module
from typing import Generic, TypeVar

from warn.errors import Problem, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A typed name → object registry.

    Parameters
    ----------
    kind
        What the entries are, for messages (``"forecast decoder"``).
    modules
        Modules that register entries when imported. They are imported on first use, in
        order, until the name looked up is registered, and all of them before the names are
        listed or an unknown name is reported: list those with heavy dependencies last.
    """

    def __init__(self, kind: str, *, modules: Sequence[str] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._unimported = list(modules)

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
        self._import(until=name)
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
        self._import()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        """Tell whether ``name`` is registered."""
        self._import(until=name)
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        """Iterate over the registered names, sorted."""
        return iter(self.names())

    def _import(self, *, until: object = None) -> None:
        """Import the modules not yet imported, in order, until ``until`` is registered (all when ``None``).

        A module is struck off only once its import succeeded, so a broken one fails every lookup that needs it.
        """
        while self._unimported and (until is None or until not in self._entries):
            import_module(self._unimported[0])
            del self._unimported[0]
