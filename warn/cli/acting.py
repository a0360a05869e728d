"""The duty officer's acting commands: ``ack``, ``done``, ``assign``, ``note``, ``mode``,
``approve`` / ``reject`` and ``broadcast``.

Each acts as the person the system establishes (:mod:`warn.cli.identity`: a personal token in
``WARN_TOKEN``, or the OS login mapped in config.yaml; ``--as`` / ``WARN_USER`` and ``--at``
only in drills), checked against the roster at the time of acting by
:class:`warn.command.authority.Authority`: a refused command writes nothing, says why and exits
1; an unknown task or request exits 1 too. Every free text is checked by
:func:`warn.freetext.check_text` before anything is written (exit 2 when refused).

The acts themselves are the duty desk's (:class:`warn.desk.Desk`, the same the centre's pages and API
act through, so the CLI and the browser cannot disagree); this module parses, establishes who acts,
prints what the desk says and sets the exit code. What the planner decides (answers, approvals, mode
orders, manual warnings) goes into the store's inbox (:func:`warn.cycle.command.submit`) and is planned at once with the same
step the service's minute tick takes (:func:`warn.cycle.command.advance` at ``--at``), so
it is on the timeline when the command returns and a running service finds nothing left
to do; a broadcast it releases is published with the CAP status and sender of the store's
earlier messages (a drill store stays Exercise), as :func:`warn.check.publish_status` allows
(a deployment not marked live publishes Exercise; a live one publishes its first Actual only
when it passes ``warn check``). Task hand-over, direct acknowledgement,
completion and notes are the store's own records (:meth:`warn.store.Store.assign_task` …), naming
the channel ``cli``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from warn import hazards
from warn.vocab import COLOURS, RESPONSE_NAMES, Mode
from warn.cli.options import (
    DEFAULT_CONFIG,
    ConfigOption,
    DrillActorOption,
    DrillAtOption,
    LangOption,
    StoreOption,
)
from warn.cli.output import console, print_problems, say
from warn.errors import ConfigError, UsageError, WarnError

if TYPE_CHECKING:
    from warn.command.model import Channel
    from warn.desk import Desk, Told


# The command-line choices, derived from the vocabulary (warn.vocab, cheap to import) and the
# hazard registry's names.

#: ``warn mode`` targets.
ModeName = StrEnum("ModeName", [(mode.value, mode.value) for mode in Mode])
#: Response levels as written on the command line (IV lowest … I highest).
ResponseName = StrEnum("ResponseName", [(name, name) for name in RESPONSE_NAMES])
#: Hazards of a manual warning: the registered ones.
HazardChoice = StrEnum("HazardChoice", [(name, name) for name in hazards.names()])
#: Warning colours of a manual warning.
Colour = StrEnum("Colour", [(colour, colour) for colour in COLOURS])
#: How the desk's fields are named on the command line, for its refusals.
OPTIONS = {"task": "TASK", "request": "REQUEST", "target": "TASK|REQUEST", "to": "--to", "reason": "--reason",
           "note": "--note", "incident": "INCIDENT", "zone": "--zone", "level": "--level", "override": "--override",
           "hazard": "--hazard"}


@dataclass
class _Acting:
    """The desk on an open store, the acting person and the moment."""

    desk: Desk
    person: str
    at: datetime
    lang: str

    @property
    def who(self) -> tuple[str, Channel, datetime]:
        """Who acts, through which channel (the CLI) and when: the arguments every act of the desk takes."""
        from warn.command.model import Channel

        return self.person, Channel.CLI, self.at

    def told(self, told: Told) -> None:
        """Print what the desk says was done."""
        console().print(f"✓ {say(self.lang, told.zh, told.en)}", style="green", markup=False, soft_wrap=True)


def _refuse(lang: str, zh: str, en: str, code: int = 1) -> NoReturn:
    console(stderr=True).print(f"✗ {say(lang, '拒绝：' + zh, 'refused: ' + en)}", style="bold red", markup=False,
                               soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _acting(config: Path, store: str | None, person: str | None, at: datetime | None,
            lang: str | None) -> Iterator[_Acting]:
    """Open the deployment and the store and identify the acting person (exit 2 on configuration errors); a
    refusal of the desk is said and exits 1 (2 for input that does not fit)."""
    from warn.check import is_drill
    from warn.cli.identity import establish
    from warn.command.loading import load_setup
    from warn.config import load_settings, store_url
    from warn.desk import Desk, Refused
    from warn.freetext import check_text
    from warn.store import Store

    try:
        settings = load_settings(config)
        setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                           roster_limit=settings.files.max_roster_bytes)
        opened = Store.connect(store_url(store, settings))
        opened.upgrade()
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, ConfigError) else 1) from None
    language = lang or settings.deployment.language
    try:
        drill = is_drill(settings, opened)
        if at is not None and not drill:
            _refuse(language, "--at / WARN_AT 仅用于演练：正式运行时操作按真实时刻记录",
                    "--at / WARN_AT is for drills only: on a live deployment an action is recorded at the real time")
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        who = establish(settings, opened, person, drill=drill)
        if not who.person:
            _refuse(language, who.zh, who.en)
        if who.how == "--as":
            check_text("--as", who.person, limit=settings.text_limits.name)
        # the CLI handles no links: its desk has no links' secret
        desk = Desk(settings, opened, setup, lambda: moment, b"", config)
        acting = _Acting(desk, who.person, moment, language)
        desk.post_now(who.person, moment)
        yield acting
        _anchor(acting)
    except Refused as err:
        _refuse(language, err.zh, err.en, 2 if err.status == 422 else 1)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, (ConfigError, UsageError)) else 1) from None
    finally:
        opened.close()


def _anchor(act: _Acting) -> None:
    """Anchor the timeline's head after a command that wrote to it (config ``anchors:``), so a cut or a
    rewrite of what the person just recorded is caught before the next cycle; a witness that fails is
    said on stderr, the command stands."""
    settings = act.desk.settings
    if settings.anchors is None:
        return  # nothing to anchor: the cycle package and the signing library stay unloaded
    from warn.cycle.anchoring import anchor_head

    for notice in anchor_head(settings, act.desk.store, act.at):
        console(stderr=True).print(f"! {notice}", style="yellow", markup=False, soft_wrap=True)


TaskArg = Annotated[str, typer.Argument(help="任务编号 / task id.", show_default=False)]
RequestArg = Annotated[str, typer.Argument(help="请求编号（叫应、审批）/ request id (a 叫应 call, an approval).",
                                           show_default=False)]
ReasonOption = Annotated[str, typer.Option("--reason", help="理由 / why.")]


def ack(
    target: Annotated[str, typer.Argument(help="任务或请求编号 / a task or request id.", show_default=False)],
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, person: DrillActorOption = None,
    at: DrillAtOption = None, lang: LangOption = None,
) -> None:
    """应答叫应或签收任务 / answer a 叫应 call or request, or acknowledge a task.

    A request is answered by the person on duty in its current post, or by the district's
    leader on duty or commander on its behalf; a task by the person on duty in its owner
    post or by the district's duty officer, leader on duty or commander. Exit 0 recorded,
    1 refused (not yours, already answered, unknown id), 2 configuration error.

    Example: warn ack INC-storm-20260715T0500Z/…/a0 --as 演示镇街负责人03
    """
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.ack(target, *act.who, names=OPTIONS))


def approve(request: RequestArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None,
            person: DrillActorOption = None, at: DrillAtOption = None, lang: LangOption = None) -> None:
    """同意审批请求 / approve an approval request (what waited for it goes ahead).

    The person on duty in the request's current post, or the district commander. Exit 0
    recorded, 1 refused or unknown request, 2 configuration error.

    Example: warn approve REQUEST-ID --as 演示带班领导01
    """
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.decide(request, *act.who, accepted=True, names=OPTIONS))


def reject(request: RequestArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None,
           person: DrillActorOption = None, at: DrillAtOption = None, lang: LangOption = None) -> None:
    """不同意审批请求 / refuse an approval request (what waited for it is dropped).

    The person on duty in the request's current post, or the district commander. Exit 0
    recorded, 1 refused or unknown request, 2 configuration error.

    Example: warn reject REQUEST-ID --as 演示带班领导01
    """
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.decide(request, *act.who, accepted=False, names=OPTIONS))


def done(
    task: TaskArg,
    note: Annotated[str, typer.Option("--note", help="办理情况 / what was done.")],
    evidence: Annotated[Path | None, typer.Option("--evidence", exists=True, dir_okay=False,
                                                  help="佐证材料文件 / a file of evidence (photo, report).")] = None,
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, person: DrillActorOption = None,
    at: DrillAtOption = None, lang: LangOption = None,
) -> None:
    """办结任务 / mark a task done, with a note and optional evidence.

    The person on duty in the task's owner post, or the district's duty officer, leader
    on duty or commander. The evidence is recorded by its path and SHA-256. Exit 0 done,
    1 refused (not yours, already closed, unknown task), 2 usage or configuration error.

    Example: warn done sitrep/w1/final --note "终报已报送" --evidence report.pdf --as 演示信息员01
    """
    from warn.files import sha256_of

    with _acting(config, store, person, at, lang) as act:
        proof = (f"{evidence.resolve()} sha256:" + sha256_of(evidence, limit=act.desk.settings.files.max_evidence_bytes,
                                                             what="an evidence file")) if evidence else ""
        act.told(act.desk.done(task, *act.who, note=note, evidence=proof, names=OPTIONS))


def assign(
    task: TaskArg,
    to: Annotated[str, typer.Option("--to", help="岗位（role，或 town.DEMO-T03.duty_officer）或人员 / a role (of the "
                                                 "task's org unit), a post (town.DEMO-T03.duty_officer) or a person.")],
    reason: ReasonOption = "",
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, person: DrillActorOption = None,
    at: DrillAtOption = None, lang: LangOption = None,
) -> None:
    """改派任务 / hand a task over to another post or person.

    The district's duty officer, leader on duty or commander. The new post must have
    somebody on duty. Exit 0 reassigned, 1 refused or unknown task, 2 configuration error.

    Example: warn assign TASK-ID --to town.DEMO-T03.duty_officer --as 演示值班员01
    """
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.assign(task, *act.who, to=to, reason=reason, names=OPTIONS))


def note(
    first: Annotated[str, typer.Argument(help="事件编号（可省）或记录内容 / incident id (optional) or the text.",
                                         show_default=False)],
    text: Annotated[str | None, typer.Argument(help="记录内容 / the text.", show_default=False)] = None,
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, person: DrillActorOption = None,
    at: DrillAtOption = None, lang: LangOption = None,
) -> None:
    """记入时间线 / put a note on the timeline: a phone report received, a decision taken.

    ``warn note "text"`` or ``warn note INCIDENT "text"``; anyone on the roster. Exit 0
    recorded, 1 refused (not on the roster), 2 configuration error.

    Example: warn note INC-storm-20260715T0500Z "DEMO-T11 镇街来电：村道出现裂缝" --as 演示值班员01
    """
    incident, body = (first, text) if text is not None else (None, first)
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.note(body, *act.who, incident=incident, names={**OPTIONS, "text": "TEXT"}))


def mode(
    to: Annotated[ModeName, typer.Argument(help="wartime 战时 或 peacetime 平时 / the mode.", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="理由 / why.")],
    level: Annotated[ResponseName | None, typer.Option("--level", help="战时响应等级 IV…I / wartime response "
                                                                        "level, IV lowest … I highest.")] = None,
    override: Annotated[bool, typer.Option("--override", help="橙色及以上预警未解除时仍转为平时（仅指挥长，理由记入时间线）"
                                                              " / stand down although warnings that refuse it are "
                                                              "active (the commander only; the reason goes on the "
                                                              "timeline).")] = False,
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, person: DrillActorOption = None,
    at: DrillAtOption = None, lang: LangOption = None,
) -> None:
    """平急转换 / switch between peacetime and wartime (the commander only).

    A pending proposal to the same mode and level is accepted; another pending one is
    rejected as superseded. Peacetime is refused while a warning at config
    ``command.stand_down.refuse_while`` (orange) or above is active, naming them, unless the
    commander gives --override with a reason. Exit 0 switched, 1 refused (not the commander,
    already in that mode, warnings active), 2 usage (--level missing for wartime, given for
    peacetime; --override for wartime) or configuration error.

    Example: warn mode wartime --level III --reason "三个镇街橙色预警" --as 演示指挥长01
    """
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.mode(to.value, *act.who, level=level.value if level else None, reason=reason,
                               override=override, names=OPTIONS))


def broadcast(
    zone: Annotated[str, typer.Option("--zone", help="镇街编号或区代码 / town/street zone id (DEMO-T03), or the "
                                                     "district code (500112) for a district-wide warning.")],
    level: Annotated[Colour, typer.Option("--level", help="预警颜色 / warning colour.")],
    text: Annotated[str, typer.Option("--text", help="预警内容 / the warning's text.")],
    hazard: Annotated[HazardChoice, typer.Option("--hazard", help="灾种 / hazard.")],
    config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None, person: DrillActorOption = None,
    at: DrillAtOption = None, lang: LangOption = None,
) -> None:
    """人工发布预警 / issue a warning by hand, through the same planner, CAP and outbox path.

    The district's leader on duty or commander issue it at once; the district duty officer's
    waits for the leader on duty's approval (``warn approve``). It raises or changes the
    zone's warning thread for the hazard, with its playbooks; the next model crossing of the
    zone supersedes it. Exit 0 issued or awaiting approval, 1 refused (unknown zone, no
    change), 2 usage or configuration error.

    Example: warn broadcast --hazard rainstorm --zone DEMO-T03 --level orange --text "人工橙色暴雨预警" --as 演示值班员01
    """
    with _acting(config, store, person, at, lang) as act:
        act.told(act.desk.broadcast(hazard.value, zone, level.value, text, *act.who,
                                    names={**OPTIONS, "text": "--text"}))
