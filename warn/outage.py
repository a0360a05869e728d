"""存储库中断告知 / telling the duty channels that the store is lost, and that it is back.

Everything the service says goes through the outbox — which is in the store. When the leading
``warn run`` cannot reach its store it writes nothing (each job logs the store unavailable and runs
again at its next time), so it says so itself, directly through the channels named in
``store.outage_channels`` (the duty group's robot): once when the store is lost, once when it is
back, each channel asked again at every lease renewal until it took the message (:class:`StoreOutage`).
Only a process that was leading tells: a standby's work is not interrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from warn.broadcast.channels import Channel, Delivery, DeliveryError

log = logging.getLogger(__name__)

#: The media type of the notices (the robots' channels send text as markdown).
TEXT = "text/plain; charset=utf-8"
#: The kinds of channel that can be told without a recipient: group robots and webhooks.
GROUP_KINDS = ("dingtalk", "wecom", "webhook")


class StoreOutage:
    """The store's reachability as the leader's lease renewals see it, told to ``channels`` on each change.

    Parameters
    ----------
    channels
        The channels to tell, by name (built, as the dispatcher's).
    deployment
        The deployment's name, in the notices.
    holder
        This process (:func:`warn.leadership.holder_id`), in the notices and their idempotency keys.
    clock
        The wall clock (aware UTC).
    local
        A moment as the deployment's local time (for the notices' zh-CN text).
    """

    def __init__(self, channels: Mapping[str, Channel], *, deployment: str, holder: str,
                 clock: Callable[[], datetime], local: Callable[[datetime], datetime]) -> None:
        self.channels = dict(channels)
        self.deployment = deployment
        self.holder = holder
        self.since: datetime | None = None
        self._clock = clock
        self._local = local
        self._pending: dict[str, Delivery] = {}

    def observe(self, reached: bool, *, leading: bool) -> None:
        """One lease renewal's result: the store ``reached`` or not, by a process ``leading`` (or that was
        leading until then). Tells the channels of a change, and retries what they did not take."""
        now = self._clock()
        if not reached and self.since is None and leading:
            self.since = now
            log.error("存储库中断：停止写入，恢复后续行 / the store is lost: nothing is written until it is back")
            self._tell("down", now, self._down_text(now))
        elif reached and self.since is not None:
            since, self.since = self.since, None
            log.warning("存储库恢复 / the store is back")
            self._tell("back", now, self._back_text(since, now))
        self._send()

    def _tell(self, kind: str, now: datetime, text: str) -> None:
        key = f"store-outage/{self.holder}/{now:%Y%m%dT%H%M%SZ}/{kind}"
        payload = text.encode("utf-8")
        self._pending.update({name: Delivery(f"{key}/{name}", "", payload, TEXT) for name in self.channels})

    def _send(self) -> None:
        for name, delivery in list(self._pending.items()):
            try:
                self.channels[name].send(delivery)
            except DeliveryError as err:
                log.warning("存储库中断告知未送达 %s，下次续租时重试 / the store notice did not reach %s, retried at "
                            "the next renewal: %s", name, name, err)
                if err.permanent:
                    del self._pending[name]
                continue
            del self._pending[name]

    def _down_text(self, now: datetime) -> str:
        at = self._local(now)
        return (f"【存储库中断】{self.deployment}：预警服务自 {at:%m-%d %H:%M} 起无法连接存储库，预警周期、任务与消息"
                f"发送暂停，存储库恢复后自动续行，已做的不重做。请检查数据库与网络。\n"
                f"The store is unreachable since {now:%Y-%m-%d %H:%M}Z: cycles, tasks and messages are paused and "
                f"resume by themselves when it is back, repeating nothing. Check the database and the network. "
                f"({self.holder})")

    def _back_text(self, since: datetime, now: datetime) -> str:
        minutes = max(1, round((now - since).total_seconds() / 60))
        return (f"【存储库恢复】{self.deployment}：存储库已恢复（中断约 {minutes} 分钟，自 "
                f"{self._local(since):%H:%M} 至 {self._local(now):%H:%M}），预警服务续行。\n"
                f"The store is back after about {minutes} min ({since:%H:%M}Z–{now:%H:%M}Z): the service goes on. "
                f"({self.holder})")
