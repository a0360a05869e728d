"""Who may do what (OPERATIONS.md "Who"): the duty officer's commands checked against the roster.

Pure: the roster, the posts involved and the time in, a :class:`Verdict` out. A person
acts only while holding a post on the roster; the post they act in is what the timeline
records as their role. Rules:

- ``ack`` a 叫应 call or task hand-off: the person on duty in the request's current post,
  or the district's leader on duty or commander answering on its behalf;
- ``approve`` / ``reject``: the person on duty in the approval's current post, or the
  district commander — never the person who proposed what waits for it (four eyes);
- ``ack`` / ``done`` a task: the person on duty in its owner post, or the district's duty
  officer, leader on duty or commander;
- ``assign`` a task: the district's duty officer, leader on duty or commander;
- ``note``: anyone on the roster;
- ``mode``: the deciding role (the commander) only; ``mode peacetime --override`` (standing down
  while warnings that refuse it are active) the overriding role (``command.stand_down.override``,
  the commander) only;
- ``broadcast``: the district's duty officer (with the leader on duty's approval), leader on
  duty or commander.

Every refusal carries its reason in zh-CN and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from warn.command.model import OrgUnit, Post, Role
from warn.command.roster import Roster
from warn.vocab import OrgLevel

#: District roles that may act for others, strongest first (the post recorded when acting for others).
OVERSEERS = (Role.COMMANDER, Role.LEADER_ON_DUTY, Role.DUTY_OFFICER)


@dataclass(frozen=True)
class Verdict:
    """Whether a person may act, in which post, and why not.

    Attributes
    ----------
    post
        The post the person acts in (recorded as their role and org unit); ``None`` when refused.
    on_behalf
        The person acts for the holder of another post (recorded as such).
    zh, en
        The reason of a refusal (empty when allowed).
    """

    post: Post | None
    on_behalf: bool = False
    zh: str = ""
    en: str = ""

    @property
    def allowed(self) -> bool:
        """Whether the person may act."""
        return self.post is not None


@dataclass(frozen=True)
class Authority:
    """The roster at a time, for one district: answers "may this person do that"."""

    roster: Roster
    district: str
    at: datetime

    def district_post(self, role: Role) -> Post:
        """Return the district's post of ``role``."""
        return Post(OrgUnit(OrgLevel.DISTRICT, self.district), role)

    def holds(self, person: str, post: Post) -> bool:
        """Whether ``person`` is the one on duty in ``post`` now."""
        return self.roster.who(post.role, post.org, self.at) == person

    def identify(self, person: str | None) -> Verdict:
        """Return the person's own post (their first on the roster now), or why they may not act at all."""
        if not person:
            return _no("须用 --as 或 WARN_USER 指明操作人", "say who is acting with --as or WARN_USER")
        posts = self.roster.posts(person, self.at)
        if not posts:
            return _no(f"{person} 此时不在值班表上", f"{person} is not on the roster at {self.at.isoformat()}")
        return Verdict(self._overseer(person) or posts[0])

    def answer(self, person: str, addressee: Post, *, approval: bool, proposer: str | None = None,
               earlier: Sequence[Post] = ()) -> Verdict:
        """May ``person`` answer a request now addressed to ``addressee`` (an approval when ``approval``).

        ``proposer`` is the person who raised what an approval decides (``None``: the system did);
        they may not decide it themselves, in whatever post they hold now (four eyes). ``earlier``: posts
        the request was addressed to before it escalated — whoever holds one of them may still answer
        (a late answer from below is an answer).
        """
        if approval and proposer is not None and person == proposer:
            return _no(f"四眼原则：{person} 提出的请求须由另一人审批",
                       f"four eyes: {person} proposed this, so another person must approve or refuse it")
        for post in (addressee, *earlier):
            if self.holds(person, post):
                return Verdict(post)
        deputies = (Role.COMMANDER,) if approval else (Role.COMMANDER, Role.LEADER_ON_DUTY)
        for role in deputies:
            if self.holds(person, self.district_post(role)):
                return Verdict(self.district_post(role), on_behalf=True)
        what = "审批" if approval else "应答"
        return _no(f"无权代为{what}：该请求由 {addressee} 应答", f"not yours to answer: it is addressed to {addressee}")

    def handle_task(self, person: str, owner: Post) -> Verdict:
        """May ``person`` acknowledge or finish a task owned by ``owner``."""
        if self.holds(person, owner):
            return Verdict(owner)
        post = self._overseer(person)
        if post is not None:
            return Verdict(post, on_behalf=True)
        return _no(f"无权处理此任务：任务属于 {owner}", f"not your task: it belongs to {owner}")

    def assign(self, person: str) -> Verdict:
        """May ``person`` hand a task over to another post."""
        post = self._overseer(person)
        if post is None:
            return _no("只有区值班员、带班领导或指挥长可以改派任务",
                       "only the district duty officer, leader on duty or commander may reassign a task")
        return Verdict(post)

    def order_mode(self, person: str, decider: Role) -> Verdict:
        """May ``person`` switch the mode (the deciding role only)."""
        return self._only(person, decider, "决定平急转换", "switch the mode")

    def override_stand_down(self, person: str, role: Role) -> Verdict:
        """May ``person`` stand down while warnings that refuse it are active (the overriding ``role`` only)."""
        return self._only(person, role, "越过未解除的预警转为平时", "stand down while those warnings are active")

    def _only(self, person: str, role: Role, zh: str, en: str) -> Verdict:
        """``person`` acts in the district's post of ``role`` or not at all; ``zh`` / ``en``: what they would do."""
        post = self.district_post(role)
        if self.holds(person, post):
            return Verdict(post)
        return _no(f"只有{role.zh}（{self.roster.who(post.role, post.org, self.at) or '无人在岗'}）可以{zh}",
                   f"only the {role} may {en}")

    def broadcast(self, person: str) -> tuple[Verdict, Post | None]:
        """May ``person`` issue a warning by hand, and whose approval it needs (``None``: none)."""
        post = self._overseer(person)
        if post is None:
            return _no("只有区值班员、带班领导或指挥长可以人工发布预警",
                       "only the district duty officer, leader on duty or commander may issue a warning"), None
        approver = self.district_post(Role.LEADER_ON_DUTY) if post.role is Role.DUTY_OFFICER else None
        return Verdict(post), approver

    def resolve(self, target: str, org: OrgUnit) -> Post | None:
        """Return the post ``target`` names when somebody is on duty there now; ``None`` otherwise.

        ``target`` is a post (``town.DEMO-T03.duty_officer``), a role (of ``org``) or a person
        (their first post).
        """
        parts = target.split(".")
        roles = {r.value for r in Role}
        if len(parts) == 3 and parts[0] in {lv.value for lv in OrgLevel} and parts[2] in roles:
            post = Post(OrgUnit(OrgLevel(parts[0]), parts[1]), Role(parts[2]))
        elif target in roles:
            post = Post(org, Role(target))
        else:
            posts = self.roster.posts(target, self.at)
            if not posts:
                return None
            post = posts[0]
        return post if self.roster.who(post.role, post.org, self.at) is not None else None

    def _overseer(self, person: str) -> Post | None:
        """Return the strongest district post of :data:`OVERSEERS` that ``person`` holds now."""
        return next((self.district_post(r) for r in OVERSEERS if self.holds(person, self.district_post(r))), None)


def _no(zh: str, en: str) -> Verdict:
    return Verdict(None, zh=zh, en=en)
