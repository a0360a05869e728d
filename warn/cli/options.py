"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from warn import DEFAULT_CONFIG

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="部署配置文件 / deployment file (config.yaml).", envvar="WARN_CONFIG"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出 / print JSON instead of a table.")]

__all__ = ["DEFAULT_CONFIG", "ConfigOption", "JsonOption"]
