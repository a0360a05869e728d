"""The national profile (GB/T 35965.1-2018): identifiers, and event codes only where verified."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from warn.cap.codec import _TOKEN
from warn.cap.national import EVENTS_FILE, IDENTIFIER, IDENTIFIER_LENGTH, event_codes, gbt_identifier, load_event_codes
from warn.errors import ConfigError, WarnError

SENT = datetime(2026, 7, 15, 6, 30, 5, tzinfo=timezone.utc)


def test_identifier_follows_the_pattern_in_beijing_time():
    identifier = gbt_identifier("500112", "416", SENT, 0)
    assert identifier == "50011241600000_20260715143005_0"
    assert len(identifier) == IDENTIFIER_LENGTH
    assert IDENTIFIER.fullmatch(identifier)
    assert _TOKEN.fullmatch(identifier), "a CAP identifier: no spaces, commas, < or &"


def test_identifier_takes_the_whole_unit_code_and_any_time_zone():
    other_zone = SENT.astimezone(timezone(timedelta(hours=-5)))
    assert gbt_identifier("500112", "41600101", other_zone, 9) == "50011241600101_20260715143005_9"


def test_identifier_crosses_midnight_in_beijing():
    assert gbt_identifier("500112", "416", datetime(2026, 7, 15, 16, 0, tzinfo=timezone.utc), 1) == \
        "50011241600000_20260716000000_1"


@pytest.mark.parametrize("args, fragment", [
    (("5001", "416", SENT, 0), "GB/T 35965.1 identifier: admin_code: expected 6 digits (GB/T 2260), got '5001'"),
    (("500112", "41", SENT, 0), "unit_code: expected 3 digits DDD (GB/T 4657) or 8 digits DDDUUUXX, got '41'"),
    (("500112", "416 000", SENT, 0), "unit_code: expected 3 digits DDD"),
    (("500112", "416", datetime(2026, 7, 15, 14, 30), 0), "sent: expected a timezone-aware time"),
    (("500112", "416", SENT, 10), "serial: expected 0-9 (messages of one unit in one second), got 10"),
])
def test_identifier_refuses_what_the_pattern_cannot_hold(args, fragment):
    with pytest.raises(WarnError, match=re.escape(fragment)):
        gbt_identifier(*args)


def test_committed_event_codes_invent_nothing():
    events = load_event_codes()
    for name, entry in events.hazards.items():
        assert entry.verified or (entry.code is None and entry.why), name
        assert event_codes(name, events) == (() if not entry.verified else ((events.value_name, entry.code),))


def _events_file(tmp_path: Path, landslide: dict) -> Path:
    """The committed event-code file with the landslide entry replaced by ``landslide``."""
    data = yaml.safe_load(EVENTS_FILE.read_text(encoding="utf-8"))
    data["hazards"]["landslide"] = landslide
    path = tmp_path / "events.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_verified_code_is_sent_as_an_event_code(tmp_path):
    path = _events_file(tmp_path, {"zh": "地质灾害", "code": "11X99", "verified": True, "source": "a test source"})
    assert event_codes("landslide", load_event_codes(path)) == (("GB/T35965.1", "11X99"),)


@pytest.mark.parametrize("entry, fragment", [
    ({"zh": "地质灾害", "code": "11X99", "verified": True}, "a verified code with its source"),
    ({"zh": "地质灾害", "code": None, "verified": False}, "why the code could not be verified"),
    ({"zh": "地质灾害", "code": "landslide", "verified": False, "why": "x"}, "hazards.landslide.code"),
    ({"zh": "地质灾害", "verified": False, "why": "x"}, "hazards.landslide.code: expected this key"),
])
def test_a_code_without_its_source_is_refused(tmp_path: Path, entry, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_event_codes(_events_file(tmp_path, entry))


def test_a_hazard_without_an_entry_is_refused():
    with pytest.raises(ConfigError, match="hazards.tsunami: expected an entry for the hazard"):
        event_codes("tsunami", load_event_codes())


def test_identifier_refuses_digits_of_other_scripts():
    with pytest.raises(WarnError, match="admin_code"):
        gbt_identifier("５００１１２", "416", SENT, 0)
