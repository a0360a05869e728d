"""The report formats: name → ``render(report, settings) -> bytes`` (a registry, so a format is added in one place).

matplotlib is imported only by the formats that draw (html, pdf), when they draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from warn.registry import Registry

if TYPE_CHECKING:
    from warn.config import Settings
    from warn.reports.content import Report

#: Report formats: name → render(report, settings) → file bytes.
FORMATS: Registry[Callable[[Report, Settings], bytes]] = Registry("report format")


@FORMATS.register("html")
def _html(report: Report, settings: Settings) -> bytes:
    from warn.reports import figures, html

    return html.render(report, figures.render_all(report, settings)).encode("utf-8")


@FORMATS.register("pdf")
def _pdf(report: Report, settings: Settings) -> bytes:
    from warn.reports import figures, pdf

    return pdf.render(report, figures.render_all(report, settings))


@FORMATS.register("md")
def _markdown(report: Report, settings: Settings) -> bytes:
    from warn.reports import markdown

    return markdown.render(report).encode("utf-8")
