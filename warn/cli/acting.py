"""The duty officer's acting commands: ``ack``, ``done``, ``assign``, ``note``, ``mode``,
``approve`` / ``reject`` and ``broadcast``.

Each acts as the person the system establishes (:mod:`warn.cli.identity`: a personal token in
``WARN_TOKEN``, or the OS login mapped in config.yaml; ``--as`` / ``WARN_USER`` and ``--at``
only in drills), checked against the roster at the time of acting by
:class:`warn.command.authority.Authority`: a refused command writes nothing, says why and exits
1; an unknown task or request exits 1 too. Every free text is checked by
:func:`warn.freetext.check_text` before anything is written (exit 2 when refused).

What the planner decides (answers, approvals, mode orders, manual warnings) goes into the
store's inbox (:func:`warn.cycle.command.submit`) and is planned at once with the same
step the service's minute tick takes (:func:`warn.cycle.command.advance` at ``--at``), so
it is on the timeline when the command returns and a running service finds nothing left
to do; a broadcast it releases is published with the CAP status and sender of the store's
earlier messages (a drill store stays Exercise), as :func:`warn.check.publish_status` allows
(a deployment not marked live publishes Exercise; a live one publishes its first Actual only
when it passes ``warn check``). Task hand-over, direct acknowledgement,
completion and notes are the store's own records (:meth:`warn.store.Store.assign_task` …).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
    from warn.command import Setup
    from warn.command.authority import Authority, Verdict
    from warn.command.warnings import WarningThread
    from warn.config import Settings
    from warn.store import Store

#: CAP sender of what the CLI publishes into a store with no message yet (``warn run``'s default).
DEFAULT_SENDER = "warn@localhost"
#: The zone layer a manual warning names its town/street in.


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


@dataclass
class _Acting:
    """An open store and the acting person's standing."""

    settings: Settings
    config: Path
    store: Store
    setup: Setup
    authority: Authority
    person: str
    post: Verdict
    at: datetime
    lang: str

    def refuse(self, zh: str, en: str) -> NoReturn:
        _refuse(self.lang, zh, en)

    def check(self, verdict: Verdict) -> Verdict:
        """``verdict`` when allowed; otherwise refuse with its reason."""
        if not verdict.allowed:
            self.refuse(verdict.zh, verdict.en)
        return verdict

    def text(self, option: str, value: str, limit: str, *, multiline: bool = False) -> str:
        """``value`` when a person may write it (:func:`warn.freetext.check_text`, the ``text_limits`` named ``limit``)."""
        from warn.freetext import check_text

        return check_text(option, value, limit=getattr(self.settings.text_limits, limit), multiline=multiline)

    def plan(self, event: object) -> None:
        """Submit a person's ``event`` and plan it now (module notes); the CAP status is settled first."""
        from warn.check import publish_status
        from warn.cycle.command import advance, quarantined_error, submit
        from warn.vocab import CapStatus

        status, sender = self.store.cap_identity() or (str(CapStatus.ACTUAL), DEFAULT_SENDER)
        allowed = publish_status(CapStatus(status), self.settings, self.config, self.store)
        submit(self.store, event)
        advanced = advance(self.store, self.settings, self.setup, (), self.at, status=allowed, sender=sender)
        error = quarantined_error(self.store, event) if advanced.quarantined else None
        if error is not None:
            self.refuse(f"该事件无法执行，已隔离待值班员处理（warn status）：{error}",
                        f"the event could not be carried out and was quarantined for the duty officer "
                        f"(warn status): {error}")

    def done(self, zh: str, en: str) -> None:
        console().print(f"✓ {say(self.lang, zh, en)}", style="green", markup=False, soft_wrap=True)


def _refuse(lang: str, zh: str, en: str) -> NoReturn:
    console(stderr=True).print(f"✗ {say(lang, '拒绝：' + zh, 'refused: ' + en)}", style="bold red", markup=False,
                               soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _acting(config: Path, store: str | None, person: str | None, at: datetime | None,
            lang: str | None) -> Iterator[_Acting]:
    """Open the deployment and the store and identify the acting person (exit 2 on configuration errors)."""
    from warn.check import is_drill
    from warn.cli.identity import establish
    from warn.command.authority import Authority
    from warn.command.loading import load_setup
    from warn.config import load_settings, store_url
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
        authority = Authority(setup.roster, settings.deployment.district_code, moment)
        who = establish(settings, opened, person, drill=drill)
        if not who.person:
            _refuse(language, who.zh, who.en)
        acting = _Acting(settings, config, opened, setup, authority, who.person, authority.identify(who.person),
                         moment, language)
        if who.how == "--as":
            acting.text("--as", who.person, "name")
        acting.check(acting.post)
        yield acting
        _anchor(acting)
    except WarnError as err:
        print_problems(err.problems, console(stderr=True))
        raise typer.Exit(2 if isinstance(err, (ConfigError, UsageError)) else 1) from None
    finally:
        opened.close()


def _anchor(act: _Acting) -> None:
    """Anchor the timeline's head after a command that wrote to it (config ``anchors:``), so a cut or a
    rewrite of what the person just recorded is caught before the next cycle; a witness that fails is
    said on stderr, the command stands."""
    if act.settings.anchors is None:
        return  # nothing to anchor: the cycle package and the signing library stay unloaded
    from warn.cycle.anchoring import anchor_head

    for notice in anchor_head(act.settings, act.store, act.at):
        console(stderr=True).print(f"! {notice}", style="yellow", markup=False, soft_wrap=True)


def _post(org_unit: str, role: str):
    from warn.command.model import OrgUnit, Post, Role
    from warn.vocab import OrgLevel

    level, code = org_unit.split(".", 1)
    return Post(OrgUnit(OrgLevel(level), code), Role(role))


def _task(act: _Acting, task_id: str):
    row = act.store.task(task_id)
    if row is None:
        act.refuse(f"无此任务：{task_id}", f"no such task: {task_id}")
    return row


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
    from warn.store.command import HANDOFF

    with _acting(config, store, person, at, lang) as act:
        act.text("TASK|REQUEST", target, "name")
        if act.store.ack_request(target) is not None:
            _answer(act, target, accepted=True)
            return
        row = _task(act, target) if act.store.task(target) is not None else act.refuse(
            f"无此任务或请求：{target}", f"no such task or request: {target}")
        handoff = act.store.ack_request(f"{target}{HANDOFF}")
        if handoff is not None and handoff.answered_at is None:
            _answer(act, handoff.request_id, accepted=True)
            return
        verdict = act.check(act.authority.handle_task(act.person, _post(row.org_unit, row.owner_role)))
        if not act.store.acknowledge_task(target, by=act.person, role=str(verdict.post.role),
                                          org_unit=str(verdict.post.org), at=act.at):
            act.refuse(f"任务状态为 {row.status}，无需签收：{target}", f"the task is {row.status}, not open: {target}")
        act.done(f"已签收任务 {target}（{act.person}，{verdict.post}）",
                 f"task {target} acknowledged by {act.person} ({verdict.post})")


def approve(request: RequestArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None,
            person: DrillActorOption = None, at: DrillAtOption = None, lang: LangOption = None) -> None:
    """同意审批请求 / approve an approval request (what waited for it goes ahead).

    The person on duty in the request's current post, or the district commander. Exit 0
    recorded, 1 refused or unknown request, 2 configuration error.

    Example: warn approve REQUEST-ID --as 演示带班领导01
    """
    with _acting(config, store, person, at, lang) as act:
        _answer(act, act.text("REQUEST", request, "name"), accepted=True, approval=True)


def reject(request: RequestArg, config: ConfigOption = DEFAULT_CONFIG, store: StoreOption = None,
           person: DrillActorOption = None, at: DrillAtOption = None, lang: LangOption = None) -> None:
    """不同意审批请求 / refuse an approval request (what waited for it is dropped).

    The person on duty in the request's current post, or the district commander. Exit 0
    recorded, 1 refused or unknown request, 2 configuration error.

    Example: warn reject REQUEST-ID --as 演示带班领导01
    """
    with _acting(config, store, person, at, lang) as act:
        _answer(act, act.text("REQUEST", request, "name"), accepted=False, approval=True)


def _answer(act: _Acting, request: str, *, accepted: bool, approval: bool = False) -> None:
    """Answer ``request`` through the planner after checking who may."""
    from warn.command.model import AckAnswered, AckKind, Channel

    row = act.store.ack_request(request)
    if row is None:
        act.refuse(f"无此请求：{request}", f"no such request: {request}")
    kind = AckKind(row.kind)
    if approval and kind is not AckKind.APPROVAL:
        act.refuse(f"{request} 是{kind.zh}，不是审批（请用 warn ack）",
                   f"{request} is a {kind}, not an approval (use warn ack)")
    from warn.command.planner import manual_proposal_key

    proposer = act.store.raised_by(manual_proposal_key(request)) if kind is AckKind.APPROVAL else None
    verdict = act.check(act.authority.answer(act.person, _post(row.org_unit, row.addressee_role),
                                             approval=kind is AckKind.APPROVAL, proposer=proposer))
    if row.answered_at is not None:
        act.refuse(f"已由 {row.answered_by} 于 {row.answered_at.isoformat()} 应答：{request}",
                   f"already answered by {row.answered_by} at {row.answered_at.isoformat()}: {request}")
    act.plan(AckAnswered(request=request, by=act.person, role=verdict.post.role, channel=Channel.CLI, at=act.at,
                         accepted=accepted))
    behalf = say(act.lang, f"，代 {row.org_unit}.{row.addressee_role}", f", on behalf of "
                 f"{row.org_unit}.{row.addressee_role}") if verdict.on_behalf else ""
    if kind is AckKind.APPROVAL:
        act.done(f"{'已同意' if accepted else '已不同意'} {request}（{act.person}{behalf}）",
                 f"{'approved' if accepted else 'refused'} {request} ({act.person}{behalf})")
    else:
        act.done(f"已应答 {kind.zh} {request}（{act.person}{behalf}）", f"answered {kind} {request} "
                 f"({act.person}{behalf})")


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
        act.text("--note", note, "note", multiline=True)
        row = _task(act, act.text("TASK", task, "name"))
        verdict = act.check(act.authority.handle_task(act.person, _post(row.org_unit, row.owner_role)))
        proof = (f"{evidence.resolve()} sha256:" + sha256_of(evidence, limit=act.settings.files.max_evidence_bytes,
                                                             what="an evidence file")) if evidence else ""
        if not act.store.finish_task(task, by=act.person, role=str(verdict.post.role), at=act.at, note=note,
                                     evidence=proof):
            act.refuse(f"任务已是 {row.status}：{task}", f"the task is already {row.status}: {task}")
        act.done(f"任务已办结 {task}（{act.person}）", f"task {task} done ({act.person})")


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
        act.text("--to", to, "name")
        act.text("--reason", reason, "reason")
        row = _task(act, act.text("TASK", task, "name"))
        verdict = act.check(act.authority.assign(act.person))
        target = act.authority.resolve(to, _post(row.org_unit, row.owner_role).org)
        if target is None:
            act.refuse(f"无法确定岗位或无人在岗：{to}", f"not a post with somebody on duty, nor a person on the roster: {to}")
        holder = act.setup.roster.who(target.role, target.org, act.at)
        if not act.store.assign_task(task, to_role=str(target.role), to_org_unit=str(target.org), person=holder,
                                     by=act.person, role=str(verdict.post.role), org_unit=str(verdict.post.org),
                                     at=act.at, reason=reason):
            act.refuse(f"任务为 {row.status} 或已属 {target}：{task}", f"the task is {row.status} or already {target}'s")
        act.done(f"任务 {task} 已改派给 {target}（{holder}）", f"task {task} handed over to {target} ({holder})")


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
    import hashlib

    from warn.store import NewEntry

    incident, body = (first, text) if text is not None else (None, first)
    with _acting(config, store, person, at, lang) as act:
        act.text("TEXT", body, "note", multiline=True)
        if incident is not None:
            act.text("INCIDENT", incident, "name")
        post = act.post.post
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
        act.store.timeline.append([NewEntry(
            occurred_at=act.at, actor=act.person, role=str(post.role), kind="note", org_unit=str(post.org),
            incident=incident, key=f"note/{act.person}/{act.at.isoformat()}/{digest}", summary=body,
            details={"by": act.person, "post": str(post)})])
        act.done(f"已记录（{act.person}，{post}）", f"noted ({act.person}, {post})")


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
    from warn.command.model import ModeOrder
    from warn.vocab import ResponseLevel
    from warn.cycle.command import load_state

    if (Mode(to.value) is Mode.WARTIME) != (level is not None):
        raise typer.BadParameter("--level IV|III|II|I 用于且仅用于战时 / is required for wartime and only for "
                                 "wartime", param_hint="--level")
    if override and Mode(to.value) is Mode.WARTIME:
        raise typer.BadParameter("--override 仅用于转为平时 / is for peacetime only", param_hint="--override")
    target, response = Mode(to.value), ResponseLevel[level.value] if level else None
    with _acting(config, store, person, at, lang) as act:
        act.text("--reason", reason, "reason")
        verdict = act.check(act.authority.order_mode(act.person, act.setup.mode.decider))
        state = load_state(act.store)
        name = f"{target.zh}{response.zh if response else ''}"
        if state.mode.mode is target and state.mode.response == response:
            act.refuse(f"已是{name}", f"already {target}{' ' + response.name if response else ''}")
        overridden = _stand_down(act, state.threads.values(), override=override, reason=reason) \
            if target is Mode.PEACETIME else 0
        act.plan(ModeOrder(to_mode=target, response=response, by=act.person, role=verdict.post.role, reason=reason,
                           at=act.at, override=override))
        act.done(f"已转为{name}（{act.person}）：{reason}" + (f"（越过未解除的预警 {overridden} 条）" if overridden else ""),
                 f"now {target}{' ' + response.name if response else ''} ({act.person}): {reason}"
                 + (f" (over {overridden} active warnings)" if overridden else ""))


def _stand_down(act: _Acting, threads: Iterable[WarningThread], *, override: bool, reason: str) -> int:
    """Refuse a stand-down while warnings that refuse it are active, unless the person may override
    them and gives a reason; how many warnings are overridden."""
    params = act.setup.mode
    blockers = params.stand_down.blockers(threads)
    if not blockers:
        return 0
    level = params.stand_down.refuse_while
    if not override:
        act.refuse(f"{level.zh}及以上预警未解除（{len(blockers)} 条），不能转为平时：{params.describe(blockers)}；"
                   f"待其解除，或由{params.stand_down.override}加 --override 并以 --reason 说明理由",
                   f"{len(blockers)} warning(s) at {level.colour} or above still active, so no stand-down: "
                   f"{', '.join(f'{t.hazard} {t.item_id} {t.level.colour}' for t in blockers)}; wait until they "
                   f"clear, or the {params.stand_down.override} may give --override with a --reason")
    act.check(act.authority.override_stand_down(act.person, params.stand_down.override))
    if not reason.strip():
        act.refuse("越过未解除的预警转为平时须以 --reason 说明理由", "standing down over active warnings needs a --reason")
    return len(blockers)


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
    from warn.command.model import LevelCrossing, ManualWarning
    from warn.vocab import ItemKind
    from warn.command.warnings import thread_key
    from warn.cycle.command import load_state
    from warn.geo.layers import zone_layer
    from warn.vocab import Level

    with _acting(config, store, person, at, lang) as act:
        act.text("--zone", zone, "name")
        act.text("--text", text, "text", multiline=True)
        verdict, approver = act.authority.broadcast(act.person)
        act.check(verdict)
        district = act.settings.deployment.district_code
        spec, towns = zone_layer(act.settings, act.settings.areas.towns)
        if zone != district and zone not in set(towns[spec.id_field].astype(str)):
            act.refuse(f"无此镇街：{zone}", f"no such zone: {zone}")
        item = ItemKind.DISTRICT if zone == district else ItemKind.ZONE
        kind, to_level = hazard.value, Level.of_colour(level.value)
        kind_zh = hazards.names_zh()[kind]
        thread = load_state(act.store).threads.get(thread_key(kind, zone))
        current = thread.level if thread is not None and thread.active else Level.NONE
        if current == to_level:
            act.refuse(f"{zone} 的{kind_zh}预警已是{to_level.zh}", f"{zone}'s {kind} warning is already {to_level.colour}")
        if thread is not None and thread.active and thread.as_of >= act.at:
            act.refuse(f"{zone} 的{kind_zh}预警在此刻已由模型更新，请稍后再发",
                       f"{zone}'s {kind} warning was updated by the model at this time; issue it a moment later")
        crossing = LevelCrossing(hazard=kind, item_id=zone, item_kind=item, town=None if item is ItemKind.DISTRICT else zone, from_level=current,
                                 to_level=to_level, at=act.at, drivers=("manual",), reason=text)
        act.plan(ManualWarning(crossing=crossing, by=act.person, role=verdict.post.role,
                               org_unit=str(verdict.post.org), approver=approver))
        if approver is None:
            act.done(f"已发布 {zone} {kind_zh}{to_level.zh}预警", f"{kind} warning {to_level.colour} issued for {zone}")
        else:
            request = f"manual/{kind}/{zone}/{act.at.isoformat()}/approval"
            act.done(f"已提交，待 {approver} 审批：{request}", f"submitted; awaiting {approver}'s approval: {request}")
