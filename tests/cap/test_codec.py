"""CAP 1.2: producing the district's messages, validating them, reading incoming ones safely."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas
import pytest
from lxml import etree

from warn.cap.event import Category, Event
from warn.cap import codec as cap
from warn.cap.codec import (
    CAP_NS,
    CapWarning,
    Certainty,
    MsgType,
    Reference,
    ResponseType,
    Severity,
    Urgency,
)
from warn.errors import CapError
from warn.sim.feedserver import FeedServer
from warn.vocab import CapStatus, Level

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "cap"
MANIFEST = list(csv.DictReader((DATA / "manifest.csv").open(encoding="utf-8")))
VALID = [row for row in MANIFEST if row["oasis_cap12"] == row["google_cap12_extended"] == "valid"]
SENDER = "yjj.500112@yubei.example"
Q = f"{{{CAP_NS}}}"


@pytest.fixture(scope="module")
def town() -> geopandas.GeoSeries:
    """The first town of the district layer (WGS 84 lon/lat)."""
    return geopandas.read_file(ROOT / "geodata" / "yubei.gpkg", layer="towns").iloc[0]


def warning(town, **changes) -> CapWarning:
    """A red landslide Alert for ``town``, sent 20:00 CST, onset in 30 min; ``changes`` override."""
    sent = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
    base = CapWarning(
        sender=SENDER, thread="landslide:DEMO-T01:20260715T1200Z", version=1, msg_type=MsgType.ALERT,
        status=CapStatus.ACTUAL, hazard="landslide", event=Event(Category.GEO, "地质灾害", "Landslide"),
        level=Level.RED, sent=sent,
        onset=sent + timedelta(minutes=30), expires=sent + timedelta(hours=24), area_name=town["name"],
        polygons=cap.outline(town.geometry), geocode="", incident="INC-20260715-001",
        sender_zh="渝北区防汛抗旱指挥部办公室", sender_en="Yubei District flood control headquarters office",
        headline_zh=f"{town['name']}地质灾害红色预警", headline_en=f"Red landslide warning for {town['name_en']}",
        description_zh="未来3小时累计雨量可能超过100毫米，滑坡风险很高。",
        description_en="More than 100 mm of rain is possible in the next 3 hours; landslide risk is very high.",
        instruction_zh="立即撤离隐患点威胁范围内人员。", instruction_en="Evacuate everyone threatened by hazard points now.",
        response_type=ResponseType.EVACUATE,
    )
    return dataclasses.replace(base, **changes)


def first_reference(town) -> Reference:
    alert = cap.build(warning(town))
    return Reference(alert.sender, alert.identifier, alert.sent)


def produced_cases(town) -> dict[str, CapWarning]:
    """The five kinds of message the district sends."""
    ref = first_reference(town)
    return {
        "landslide red Alert": warning(town),
        "waterlogging Update": warning(
            town, hazard="waterlogging", event=Event(Category.MET, "城市内涝", "Urban waterlogging"), level=Level.ORANGE, version=2, msg_type=MsgType.UPDATE,
            references=(ref,), onset=warning(town).sent + timedelta(hours=3), response_type=ResponseType.AVOID,
            headline_zh="积水橙色预警", headline_en="Orange waterlogging warning"),
        "all-clear Update": warning(
            town, level=Level.NONE, version=3, msg_type=MsgType.UPDATE, references=(ref,),
            response_type=ResponseType.ALL_CLEAR, headline_zh="地质灾害预警解除", headline_en="Landslide warning lifted"),
        "Cancel (issued in error)": warning(town, version=2, msg_type=MsgType.CANCEL, references=(ref,)),
        "Exercise": warning(town, status=CapStatus.EXERCISE, thread="drill-1"),
        "Test": warning(town, status=CapStatus.TEST, thread="test-1", level=Level.BLUE,
                        response_type=ResponseType.MONITOR),
    }


def xsd(filename: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(cap.SCHEMA_DIR / filename)))


def safe_tree(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


# ---------------------------------------------------------------- the manifest


@pytest.mark.parametrize("row", MANIFEST, ids=lambda row: row["file"])
def test_bundled_schemas_agree_with_the_manifest(row):
    """Every manifest file validates (or not) against the bundled OASIS and Google XSDs as listed."""
    data = (DATA / row["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest().startswith(row["sha256"])
    root = safe_tree(data)
    assert etree.QName(root).namespace == row["root_namespace"]
    got = {column: "valid" if xsd(filename).validate(root) else "invalid"
           for column, filename in (("oasis_cap12", "CAP-v1.2.xsd"),
                                    ("google_cap12_extended", "cap12_extended-google.xsd"))}
    assert got == {"oasis_cap12": row["oasis_cap12"], "google_cap12_extended": row["google_cap12_extended"]}


@pytest.mark.parametrize("row", MANIFEST, ids=lambda row: row["file"])
def test_parser_accepts_exactly_the_valid_cap12_files(row):
    """parse() accepts a file iff it is CAP 1.2 and valid against both XSDs; the rest raise CapError."""
    data = (DATA / row["file"]).read_bytes()
    if row in VALID:
        alert = cap.parse(data)
        assert alert.identifier and alert.sender and alert.sent.utcoffset() is not None
    else:
        with pytest.raises(CapError):
            cap.parse(data)


@pytest.mark.parametrize("row", VALID, ids=lambda row: row["file"])
def test_valid_messages_survive_a_round_trip(row):
    """parse → serialise (the producer's model) → both XSDs and the CAP rules pass → parses to the same model."""
    alert = cap.parse((DATA / row["file"]).read_bytes())
    again = cap.serialise(alert)
    root = safe_tree(again)
    assert xsd("CAP-v1.2.xsd").validate(root) and xsd("cap12_extended-google.xsd").validate(root)
    assert cap.parse(again) == alert


def test_rejections_say_why():
    """CAP 1.1 and a wrong namespace are named; Update with empty references names the element."""
    with pytest.raises(CapError, match="CAP 1.1 and other namespaces are not accepted"):
        cap.parse((DATA / "testdata/google-cap-library/legacy-cap11/weather.cap").read_bytes())
    with pytest.raises(CapError, match="emergency:alerts:1.2"):
        cap.parse((DATA / "testdata/capparselib/invalid/invalid_xmlns.cap").read_bytes())
    with pytest.raises(CapError) as caught:
        cap.parse((DATA / "testdata/google-cap-library/invalid/canada_errors.cap").read_bytes())
    assert any(p.key == "alert/references" for p in caught.value.problems)


def test_parse_is_namespace_aware_and_honours_the_declared_encoding():
    """A ``cap:`` prefix reads like the default namespace; ISO-8859-1 text decodes to the same model."""
    bom = cap.parse((DATA / "testdata/capparselib/valid/australia_bom.cap").read_bytes())
    assert bom.infos and bom.infos[0].event and bom.sender
    utf8 = (DATA / "testdata/capparselib/valid/iceland_met_office.cap").read_bytes()
    text = utf8.decode("utf-8")
    assert any(ord(c) > 127 for c in text)
    latin1 = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1).encode("iso-8859-1")
    assert b"ISO-8859-1" in latin1
    assert cap.parse(latin1) == cap.parse(utf8)
    taiwan = cap.parse((DATA / "testdata/capparselib/valid/taiwan.cap").read_bytes())
    assert taiwan.sent.utcoffset() == timedelta(hours=8)


# ---------------------------------------------------------------- xee.cap


def test_xee_fetches_nothing(tmp_path):
    """The XXE / DTD / XInclude / XSLT sample, pointed at a real local server, is refused with zero requests.

    The UTF-16 copy gets past the byte-level DOCTYPE check, so lxml's parser itself
    (entities, DTD loading and network off) is what is exercised there; the manifest
    schemas are checked on the same copy too.
    """
    served = tmp_path / "served"
    served.mkdir()
    original = (DATA / "testdata/google-cap-library/security/xee.cap").read_text(encoding="utf-8")
    with FeedServer(served) as server:
        port = server.url.rsplit(":", 1)[1]
        text = original.replace("http://http://", "http://").replace("localhost:8080", f"127.0.0.1:{port}")
        assert text.count(f"http://127.0.0.1:{port}/") == 7 and "localhost" not in text
        for data in (text.encode("utf-8"), text.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")):
            with pytest.raises(CapError, match="DOCTYPE"):
                cap.parse(data)
            assert cap.validate(data)
        root = safe_tree(text.encode("utf-8"))
        assert not xsd("CAP-v1.2.xsd").validate(root)
        entities = [node for node in root.iter() if isinstance(node, etree._Entity)]
        assert entities and {node.text for node in entities} == {"&xxe;"}  # left unresolved
        assert server.requests == []


def test_external_entities_read_no_local_file(tmp_path):
    """An entity naming a local file is refused by parse() and left unresolved by the parser settings."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = (DATA / "examples/oasis-spec/example2.xml").read_text(encoding="utf-8")
    doctype = f'<!DOCTYPE alert [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
    text = text.replace('<?xml version="1.0" encoding="UTF-8"?>', f'<?xml version="1.0" encoding="UTF-16"?>{doctype}')
    text = text.replace("<headline>", "<headline>&s;", 1)
    assert "&s;" in text and "DOCTYPE" in text
    data = text.encode("utf-16")
    with pytest.raises(CapError, match="DOCTYPE"):
        cap.parse(data)
    assert "TOP-SECRET" not in "".join(safe_tree(data).itertext())


# ---------------------------------------------------------------- producing


@pytest.mark.parametrize("case", ["landslide red Alert", "waterlogging Update", "all-clear Update",
                                  "Cancel (issued in error)", "Exercise", "Test"])
def test_produced_messages_are_valid(case, town):
    """Each kind of message validates against both XSDs and the rules, and parses back to what was built."""
    w = produced_cases(town)[case]
    data = cap.produce(w)
    root = safe_tree(data)
    assert xsd("CAP-v1.2.xsd").validate(root) and xsd("cap12_extended-google.xsd").validate(root)
    assert cap.validate(data) == []
    alert = cap.parse(data)
    assert alert == cap.build(w) and cap.serialise(alert) == data
    assert cap.produce_alert(w) == (data, alert)  # the alert read from the tree validated, as parse reads it
    assert alert.status is w.status and alert.msg_type is w.msg_type
    assert [i.language for i in alert.infos] == ["zh-CN", "en-US"]
    assert b"Z<" not in data and b"+08:00</sent>" in data
    assert all(i.expires is not None for i in alert.infos)


def test_red_landslide_alert_profile(town):
    """Geo, Extreme/Immediate/Likely, parameters, geocode and a closed ≥4-point lat,lon polygon."""
    alert = cap.parse(cap.produce(warning(town)))
    zh, en = alert.infos
    assert zh.categories == en.categories == (Category.GEO,)
    assert zh.event_codes == en.event_codes == (("warn:hazard", "landslide"),)
    assert (zh.severity, zh.urgency, zh.certainty) == (Severity.EXTREME, Urgency.IMMEDIATE, Certainty.LIKELY)
    assert dict(zh.parameters) == {"warn:level": "red", "warn:hazard": "landslide", "GB/T35965.1:color": "Red"}
    area = zh.areas[0]
    assert area.geocodes == ()  # a town's area: no district code widening it
    assert zh.sender_name == "渝北区防汛抗旱指挥部办公室" and alert.scope is cap.Scope.PUBLIC
    for ring in area.polygons:
        assert len(ring) >= 4 and ring[0] == ring[-1]
        assert all(29 < lat < 30.2 and 106 < lon < 107 for lat, lon in ring)  # lat first
    assert alert.identifier == f"{SENDER}.landslide:DEMO-T01:20260715T1200Z.v1"
    assert alert.incidents == "INC-20260715-001" and alert.sent.utcoffset() == timedelta(hours=8)


def test_a_district_area_carries_the_district_code_and_a_restricted_message_says_for_whom(town):
    alert = cap.parse(cap.produce(warning(town, geocode="500112", scope=cap.Scope.RESTRICTED,
                                          restriction="防汛责任人 / responsible persons")))
    assert alert.infos[0].areas[0].geocodes == (("GB/T2260", "500112"),)
    assert (alert.scope, alert.restriction) == (cap.Scope.RESTRICTED, "防汛责任人 / responsible persons")
    unsaid = cap.serialise(cap.build(warning(town, scope=cap.Scope.RESTRICTED)))
    assert [p.key for p in cap.validate(unsaid)] == ["alert/restriction"]


def test_update_references_every_valid_message_and_all_clear(town):
    """The Update names the Alert's triplet; waterlogging is Met; the all-clear is Past/Observed/AllClear."""
    cases = produced_cases(town)
    first = cap.parse(cap.produce(cases["landslide red Alert"]))
    update_xml = cap.produce(cases["waterlogging Update"])
    triplet = f"{first.sender},{first.identifier},2026-07-15T20:00:00+08:00"
    assert f"<references>{triplet}</references>".encode() in update_xml
    update = cap.parse(update_xml)
    assert update.references == (Reference(first.sender, first.identifier, first.sent),)
    assert update.infos[0].categories == (Category.MET,) and update.infos[0].urgency is Urgency.EXPECTED
    assert update.infos[0].certainty is Certainty.LIKELY and update.infos[0].severity is Severity.SEVERE
    clear = cap.parse(cap.produce(cases["all-clear Update"])).infos[0]
    assert clear.response_types == (ResponseType.ALL_CLEAR,)
    assert (clear.urgency, clear.certainty, clear.severity) == (Urgency.PAST, Certainty.OBSERVED, Severity.MINOR)


def test_certainty_follows_an_ensembles_probability_above_one_half(town):
    """Likely above 0.5, Possible at 0.5 and below, whatever the colour; NaN or none: by colour."""
    assert cap.certainty_for(warning(town, probability=0.51)) is Certainty.LIKELY
    assert cap.certainty_for(warning(town, probability=0.5)) is Certainty.POSSIBLE
    assert cap.certainty_for(warning(town, level=Level.BLUE, probability=0.9)) is Certainty.LIKELY
    assert cap.certainty_for(warning(town, probability=float("nan"))) is Certainty.LIKELY  # red by colour
    assert cap.certainty_for(warning(town, level=Level.YELLOW, probability=None)) is Certainty.POSSIBLE
    produced = cap.produce(warning(town, probability=0.2))
    assert cap.validate(produced) == []
    assert dict(cap.parse(produced).infos[0].parameters)["warn:probability"] == "0.20"
    assert "warn:probability" not in dict(cap.parse(cap.produce(warning(town))).infos[0].parameters)


def test_vocabulary_mappings(town):
    """Severity by colour; urgency Immediate up to exactly 1 h of lead time; certainty by colour."""
    assert [cap.severity_for(lv) for lv in (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)] == [
        Severity.EXTREME, Severity.SEVERE, Severity.MODERATE, Severity.MINOR]
    sent = warning(town).sent
    assert cap.urgency_for(warning(town, onset=sent + timedelta(hours=1))) is Urgency.IMMEDIATE
    assert cap.urgency_for(warning(town, onset=sent + timedelta(hours=1, minutes=1))) is Urgency.EXPECTED
    assert cap.certainty_for(warning(town, level=Level.YELLOW)) is Certainty.POSSIBLE
    assert cap.cap_time(sent) == "2026-07-15T20:00:00+08:00"
    assert cap.identifier_for(SENDER, "rain storm,&<x", 2) == f"{SENDER}.rain-storm---x.v2"


def test_outline_simplifies_to_closed_rings(town):
    """Every ring of a town is closed, has ≥ 4 points and is no longer than the original."""
    rings = cap.outline(town.geometry, tolerance=0.01)
    original = sum(len(p.exterior.coords) for p in getattr(town.geometry, "geoms", [town.geometry]))
    assert rings and sum(len(r) for r in rings) <= original
    assert all(len(r) >= 4 and r[0] == r[-1] for r in rings)


def test_produce_refuses_bad_input_listing_every_problem(town):
    """An invalid message is an error listing all its problems; naive times and unknown levels are refused."""
    bad = warning(town, sender="yubei centre", headline_zh="红" * 140, description_en="<b>Run</b>")
    with pytest.raises(CapError) as caught:
        cap.produce(bad)
    keys = {p.key for p in caught.value.problems}
    assert {"alert/sender", "alert/info[1]/headline", "alert/info[2]/description"} <= keys
    with pytest.raises(CapError, match="every message an Update or Cancel replaces"):
        cap.produce(warning(town, version=2, msg_type=MsgType.UPDATE))
    with pytest.raises(CapError, match="timezone-aware"):
        cap.produce(warning(town, sent=datetime(2026, 7, 15, 20)))
    with pytest.raises(CapError, match="level"):
        cap.produce(warning(town, level=Level.UNKNOWN))


# ---------------------------------------------------------------- one rejection per rule


def mutate(town, change) -> list:
    """Problems of the red Alert after ``change(root)`` edited its XML."""
    root = safe_tree(cap.produce(warning(town)))
    change(root)
    return cap.validate(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def first(root, path):
    """The first element at ``path`` (CAP local names separated by ``/``) below the alert."""
    return root.find("/".join(Q + part for part in path.split("/")))


def set_text(path, text):
    def change(root):
        first(root, path).text = text
    return change


def has(problems, key, expected):
    assert any(p.key == key and expected in p.expected for p in problems), [str(p) for p in problems]


def test_rule_polygon_closed(town):
    problems = mutate(town, set_text("info/area/polygon", "29.6,106.5 29.7,106.5 29.7,106.6 29.6,106.6"))
    has(problems, "alert/info[1]/area/polygon", "closed ring")


def test_rule_polygon_four_points(town):
    problems = mutate(town, set_text("info/area/polygon", "29.6,106.5 29.7,106.5 29.6,106.5"))
    has(problems, "alert/info[1]/area/polygon", "at least 4")


def test_rule_polygon_lat_lon_range(town):
    problems = mutate(town, set_text("info/area/polygon", "106.5,29.6 106.5,29.7 106.6,29.7 106.5,29.6"))
    has(problems, "alert/info[1]/area/polygon", "latitude in [-90, 90]")


def test_rule_polygon_numbers(town):
    problems = mutate(town, set_text("info/area/polygon", "29.6;106.5 29.7,106.5 29.7,106.6 29.6;106.5"))
    has(problems, "alert/info[1]/area/polygon", "lat,lon pairs")


def test_rule_times_have_explicit_non_z_offset(town):
    has(mutate(town, set_text("sent", "2026-07-15T12:00:00Z")), "alert/sent", "explicit offset")
    has(mutate(town, set_text("info/onset", "2026-07-15T20:30:00")), "alert/info[1]/onset", "explicit offset")


def test_rule_expires_always(town):
    def drop(root):
        node = first(root, "info/expires")
        node.getparent().remove(node)
    has(mutate(town, drop), "alert/info[1]/expires", "an expires time")


def test_rule_expires_after_sent(town):
    has(mutate(town, set_text("info/expires", "2026-07-15T19:00:00+08:00")), "alert/info[1]/expires",
        "after sent 2026-07-15T20:00:00+08:00")


def test_rule_update_and_cancel_carry_references(town):
    problems = mutate(town, set_text("msgType", "Cancel"))
    has(problems, "alert/references", "every message an Update or Cancel replaces")


def test_rule_references_are_triplets(town):
    def add(root):
        first(root, "msgType").text = "Update"
        node = etree.Element(Q + "references")
        node.text = f"{SENDER},only-two"
        first(root, "scope").addnext(node)
    has(mutate(town, add), "alert/references", "sender,identifier,sent triplets")


def test_rule_zh_cn_info_first(town):
    def swap(root):
        zh = root.findall(Q + "info")[0]
        root.append(zh)
    has(mutate(town, swap), "alert/info/language", "a zh-CN info first, then an en-US info")


def test_rule_identical_category(town):
    def change(root):
        root.findall(Q + "info")[1].find(Q + "category").text = "Met"
    has(mutate(town, change), "alert/info/category", "the same category in every info")


def test_rule_identical_event_code(town):
    def change(root):
        root.findall(Q + "info")[1].find(f"{Q}eventCode/{Q}value").text = "rainstorm"
    has(mutate(town, change), "alert/info/eventCode", "the same eventCode in every info")


def test_rule_headline_length(town):
    has(mutate(town, set_text("info/headline", "x" * 140)), "alert/info[1]/headline", "fewer than 140 characters")


@pytest.mark.parametrize("html", ["<p>撤离</p>", "撤离&nbsp;避险", "<br/>"])
def test_rule_plain_text(town, html):
    has(mutate(town, set_text("info/instruction", html)), "alert/info[1]/instruction", "plain text without HTML")


@pytest.mark.parametrize("name, value", [("identifier", "a b"), ("identifier", "a&b"), ("sender", "a,b"),
                                         ("sender", "a<b")])
def test_rule_identifier_and_sender_characters(town, name, value):
    has(mutate(town, set_text(name, value)), f"alert/{name}", "no spaces, commas, '<' or '&'")


@pytest.mark.parametrize("seed", range(40))
def test_the_alert_produced_is_the_alert_its_message_says(town, seed):
    """produce_alert returns the alert without reading the message back: it is what parse reads from the message,
    whatever whitespace (ASCII, full-width, line breaks) surrounds or fills the texts, with microseconds in the times,
    references, an SMS text, a probability and a geocode."""
    import random

    rng = random.Random(seed)
    pads = ["", " ", "\n", "\t ", "\u3000", "\r\n", " \r "]

    def said(text: str) -> str:
        inner = text if rng.random() < 0.5 else text.replace("，", "，\r\n" if rng.random() < 0.5 else "，\n  ")
        return rng.choice(pads) + inner + rng.choice(pads)

    sent = datetime(2026, 7, 15, 12, 0, tzinfo=UTC) + timedelta(microseconds=rng.randrange(1_000_000))
    base = warning(town)
    changed = warning(
        town, sent=sent, onset=sent + timedelta(minutes=30, microseconds=rng.randrange(1_000_000)),
        expires=sent + timedelta(hours=24, microseconds=rng.randrange(1_000_000)),
        references=(first_reference(town),) if rng.random() < 0.5 else (), version=2, msg_type=MsgType.UPDATE,
        **{name: said(getattr(base, name)) for name in ("area_name", "sender_zh", "sender_en", "headline_zh",
                                                         "headline_en", "description_zh", "description_en",
                                                         "instruction_zh", "instruction_en")},
        incident=said("INC-20260715-001"), sms=said("【渝北区】地质灾害红色预警，请立即撤离。"),
        probability=rng.choice([None, 0.35, float("nan")]), geocode=rng.choice(["", "500112"]),
        note=said("经由区气象局 / relayed") if rng.random() < 0.5 else "")
    if not changed.references:
        changed = dataclasses.replace(changed, version=1, msg_type=MsgType.ALERT)
    data, alert = cap.produce_alert(changed)
    assert alert == cap.parse(data)
    pretty = etree.tostring(etree.fromstring(data, etree.XMLParser(remove_blank_text=True)), xml_declaration=True,
                            encoding="UTF-8", pretty_print=True)
    assert data == pretty  # laid out as lxml pretty-prints the message's own tree
    assert alert.sent.microsecond == 0 and alert.infos[0].description == alert.infos[0].description.strip()


@pytest.mark.parametrize("unfit", ["\x00", "\x01", "\x0b", "\x1f", "\ud800", "\ufffe", "\uffff"])
def test_a_text_xml_cannot_hold_is_refused_naming_the_character(town, unfit):
    """Tab, line feed and carriage return are text; other control characters, surrogates, U+FFFE and U+FFFF are
    not (lxml refused them too, when the message was built element by element)."""
    fine = cap.build(warning(town, headline_zh="滑坡\t预警\r\n请撤离"))
    assert cap.parse(cap.serialise(fine)).infos[0].headline == "滑坡\t预警\r\n请撤离"
    with pytest.raises(ValueError, match=f"All strings must be XML compatible: CAP .* holds U\\+{ord(unfit):04X} "):
        cap.serialise(cap.build(warning(town, headline_zh=f"滑坡{unfit}预警")))
