"""Rendering for people: consoles, level colours, problems, bilingual labels.

Colours mark warning levels, and the level is always written out too (颜色盲读者 and
plain terminals); ``NO_COLOR`` is honoured by rich.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from warn.errors import Problem
from warn.vocab import Level

LEVEL_STYLE = {
    Level.UNKNOWN: "bold magenta",
    Level.NONE: "dim",
    Level.BLUE: "bold blue",
    Level.YELLOW: "bold yellow",
    Level.ORANGE: "bold dark_orange",
    Level.RED: "bold red",
}


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
        out.print(f"  ✗ {problem}", markup=False)
