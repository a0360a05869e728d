"""``warn check``: validate the deployment files."""

from __future__ import annotations

from pathlib import Path

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption
from warn.cli.output import console, print_problems


def check(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """检查部署配置、模型参数与图层 / validate config.yaml, models/*.yaml and the zone layers.

    Exit 0 when everything is valid, 2 when anything is not.

    Example: warn check --config config.yaml
    """
    from warn.check import check_deployment

    problems = check_deployment(Path(config))
    if problems:
        print_problems(problems, console(stderr=True))
        raise typer.Exit(2)
    console().print(f"✓ 部署有效 / deployment valid: {config}", style="green")
