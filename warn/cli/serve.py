"""``warn serve``: the HTTP service people answer through (gateways' callbacks, one-tap links)."""

from __future__ import annotations

import logging
import os
import secrets
import signal
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, AtOption, ClockStartOption, ConfigOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, Problem, WarnError

if TYPE_CHECKING:
    from warn.config import Settings
    from warn.store import Store


def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option("--host", show_default="config serve.host",
                                             help="监听地址 / address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, show_default="config serve.port",
                                             help="监听端口 / port to listen on.")] = None,
    clock_start: ClockStartOption = None,
    at: AtOption = None,
) -> None:
    """运行指挥中心服务直至 SIGTERM / serve the centre's screens, its API, the callbacks and one-tap links
    until SIGTERM or Ctrl-C.

    The big screen (态势图) is at /, the JSON API at /api/v1 (its OpenAPI document at
    /api/v1/openapi.json), both behind a login or a bearer token. The gateways post their receipts,
    replies and keypresses to /callbacks/{channel}; people open their one-tap links at /a/{token}.
    Every answer and act is planned at once, as the CLI's. The links' secret is read from the
    environment variable config serve.link_secret names. --clock-start runs on a drill's clock (not
    on a deployment marked live); a drill's store without it is served on a clock started at its
    last cycle, with a throwaway links' secret when none is set. --at shows that moment of the store
    (read only; the page's time slider moves from there). Exit 0 after SIGTERM, 1 when the store
    fails, 2 when the configuration or a secret is missing.

    Example: warn serve --store var/demo/warn.db --at 2026-07-15T07:30Z
    """
    from warn import hazards
    from warn.command.loading import load_directory, load_setup
    from warn.config import load_settings, store_url
    from warn.store import Store
    from warn.web import create_app
    from warn.web.server import server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    err_out = console(stderr=True)
    try:
        settings = load_settings(config)
        if clock_start is not None and settings.deployment.live:
            raise ConfigError(Problem("--clock-start", "", "a drill (deployment.live: false)", "a live deployment"))
        if settings.command is None:
            raise ConfigError(Problem(str(config), "command", "a command section (playbooks, roster)", "nothing"))
        setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                           roster_limit=settings.files.max_roster_bytes)
        directory = None if settings.command.directory is None else load_directory(
            settings.command.directory, max_bytes=settings.files.max_roster_bytes)
        url = store_url(store, settings)
        clock, env = _clock(Store.connect(url), settings, clock_start)
        opened = Store.connect(url, now=clock)
        try:
            app = create_app(settings, opened, setup, clock=clock, env=env, config=config, fixed_at=at,
                             people=directory.person_by if directory is not None else None)
            where = (host or settings.serve.host, port or settings.serve.port)
            console().print(f"指挥中心服务 / serving on http://{where[0]}:{where[1]}/ (public {settings.serve.public_url}; "
                            f"clock {clock():%Y-%m-%dT%H:%MZ}{'; showing ' + f'{at:%Y-%m-%dT%H:%MZ}' if at else ''})",
                            markup=False, soft_wrap=True)
            # uvicorn stops on SIGTERM / SIGINT, then raises the signal again to the handler it found: a quiet one
            # here, so that a stop asked for is exit 0
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: None)
            server(app, *where).run()
        finally:
            opened.close()
    except WarnError as err:
        print_problems(err.problems, err_out)
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None


def _clock(probe: Store, settings: Settings, start: datetime | None) -> tuple[Callable[[], datetime], Mapping[str, str]]:
    """The service's clock and environment on the store ``probe`` opens (closed after).

    The wall clock, or ``--clock-start``'s. A drill's store (:func:`warn.check.drill_store`) without
    ``--clock-start``: a clock started at its last cycle (the drill's end, where its people left off), and a
    throwaway links' secret when the environment sets none (the drill's own links were signed with its own).
    """
    from warn.check import drill_store
    from warn.service import utc_now
    from warn.sim.clock import StartedClock

    try:
        probe.upgrade()
        drill = drill_store(probe)
        last = probe.cycles.latest(1)
    finally:
        probe.close()
    if start is not None:
        return StartedClock(start), os.environ
    if not drill:
        return utc_now, os.environ
    env = dict(os.environ)
    if not env.get(settings.serve.link_secret):
        env[settings.serve.link_secret] = secrets.token_urlsafe(32)
        console(stderr=True).print(f"演练库：未设置 {settings.serve.link_secret}，使用临时链接密钥 / a drill's store: "
                                   f"{settings.serve.link_secret} unset, links signed with a throwaway secret",
                                   style="yellow", markup=False, soft_wrap=True)
    return (StartedClock(last[0].at) if last else utc_now), env
