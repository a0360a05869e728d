"""Text laid out by hand in the PDF pages and the figures: widths in half-width cells, wrapping for CJK.

Chinese breaks between any two characters; Latin text at a space when one is near.
"""

from __future__ import annotations

import unicodedata


def cells(text: str) -> int:
    """Display width in half-width cells: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int, scale: float = 1.0) -> str:
    """Wrap ``text`` to ``width`` half-width cells (divided by the font ``scale``), keeping its own line breaks.

    Lines break anywhere in CJK text and at the last space in the second half of the line otherwise.
    """
    limit = max(2, int(width / scale))
    out: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for ch in paragraph:
            w = cells(ch)
            if used + w > limit:
                cut = line.rfind(" ")
                cut = cut + 1 if cut > len(line) // 2 else len(line)  # break at a space when one is near
                out.append(line[:cut].rstrip())
                line = line[cut:]
                used = cells(line)
            line += ch
            used += w
        out.append(line)
    return "\n".join(out)
