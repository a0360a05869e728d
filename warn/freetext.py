"""Free text from people, checked at the edge before anything is written.

One rule for every text a person types into an acting command (a broadcast's text, a note,
a reason, a name, a task's note) and, later, into the web desk: :func:`check_text` refuses

- NUL and every other C0 control character (U+0000–U+001F) and DEL (U+007F), except a
  newline and a tab where the text may run over several lines (``multiline=True``);
- every C1 control character (U+0080–U+009F), which terminals take as escape sequences;
- the bidirectional overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069) and
  the implicit marks U+200E, U+200F, U+061C, which make a text read differently from what it
  holds ("Trojan Source");
- a text longer than its limit (characters, not bytes);

with a :class:`warn.errors.UsageError` that names the option, the position (1-based
character) and the character. Nothing is stripped: the person retypes the text.
"""

from __future__ import annotations

import unicodedata

from warn.errors import Problem, UsageError

#: Bidirectional formatting characters refused everywhere (Unicode TR #9).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
#: The control characters a multi-line text may hold.
LINE_BREAKS = frozenset("\n\t")


def check_text(option: str, text: str, *, limit: int, multiline: bool = False) -> str:
    """Return ``text`` unchanged when a person may write it; refuse it otherwise.

    Parameters
    ----------
    option
        The option or argument the text came from (``--text``, ``TEXT``), named in the error.
    text
        The text as typed.
    limit
        The most characters allowed (code points).
    multiline
        Newlines and tabs are allowed (a note, a broadcast text); otherwise they are refused too.

    Returns
    -------
    str
        ``text``.

    Raises
    ------
    UsageError
        A refused character (its position and code point named) or a text over ``limit``.
    """
    for position, char in enumerate(text, start=1):
        if _refused(char, multiline=multiline):
            raise UsageError(Problem(option, "", _expected(multiline),
                                     f"{_name(char)} at character {position}",
                                     "retype the text without it (copied text can carry invisible characters)"))
    if len(text) > limit:
        raise UsageError(Problem(option, "", f"at most {limit} characters", f"{len(text)} characters",
                                 "shorten the text; the limit is set in config.yaml text_limits"))
    return text


def _refused(char: str, *, multiline: bool) -> bool:
    if multiline and char in LINE_BREAKS:
        return False
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI_CONTROLS


def _expected(multiline: bool) -> str:
    allowed = "newlines and tabs allowed" if multiline else "one line"
    return f"text without control or bidirectional-override characters ({allowed})"


def _name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"
