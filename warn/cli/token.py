"""``warn token issue|revoke|list``: the personal tokens acting commands identify people by.

Only an administrator may issue or revoke: an OS login listed in config.yaml
``identity.admins``, or, when that list is empty, the OS user owning the SQLite store file.
``issue`` prints the token once (the store keeps its scrypt digest only, :mod:`warn.store.tokens`);
``list`` shows who holds tokens, never a secret. Issuing and revoking are on the timeline. A token may be
narrowed to some org units (``--scope town.DEMO-T03``): what it sees and acts on through the API is then
its person's scope within those units (:func:`warn.web.viewer.narrowed`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, StoreOption
from warn.cli.output import clean, console, print_json, print_problems
from warn.errors import ConfigError, Problem, UsageError, WarnError
from warn.freetext import check_text

if TYPE_CHECKING:
    from warn.command.planner import Setup
    from warn.config import Settings
    from warn.store import Store

app = typer.Typer(help="个人令牌（WARN_TOKEN）/ personal tokens (WARN_TOKEN) acting commands identify people by.",
                  no_args_is_help=True)

PersonArg = Annotated[str, typer.Argument(help="值班表上的人 / a person on the roster.", show_default=False)]
ScopeOption = Annotated[list[str] | None, typer.Option(
    "--scope", help="令牌仅限此组织单元（可重复），如 town.DEMO-T03 / narrow the token to this org unit "
                    "(repeatable), e.g. town.DEMO-T03.", show_default=False)]


@contextmanager
def administering(config: Path, store: str | None, command: str = "warn token"
                  ) -> Iterator[tuple[Settings, Store, str]]:
    """The deployment, the store and the administrator's login for ``command``; exit 1 when not an
    administrator, 2 on config errors (also the usage errors raised inside, 1 on the other errors)."""
    from warn.cli.identity import os_login
    from warn.config import load_settings, store_url
    from warn.store import Store

    err_out = console(stderr=True)
    try:
        settings = load_settings(config)
        url = store_url(store, settings)
        opened = Store.connect(url)
        opened.upgrade()
    except WarnError as err:
        print_problems(err.problems, err_out)
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    try:
        login = os_login()
        if not _may_administer(login, settings, url):
            print_problems([Problem(command, "", "an administrator: an OS login in config.yaml identity.admins, "
                                    "or (none listed) the owner of the SQLite store file", f"OS login {login!r}")],
                           err_out)
            raise typer.Exit(1)
        yield settings, opened, login
    except WarnError as err:
        print_problems(err.problems, err_out)
        raise typer.Exit(2 if isinstance(err, UsageError) else 1) from None
    finally:
        opened.close()


def plain(row: object) -> dict[str, object]:
    """The fields of a dataclass ``row`` for ``--json``: times in ISO 8601, tuples as lists."""
    return {k: v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v
            for k, v in vars(row).items()}


def _may_administer(login: str, settings: Settings, url: str) -> bool:
    if settings.identity.admins:
        return login in settings.identity.admins
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    return path is not None and Path(path).exists() and Path(path).stat().st_uid == os.geteuid()


def on_roster(settings: Settings, person: str) -> Setup:
    """The planner's setup, once ``person`` is checked to be on its roster (or the directory's posts).

    Raises
    ------
    UsageError
        ``person`` is not a clean name, or nobody on the roster.
    ConfigError
        No ``command`` section.
    """
    from warn import hazards
    from warn.command.loading import load_setup

    check_text("PERSON", person, limit=settings.text_limits.name)
    if settings.command is None:
        raise ConfigError(Problem("config.yaml", "command", "a command section with the roster", "nothing"))
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                       roster_limit=settings.files.max_roster_bytes)
    if person not in setup.roster.people():
        raise UsageError(Problem("PERSON", "", f"a person on the roster ({settings.command.roster})", repr(person)))
    return setup


def _units(setup: Setup, scope: list[str]) -> tuple[str, ...]:
    """The org units of ``--scope``, each checked to be the district or a unit of the org tree."""
    from warn.command.model import OrgUnit
    from warn.vocab import OrgLevel

    known = {str(unit) for unit in setup.org.parents} | {str(OrgUnit(OrgLevel.DISTRICT, setup.district))}
    for unit in scope:
        if unit not in known:
            raise UsageError(Problem("--scope", "", "an org unit of the directory, such as town.DEMO-T03 "
                                     f"(district.{setup.district} for the whole district)", repr(unit)))
    return tuple(dict.fromkeys(scope))


@app.command("issue")
def issue(person: PersonArg, scope: ScopeOption = None, config: ConfigOption = DEFAULT_CONFIG,
          store: StoreOption = None) -> None:
    """签发个人令牌（仅显示一次）/ issue a personal token to PERSON, printed once.

    The person sets it in WARN_TOKEN; acting commands then act as them; the city platform sends it as
    "Authorization: Bearer" to the API. Their earlier tokens stay valid until revoked. Exit 0 issued,
    1 not an administrator, 2 not a person on the roster or not an org unit.

    Example: warn token issue 演示镇街负责人04 --scope town.DEMO-T04
    """
    with administering(config, store) as (settings, opened, login):
        units = _units(on_roster(settings, person), scope or [])
        token = opened.tokens.issue(person, by=login, at=datetime.now(UTC), scope=units)
        console(stderr=True).print(f"已为 {clean(person)} 签发令牌，仅此一次显示 / token issued to {clean(person)}, "
                                   "shown this once:", markup=False, soft_wrap=True)
        typer.echo(token)


@app.command("revoke")
def revoke(person: PersonArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """吊销某人的全部令牌 / revoke every token of PERSON.

    Exit 0 revoked (or none to revoke, said so), 1 not an administrator.

    Example: warn token revoke 演示值班员01
    """
    with administering(config, store) as (settings, opened, login):
        check_text("PERSON", person, limit=settings.text_limits.name)
        n = opened.tokens.revoke(person, by=login, at=datetime.now(UTC))
        console().print(f"已吊销 {clean(person)} 的令牌 {n} 个 / {n} token(s) of {clean(person)} revoked",
                        markup=False, soft_wrap=True)


@app.command("list")
def list_tokens(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, json: JsonOption = False) -> None:
    """列出已签发的令牌（不含密钥）/ list the tokens issued, without secrets.

    Keys of --json: token_id, person, issued_at, issued_by, revoked_at, revoked_by, scope (org units; empty:
    not narrowed).
    """
    with administering(config, store) as (_settings, opened, _login):
        rows = opened.tokens.rows()
    if json:
        print_json([plain(row) for row in rows])
        return
    for row in rows:
        state = f"吊销 revoked {row.revoked_at:%Y-%m-%d %H:%MZ} ({row.revoked_by})" if row.revoked_at else "有效 valid"
        units = f"  限 scope {' '.join(row.scope)}" if row.scope else ""
        console().print(f"{row.token_id}  {clean(row.person)}  {row.issued_at:%Y-%m-%d %H:%MZ} ({clean(row.issued_by)})"
                        f"  {state}{units}", markup=False, soft_wrap=True)
