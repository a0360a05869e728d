"""What must hold at the end of a chaos drill, each checked by its own function naming exactly what broke.

An :class:`Outcome` is what a drill left: the store's final warnings, incidents and mode,
its tasks, 叫应 / approval requests, timeline and outbox, the readings of the MQTT sensors,
what the receiver recorded and what reached the foreign host. Each invariant takes
outcomes and returns the list of what broke (empty: held):

- :func:`delivered_once_in_order` — every message of every warning thread reached each
  recipient (channel) exactly once, in the order of its thread;
- :func:`nothing_duplicated` — no task, request or timeline entry twice;
- :func:`timeline_verifies` — ``warn verify --anchors`` passes on the store, with the anchors the
  service sent to the drill's witness file (none sent is a failure);
- :func:`same_outcome` — the final warnings, incidents and mode, the tasks and requests, and
  the MQTT sensors' readings equal those of the fault-free run of the same seed;
- :func:`nothing_foreign` — no request reached a host the configuration does not name.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warn.sim.chaos.process import ANCHOR_KEY, ANCHORS
from warn.store import Store
from warn.store.anchors import public_path_of

@dataclass
class Outcome:
    """What one drill left behind (see the module notes): ``store`` its store's URL, ``folder`` its folder."""

    store: str
    folder: Path
    warnings: list[tuple[Any, ...]]
    incidents: list[tuple[Any, ...]]
    mode: tuple[str, int]
    tasks: list[str]
    requests: list[str]
    timeline: list[tuple[Any, ...]]
    messages: dict[str, tuple[str, int]]
    outbox: list[tuple[str, str, str, str]]
    readings: dict[str, int]
    received: list[dict[str, Any]]
    foreign: list[tuple[str, str, int]]
    paths: dict[str, str]


def read_outcome(store_url: str, folder: Path, *, mqtt_sensors: list[str], received: list[dict[str, Any]],
                 foreign: list[tuple[str, str, int]], paths: dict[str, str]) -> Outcome:
    """The outcome of a drill from its store (through the store's functions) and its servers' records.

    ``paths``: the receiver path each HTTP channel posts to, by channel name."""
    store = Store.connect(store_url)
    try:
        changes = [c for c in store.command.mode_changes() if c.decided_by is not None]
        last = max(changes, key=lambda c: c.id) if changes else None
        return Outcome(
            store=store_url,
            folder=folder,
            warnings=sorted((w.thread_id, w.hazard, w.item_id, w.level, w.status, w.version)
                            for w in store.warnings.threads()),
            incidents=sorted((i.incident_id, i.hazard, i.opened_at, i.closed_at, i.response_level, i.mode)
                             for i in store.command.incidents()),
            mode=(last.to_mode, last.response_level) if last else ("peacetime", 0),
            tasks=[t.idempotency_key for t in store.command.tasks()],
            requests=[r.idempotency_key for r in store.command.ack_requests()],
            timeline=[(e.key, e.kind, e.occurred_at, e.summary) for e in store.timeline.entries()],
            messages={m.identifier: (m.thread_id, m.id) for m in store.warnings.messages()},
            outbox=[(r.message.idempotency_key, r.message.channel, str(r.status), r.last_error)
                    for r in store.outbox.rows()],
            readings={sensor: len(store.readings(sensor)) for sensor in mqtt_sensors},
            received=received,
            foreign=foreign,
            paths=paths,
        )
    finally:
        store.close()


def delivered_once_in_order(outcome: Outcome) -> list[str]:
    """Every outbox message delivered (sent) and recorded by the receiver once, each thread's in order.

    The receiver's records are matched by their ``Idempotency-Key`` (an SMS part's key is the
    message's with ``#i/n``): a repeat of a key is the retry the key exists for, which the
    platform recognises (:func:`redelivered` counts them), not a second delivery. Channels that
    send no key (robots) must have received exactly as many messages as they sent.
    """
    broken = [f"outbox {key} ({channel}) not delivered: {status} {error[:120]}"
              for key, channel, status, error in outcome.outbox if status != "sent"]
    sent = {key: channel for key, channel, status, _ in outcome.outbox if status == "sent"}
    keyed = {record["key"].split("#", 1)[0] for record in outcome.received if record.get("key")}
    broken += [f"{key}: received but not in the outbox as sent" for key in sorted(keyed - set(sent))]
    for channel in sorted({c for k, c in sent.items() if k not in keyed and c in outcome.paths}):
        want = sum(1 for c in sent.values() if c == channel)
        got = sum(1 for r in outcome.received if not r.get("key") and r["path"] == outcome.paths[channel])
        if got != want:
            broken.append(f"channel {channel} (no idempotency key): {want} messages sent, {got} received")
    return broken + _order(outcome)


def redelivered(outcome: Outcome) -> int:
    """How many records repeat a key the receiver had already got (retries after a lost answer or a kill)."""
    keys = [record["key"] for record in outcome.received if record.get("key")]
    return len(keys) - len(set(keys))


def _order(outcome: Outcome) -> list[str]:
    """Each thread's messages reached each channel in the order they were made (first arrivals)."""
    arrivals: dict[tuple[str, str], list[int]] = {}
    for record in outcome.received:
        parts = record.get("key", "").split("#", 1)[0].split("/")
        for cut in range(len(parts) - 1, 0, -1):  # the identifier, then channel (and recipient)
            identifier, channel = "/".join(parts[:cut]), "/".join(parts[cut:])
            if identifier in outcome.messages:
                thread, order = outcome.messages[identifier]
                seen = arrivals.setdefault((thread, channel), [])
                if order not in seen:
                    seen.append(order)
                break
    return [f"thread {thread} on {channel}: messages arrived in order {seen}, made in {sorted(seen)}"
            for (thread, channel), seen in sorted(arrivals.items()) if seen != sorted(seen)]


def nothing_duplicated(outcome: Outcome) -> list[str]:
    """No task, request or timeline entry twice (by key; timeline entries also by kind, time and summary)."""
    broken = []
    for name, keys in (("task", outcome.tasks), ("request", outcome.requests),
                       ("timeline entry", [e[0] for e in outcome.timeline if e[0]])):
        broken += [f"{name} {key} recorded {n} times" for key, n in Counter(keys).items() if n > 1]
    same = Counter(e[1:] for e in outcome.timeline)
    broken += [f"timeline entry {kind} at {at:%m-%d %H:%M:%S}Z {summary[:60]!r} recorded {n} times"
               for (kind, at, summary), n in same.items() if n > 1]
    return broken


def timeline_verifies(outcome: Outcome) -> list[str]:
    """``warn verify --anchors`` on the store with the drill's witness file and public key: exit 0 (its
    message otherwise); a drill whose service anchored nothing fails."""
    anchors, public = outcome.folder / ANCHORS, public_path_of(outcome.folder / ANCHOR_KEY)
    if not anchors.is_file() or not anchors.stat().st_size:
        return [f"no anchors in {anchors}: the service signed no cycle's head"]
    done = subprocess.run([sys.executable, "-m", "warn", "verify", "--store", outcome.store,
                           "--anchors", str(anchors), "--key", str(public)],
                          capture_output=True, text=True, timeout=120)
    return [] if done.returncode == 0 else [f"warn verify exit {done.returncode}: {(done.stdout + done.stderr)[-400:]}"]


def same_outcome(outcome: Outcome, reference: Outcome) -> list[str]:
    """The final warnings, incidents, mode, tasks, requests and MQTT readings equal the fault-free run's."""
    broken = []
    for name in ("warnings", "incidents", "tasks", "requests"):
        got, want = Counter(getattr(outcome, name)), Counter(getattr(reference, name))
        broken += [f"{name}: extra {row}" for row in sorted((got - want).elements(), key=str)]
        broken += [f"{name}: missing {row}" for row in sorted((want - got).elements(), key=str)]
    if outcome.mode != reference.mode:
        broken.append(f"mode {outcome.mode} where the fault-free run ends in {reference.mode}")
    broken += [f"sensor {sensor}: {outcome.readings.get(sensor)} readings, fault-free {n}"
               for sensor, n in sorted(reference.readings.items()) if outcome.readings.get(sensor) != n]
    return broken


def nothing_foreign(outcome: Outcome) -> list[str]:
    """No request reached the foreign host (an official list or a redirect naming it)."""
    return [f"the foreign host was asked {method} {path}" for method, path, _ in outcome.foreign]


#: Every invariant checked against the drill alone, by name.
SELF_INVARIANTS = {"delivered_once_in_order": delivered_once_in_order, "nothing_duplicated": nothing_duplicated,
                   "timeline_verifies": timeline_verifies, "nothing_foreign": nothing_foreign}
