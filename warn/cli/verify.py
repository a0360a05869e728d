"""``warn verify``: check the timeline's hash chain, the rows it vouches for, and its anchors;
``warn anchor keygen``: make the deployment's signing key."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, StoreOption
from warn.cli.output import clean, console, print_json, print_problems
from warn.errors import ConfigError, Problem, WarnError

if TYPE_CHECKING:
    from warn.store.integrity import StoreIntegrity

AnchorsOption = Annotated[
    Path | None,
    typer.Option("--anchors", show_default=False,
                 help="见证保存的锚定记录（JSON lines）/ the anchors a witness kept (JSON lines): detects a "
                      "truncated or rewritten timeline."),
]
KeyOption = Annotated[
    Path | None,
    typer.Option("--key", show_default="config.yaml anchors.key",
                 help="验签公钥（PEM）/ the public key (PEM) the anchors are checked with."),
]

anchor_app = typer.Typer(name="anchor", no_args_is_help=True,
                         help="时间线锚定 / anchoring the timeline outside the store.")


def verify(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, anchors: AnchorsOption = None,
           key: KeyOption = None, json_out: JsonOption = False) -> None:
    """校验时间线哈希链 / verify the timeline's hash chain in the deployment's store (or ``--store``).

    Exit 0 when every entry matches (prints the count and the head hash) and, with ``--anchors``,
    every anchor's signature verifies and the store holds its seq with its hash; 1 naming the first
    entry that does not match, or each anchor that shows a truncated or rewritten timeline or is
    forged; 2 when the configuration is invalid or no key to check the anchors with is given.
    Without ``--anchors`` entries removed from the end of the timeline cannot be seen.

    Example: warn verify --store var/demo/warn.db --anchors /mnt/witness/anchors.jsonl
    """
    from warn.config import load_settings, store_url
    from warn.store import Store
    from warn.store.integrity import verify_store

    try:
        settings = load_settings(config)
        public = key or (settings.anchors.key if settings.anchors is not None else None)
        if anchors is not None and public is None:
            raise ConfigError(Problem("--key", "", "the public key the anchors are checked with (--key, or "
                                                   "anchors.key in config.yaml)", "none"))
        with Store.connect(store_url(store, settings)) as opened:
            opened.upgrade()
            found = verify_store(opened, anchors=anchors, key=public)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    if json_out:
        print_json(found.as_dict())
    else:
        _print(found)
    if not found.ok:
        raise typer.Exit(1)


def _print(found: StoreIntegrity) -> None:
    """The verdicts, failures on stderr (they quote rows' values from the store: shown cleaned)."""
    out, err = console(), console(stderr=True)
    for line in found.failures():
        err.print(f"✗ {clean(line)}", style="bold red", markup=False, soft_wrap=True)
    for line in found.notes():
        (out if found.ok else err).print(line, markup=False, soft_wrap=True)


def keygen(out: Annotated[Path, typer.Option("--out", help="私钥文件（PEM，权限 0600）/ the private key file "
                                                          "(PEM, mode 0600); the public key goes beside it "
                                                          "as NAME.pub.pem.")]) -> None:
    """生成锚定签名密钥 / make the deployment's Ed25519 signing key for the timeline's anchors.

    Never overwrites a file; exit 1 when ``--out`` or its public key's file exists.

    Example: warn anchor keygen --out /etc/warn/anchor.pem
    """
    from warn.store.anchors import AnchorError, key_id, keygen as make_key, public_path_of

    try:
        public = make_key(out)
    except AnchorError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(1) from None
    console().print(f"✓ 已生成密钥 / key made: {out} (0600), public key {public_path_of(out)}, "
                    f"key id {key_id(public)}", markup=False, soft_wrap=True)


anchor_app.command("keygen")(keygen)
