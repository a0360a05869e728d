"""Vocabularies, input events and output actions of the command planner.

The planner (:func:`warn.command.planner.plan`) reads *events* (level crossings,
answers to acknowledgement requests, mode decisions, clock ticks) and returns
*actions* (notify, create a task, request an acknowledgement, escalate, record a warning
thread's change, publish a message, propose or change the mode, open or close an incident, record on the timeline). It
performs none of them: ``cycle.py`` executes and records them.

Every action carries

- ``key``: an idempotency key derived from what caused it — (incident, playbook,
  step, attempt) for playbook steps, (thread, version) for warnings, (request,
  attempt) for escalations — so the same causes always give the same key;
- ``rule_id`` and ``label``: the stable id of the transition and a readable zh-CN /
  English reason (``WARN-UP 黄色→橙色 warning up L2→L3``).

Times are timezone-aware UTC ``datetime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from warn.vocab import Audience, HazardName, ItemKind, Level, Mode, OrgLevel, ResponseLevel


class Role(StrEnum):
    """Roles that own steps (OPERATIONS.md "Who"); a roster maps them to people."""

    DUTY_OFFICER = "duty_officer"  # 值班员
    LEADER_ON_DUTY = "leader_on_duty"  # 带班领导
    COMMANDER = "commander"  # 指挥长
    LIAISON = "liaison"  # 联络员
    SCRIBE = "scribe"  # 信息员
    TOWN_LEADER = "town_leader"  # 镇街主要负责人
    COMMUNITY_LEAD = "community_lead"  # 村(社区)防汛责任人
    MONITOR = "monitor"  # 地灾监测员 / 积水点监测员
    GRID_WORKER = "grid_worker"  # 网格员
    PUMP_TEAM = "pump_team"  # 抽排队
    TRAFFIC_POLICE = "traffic_police"  # 交巡警

    @property
    def zh(self) -> str:
        """The role's name for people (``指挥长``)."""
        return _ROLE_ZH[self]


_ROLE_ZH = {Role.DUTY_OFFICER: "值班员", Role.LEADER_ON_DUTY: "带班领导", Role.COMMANDER: "指挥长",
            Role.LIAISON: "联络员", Role.SCRIBE: "信息员", Role.TOWN_LEADER: "镇街主要负责人",
            Role.COMMUNITY_LEAD: "村（社区）防汛责任人", Role.MONITOR: "监测员", Role.GRID_WORKER: "网格员",
            Role.PUMP_TEAM: "抽排队", Role.TRAFFIC_POLICE: "交巡警"}


class AckKind(StrEnum):
    """What an acknowledgement request is: a 叫应 call, an approval, a task hand-off, a danger to verify."""

    CALL = "call"
    APPROVAL = "approval"
    TASK = "task"
    VERIFY = "verify"

    @property
    def zh(self) -> str:
        """Chinese name (``叫应``, ``审批``, ``任务签收``, ``险情核实``)."""
        return {"call": "叫应", "approval": "审批", "task": "任务签收", "verify": "险情核实"}[self.value]


class Reply(StrEnum):
    """What a person answers to a 叫应 call: received, on site, or in need of support (with a note)."""

    RECEIVED = "received"
    ON_SITE = "on_site"
    NEED_SUPPORT = "need_support"

    @property
    def zh(self) -> str:
        """Chinese name (``收到``, ``已到岗``, ``需要支援``)."""
        return {"received": "收到", "on_site": "已到岗", "need_support": "需要支援"}[self.value]


class Channel(StrEnum):
    """How a message reached a person, or how their answer came in."""

    VOICE = "voice"  # voice-notification gateway: TTS call, keypress answer
    SMS = "sms"  # SMS gateway: text out, 上行 reply and status report in
    WORK_NOTICE = "work_notice"  # 渝快政 / DingTalk work notification to a user, card buttons
    WECOM = "wecom"  # WeCom (企业微信) application message to a user, card buttons
    LINK = "link"  # the signed one-tap link's phone page
    APP = "app"  # a duty app (answers recorded before the channels above existed)
    PHONE = "phone"
    CLI = "cli"
    WEB = "web"  # the centre's pages in a browser (a logged-in session)
    API = "api"  # the JSON API (a bearer token of the city platform)
    EMAIL = "email"


class TaskState(StrEnum):
    """State of a task: created open, acknowledged by its owner, done with evidence, cancelled."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    CANCELLED = "cancelled"


class BroadcastKind(StrEnum):
    """What a publication request is: a message raised, updated or cleared (CAP Alert / Update / all-clear)."""

    RAISE = "raise"
    UPDATE = "update"
    ALL_CLEAR = "all_clear"


class ActionKind(StrEnum):
    """The kinds of action the planner returns."""

    NOTIFY = "notify"
    CREATE_TASK = "create_task"
    REQUEST_ACK = "request_ack"
    ESCALATE = "escalate"
    WARNING = "warning"
    BROADCAST = "broadcast"
    PROPOSE_MODE = "propose_mode"
    CHANGE_MODE = "change_mode"
    OPEN_INCIDENT = "open_incident"
    CLOSE_INCIDENT = "close_incident"
    RECORD_TIMELINE = "record_timeline"


class TimelineKind(StrEnum):
    """What a timeline record is about."""

    WARNING = "warning"
    INCIDENT = "incident"
    PLAYBOOK = "playbook"
    ACK = "ack"
    ROSTER = "roster"
    MODE = "mode"
    REPORT = "report"
    NOTE = "note"
    DANGER = "danger"


#: Stable rule ids of the planner's transitions and their readable labels (zh-CN, English).
RULES: Mapping[str, str] = {
    "WARN-RAISE": "预警发布 warning raised",
    "WARN-UP": "预警升级 warning up",
    "WARN-DOWN": "预警降级 warning down",
    "WARN-NONE": "等级降为无，观察待解除 level none, all-clear hold started",
    "WARN-CLEAR": "预警解除 warning cleared after the hold",
    "PUB-ALERT": "发布预警信息 message issued",
    "PUB-UPDATE": "更新预警信息 message updated",
    "PUB-CLEAR": "解除预警信息 message: warning lifted",
    "INC-OPEN": "事件开启 incident opened",
    "INC-CLOSE": "事件关闭 incident closed",
    "PB-START": "预案启动 playbook started",
    "PB-STEP": "预案步骤 playbook step",
    "ACK-ASK": "请求应答 acknowledgement requested",
    "ACK-ANSWER": "已应答 answered",
    "ACK-REFUSED": "审批不同意 approval refused",
    "ACK-ESCALATE": "超时未应，逐级上报 no answer by the deadline, escalated",
    "ACK-UNANSWERED": "链路用尽仍未应答 escalation chain exhausted, unanswered",
    "ROSTER-UNFILLED": "岗位无人在岗，转下一岗位 role unfilled, passed to the next role",
    "ORG-EMPTY": "组织架构中无下级单位，步骤无人可叫 no unit of the org tree to fan the step out to",
    "CASCADE": "逐级叫应，上级已应答或首个时限已过，向下叫应 cascaded down: the level above answered or its "
               "first deadline passed",
    "ACK-SUPPORT": "应答需要支援，转告上一级 answered needing support, passed up the chain",
    "DANGER-REPORT": "险情上报 danger reported",
    "DANGER-DISPATCH": "险情属实，分拨处置 danger verified, dispatched for handling",
    "DANGER-UNFOUNDED": "险情核实不属实，关闭 danger found untrue, closed",
    "MODE-PROPOSE": "建议平急转换 mode switch proposed",
    "MODE-RAISE": "建议提高响应等级 stronger response proposed",
    "MODE-STEP-DOWN": "战时无新触发，建议解除 wartime without fresh triggers, step-down proposed",
    "MODE-CHANGE": "平急转换生效 mode changed",
    "MODE-AUTO": "自动平急转换 mode changed automatically",
    "MODE-REJECT": "不同意转换 proposal rejected",
    "MODE-NOT-AUTHORISED": "无权决定 decision by a role that may not decide, ignored",
    "MODE-ORDER": "指挥长直接下令平急转换 mode changed by the commander's order",
    "MODE-LINKED": "市级响应高于区县，建议跟进 the city's response is above the district's, following proposed",
    "MODE-LINKED-REFUSED": "低于市级响应，不执行 below the city's response, refused",
    "MODE-STAND-DOWN-REFUSED": "橙色及以上预警未解除，不转为平时 stand-down refused while high warnings are active",
    "MODE-OVERRIDE": "指挥长说明理由，越过未解除预警转为平时 stood down over active warnings on the commander's "
                     "recorded reason",
    "WARN-MANUAL": "人工发布预警 manual warning issued",
    "WARN-MANUAL-ASK": "人工预警待审批 manual warning awaiting approval",
    "WARN-MANUAL-REFUSED": "人工预警未获批准 manual warning not approved",
    "SITREP-INITIAL": "初报 initial situation report",
    "SITREP-FOLLOW-UP": "续报 follow-up situation report",
    "SITREP-FINAL": "终报 final situation report",
}


def label(rule_id: str, detail: str = "") -> str:
    """Return the readable label of ``rule_id``, with an optional detail (``WARN-UP 预警升级 … L2→L3``)."""
    text = f"{rule_id} {RULES[rule_id]}"
    return f"{text} {detail}" if detail else text


# --- org units and people -------------------------------------------------------------------


@dataclass(frozen=True)
class OrgUnit:
    """An org unit: its level and code (``district`` 500112, ``town`` DEMO-T03, ``point`` DEMO-H001)."""

    level: OrgLevel
    code: str

    def __str__(self) -> str:
        """``town.DEMO-T03``."""
        return f"{self.level}.{self.code}"


@dataclass(frozen=True)
class Post:
    """A role in an org unit (``town.DEMO-T03.duty_officer``)."""

    org: OrgUnit
    role: Role

    def __str__(self) -> str:
        """``town.DEMO-T03.town_leader``."""
        return f"{self.org}.{self.role}"


@dataclass(frozen=True)
class Assignee:
    """Who an action goes to: a post, and the person on duty in it (``None``: nobody on the roster)."""

    post: Post
    person: str | None


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelCrossing:
    """An item's warning level changed (from :func:`warn.risk.levels.step` or an official warning).

    Attributes
    ----------
    hazard, item_id, item_kind
        What is warned: the hazard, and the zone, point or district id.
    town
        Zone id of the town/street the item lies in (``DEMO-T03``); ``None`` for the district.
    from_level, to_level
        Level before and after.
    at
        When the level changed (UTC).
    drivers
        What drove it (``rain_3h``, ``swi``), for the texts.
    attributes
        The item's layer attributes the playbooks may quote (``threatened_people``, ``kind``).
    reason
        Readable reason from the level ladder (``黄色→橙色 L2→L3 score 72 ≥ 70``).
    """

    hazard: HazardName
    item_id: str
    item_kind: ItemKind
    town: str | None
    from_level: Level
    to_level: Level
    at: datetime
    drivers: tuple[str, ...] = ()
    attributes: Mapping[str, str | int | float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class AckAnswered:
    """Somebody answered an acknowledgement request (叫应, approval, task hand-off).

    ``request`` is the ``request`` of the :class:`RequestAck` action; ``accepted`` is
    ``False`` only for a refused approval or a reported danger found untrue. ``reply`` is what the
    person said (收到 / 已到岗 / 需要支援) and ``note`` their words, both for the timeline.
    """

    request: str
    by: str
    role: Role
    channel: Channel
    at: datetime
    accepted: bool = True
    reply: Reply = Reply.RECEIVED
    note: str = ""


@dataclass(frozen=True)
class ModeDecision:
    """The commander's decision on a mode proposal (``proposal`` of the :class:`ProposeMode` action)."""

    proposal: str
    by: str
    role: Role
    accept: bool
    reason: str
    at: datetime


@dataclass(frozen=True)
class ModeOrder:
    """A person orders the mode directly (``warn mode``), with or without a pending proposal.

    Only the deciding role (:attr:`warn.command.mode.ModeParams.decider`) may; an order by
    another role is recorded and ignored (``MODE-NOT-AUTHORISED``). ``override``: stand down
    to peacetime although warnings that refuse it are active (:attr:`warn.command.mode.ModeParams.stand_down`),
    on ``reason``; only the overriding role may.
    """

    to_mode: Mode
    response: ResponseLevel | None
    by: str
    role: Role
    reason: str
    at: datetime
    override: bool = False


@dataclass(frozen=True)
class ManualWarning:
    """A person issues a warning by hand (``warn broadcast``).

    ``crossing`` carries the item, the level and the text (its ``reason``); with ``approver``
    set it waits for that post's approval (an :class:`AckKind.APPROVAL` request) before it is
    planned like any crossing.
    """

    crossing: LevelCrossing
    by: str
    role: Role
    org_unit: str
    approver: Post | None = None


@dataclass(frozen=True)
class DangerReport:
    """Somebody below the district reports a new danger (险情上报) from the phone page.

    Attributes
    ----------
    report
        Its id.
    by, role, org_unit
        Who reports, in which post (``grid.DEMO-T03-C01-G1``).
    at
        When (UTC).
    what
        What they saw, in their words.
    place
        Where, in their words.
    lon, lat
        The phone's location (WGS84 degrees), when it gave one.
    photo
        The photo's attachment id in the store, when one was sent.
    """

    report: str
    by: str
    role: Role
    org_unit: str
    at: datetime
    what: str
    place: str = ""
    lon: float | None = None
    lat: float | None = None
    photo: str | None = None


@dataclass(frozen=True)
class CityResponse:
    """The municipal centre's current mode, as the district's store reads it (城市 → 区县 linked response).

    Attributes
    ----------
    city
        GB/T 2260 code of the municipality (``500000``).
    order
        The city's decided mode change it comes from (``500000/mode/7``): a new order is a new id.
    mode, response
        The city's mode and response level (``None`` in peacetime).
    decided_at, decided_by, reason
        When the city decided it (UTC), who, and why, for the district's texts.
    at
        When the district read it (UTC): the planner takes it at that time.
    """

    city: str
    order: str
    mode: Mode
    response: ResponseLevel | None
    decided_at: datetime
    decided_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Tick:
    """The clock reached ``now``: deadlines and due steps up to it are processed."""

    now: datetime


Event = LevelCrossing | AckAnswered | ModeDecision | ModeOrder | ManualWarning | DangerReport | CityResponse | Tick


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Action:
    """Fields every action carries.

    Attributes
    ----------
    key
        Idempotency key (same causes, same key).
    at
        When the planner decided it (UTC).
    incident
        Incident id, ``None`` for district-wide actions (mode, situation reports).
    rule_id, label
        Stable rule id and readable reason.
    """

    kind: ClassVar[ActionKind]
    key: str
    at: datetime
    incident: str | None
    rule_id: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Notify(Action):
    """Send ``text`` to ``to``."""

    kind: ClassVar[ActionKind] = ActionKind.NOTIFY
    to: Assignee
    text: str
    level: Level = Level.NONE


@dataclass(frozen=True, kw_only=True)
class CreateTask(Action):
    """Create task ``task`` owned by ``owner``, to be done by ``due``."""

    kind: ClassVar[ActionKind] = ActionKind.CREATE_TASK
    task: str
    owner: Assignee
    text: str
    due: datetime
    state: TaskState = TaskState.OPEN
    level: Level = Level.NONE


@dataclass(frozen=True, kw_only=True)
class RequestAck(Action):
    """Ask ``to`` to acknowledge by ``deadline``; unanswered, it escalates along ``chain``."""

    kind: ClassVar[ActionKind] = ActionKind.REQUEST_ACK
    request: str
    ack: AckKind
    to: Assignee
    subject: str
    deadline: datetime
    chain: tuple[Post, ...]
    level: Level = Level.NONE


@dataclass(frozen=True, kw_only=True)
class Escalate(Action):
    """Request ``request`` was not answered in time (or nobody was on duty): it goes to ``to``."""

    kind: ClassVar[ActionKind] = ActionKind.ESCALATE
    request: str
    attempt: int
    previous: Post
    to: Assignee
    subject: str
    deadline: datetime
    level: Level = Level.NONE


@dataclass(frozen=True, kw_only=True)
class WarningChange(Action):
    """Warning thread ``thread`` (one hazard, one item) is now at ``version``: its level, or cleared.

    The internal record of a thread; what people read is a :class:`Broadcast` of the message that
    lists it.
    """

    kind: ClassVar[ActionKind] = ActionKind.WARNING
    thread: str
    version: int
    hazard: HazardName
    item_id: str
    level: Level
    cleared: bool = False


@dataclass(frozen=True)
class Listed:
    """One warned item a message lists: its thread, what it is and its level."""

    thread: str
    item_id: str
    item_kind: ItemKind
    level: Level


@dataclass(frozen=True, kw_only=True)
class Broadcast(Action):
    """A request to publish version ``version`` of message thread ``thread`` (CAP and channels are the executor's).

    One message thread per hazard, area (a town/street, or the district) and audience
    (:mod:`warn.command.bulletins`); it lists the items warned there at ``level`` or below.

    Attributes
    ----------
    thread, version
        The message thread (``<hazard>:<area>:<audience>:<opened UTC %Y%m%dT%H%MZ>``) and its version.
    broadcast
        Alert, Update or all-clear.
    hazard, area, audience
        What, where (a town's zone id or the district code) and for whom.
    level
        The highest level listed (``NONE`` on an all-clear).
    listed
        The items the message covers (empty on an all-clear).
    serial
        The planner's running number of messages.
    index
        Its place among the messages issued at the same instant (0, 1, …): the second and the ``N``
        of its GB/T 35965.1 identifier (ten messages a second).
    text
        zh-CN summary for the timeline.
    """

    kind: ClassVar[ActionKind] = ActionKind.BROADCAST
    thread: str
    version: int
    broadcast: BroadcastKind
    hazard: HazardName
    area: str
    audience: Audience
    level: Level
    listed: tuple[Listed, ...]
    serial: int
    text: str
    index: int = 0


@dataclass(frozen=True, kw_only=True)
class ProposeMode(Action):
    """Propose switching to ``to_mode`` at ``response`` (``None`` for peacetime); a commander decides."""

    kind: ClassVar[ActionKind] = ActionKind.PROPOSE_MODE
    proposal: str
    to_mode: Mode
    response: ResponseLevel | None
    reason: str
    decide_by: Role


@dataclass(frozen=True, kw_only=True)
class ChangeMode(Action):
    """The mode changed, decided by ``decided_by`` (``warn`` when automatic)."""

    kind: ClassVar[ActionKind] = ActionKind.CHANGE_MODE
    proposal: str
    from_mode: Mode
    to_mode: Mode
    response: ResponseLevel | None
    decided_by: str
    role: Role | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class OpenIncident(Action):
    """Open incident ``incident`` (``hazard``: :data:`~warn.vocab.STORM_INCIDENT` for the composite one)."""

    kind: ClassVar[ActionKind] = ActionKind.OPEN_INCIDENT
    hazard: HazardName


@dataclass(frozen=True, kw_only=True)
class CloseIncident(Action):
    """Close incident ``incident``: every warning it holds is cleared."""

    kind: ClassVar[ActionKind] = ActionKind.CLOSE_INCIDENT
    hazard: HazardName


@dataclass(frozen=True, kw_only=True)
class RecordTimeline(Action):
    """Append an entry to the timeline: who (actor, role, org unit), what (kind, zh-CN summary, details), why (rule)."""

    kind: ClassVar[ActionKind] = ActionKind.RECORD_TIMELINE
    actor: str
    role: Role | None
    org_unit: str
    entry: TimelineKind
    summary: str
    details: Mapping[str, str | int | float | None] = field(default_factory=dict)
