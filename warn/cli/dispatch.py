"""``warn dispatch``: deliver the outbox through the configured channels."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, WarnError


def dispatch(
    config: ConfigOption = DEFAULT_CONFIG,
    once: Annotated[bool, typer.Option("--once", help="一轮后退出 / one round, then exit")] = False,
    store: StoreOption = None,
) -> None:
    """投递发件箱 / deliver the outbox's queued messages through the configured channels.

    Channels come from ``channels:`` in config.yaml, their secrets from the environment
    variables they name. ``--once`` delivers what is due now and exits; without it the
    dispatcher runs until SIGTERM or Ctrl-C. Exit 0 when nothing failed, 1 when a message
    failed or the store is unreachable, 2 when the configuration (or a secret) is missing.

    Example: warn dispatch --once --store var/warn.sqlite
    """
    from warn.broadcast.channels import build_channels
    from warn.broadcast.outbox import Dispatcher, DispatchReport
    from warn.config import load_settings, store_url
    from warn.store import Store

    stopping = {"now": False}

    def stop(*_args: object) -> None:
        stopping["now"] = True

    try:
        settings = load_settings(config)
        channels = build_channels(settings.channels)
        with Store.connect(store_url(store, settings)) as opened:
            opened.upgrade()
            dispatcher = Dispatcher(opened, channels)
            try:
                if once:
                    report = dispatcher.dispatch_once()
                else:
                    previous = signal.signal(signal.SIGTERM, stop)
                    try:
                        report = dispatcher.run(stop=lambda: stopping["now"])
                    except KeyboardInterrupt:
                        report = DispatchReport()
                    finally:
                        signal.signal(signal.SIGTERM, previous)
                counts = opened.outbox.counts()
            finally:
                for channel in channels.values():
                    channel.close()
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    pending = {str(status): n for status, n in counts.items() if n}
    out = console()
    out.print(f"{'✓' if not report.failed else '✗'} 已发送 sent {report.sent}, 重试 retried {report.retried}, "
              f"失败 failed {report.failed}, 拒发 refused {report.refused}, 限流 rate-limited {report.rate_limited}",
              style="red" if report.failed else "green", markup=False, soft_wrap=True)
    out.print(f"  发件箱 outbox: {', '.join(f'{k} {v}' for k, v in pending.items()) or '空 empty'}",
              markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)
