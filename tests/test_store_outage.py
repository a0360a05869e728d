"""The leading ``warn run`` that loses its PostgreSQL store: it writes nothing, tells the duty robot directly, stops
leading when its lease runs out, and says when the store is back — over a real TCP link that is cut and restored."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from tests.helpers import wait_for
from tests.conftest import committed_data
from warn.config import load_settings
from warn.service import open_service, run_service
from warn.sim.chaos.proxy import TcpProxy
from warn.sim.clock import StartedClock
from warn.sim.receiver import WebhookReceiver
from warn.store import Store
from warn.vocab import CapStatus

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

START = datetime(2026, 7, 15, 1, 5, tzinfo=timezone.utc)
SECRETS = {"T_DINGTALK_TOKEN": "token-1", "T_DINGTALK_SECRET": "secret-1"}



@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_leader_that_loses_its_store_tells_the_duty_robot_writes_nothing_and_says_when_it_is_back(
        store_url, tmp_path):
    with TcpProxy("127.0.0.1", 5432) as link, WebhookReceiver() as robot:
        data = committed_data(tmp_path)
        data.pop("reach")
        data.pop("observed")
        data["store"] = {"url": store_url.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}"),
                         "lease": {"ttl": "PT4S", "renew": "PT1S"}, "outage_channels": ["duty_dingtalk"]}
        data["channels"] = {"duty_dingtalk": {"kind": "dingtalk", "target": robot.url + "/dingtalk",
                                              "secrets": {"access_token": "T_DINGTALK_TOKEN",
                                                          "secret": "T_DINGTALK_SECRET"}}}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        settings = load_settings(tmp_path / "config.yaml")
        clock = StartedClock(START)
        store = Store.connect(settings.store.url, now=clock)
        service = open_service(settings, store, status=CapStatus.EXERCISE, sender="warn@yubei.example", now=clock,
                               env=SECRETS)
        stop = threading.Event()
        runner = threading.Thread(target=run_service, args=(service,),
                                  kwargs={"every": timedelta(minutes=10), "stop": stop, "now": clock}, daemon=True)
        direct = Store.connect(store_url)  # the test's own way to the store, not through the link
        try:
            runner.start()
            assert wait_for(lambda: (row := direct.cycles.get(datetime(2026, 7, 15, 1, tzinfo=timezone.utc)))
                         is not None and row.status == "done", 120), "the first cycle was not done"
            lease = direct.leases.get(settings.deployment.district_code)
            assert lease is not None and lease.term == 1

            def told(mark: str) -> list[dict]:
                return [r for r in robot.records() if mark in r["body"]]

            link.cut()
            cut_at = time.monotonic()
            assert wait_for(lambda: told("【存储库中断】"), 30), robot.records()
            time.sleep(max(0.0, 6 - (time.monotonic() - cut_at)))  # past the lease: not leading by its own clock
            held = direct.leases.get(settings.deployment.district_code)
            assert held is not None and held.expires_at < datetime.now(timezone.utc)
            link.restore()
            assert wait_for(lambda: told("【存储库恢复】"), 30), robot.records()
            assert wait_for(lambda: (lease := direct.leases.get(settings.deployment.district_code)) is not None
                         and lease.expires_at > datetime.now(timezone.utc), 10)  # leading again
        finally:
            stop.set()
            runner.join(60)
            direct.close()
    down, back = told("【存储库中断】"), told("【存储库恢复】")
    assert len(down) == 1 and len(back) == 1  # once each, not at every renewal
    assert settings.deployment.name in down[0]["body"] and "resume by themselves" in down[0]["body"]
    assert down[0]["path"] == back[0]["path"] == "/dingtalk" and not runner.is_alive()
