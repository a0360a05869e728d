"""时间线完整性 / everything ``warn verify`` and a report's integrity line check, in one place.

:func:`verify_store` checks the hash chain (:meth:`warn.store.timeline.Timeline.verify`), the rows it
vouches for (:func:`warn.store.digests.check_rows`) and, given a witness's anchors and the public
key, that the chain is neither cut short nor rewritten (:func:`warn.store.anchors.check_anchors`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warn.store.anchors import AnchorCheck, check_anchors, load_public, read_anchors
from warn.store.digests import RowCheck, check_rows
from warn.store.records import VerifyResult
from warn.store.store import Store


@dataclass(frozen=True)
class StoreIntegrity:
    """The chain, the rows and (``None`` when none were given) the anchors, as checked."""

    chain: VerifyResult
    rows: RowCheck
    anchors: AnchorCheck | None

    @property
    def ok(self) -> bool:
        """The chain verifies, no row differs from it, and every anchor given verifies."""
        return self.chain.ok and not self.rows.problems and (self.anchors is None or self.anchors.ok)

    def failures(self) -> list[str]:
        """One sentence per failure (zh-CN, then English): the chain's first bad entry, rows, anchors."""
        out = []
        if not self.chain.ok:
            out.append(f"时间线校验失败 / timeline verification failed at seq {self.chain.first_bad_seq} "
                       f"(kind {self.chain.first_bad_kind}): {self.chain.reason}")
        out += self.rows.problems
        if self.anchors is not None:
            out += self.anchors.problems
            if not self.anchors.anchors:
                out.append("锚定文件中没有锚定记录 / the anchors file holds no anchor")
        return out

    def notes(self) -> list[str]:
        """What was verified, one line each (the first is the chain's, with the head hash)."""
        chain = self.chain
        lines = [f"✓ 时间线完整 / timeline intact: {chain.count} 条 entries, head hash {chain.head_hash}" if chain.ok
                 else f"  此前 {chain.count} 条完好 / {chain.count} entries before it verified, "
                      f"head hash {chain.head_hash}"]
        lines.append(f"{'✓' if not self.rows.problems else '✗'} 行记录 / rows under the chain: {self.rows.checked} "
                     f"checked (mode changes, tasks, acknowledgement requests, CAP messages)")
        if self.rows.uncovered:
            lines.append(f"  {self.rows.uncovered} 行早于行摘要，未校验 / {self.rows.uncovered} rows predate row "
                         f"digests (written before this version): not verified")
        if self.anchors is None:
            lines.append("  未给出锚定，无法发现末尾截断或整链重写 / no anchors given: a timeline cut short at its end "
                         "or rewritten whole cannot be seen (--anchors FILE)")
        elif self.anchors.ok:
            lines.append(f"✓ 锚定 / anchors: {self.anchors.verified} verified, the last at seq {self.anchors.last_seq} "
                         f"(the store ends at seq {self.anchors.store_seq})")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data, with ``ok``, ``failures`` and ``notes``."""
        return {"ok": self.ok, "chain": asdict(self.chain), "rows": asdict(self.rows),
                "anchors": asdict(self.anchors) if self.anchors is not None else None,
                "failures": self.failures(), "notes": self.notes()}


def verify_store(store: Store, *, anchors: Path | None = None, key: Path | None = None) -> StoreIntegrity:
    """Check ``store``'s chain and rows and, with ``anchors`` and ``key`` (a public or private key, PEM), its anchors.

    Raises
    ------
    AnchorError
        The anchors file or the key cannot be read.
    """
    found = None
    if anchors is not None and key is not None:
        found = check_anchors(store.timeline, read_anchors(anchors), load_public(key))
    return StoreIntegrity(store.timeline.verify(), check_rows(store.engine), found)
