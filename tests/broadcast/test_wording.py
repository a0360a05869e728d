"""The words of a warning: every committed template renders, SMS fit one segment, zh-CN holds no English."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import drop as _drop
from tests.helpers import edit_yaml
from tests.helpers import set_value as _set
from warn.broadcast.wording import (
    LEVEL_KEYS,
    SMS_LIMIT,
    TEMPLATES_FILE,
    Audience,
    Notice,
    Place,
    latin_words,
    load_templates,
    sms_length,
    word,
    zh_time,
)
from warn.errors import ConfigError, WarnError
from warn.vocab import Level

TEMPLATES = ROOT / "playbooks" / TEMPLATES_FILE
SENT = datetime(2026, 7, 15, 6, 30, tzinfo=timezone.utc)  # 14:30 in Beijing
LEVELS = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED, Level.NONE)
ISSUER = "渝北区防汛抗旱指挥部办公室"


@pytest.fixture(scope="module")
def templates():
    return load_templates(TEMPLATES)


def notice(hazard="landslide", level=Level.RED, audience=Audience.PUBLIC, places=3, **changes) -> Notice:
    """A notice for 双凤桥街道 with ``places`` (that many numbered hazard points, or the places given)."""
    if isinstance(places, int):
        places = tuple(Place(f"第{i + 1}村滑坡隐患点", "隐患点", Level.ORANGE) for i in range(places))
    fields = dict(hazard=hazard, level=level, audience=audience, issuer=ISSUER, sent=SENT,
                  until=SENT + timedelta(hours=6), area="双凤桥街道", places=places,
                  expected="未来3小时累计雨量可达60毫米", reference="渝北202607151430-3",
                  relayed_from="渝北区气象台" if hazard == "rainstorm" else "", issuer_short="渝北区防汛办")
    return Notice(**(fields | changes))


def every_case(templates):
    return [(hazard, level, audience) for hazard in templates.file.hazards for level in LEVELS for audience in Audience]


def test_every_template_renders_with_its_facts(templates):
    for hazard, level, audience in every_case(templates):
        wording = word(notice(hazard, level, audience), templates)
        for field in ("headline_zh", "description_zh", "instruction_zh", "headline_en", "description_en",
                      "instruction_en", "sms", "rich"):
            assert getattr(wording, field), (hazard, level, audience, field)
        assert ISSUER in wording.headline_zh and ISSUER in wording.description_zh
        assert "{" not in wording.rich and "}" not in wording.rich
        assert "渝北202607151430-3" in wording.description_zh and wording.sms.endswith("编号渝北202607151430-3")
        assert "7月15日14时30分" in wording.description_zh
        if level is not Level.NONE:
            assert level.zh in wording.headline_zh
            assert wording.rich.index(wording.headline_zh) < wording.rich.index(wording.headline_en)


def test_a_red_landslide_reads_like_a_district_warning(templates):
    wording = word(notice(places=2), templates)
    assert wording.headline_zh == "渝北区防汛抗旱指挥部办公室发布双凤桥街道地质灾害红色预警"
    assert wording.description_zh == (
        "渝北区防汛抗旱指挥部办公室7月15日14时30分发布地质灾害气象风险红色预警：未来3小时累计雨量可达60毫米，"
        "双凤桥街道发生滑坡、崩塌等地质灾害的风险很高，涉及第1村滑坡隐患点、第2村滑坡隐患点。"
        "有效期至7月15日20时30分。编号渝北202607151430-3。")
    assert wording.instruction_zh.startswith("受威胁群众立即撤离危险区域")
    assert "停止危险区域内一切作业" in wording.instruction_zh
    assert wording.sms == ("【渝北区防汛办】双凤桥街道地质灾害红色预警。立即撤离危险区域，停止区内作业，至7月15日20时30分。"
                           "编号渝北202607151430-3")


def test_no_latin_words_in_any_zh_text(templates):
    for hazard, level, audience in every_case(templates):
        wording = word(notice(hazard, level, audience), templates)
        for text in (wording.headline_zh, wording.description_zh, wording.instruction_zh, wording.sms):
            assert latin_words(text) == [], (hazard, level, audience, text)


@pytest.mark.parametrize("places", [0, 1, 5, 60])
def test_sms_is_one_segment_for_every_case(templates, places):
    long_names = tuple(Place(f"第{i}村某某组后山滑坡隐患点", "隐患点", Level.RED) for i in range(places))
    for hazard, level, audience in every_case(templates):
        sms = word(notice(hazard, level, audience, area="某某某某某某街道", places=long_names), templates).sms
        assert sms_length(sms) <= SMS_LIMIT, (hazard, level, audience, sms)
        assert "**" not in sms and "#" not in sms and "\n" not in sms


@pytest.mark.parametrize("places, sms", [
    (1, "【渝北区防汛办】双凤桥街道地质灾害红色预警：第1村滑坡隐患点。立即撤离危险区域，停止区内作业，至7月15日20时30分。编号渝北0715-3"),
    (12, "【渝北区防汛办】双凤桥街道地质灾害红色预警：12处隐患点。立即撤离危险区域，停止区内作业，至7月15日20时30分。编号渝北0715-3"),
    (0, "【渝北区防汛办】双凤桥街道地质灾害红色预警，风险很高。立即撤离危险区域，停止区内作业，至7月15日20时30分。编号渝北0715-3"),
])
def test_sms_shortens_places_then_the_issuer_then_drops_parts(templates, places, sms):
    assert word(notice(places=places, reference="渝北0715-3"), templates).sms == sms


def test_sms_keeps_every_part_when_it_fits(templates):
    one = (Place("甲村隐患点", "隐患点", Level.RED),)
    sms = word(notice(places=one, reference="渝北-3", issuer="渝北区防汛办", issuer_short=""), templates).sms
    assert sms == "【渝北区防汛办】双凤桥街道地质灾害红色预警，风险很高：甲村隐患点。立即撤离危险区域，停止区内作业，至7月15日20时30分。编号渝北-3"


def test_sms_names_no_place_by_half(templates):
    """Places are listed whole or counted, never cut inside a name."""
    places = tuple(Place(name, "隐患点", Level.RED) for name in ("龙王村滑坡隐患点", "石坪村危岩带", "长岭村滑坡隐患点",
                                                                "大湾村滑坡隐患点"))
    for reference in ("渝北-3", "渝北0715-3", "渝"):
        sms = word(notice(places=places, reference=reference), templates).sms
        listed = re.search(r"预警(?:，风险很高)?：(.*?)。", sms)
        assert listed, sms
        for name in re.split(r"、|等\d+处", listed.group(1)):
            assert name == "" or name in {p.name for p in places} or name == "4处隐患点", sms


def test_the_short_issuer_is_used_only_when_needed(templates):
    assert word(notice("rainstorm", Level.BLUE, places=0, reference="渝北-3"), templates).sms.startswith(
        "【渝北区防汛抗旱指挥部办公室】转发渝北区气象台暴雨蓝色预警信号")
    assert word(notice(places=0), templates).sms.startswith("【渝北区防汛办】")


def test_an_sms_whose_minimum_cannot_fit_is_refused(templates):
    with pytest.raises(ConfigError) as err:
        word(notice(area="某" * 40), templates)
    text = str(err.value)
    assert "hazards.landslide.levels.red.public.zh.sms: expected an SMS of at most 70 characters" in text


def test_rainstorm_is_relayed_naming_the_met_office(templates):
    wording = word(notice("rainstorm", Level.ORANGE), templates)
    assert wording.headline_zh == "渝北区防汛抗旱指挥部办公室转发渝北区气象台暴雨橙色预警信号"
    assert "转发渝北区气象台发布的暴雨橙色预警信号" in wording.description_zh
    assert "切断有危险的室外电源，暂停户外作业" in wording.instruction_zh
    with pytest.raises(WarnError, match="relayed_from: expected the original issuer"):
        word(notice("rainstorm", Level.ORANGE, relayed_from=""), templates)


def test_blue_waterlogging_says_avoid_low_roads(templates):
    assert "注意避开低洼路段" in word(notice("waterlogging", Level.BLUE), templates).instruction_zh


def test_unknown_expectation_is_left_out_not_printed_empty(templates):
    wording = word(notice(expected=""), templates)
    assert "预警：双凤桥街道发生" in wording.description_zh
    assert "()" not in wording.description_en and "（）" not in wording.description_zh


def test_many_places_are_listed_then_counted(templates):
    wording = word(notice(places=14), templates)
    assert "第10村滑坡隐患点等14处" in wording.description_zh
    assert "and 4 more" in wording.description_en


def test_highest_level_places_come_first(templates):
    places = (Place("乙村滑坡隐患点", "隐患点", Level.YELLOW), Place("甲村滑坡隐患点", "隐患点", Level.RED))
    description = word(notice(places=places), templates).description_zh
    assert description.index("甲村") < description.index("乙村")


def test_text_cap_refuses_is_made_harmless(templates):
    wording = word(notice(area="A<B&C街道"), templates)
    assert "<" not in wording.headline_zh and "&" not in wording.description_zh


@pytest.mark.parametrize("change, fragment", [
    ({"sent": datetime(2026, 7, 15, 14, 30)}, "sent: expected a timezone-aware time"),
    ({"until": SENT}, "until: expected a time after sent"),
    ({"level": Level.UNKNOWN}, "level: expected a colour level, or Level.NONE for an all-clear"),
    ({"area": " "}, "area: expected a name, zh"),
    ({"hazard": "tsunami"}, "hazards.tsunami: expected the templates of the hazard"),
])
def test_a_notice_that_cannot_be_worded_is_refused(templates, change, fragment):
    with pytest.raises(WarnError, match=re.escape(fragment)):
        word(notice(**change), templates)


def test_times_are_beijing_time():
    assert zh_time(SENT) == "7月15日14时30分"
    assert zh_time(datetime(2026, 7, 15, 16, 0, tzinfo=timezone.utc)) == "7月16日0时"


@pytest.mark.parametrize("text, words", [
    ("双凤桥街道地质灾害红色预警", []),
    ("未来3小时累计雨量可达60mm，水深0.3 m，流量12 m3/s", []),
    ("DEMO-T11、11B06 隐患点", []),
    ("无→蓝色 L0→L1（WARN-RAISE 预警发布 warning raised）", ["L0", "L1", "WARN-RAISE", "warning", "raised"]),
    ("渝北区治理中心 Yubei District", ["Yubei", "District"]),
])
def test_latin_words(text, words):
    assert latin_words(text) == words


def _broken(tmp_path: Path, change) -> Path:
    path = tmp_path / "messages.yaml"
    path.write_text(TEMPLATES.read_text(encoding="utf-8"), encoding="utf-8")
    edit_yaml(path, change)
    return path


LS_RED = ("hazards", "landslide", "levels", "red", "public")
BROKEN = {
    "missing level": (_drop("hazards", "landslide", "levels", "orange"),
                      "hazards.landslide.levels.orange: expected this key (it is required)"),
    "missing audience": (_drop("hazards", "waterlogging", "levels", "red", "restricted"),
                         "hazards.waterlogging.levels.red.restricted: expected this key"),
    "missing source": (_drop("hazards", "landslide", "levels", "red", "source"),
                       "hazards.landslide.levels.red.source: expected this key"),
    "unknown placeholder": (_set("{issuer}发布{town}地质灾害红色预警", *LS_RED, "zh", "headline"),
                            "hazards.landslide.levels.red.public.zh.headline: expected placeholders among {issuer}"),
    "format spec": (_set("{issuer:>10}发布", *LS_RED, "zh", "headline"),
                    "hazards.landslide.levels.red.public.zh.headline: expected text with placeholders like {area}"),
    "English in zh": (_set("{area} red warning 红色预警", *LS_RED, "zh", "headline"),
                      "public.zh.headline: expected zh-CN text without Latin words (no rule ids, level numbers or "
                      "English; codes and units only), got red, warning"),
    "level number in zh": (_set(["{area}", "L4级预警"], *LS_RED, "zh", "description"),
                           "public.zh.description.1: expected zh-CN text without Latin words"),
    "relayed without source": (_set("{issuer}发布暴雨红色预警信号", "hazards", "rainstorm", "levels", "red", "public",
                                    "zh", "headline"),
                               "hazards.rainstorm.levels.red.public.zh.headline: expected a headline naming "
                               "{relayed_from}"),
    "unknown key": (_set("x", *LS_RED, "zh", "title"), "public.zh.title: expected no such key"),
    "SMS without reference": (_set(["【{issuer}】{area}地质灾害红色预警", {"text": "。编号{reference}", "drop": 1}],
                                   *LS_RED, "zh", "sms"),
                              "public.zh.sms: expected parts never dropped naming who, where and the reference "
                              "({issuer}, {area}, {reference}), got no {reference}"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_templates_file_is_refused_by_file_and_key(tmp_path, case):
    change, fragment = BROKEN[case]
    path = _broken(tmp_path, change)
    with pytest.raises(ConfigError) as err:
        load_templates(path)
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


def test_every_level_key_is_in_the_committed_file(templates):
    for entry in templates.file.hazards.values():
        for key in LEVEL_KEYS:
            assert getattr(entry.levels, key).source


def test_every_wording_makes_a_valid_cap_message(templates):
    """The texts go into CAP as they are: the codec (OASIS and Google XSDs, the district's rules) takes them."""
    from warn import hazards
    from warn.cap.codec import CapWarning, MsgType, ResponseType, parse, produce
    from warn.vocab import CapStatus

    square = (((106.60, 29.70), (106.61, 29.70), (106.61, 29.71), (106.60, 29.71), (106.60, 29.70)),)
    for hazard, level, audience in every_case(templates):
        if hazard not in hazards.names():
            continue
        wording = word(notice(hazard, level, audience, places=14), templates)
        clear = level is Level.NONE
        body = produce(CapWarning(
            sender="warn@yubei.example", thread=f"{hazard}:T01", version=1, msg_type=MsgType.ALERT,
            status=CapStatus.EXERCISE, hazard=hazard, event=hazards.get(hazard).cap, level=level, sent=SENT,
            onset=SENT, expires=SENT + timedelta(hours=6), area_name="双凤桥街道", polygons=square, geocode="",
            incident="", sender_zh="渝北区防汛办", sender_en="Yubei flood office", headline_zh=wording.headline_zh, headline_en=wording.headline_en,
            description_zh=wording.description_zh, description_en=wording.description_en,
            instruction_zh=wording.instruction_zh, instruction_en=wording.instruction_en,
            response_type=ResponseType.ALL_CLEAR if clear else ResponseType.MONITOR, references=()))
        zh = parse(body).infos[0]
        assert (zh.headline, zh.description, zh.instruction) == (
            wording.headline_zh, wording.description_zh, wording.instruction_zh)
