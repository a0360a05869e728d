"""A data notice reaches the duty SMS in one segment, the zh-CN text only."""

from __future__ import annotations

from tests.conftest import ROOT
from warn.broadcast.wording import sms_length
from warn.config import load_settings
from warn.cycle.warning_cycle import notice_sms


def test_a_long_notice_is_cut_to_one_segment_and_says_where_the_rest_is() -> None:
    settings = load_settings(ROOT / "config.yaml")
    text = ("传感器 DEMO-S025 读数连续 6 次不变，疑似冻结（flatline），已按失效处理，积水点 DEMO-W25 由模型估算"
            " / sensor DEMO-S025 flat for 6 readings, treated as failed")
    sms = notice_sms(settings, text)
    assert sms_length(sms) <= 70 and sms.startswith("【渝北区防汛办】数据告警：传感器 DEMO-S025")
    assert sms.endswith("…详见值班系统") and "sensor" not in sms
    assert notice_sms(settings, "预报源中断 / forecast down") == "【渝北区防汛办】数据告警：预报源中断"
