"""What each pulled source gave the warning cycles: its last success and last failure, from the cycles' records.

A cycle records what it pulled (``cycles.inputs``, :func:`warn.cycle.inputs.pull`): the forecast run it
used (``forecast``: source and issue time, ``null`` when none was usable), each official-warning source
(``official.sources.<name>``: ``failure`` or none, messages held) and each polled sensor feed
(``sensors.feeds.<name>``: ``failure`` or empty, readings received), and the problems met
(``problems``: sentences, zh-CN / English). :func:`read_pulls` reads those records, newest first, and
keeps per source (``forecast:<name>``, ``official:<name>``, ``feed:<name>``) the last cycle at which it
answered and the last at which it failed, with what it said. A forecast fails at a cycle that used no
run (the source named by its "no usable run of <name>" problem) and at one that had to fall back to an
older run because the due one was unavailable (its "run … unavailable" problem).

Nothing here opens a connection: :func:`read_pulls` takes the query function of
:class:`warn.store.views.Views` (its ``database.rows``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

#: Cycles read per query, newest first.
PAGE = 500
#: The problem of a cycle that used no forecast run (:func:`warn.cycle.inputs.fetch_due`), naming the source.
NO_RUN = re.compile(r"no usable run of (\S+) within")
#: The problem of a cycle whose due forecast run was unavailable (it may have used an older one).
RUN_UNAVAILABLE = re.compile(r"\brun \d{4}-\d\d-\d\d \d\d:\d\dZ unavailable\b")
#: Patterns of a cycle record with a failure of some source in it (a filter before the record is read): a
#: source's failure text, no forecast run, a problem.
FAILED_PATTERNS = {"failure": '%"failure": "_%', "no_run": '%"forecast": null%', "problem": '%"problems": ["%'}
_FAILED = " OR ".join(f"inputs LIKE :{name}" for name in FAILED_PATTERNS)


@dataclass(frozen=True)
class Pull:
    """One source as the cycles by some time pulled it: the last cycle at which it answered (``ok_at``, with
    what it gave: ``ok``) and the last at which it failed (``failed_at``, with why: ``failure``)."""

    ok_at: datetime | None = None
    ok: str = ""
    failed_at: datetime | None = None
    failure: str = ""


Rows = Callable[..., list[dict[str, Any]]]


def read_pulls(rows: Rows, at: datetime, sources: Iterable[str]) -> dict[str, Pull]:
    """The last success and last failure by ``at`` of each of ``sources`` (``forecast:demo`` …).

    Parameters
    ----------
    rows
        Runs a query with named parameters and returns its rows by column name (times decoded).
    at
        The "as of" time: cycles after it are not read.
    sources
        The sources wanted; the cycles are read, newest first, until each has both or none are left
        (the failures first, through a filter on the record's text).
    """
    wanted = set(sources)
    found: dict[str, Pull] = {}
    passes = ((_FAILED, FAILED_PATTERNS, _failure), ("1 = 1", {}, _success))
    for where, patterns, part in passes:
        offset = 0
        while not all(part(found.get(s, Pull())) != Pull() for s in wanted):
            page = rows(f'SELECT "at", inputs FROM cycles WHERE "at" <= :at AND ({where}) '
                        'ORDER BY "at" DESC LIMIT :limit OFFSET :offset', at=at, limit=PAGE, offset=offset, **patterns)
            for row in page:
                for source, pull in pulls_of(row["at"], json.loads(row["inputs"] or "{}")).items():
                    found[source] = _older(found.get(source, Pull()), part(pull))
            if len(page) < PAGE:
                break
            offset += PAGE
    return found


def _failure(pull: Pull) -> Pull:
    """Only the failure of ``pull``."""
    return Pull(failed_at=pull.failed_at, failure=pull.failure)


def _success(pull: Pull) -> Pull:
    """Only the success of ``pull``."""
    return Pull(ok_at=pull.ok_at, ok=pull.ok)


def pulls_of(at: datetime, inputs: Mapping[str, Any]) -> dict[str, Pull]:
    """What one cycle's record says of each source it pulled (see the module docstring)."""
    out: dict[str, Pull] = {}
    if not inputs:  # a cycle that failed before it pulled anything
        return out
    problems = [str(p) for p in inputs.get("problems") or []]
    run = inputs.get("forecast")
    if run:
        source = f"forecast:{run.get('source')}"
        out[source] = Pull(ok_at=at, ok=f"run issued {run.get('issued')}")
        missing = [p for p in problems if RUN_UNAVAILABLE.search(p)]
        if missing:
            out[source] = replace(out[source], failed_at=at, failure=missing[-1])
    for problem in problems:
        named = NO_RUN.search(problem)
        if named and not run:
            out[f"forecast:{named.group(1)}"] = Pull(failed_at=at, failure=problem)
    for name, source in ((inputs.get("official") or {}).get("sources") or {}).items():
        out[f"official:{name}"] = (Pull(failed_at=at, failure=str(source["failure"])) if source.get("failure")
                                   else Pull(ok_at=at, ok=f"{source.get('messages', 0)} messages held"))
    for name, feed in ((inputs.get("sensors") or {}).get("feeds") or {}).items():
        out[f"feed:{name}"] = (Pull(failed_at=at, failure=str(feed["failure"])) if feed.get("failure")
                               else Pull(ok_at=at, ok=f"{feed.get('received', 0)} readings received"))
    return out


def _older(newer: Pull, older: Pull) -> Pull:
    """``newer`` with what it lacks taken from ``older`` (records are read newest first)."""
    if newer.ok_at is None and older.ok_at is not None:
        newer = replace(newer, ok_at=older.ok_at, ok=older.ok)
    if newer.failed_at is None and older.failed_at is not None:
        newer = replace(newer, failed_at=older.failed_at, failure=older.failure)
    return newer
