"""The sensor step of the cycle: readings in through QC, into the store; silence marked stale.

:class:`Ingester` decodes rain gauges' running totals to depth per report
(:mod:`warn.sources.accumulation`), keeps each sensor's recent good readings in memory so that QC
judges across batches; :func:`poll_feed` resumes a polled feed from what the store holds and
beats its heartbeat; :func:`mark_stale_sensors` writes every sensor's heartbeat.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from warn.config import Settings
from warn.errors import ConfigError, Problem, WarnError
from warn.modelfiles import load_model_file
from warn.sources.accumulation import DROP_RULE, KEEP, Decoded, decode
from warn.sources.qc import SensorsParams, qc_batch, stale
from warn.sources.readings import FlaggedReading, Reading, Sensor
from warn.sources.feeds import PolledFeed
from warn.sources.payloads import Batch
from warn.store import Beat, Store, WriteResult
from warn.vocab import Accumulation, QCFlag

#: Most good readings kept in memory per sensor for QC history.
HISTORY_CAP = 200
#: The store's model name for a rain gauge's raw running totals (key: the sensor id).
TOTALS_MODEL = "gauge_totals"


def open_ingester(settings: Settings, *, store: Store | None = None,
                  now: Callable[[], datetime] | None = None) -> Ingester:
    """Register the catalogue in ``store`` (by default the deployment's, connected on the clock
    ``now`` — default the wall clock — and upgraded) and load the QC model."""
    from warn.sources.catalogue import load_catalogue

    if settings.sensors is None:
        raise ConfigError(Problem("config.yaml", "sensors", "a sensors section (catalogue and feeds)", "nothing"))
    if "sensors" not in settings.models:
        raise ConfigError(Problem("config.yaml", "models.sensors", "the QC model file (models/sensors.yaml)", "nothing"))
    catalogue = load_catalogue(settings.sensors.catalogue, limit=settings.files.max_catalogue_bytes)
    params = load_model_file("sensors", settings.models["sensors"]).params()
    if store is None:
        store = Store.connect(settings.store.url) if now is None else Store.connect(settings.store.url, now=now)
        store.upgrade()
    store.upsert_sensors(catalogue.values())
    return Ingester(store, catalogue, params)


class Ingester:
    """Sensor readings in: QC against each sensor's recent good readings, then the store.

    Keeps the recent GOOD readings of every sensor it has seen in memory (the store
    is read once per sensor, on first sight), so QC judges across batches without a
    store query per batch. Safe to call from a polling loop and an MQTT network thread
    at once.

    Parameters
    ----------
    store
        Where readings are written.
    catalogue
        The sensors by id.
    params
        QC thresholds (``models/sensors.yaml``).
    """

    def __init__(self, store: Store, catalogue: Mapping[str, Sensor], params: SensorsParams) -> None:
        self.store = store
        self.catalogue = dict(catalogue)
        self.params = params
        self._recent: dict[str, list[FlaggedReading]] = {}
        self._depth = {sid: self._history_depth(sensor) for sid, sensor in self.catalogue.items()}
        self._spike = {sid: params.for_sensor(sensor).spike for sid, sensor in self.catalogue.items()}
        self._totals: dict[str, dict[datetime, float]] = {}
        self._lock = threading.Lock()

    def ingest(self, batch: Sequence[Reading], *, now: datetime) -> WriteResult:
        """Flag ``batch`` and write it in one transaction; return what the store did.

        Only after this returns is a reading acknowledged (an MQTT message is acked by
        its caller after the return). A failure writes nothing and raises.
        """
        with self._lock:
            decoded, totals = self._decode(batch, now=now)
            batch = [d.reading for d in decoded]
            ids = {r.sensor_id for r in batch}
            self._warm(ids)
            history = {sid: self._recent[sid] for sid in ids if sid in self._recent}
            judged = [*batch, *self._spike_suspects(batch)]
            flagged = qc_batch(judged, sensors=self.catalogue, history=history, params=self.params, now=now)
            flagged[:len(decoded)] = [_with_decoding(f, d) for f, d in zip(flagged, decoded)]
            result = self.store.write_readings(flagged)
            self._remember(flagged)
            self._keep_totals(totals, decoded, now=now)
            return result

    def _decode(self, batch: Sequence[Reading], *, now: datetime) -> tuple[list[Decoded], dict[str, dict[datetime, float]]]:
        """Running totals to depth per report, per gauge; readings of other sensors as they are."""
        running = {r.sensor_id for r in batch if r.sensor_id in self.catalogue
                   and self.catalogue[r.sensor_id].accumulation is not Accumulation.REPORT}
        if not running:
            return [Decoded(r) for r in batch], {}
        for sid in running - set(self._totals):
            saved = self.store.load_state(TOTALS_MODEL, sid)
            self._totals[sid] = {} if saved is None else {
                datetime.fromtimestamp(ns / 1e9, UTC): float(v)
                for ns, v in zip(saved.arrays["time"].tolist(), saved.arrays["total"].tolist())}
        decoded = [Decoded(r) for r in batch if r.sensor_id not in running]
        own: dict[str, list[Reading]] = {sid: [] for sid in sorted(running)}
        for r in batch:
            if r.sensor_id in own:
                own[r.sensor_id].append(r)
        totals = {}
        for sid, readings in own.items():
            done, totals[sid] = decode(self.catalogue[sid], readings, self._totals[sid], now=now)
            decoded += done
        return decoded, totals

    def _keep_totals(self, totals: Mapping[str, dict[datetime, float]], decoded: Sequence[Decoded], *,
                     now: datetime) -> None:
        """Keep the gauges' raw totals of the last :data:`KEEP` (memory and store); record each new drop."""
        drops: dict[str, list[str]] = {}
        for d in decoded:
            known = self._totals.get(d.reading.sensor_id, {})
            if d.rule == DROP_RULE and d.reading.phenomenon_time not in known:
                drops.setdefault(d.reading.sensor_id, []).append(d.reason)
        for sid, values in totals.items():
            newest = max(values, default=None)
            kept = {t: v for t, v in values.items() if newest is not None and t > newest - KEEP}
            self._totals[sid] = kept
            if newest is not None:
                times = sorted(kept)
                self.store.save_state(TOTALS_MODEL, sid, valid_at=newest, arrays={
                    "time": np.array([round(t.timestamp() * 1e9) for t in times], np.int64),
                    "total": np.array([kept[t] for t in times], np.float64)},
                    detail=f"raw running totals ({self.catalogue[sid].accumulation.value}) of the last {KEEP}")
        for sid, reasons in drops.items():
            self.store.rejected.record(f"sensor:{sid}", reasons, received_at=now)

    def reject(self, batch: Batch, *, now: datetime) -> None:
        """Record what ``batch`` refused (``store.rejected``, source ``feed:<name>``), arrived at ``now``."""
        self.store.rejected.record(f"feed:{batch.feed}", [str(p) for p in batch.rejected], received_at=now,
                                   payload_sha256=batch.payload_sha256, payload_bytes=batch.payload_bytes)

    def _spike_suspects(self, batch: Sequence[Reading]) -> list[Reading]:
        """Stored readings to judge again now that their next neighbour has arrived.

        A reading is judged a spike only against the reading after it; one that came last
        in its batch (always, for a device pushing one reading per message) was judged
        without it. When a sensor's newest good reading departed from the one before by
        more than the spike threshold, it is judged again with this batch: a changed flag
        is stored as a revision, an unchanged one as a repeat.
        """
        earliest: dict[str, datetime] = {}
        for r in batch:
            earliest[r.sensor_id] = min(r.phenomenon_time, earliest.get(r.sensor_id, r.phenomenon_time))
        suspects = []
        for sid, first in earliest.items():
            kept, spike = self._recent.get(sid, []), self._spike.get(sid)
            if spike is None or len(kept) < 2:
                continue
            before, last = kept[-2].reading, kept[-1].reading
            if (last.phenomenon_time < first and last.phenomenon_time - before.phenomenon_time <= spike.window
                    and abs(last.value - before.value) > spike.threshold):
                suspects.append(last)
        return suspects

    def _history_depth(self, sensor: Sensor) -> int:
        """Good readings needed before a new one: the longest rule window's worth, plus one."""
        thresholds = self.params.for_sensor(sensor)
        windows = [rule.window for rule in (thresholds.spike, thresholds.jump, thresholds.flatline) if rule]
        longest = max(windows, default=sensor.interval)
        return min(HISTORY_CAP, math.ceil(longest / sensor.interval) + 1)

    def _warm(self, sensor_ids: set[str]) -> None:
        cold = [sid for sid in sensor_ids if sid not in self._recent and sid in self.catalogue]
        if not cold:
            return
        depth = max(self._depth[sid] for sid in cold)
        found = self.store.last_readings(cold, n=depth)
        for sid in cold:
            self._recent[sid] = list(found.get(sid, []))

    def _remember(self, flagged: Sequence[FlaggedReading]) -> None:
        """Keep each sensor's newest good readings; a re-judged time replaces what was kept for it."""
        by_sensor: dict[str, dict[datetime, FlaggedReading]] = {}
        for item in flagged:
            by_sensor.setdefault(item.reading.sensor_id, {})[item.reading.phenomenon_time] = item
        for sid, judged in by_sensor.items():
            kept = self._recent.get(sid, [])
            good = sorted((t, item) for t, item in judged.items() if item.qc_flag is QCFlag.GOOD)
            if kept and min(judged) <= kept[-1].reading.phenomenon_time:  # late or revised: merge
                kept = [k for k in kept if k.reading.phenomenon_time not in judged] + [item for _, item in good]
                kept.sort(key=lambda k: k.reading.phenomenon_time)
            else:  # the usual case: all newer than what is kept
                kept = kept + [item for _, item in good]
            self._recent[sid] = kept[-self._depth[sid]:]


def _with_decoding(flagged: FlaggedReading, decoded: Decoded) -> FlaggedReading:
    """QC's flag, made worse by what decoding found: a drop is bad, a gap at least doubtful."""
    if decoded.rule == DROP_RULE:
        return FlaggedReading(flagged.reading, QCFlag.BAD, DROP_RULE)
    if decoded.rule and flagged.qc_flag in (QCFlag.GOOD, QCFlag.DOUBTFUL):
        return FlaggedReading(flagged.reading, QCFlag.DOUBTFUL, decoded.rule)
    return flagged


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed brought: counts, the rejected records, and a failure if any."""

    feed: str
    received: int
    rejected: list[Problem]
    written: WriteResult | None
    failure: str = ""


def poll_feed(ingester: Ingester, feed: PolledFeed, *, expected: timedelta, now: datetime) -> PollReport:
    """Poll ``feed`` from where the store left off, ingest what is new, and beat its heartbeat.

    A feed that fails (unreachable, unreadable) is recorded as stale with the reason and
    the service goes on; its sensors go stale in turn if it stays down.
    """
    source = f"feed:{feed.name}"
    known = [sid for sid in ingester.catalogue]
    latest = ingester.store.last_readings(known, n=1, flags=tuple(QCFlag))
    since = {sid: found[-1].reading.phenomenon_time for sid, found in latest.items() if found}
    try:
        batch = feed.poll(since)
    except WarnError as err:
        ingester.store.beat(source, last_seen=None, expected=expected, stale=True, detail=str(err))
        return PollReport(feed.name, 0, [], None, failure=str(err))
    written = ingester.ingest(batch.readings, now=now)
    ingester.reject(batch, now=now)
    detail = f"{len(batch.readings)} readings, {len(batch.rejected)} rejected"
    ingester.store.beat(source, last_seen=now, expected=expected, stale=False, detail=detail)
    return PollReport(feed.name, len(batch.readings), list(batch.rejected), written)


def mark_stale_sensors(ingester: Ingester, *, now: datetime) -> dict[str, bool]:
    """Beat every sensor's heartbeat: stale when silent for k × its interval (k from models/sensors.yaml)."""
    last_seen = ingester.store.last_seen()
    verdict = stale(last_seen, sensors=ingester.catalogue, now=now, factor=ingester.params.stale_factor)
    ingester.store.beat_all([
        Beat(f"sensor:{sid}", seen, ingester.catalogue[sid].interval, is_stale,
             "从未收到 / never heard" if seen is None else f"last reading arrived {seen.isoformat()}")
        for sid, is_stale in verdict.items() for seen in (last_seen.get(sid),)])
    return verdict
