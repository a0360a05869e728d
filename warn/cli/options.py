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
StoreOption = Annotated[
    str | None,
    typer.Option("--store", envvar="WARN_STORE", show_default="config.yaml store.url",
                 help="存储库：SQLAlchemy URL，或 SQLite 文件路径 / the store: an SQLAlchemy URL "
                      "(sqlite:///…, postgresql+psycopg://…) or the path of an SQLite file."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出 / print JSON instead of a table.")]

__all__ = ["DEFAULT_CONFIG", "ConfigOption", "JsonOption", "StoreOption"]
