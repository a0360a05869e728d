"""Free text from people: control characters, bidi overrides and length refused with the option and
position named (issue 15)."""

from __future__ import annotations

import pytest

from warn.errors import UsageError
from warn.freetext import check_text


@pytest.mark.parametrize(("text", "position", "code"), [
    ("预警\x00内容", 3, "U+0000"),
    ("a\x1b[2Jb", 2, "U+001B"),
    ("ok\x9b31m", 3, "U+009B"),
    ("abc\u202etxt.exe", 4, "U+202E"),
    ("x\u2066y", 2, "U+2066"),
    ("del\x7f", 4, "U+007F"),
    ("line\rreturn", 5, "U+000D"),
])
def test_control_and_bidi_characters_are_refused_naming_option_and_position(text, position, code) -> None:
    with pytest.raises(UsageError) as caught:
        check_text("--text", text, limit=100, multiline=True)
    message = str(caught.value)
    assert message.startswith("--text: ") and f"{code}" in message and f"at character {position}" in message


def test_newline_and_tab_only_where_the_text_is_multi_line() -> None:
    assert check_text("--text", "第一行\n\t第二行", limit=100, multiline=True) == "第一行\n\t第二行"
    with pytest.raises(UsageError, match="U\\+000A LINE FEED|U\\+000A control"):
        check_text("--reason", "a\nb", limit=100)


def test_length_is_counted_in_characters_and_limited() -> None:
    assert check_text("--note", "雨" * 500, limit=500) == "雨" * 500
    with pytest.raises(UsageError, match="--note: expected at most 500 characters, got 501 characters"):
        check_text("--note", "雨" * 501, limit=500)


def test_ordinary_chinese_and_english_text_passes() -> None:
    text = "DEMO-T03 镇街来电：村道出现裂缝，已转移 12 人 (road cracked; 12 people moved) — ✓"
    assert check_text("TEXT", text, limit=1000) == text
