"""Rendering for people: consoles, level colours, problems, bilingual labels.

Colours mark warning levels, and the level is always written out too (颜色盲读者 and
plain terminals); ``NO_COLOR`` is honoured by rich. Text from the store or from people
(notes, names, reasons, feed details) goes to the screen through :func:`clean` or
:func:`shown`: control characters are shown as placeholders, never obeyed by the terminal,
and square brackets are never read as rich markup.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from rich.console import Console
from rich.text import Text

from warn.errors import Problem
from warn.store.forms import plain
from warn.vocab import Level

LEVEL_STYLE = {
    Level.UNKNOWN: "bold magenta",
    Level.NONE: "dim",
    Level.BLUE: "bold blue",
    Level.YELLOW: "bold yellow",
    Level.ORANGE: "bold dark_orange",
    Level.RED: "bold red",
}


#: C0 controls, DEL, C1 controls and the bidirectional overrides (which reorder what is shown).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

#: The controls of :data:`_CONTROL` that :func:`json.dumps` leaves as they are (it escapes C0 itself).
_NOT_ESCAPED_BY_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _placeholder(match: re.Match[str]) -> str:
    """The Unicode control picture of a C0 control or DEL (``␛`` for ESC), else ``�``."""
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    return "␡" if code == 0x7F else "\ufffd"


def clean(text: object) -> str:
    """``text`` safe on a terminal: every control character (ESC, BEL, CR, tab, DEL, C1, bidi
    overrides) replaced by a visible placeholder (:func:`_placeholder`)."""
    return _CONTROL.sub(_placeholder, str(text))


def shown(text: object, style: str = "") -> Text:
    """Text from the store or from people for a table cell or a line: :func:`clean`, and never markup."""
    return Text(clean(text), style=style)


#: Width used when output goes to a pipe or file rather than a terminal (rich's default is 80).
PIPE_WIDTH = 120


def console(*, stderr: bool = False) -> Console:
    """A console on stdout or stderr; piped output is laid out at :data:`PIPE_WIDTH` columns."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, width=None if stream.isatty() else PIPE_WIDTH)


def level_text(level: Level) -> Text:
    """``红色 red`` in the level's colour."""
    label = f"{level.zh} {level.colour}" if level > Level.NONE else level.zh
    return Text(label, style=LEVEL_STYLE[level])


def print_problems(problems: Iterable[Problem], out: Console) -> None:
    """List problems, one per line, after a bilingual count."""
    problems = list(problems)
    out.print(f"发现 {len(problems)} 个问题 / {len(problems)} problem(s) found:", style="bold red")
    for problem in problems:
        out.print(f"  ✗ {clean(problem)}", markup=False)


def say(lang: str, zh: str, en: str) -> str:
    """The text for people in ``lang`` (``zh`` or ``en``)."""
    return en if lang == "en" else zh


def level_label(level: Level, lang: str) -> Text:
    """The level written out in ``lang`` and coloured: ``红色`` / ``red`` (readable without colour)."""
    return Text(level.colour if lang == "en" else level.zh, style=LEVEL_STYLE[level])


def age_text(seconds: float | None, lang: str) -> str:
    """A duration for people: ``2小时05分`` / ``2 h 05 min``, ``45秒`` / ``45 s``; ``—`` for none."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    hours, minutes = divmod(whole // 60, 60)
    if hours:
        return say(lang, f"{hours}小时{minutes:02d}分", f"{hours} h {minutes:02d} min")
    if minutes:
        return say(lang, f"{minutes}分", f"{minutes} min")
    return say(lang, f"{whole}秒", f"{whole} s")


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """``07-15 20:00`` in the deployment's time zone (the officer's wall clock); ``—`` for none."""
    return "—" if value is None else value.astimezone(zone).strftime("%m-%d %H:%M")


def print_json(value: Any) -> None:
    """Print ``value`` as one JSON document: dataclasses as objects, times as ISO 8601 with offset;
    every control character written as a JSON unicode escape such as ``\\u001b`` (the same data,
    nothing a terminal obeys)."""
    text = json.dumps(plain(value), ensure_ascii=False, indent=2)  # escapes C0 controls itself
    sys.stdout.write(_NOT_ESCAPED_BY_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")

