"""Who acts: the person an acting command acts as, established by the system, not by a flag.

In order (:func:`establish`):

1. ``--as NAME`` / ``WARN_USER`` — only in a drill (:func:`warn.check.is_drill`): a deployment not
   marked live (``deployment.live: false``), or a store whose messages are all Exercise or Test;
   refused anywhere else;
2. a personal token in ``WARN_TOKEN`` (``warn token issue``), checked against its scrypt digest
   in the store; a wrong or revoked token is refused, never passed over;
3. the operating-system user running the command (by its uid, not by ``$USER``) mapped to a
   person by config.yaml ``identity.os_users``.

No identity at all is refused with how to get one. ``--at`` on an acting command is for drills
only too: outside them actions are recorded at the real time.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass

from warn.config import Settings
from warn.store import Store

#: Where a personal token is read.
TOKEN_VARIABLE = "WARN_TOKEN"


@dataclass(frozen=True)
class Identity:
    """The acting person and how they were established; ``person`` empty when refused (``zh``, ``en`` say why)."""

    person: str = ""
    how: str = ""
    zh: str = ""
    en: str = ""


def os_login() -> str:
    """The login of the operating-system user running this process (from its effective uid)."""
    return pwd.getpwuid(os.geteuid()).pw_name


def establish(settings: Settings, store: Store, named: str | None, *, drill: bool,
              env: Mapping[str, str] = os.environ) -> Identity:
    """The person acting (module notes), or why nobody is."""
    if named:
        if drill:
            return Identity(named, "--as")
        return Identity(zh="--as / WARN_USER 仅用于演练：本部署为正式运行（deployment.live: true），存储库不是演练库；"
                           "请用个人令牌 WARN_TOKEN 或映射的系统用户操作",
                        en="--as / WARN_USER is for drills only: this deployment is live (deployment.live: true) "
                           "and the store is not a drill's; act with your personal token in WARN_TOKEN or your "
                           "mapped OS login")
    token = env.get(TOKEN_VARIABLE)
    if token:
        person = store.tokens.person(token)
        if person is None:
            return Identity(zh="WARN_TOKEN 中的令牌无效或已吊销；请向管理员重新申领（warn token issue）",
                            en="the token in WARN_TOKEN is wrong or revoked; ask an administrator for a new one "
                               "(warn token issue)")
        return Identity(person, "WARN_TOKEN")
    login = os_login()
    person = settings.identity.os_users.get(login)
    if person:
        return Identity(person, f"OS user {login}")
    hint_zh = "，演练时可用 --as" if drill else ""
    hint_en = ", or --as in a drill" if drill else ""
    return Identity(zh=f"无法确定操作人：请设置个人令牌 WARN_TOKEN（由管理员以 warn token issue 签发），"
                       f"或在 config.yaml identity.os_users 中把系统用户 {login} 映射到值班表上的人{hint_zh}",
                    en=f"nobody identified: set your personal token in WARN_TOKEN (issued by an administrator with "
                       f"warn token issue), or map the OS login {login} to a person on the roster in config.yaml "
                       f"identity.os_users{hint_en}")
