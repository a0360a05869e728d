"""``warn verify``: check the timeline's hash chain."""

from __future__ import annotations

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, StoreOption
from warn.cli.output import console, print_problems
from warn.errors import ConfigError, WarnError


def verify(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """校验时间线哈希链 / verify the timeline's hash chain in the deployment's store (or ``--store``).

    Exit 0 when every entry matches (prints the count and the head hash, worth keeping
    elsewhere: a chain cut short at its end verifies too), 1 naming the first entry that
    does not match and why, 2 when the configuration is invalid.

    Example: warn verify --store var/demo/warn.db
    """
    from warn.config import load_settings, store_url
    from warn.store import Store

    try:
        settings = load_settings(config)
        with Store.connect(store_url(store, settings)) as opened:
            opened.upgrade()
            result = opened.timeline.verify()
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    if not result.ok:
        out = console(stderr=True)
        out.print(f"✗ 时间线校验失败 / timeline verification failed at seq {result.first_bad_seq} "
                  f"(kind {result.first_bad_kind}): {result.reason}", style="bold red", markup=False, soft_wrap=True)
        out.print(f"  此前 {result.count} 条完好 / {result.count} entries before it verified, "
                  f"head hash {result.head_hash}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    console().print(f"✓ 时间线完整 / timeline intact: {result.count} 条 entries, head hash {result.head_hash}",
                    style="green", markup=False, soft_wrap=True)
