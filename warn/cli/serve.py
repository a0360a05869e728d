"""``warn serve``: the HTTP service people answer through (gateways' callbacks, one-tap links)."""

from __future__ import annotations

import logging
import os
import signal
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ClockStartOption, ConfigOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, Problem, WarnError


def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option("--host", show_default="config serve.host",
                                             help="监听地址 / address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, show_default="config serve.port",
                                             help="监听端口 / port to listen on.")] = None,
    clock_start: ClockStartOption = None,
) -> None:
    """运行应答服务直至 SIGTERM / serve the callbacks and one-tap links until SIGTERM or Ctrl-C.

    The gateways post their receipts, replies and keypresses to /callbacks/{channel}; people open
    their one-tap links at /a/{token} to answer a 叫应 call, see and finish their tasks with a
    photo and their location, and report a danger. Every answer is planned at once, as the CLI's.
    The links' secret is read from the environment variable config serve.link_secret names.
    --clock-start runs on a drill's clock (not on a deployment marked live). Exit 0 after SIGTERM,
    1 when the store fails, 2 when the configuration or a secret is missing.

    Example: WARN_LINK_SECRET=… warn serve --config config.yaml --port 8790
    """
    from warn import hazards
    from warn.command.loading import load_directory, load_setup
    from warn.config import load_settings, store_url
    from warn.service import utc_now
    from warn.sim.clock import StartedClock
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
        clock = utc_now if clock_start is None else StartedClock(clock_start)
        opened = Store.connect(store_url(store, settings), now=clock)
        try:
            opened.upgrade()
            app = create_app(settings, opened, setup, clock=clock, env=os.environ, config=config,
                             people=directory.person_by if directory is not None else None)
            where = (host or settings.serve.host, port or settings.serve.port)
            console().print(f"应答服务 / serving on http://{where[0]}:{where[1]} (public {settings.serve.public_url})",
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
