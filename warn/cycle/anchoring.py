"""锚定本周期 / anchoring a cycle: sign the timeline's head and send it to the witnesses.

When config.yaml has ``anchors:``, each cycle, once its actions are executed and published, signs
the timeline's head (:func:`warn.store.anchors.sign_head`) with the deployment's key and sends it
to every witness (:func:`warn.broadcast.witness.send_anchor`). A key that cannot be read or a
witness that does not take the anchor is a data notice of the cycle, never a stop: the next cycle
anchors the head again, and the notice ends when the witnesses take it.
"""

from __future__ import annotations

from datetime import datetime

from warn.broadcast.witness import send_anchor
from warn.config import Settings
from warn.store import Store
from warn.store.anchors import AnchorError, load_private, sign_head
from warn.store.engine import redact


def anchor_head(settings: Settings, store: Store, at: datetime) -> list[str]:
    """Sign the head of ``store``'s timeline as of ``at`` and send it to the configured witnesses.

    Returns
    -------
    list of str
        The notices (zh-CN / English sentences): the key unusable, or each witness that failed;
        empty when anchoring is not configured, the timeline is empty, or every witness took the anchor.
    """
    spec = settings.anchors
    if spec is None:
        return []
    try:
        key = load_private(spec.key)
    except AnchorError as err:
        return [f"无法锚定时间线：签名密钥不可用 / the timeline cannot be anchored: the signing key is unusable: {err}"]
    seq = store.timeline.last_seq()
    if seq == 0:
        return []  # nothing recorded yet: nothing to anchor
    head = store.timeline.hashes([seq])[seq]
    anchor = sign_head(key, district=settings.deployment.district_code, store=redact(store.engine.url), seq=seq,
                       head=head, at=at)
    return send_anchor(anchor, spec.witness)
