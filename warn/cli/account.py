"""``warn account password|unlock|list``: the passwords people log in to the centre's pages with.

Who may run it: an administrator, by the same rule as ``warn token`` (:func:`warn.cli.token.administering`).
``password`` reads the new password from standard input (a prompt on a terminal, typed twice), never from
the command line, where other users and the shell's history would see it; the store keeps its scrypt
digest only (:mod:`warn.store.accounts`). ``list`` shows names, locks and last logins — no digests.
Setting a password and unlocking are on the timeline.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer

from warn.cli.options import DEFAULT_CONFIG, ConfigOption, JsonOption, StoreOption
from warn.cli.output import clean, console, print_json
from warn.cli.token import PersonArg, administering, on_roster, plain
from warn.errors import Problem, UsageError

app = typer.Typer(help="登录中心页面的账户 / the accounts people log in to the centre's pages with.",
                  no_args_is_help=True)

#: The shortest and longest password taken (characters).
MIN_PASSWORD, MAX_PASSWORD = 12, 256


def _read_password() -> str:
    """The new password: prompted twice on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return str(typer.prompt("新密码 / new password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def checked_password(password: str) -> str:
    """``password`` when it is long enough, not too long and has no control characters.

    Raises
    ------
    UsageError
        It is not; the problem says what was expected, never the password.
    """
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise UsageError(Problem("password (standard input)", "",
                                 f"{MIN_PASSWORD} to {MAX_PASSWORD} characters without control characters",
                                 f"{len(password)} characters"))
    return password


@app.command("password")
def password(person: PersonArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """设置登录密码（从标准输入读取）/ set PERSON's password, read from standard input.

    A new password also unlocks the account. Exit 0 set, 1 not an administrator, 2 not a person on the
    roster or a password too short.

    Example: warn account password 演示值班员01 < password.txt
    """
    with administering(config, store, "warn account") as (settings, opened, login):
        on_roster(settings, person)
        opened.accounts.set_password(person, checked_password(_read_password()), by=login, at=datetime.now(UTC))
    console().print(f"已为 {clean(person)} 设置登录密码 / password set for {clean(person)}", markup=False,
                    soft_wrap=True)


@app.command("unlock")
def unlock(person: PersonArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None) -> None:
    """解除账户锁定 / unlock PERSON's account after repeated failed logins.

    Exit 0 unlocked, 1 not an administrator or no such account.

    Example: warn account unlock 演示值班员01
    """
    with administering(config, store, "warn account") as (_settings, opened, login):
        if not opened.accounts.unlock(person, by=login, at=datetime.now(UTC)):
            console(stderr=True).print(f"✗ {clean(person)} 没有账户 / has no account (warn account password)",
                                       markup=False, soft_wrap=True)
            raise typer.Exit(1)
    console().print(f"已解除 {clean(person)} 的账户锁定 / {clean(person)} unlocked", markup=False, soft_wrap=True)


@app.command("list")
def list_accounts(config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, json: JsonOption = False) -> None:
    """列出账户（不含密码）/ list the accounts: names, locks, last logins — no passwords.

    Keys of --json: person, failed_in_a_row, locked_until (a lock that has run out stays until the next login),
    last_login_at, created_at, changed_at, changed_by.
    """
    with administering(config, store, "warn account") as (_settings, opened, _login):
        rows = opened.accounts.rows()
    if json:
        print_json([plain(row) for row in rows])
        return
    now = datetime.now(UTC)
    for row in rows:
        locked = (f"锁定至 locked until {row.locked_until:%Y-%m-%d %H:%MZ}" if row.locked_until and row.locked_until > now
                  else "未锁定 not locked")
        last = f"{row.last_login_at:%Y-%m-%d %H:%MZ}" if row.last_login_at else "—"
        console().print(f"{clean(row.person)}  {locked}  最近登录 last login {last}  失败 failures "
                        f"{row.failed_in_a_row}", markup=False, soft_wrap=True)
