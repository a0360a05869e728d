"""What the forecast-scoring commands share: settings, the forecast, the store, and their errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from warn.cli.output import console, print_problems
from warn.errors import ConfigError, WarnError

R = TypeVar("R")


def score_forecast(config: Path, forecast: str, var: str | None, score: Callable[..., R], *,
                   store: str | None = None) -> R:
    """``score(settings, rain, store)`` on the forecast at ``forecast`` with the deployment's store.

    ``store`` is the ``--store`` value (see :func:`warn.config.store_url`); ``None`` means config.yaml's.

    The store is read (migrated if needed), never written by the scoring commands. A
    configuration error exits 2, any other failure 1, each with its problems listed.
    """
    from warn import cycle
    from warn.config import load_settings, store_url
    from warn.store import Store

    try:
        settings = load_settings(config)
        rain = cycle.open_location(settings, forecast, var=var)
        with Store.connect(store_url(store, settings)) as opened:
            opened.upgrade()
            return score(settings, rain, opened)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
