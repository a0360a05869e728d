"""The command step of the cycle: plan → execute → publish → record, resumable after a restart.

:func:`advance` is the step every cycle and every clock tick takes: it takes the
people's events waiting in the store's inbox (:func:`submit` puts them there: answers
to 叫应 calls, approvals, mode decisions, dangers reported from below), loads the planner's state, plans those events
with the cycle's own (crossings) and the clock (:func:`warn.command.plan`), applies the
actions to the store in one transaction (:func:`execute`,
:meth:`warn.store.Store.execute_actions`), publishes the ``Broadcast`` actions
(:func:`warn.cycle.broadcast.publish`), saves the new state and marks the inbox events
consumed. Every action carries an idempotency key, so running the same events again —
with the saved state, with the state lost (planned again from scratch), or after a crash
anywhere in between — writes nothing twice; publishing before saving means an
interrupted step publishes again (a no-op for what was recorded) rather than losing a
broadcast; consuming last means an interrupted step plans the same events again, which the
keys make a no-op. A district of a municipality also plans the city's current mode
(:mod:`warn.cycle.linked`, ``MODE-LINKED``). An inbox event that cannot be decoded, planned, executed or published is
found before anything is written (:func:`_screen`) and quarantined with its error
(:mod:`warn.cycle.quarantine`); the events after it are still planned in the same step.
:func:`run_command` is the same without the inbox and publishing.

The state is kept as records (``store.planner``, :mod:`warn.store.planner`), encoded
field by field from the dataclasses' type hints (:func:`encode`, :func:`decode`), so a
round trip gives an equal :class:`warn.command.State`.
"""

from __future__ import annotations

import functools
import json
import types
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

from warn.vocab import CapStatus
from warn.command import Action, Setup, State, plan
from warn.command.model import (
    AckAnswered,
    Broadcast,
    DangerReport,
    Event,
    ManualWarning,
    ModeDecision,
    ModeOrder,
    Tick,
)
from warn.config import Settings
from warn.cycle.broadcast import preview, publish
from warn.cycle.linked import city_events
from warn.cycle.quarantine import NOT_THE_EVENT, set_aside
from warn.store import ExecutionReport, InboxRow, Store
from warn.store.planner import MAPS, Delta, PlannerTable, stored, stored_scalars

_MICROSECOND = timedelta(microseconds=1)


def execute(store: Store, actions: Iterable[Action]) -> ExecutionReport:
    """Apply the planner's ``actions`` to ``store`` in one transaction, each at most once.

    Returns
    -------
    ExecutionReport
        Actions applied and repeated (already recorded), timeline entries appended.
    """
    return store.execute_actions(list(actions))


#: Inbox kinds of the people's events.
INBOX_KINDS: Mapping[type, str] = {AckAnswered: "answer", ModeDecision: "decision", ModeOrder: "order",
                                   ManualWarning: "manual", DangerReport: "danger"}
#: A person's event the inbox takes.
PersonEvent = AckAnswered | ModeDecision | ModeOrder | ManualWarning | DangerReport
_EVENT_TYPES: Mapping[str, type] = {kind: event for event, kind in INBOX_KINDS.items()}


def submit(store: Store, event: PersonEvent) -> bool:
    """Put a person's ``event`` in the inbox for the next cycle or tick; ``False`` if it was there already.

    The idempotency key is the request or proposal, the person and the time, so a
    repeated submission is one event.
    """
    text = json.dumps(encode(event), ensure_ascii=False, sort_keys=True)
    return store.inbox.put(at=_at(event), kind=INBOX_KINDS[type(event)], actor=event.by, event=text,
                           key=inbox_key(event))


def inbox_key(event: PersonEvent) -> str:
    """The inbox's idempotency key of a person's ``event``: its kind, subject, person and time."""
    return f"{INBOX_KINDS[type(event)]}/{_subject(event)}/{event.by}/{_at(event).isoformat()}"


def quarantined_error(store: Store, event: PersonEvent) -> str | None:
    """The error a person's ``event`` was quarantined with, or ``None`` when it was not set aside."""
    key = inbox_key(event)
    return next((row.error for row in store.inbox.quarantined() if row.key == key), None)


def _subject(event: PersonEvent) -> str:
    """What a person's event is about: the request, the proposal, the ordered mode, the warned item, the report."""
    if isinstance(event, AckAnswered):
        return event.request
    if isinstance(event, DangerReport):
        return event.report
    if isinstance(event, ModeDecision):
        return event.proposal
    if isinstance(event, ModeOrder):
        return f"{event.to_mode}/{event.response.name if event.response else '-'}"
    return f"{event.crossing.hazard}/{event.crossing.item_id}"


def _at(event: PersonEvent) -> datetime:
    return event.crossing.at if isinstance(event, ManualWarning) else event.at


@dataclass(frozen=True)
class Advanced:
    """What :func:`advance` did: the actions planned, the execution report, the messages published, the
    inbox events taken and the ids of those quarantined."""

    actions: tuple[Action, ...]
    report: ExecutionReport
    messages: tuple[str, ...]
    inbox: int
    quarantined: tuple[int, ...] = ()


def advance(store: Store, settings: Settings, setup: Setup, events: Iterable[Event], now: datetime, *,
            status: CapStatus, sender: str) -> Advanced:
    """Plan the inbox's events up to ``now`` and ``events``, execute, publish, save, consume (module notes).

    Parameters
    ----------
    store
        A migrated store.
    settings
        The deployment (layers and channels for publishing).
    setup
        Playbooks, roster, mode rules.
    events
        The caller's events (a cycle's crossings); a :class:`Tick` to ``now`` ends the list.
    now
        The time of the step (UTC).
    status, sender
        CAP status and sender of the published messages.
    """
    waiting = store.inbox.pending(now)
    loaded = load_state(store)
    people = _screen(store, settings, setup, loaded, waiting, now, status=status, sender=sender)
    city = city_events(store, settings, now)
    state, actions = plan(loaded, [*people.values(), *events, *city, Tick(now)], now, setup=setup)
    report = execute(store, actions)
    messages = publish(store, settings, [a for a in actions if isinstance(a, Broadcast)], status=status,
                       sender=sender)
    save_state(store, state)
    store.inbox.consumed(list(people), now)
    return Advanced(actions, report, tuple(messages), len(waiting),
                    tuple(row.id for row in waiting if row.id not in people))


def _screen(store: Store, settings: Settings, setup: Setup, state: State, waiting: Iterable[InboxRow],
            now: datetime, *, status: CapStatus, sender: str) -> dict[int, PersonEvent]:
    """The waiting events that can be decoded, planned, executed and published, by inbox id, in order;
    each of the others is quarantined (:mod:`warn.cycle.quarantine`) and the rest still tried.

    Each event is tried after those accepted before it, from ``state``: planned, its actions
    executed in a transaction rolled back (:meth:`warn.store.Store.try_actions`), the new
    ``Broadcast`` ones built and encoded (:func:`warn.cycle.broadcast.preview`). Nothing is written
    but the quarantines.
    """
    accepted: dict[int, PersonEvent] = {}
    tried: set[str] = set()
    for row in waiting:
        try:
            event = decode(_EVENT_TYPES[row.kind], json.loads(row.event))
            _, actions = plan(state, [*accepted.values(), event], now, setup=setup)
            store.try_actions(actions)
            preview(store, settings, [a for a in actions if a.key not in tried], status=status, sender=sender)
        except NOT_THE_EVENT:
            raise
        except Exception as err:  # noqa: BLE001 - whatever the event breaks, it is set aside with its error
            set_aside(store, row, now, err)
            continue
        accepted[row.id] = event
        tried |= {a.key for a in actions}
    return accepted


def run_command(store: Store, setup: Setup, events: Iterable[Event], now: datetime) -> ExecutionReport:
    """Load the planner's state, plan ``events`` up to ``now``, execute the actions, save the state.

    Parameters
    ----------
    store
        A migrated store.
    setup
        Playbooks, roster, mode rules (:func:`warn.command.loading.load_setup`).
    events
        The cycle's crossings, answers, decisions and ticks, in order.
    now
        The cycle's time (UTC).
    """
    state, actions = plan(load_state(store), events, now, setup=setup)
    report = execute(store, actions)
    save_state(store, state)
    return report


@dataclass(frozen=True)
class _Saved:
    """The planner's state at a saved revision, as a load gives it, with each entry's stored record."""

    revision: int
    state: State
    records: Mapping[str, Mapping[Any, tuple[Any, Mapping[str, Any]]]]


#: Per store's planner table, the state it last loaded or saved (read and written by what changed since).
_SAVED: weakref.WeakKeyDictionary[PlannerTable, _Saved] = weakref.WeakKeyDictionary()
#: The value type of each of the state's mappings.
_VALUES: Mapping[str, Any] = {name: get_args(get_type_hints(State)[name])[1] for name in MAPS}


def load_state(store: Store) -> State:
    """The planner's state as last saved; a fresh :class:`State` when none was saved.

    Read by what changed: the state this process last loaded or saved is kept per store, and only
    the rows saved after its revision are read and decoded (:meth:`warn.store.planner.PlannerTable.changes`).
    """
    table = store.planner
    known = _SAVED.get(table)
    delta = table.changes(known.revision) if known is not None else None
    if delta is None:
        saved = table.load()
        if saved is None:
            _SAVED.pop(table, None)
            return State()
        state = decode(State, saved)
        records = {name: {key: (getattr(state, name)[key], record) for key, record in saved[name]} for name in MAPS}
        _SAVED[table] = _Saved(saved["revision"], state, records)
        return state
    assert known is not None, "a delta is read against a known revision"
    if delta.revision == known.revision:
        return known.state
    records = {name: dict(known.records[name]) for name in MAPS}
    for name, entries in delta.entries.items():
        records[name].update((key, (decode(_VALUES[name], record), record)) for key, record in entries)
    state = _state(delta.scalars, records, known.state.emitted | frozenset(delta.emitted))
    _SAVED[table] = _Saved(delta.revision, state, records)
    return state


def save_state(store: Store, state: State) -> None:
    """Keep the planner's ``state`` (replacing the one saved before).

    Written by what changed: against the state this process last loaded or saved, only the entries
    changed or added and the emitted keys added are written (the whole state when another process saved
    since, or this one knows none).
    """
    table = store.planner
    known = _SAVED.get(table)
    if known is None:
        table.save(encode(state))
        return
    delta, records = _delta(known, state)
    revision, incremental = table.write(known.revision, delta, lambda: encode(state))
    if not incremental:
        _SAVED.pop(table, None)
        return
    _SAVED[table] = _Saved(revision, _state(delta.scalars, records, state.emitted), records)


def _delta(known: _Saved, state: State) -> tuple[Delta, dict[str, dict[Any, tuple[Any, Mapping[str, Any]]]]]:
    """The delta from ``known`` to ``state``, and the entries of ``state`` as a load would give them."""
    entries: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    records: dict[str, dict[Any, tuple[Any, Mapping[str, Any]]]] = {}
    whole = set()
    for name in MAPS:
        before, now = known.records[name], getattr(state, name)
        kept = len(before) <= len(now) and all(a == b for a, b in zip(before, now))
        changed: list[tuple[str, Mapping[str, Any]]] = []
        out: dict[Any, tuple[Any, Mapping[str, Any]]] = {}
        for key, value in now.items():
            held = before.get(key)
            if held is not None and held[0] is value:
                out[key] = held
                continue
            record = stored(name, encode(value))
            if held is not None and held[1] == record:
                out[key] = held
                continue
            out[key] = (decode(_VALUES[name], record), record)
            changed.append((encode(key), record))
        if not kept:
            whole.add(name)
            changed = [(encode(key), record) for key, (_, record) in out.items()]
        entries[name], records[name] = changed, out
    emitted = state.emitted - known.state.emitted
    if not known.state.emitted <= state.emitted:
        whole.add("emitted")
        emitted = state.emitted
    return Delta(stored_scalars(_scalars_of(state)), entries, sorted(emitted), frozenset(whole)), records


def _scalars_of(state: State) -> dict[str, Any]:
    """The fields of ``state`` that are not mappings nor its emitted keys, JSON-ready."""
    return {f.name: encode(getattr(state, f.name)) for f in fields(State) if f.name not in MAPS and f.name != "emitted"}


def _state(scalars: Mapping[str, Any], records: Mapping[str, Mapping[Any, tuple[Any, Any]]],
           emitted: frozenset[str]) -> State:
    """The state of JSON-ready ``scalars``, the decoded entries of ``records`` and ``emitted``."""
    maps = {name: {key: value for key, (value, _) in records[name].items()} for name in MAPS}
    return replace(decode(State, dict(scalars)), emitted=emitted, **maps)


def encode(value: Any) -> Any:
    """JSON-ready form of a state value: dataclasses as objects, mappings as [key, value] pairs,
    times as ISO 8601, durations as microseconds, enums as their values, tuples and sets as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: encode(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value // _MICROSECOND
    if isinstance(value, Mapping):
        return [[encode(k), encode(v)] for k, v in value.items()]
    if isinstance(value, frozenset):
        return sorted(encode(v) for v in value)
    if isinstance(value, tuple):
        return [encode(v) for v in value]
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """The field names of a dataclass, in order (``dataclasses.fields`` filters them anew on every call)."""
    return tuple(f.name for f in fields(cls))


def decode(hint: Any, value: Any) -> Any:
    """The value of type ``hint`` that :func:`encode` turned into ``value``."""
    return _decoder(hint)(value)


@functools.cache
def _decoder(hint: Any) -> Callable[[Any], Any]:
    """What :func:`decode` does for ``hint``, worked out once per type: a storm's save decodes thousands of
    entries of the same few types."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            return _same
        inner = _decoder(options[0])
        return lambda value: None if value is None else inner(value)
    if origin is not None:
        return _generic_decoder(origin, args)
    if is_dataclass(hint):
        hints = _hints(hint)
        parts = tuple((name, _decoder(hints[name])) for name in _field_names(hint))
        # a field the saved JSON lacks (a state saved before the field existed) takes its default
        return lambda value: hint(**{name: part(value[name]) for name, part in parts if name in value})
    if hint is datetime:
        return datetime.fromisoformat
    if hint is timedelta:
        return lambda value: value * _MICROSECOND
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    return _same


def _same(value: Any) -> Any:
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a dataclass (``typing.get_type_hints`` evaluates them anew on every call)."""
    return get_type_hints(cls)


def _generic_decoder(origin: Any, args: tuple[Any, ...]) -> Callable[[Any], Any]:
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda value: tuple(map(item, value))
        items = tuple(_decoder(a) for a in args)
        return lambda value: tuple(part(v) for part, v in zip(items, value, strict=True))
    if origin is frozenset:
        item = _decoder(args[0])
        return lambda value: frozenset(map(item, value))
    if origin in (Mapping, dict):
        key, entry = _decoder(args[0]), _decoder(args[1])
        return lambda value: {key(k): entry(v) for k, v in value}
    raise TypeError(f"cannot decode a {origin.__name__} from the planner state")
