"""The demo's people: they read their phones and answer from where they are, through the gateways and the links.

:class:`DemoPeople` plays every person of the demo directory during a drill. Nobody writes to the store:
each reads what reached their own phone — DingTalk / 渝快政 and WeCom cards, SMS and voice calls in the
local stand-in gateways (:mod:`warn.sim.gateways`) — and acts as people do:

- **叫应 calls.** Answered 1–6 minutes after they arrive (fixed per person and message, so a drill
  replays the same way), each person in their habit: pressing 收到 or 已到岗 on the card, replying ``1``
  by SMS, tapping the link and answering on the phone page, or picking up the voice call and pressing
  ``1``. A person who answered elsewhere lets the ringing call go unanswered. The first community
  responsible person called by SMS answers ``2 …``: they need support.
- **Approvals, verifications, hand-offs.** Opened through their link and answered on the page (同意 /
  属实 / 收到).
- **Tasks.** Done 20–100 minutes after they arrive, through the task's link: a note, a photo taken on
  site and the phone's location.
- **A danger.** The first grid worker to read a message with a 险情上报 link ``report_after`` or more
  after the start reports a new danger through it: what, where, a photo, the location.
- **The silent one.** One community responsible person (``silent``) never answers: their calls ring
  out, their cards and messages stay unread, so the call escalates to the town leader and then the
  district.

The stand-ins post the status reports of the SMS gateway at each step (:meth:`DemoPeople.act` first
flushes them). The people and their behaviour are synthetic.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from warn.command.directory import Directory
from warn.sim.gateways import Call, Card, Gateways, Sms
from warn.vocab import OrgLevel

#: The demo's silent person: the responsible person of the first community of the steep town DEMO-T14, under
#: the storm's track in the truth and in the displaced forecast runs alike.
SILENT = "演示村社负责人1401"
#: How a person answers a 叫应 call, by habit.
HABITS = ("card", "link", "sms", "voice")
#: A link in a message: what follows ``/a/``.
_LINK = re.compile(r"https?://\S+?/a/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")
_SMS_PART = re.compile(r"^\(\d+/\d+\)")


@dataclass
class _Message:
    """One message on a person's phone: where it came, what links it carries, when it was first seen."""

    person: str
    channel: str
    ref: str
    seen: datetime
    links: tuple[tuple[str, str], ...]
    card: Card | None = None
    call: Call | None = None
    number: str | None = None
    done: bool = False

    @property
    def calls_for_answer(self) -> bool:
        """A 叫应 call (its buttons say 收到 / 已到岗 / 需要支援), or an SMS that asks for ``1``."""
        return any(label.startswith("收到") for label, _ in self.links) or (
            self.channel == "sms" and "回复1收到" in self.ref)

    def token(self, *labels: str) -> str | None:
        """The token of the first link whose label starts with one of ``labels``."""
        return next((t for label, t in self.links if label.startswith(labels)), None)


@dataclass
class DemoPeople:
    """The directory's people acting through their phones (module notes).

    Parameters
    ----------
    gateways
        The stand-in gateways their phones are on.
    directory
        Who they are and their contact points.
    serve
        The web service's root URL (their links open there).
    places
        Where each town's people are (lon, lat WGS84 degrees), by town code.
    start
        When the drill starts (the danger is reported ``report_after`` later).
    """

    gateways: Gateways
    directory: Directory
    serve: str
    places: Mapping[str, tuple[float, float]]
    start: datetime
    silent: str = SILENT
    report_after: timedelta = timedelta(hours=3)
    messages: dict[tuple[str, str, str], _Message] = field(default_factory=dict)
    tasks: dict[str, datetime] = field(default_factory=dict)
    reporter: str | None = None
    supported: str | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    def act(self, now: datetime) -> int:
        """Read every phone and do what is due by ``now``; the number of things done."""
        self.gateways.sms.flush()
        self._read(now)
        done = 0
        for message in sorted(self.messages.values(), key=lambda m: (m.seen, m.person, m.ref)):
            if not message.done:
                done += self._handle(message, now)
        for token, due in sorted(self.tasks.items()):
            if due <= now:
                done += self._finish(token)
        return done

    def close(self) -> None:
        """Release the HTTP client."""
        self.http.close()

    # --- reading the phones -------------------------------------------------------------------

    def _read(self, now: datetime) -> None:
        for person in self.directory.persons.values():
            contacts = person.contacts
            if contacts.dingtalk:
                for card in self.gateways.dingtalk.cards(contacts.dingtalk):
                    self._keep(person.name, "work_notice", card.task_id, now, card=card)
            if contacts.wecom:
                for card in self.gateways.wecom.cards(contacts.wecom):
                    self._keep(person.name, "wecom", card.task_id, now, card=card)
            if contacts.mobile:
                for key, text in _sms_messages(self.gateways.sms.inbox(contacts.mobile)).items():
                    self._keep(person.name, "sms", key, now, text=text, number=contacts.mobile)
                for call in self.gateways.voice.calls(contacts.mobile):
                    self._keep(person.name, "voice", call.key, now, call=call, number=contacts.mobile)

    def _keep(self, person: str, channel: str, ref: str, now: datetime, *, card: Card | None = None,
              call: Call | None = None, text: str = "", number: str | None = None) -> None:
        key = (person, channel, ref)
        if key in self.messages:
            return
        if card is not None:
            links = tuple((b.label, b.value.split("|", 1)[1]) for b in card.buttons)
        else:
            links = tuple(("链接", m.group(1)) for m in _LINK.finditer(text))
        self.messages[key] = _Message(person, channel, text or ref, now, links, card, call, number)

    # --- acting ---------------------------------------------------------------------------------

    def _handle(self, message: _Message, now: datetime) -> int:
        if message.person == self.silent:
            if message.call is not None and now >= message.seen + _delay(message.person, message.ref, 2, 4):
                message.done = True
                if message.call.status == "ringing":
                    self.gateways.voice.no_answer(message.call.to)
            return 0
        if now < message.seen + _delay(message.person, message.ref, 1, 6):
            return 0
        message.done = True
        done = self._report(message, now)
        if message.call is not None:
            return done + self._pick_up(message)
        # a card names its task link; an SMS carries one link, which _finish opens to see whether it is a task's
        task = message.token("查看任务", "反馈办结") if message.card is not None else message.token("链接")
        if task is not None and task not in self.tasks:
            self.tasks[task] = now + _delay(message.person, task, 20, 100)
        if message.calls_for_answer:
            return done + self._answer_call(message, now)
        answer = message.token("应答")
        if answer is not None:
            done += self._answer_page(answer) or 0
        return done

    def _habit(self, person: str) -> str:
        return HABITS[hashlib.sha256(person.encode()).digest()[1] % len(HABITS)]

    def _pick_up(self, message: _Message) -> int:
        """A ringing call: picked up and answered ``1`` by the voice habit, else let ring out (answered elsewhere)."""
        assert message.call is not None
        if message.call.status != "ringing":
            return 0
        if self._habit(message.person) == "voice":
            self.gateways.voice.press(message.call, "1")
            return 1
        self.gateways.voice.no_answer(message.call.to)
        return 0

    def _answer_call(self, message: _Message, now: datetime) -> int:
        """A 叫应 call (or, by SMS, any request) answered in the person's habit (a voice habit answers the call)."""
        habit = self._habit(message.person)
        if (self.supported is None and message.channel == "sms" and "叫应：" in message.ref
                and self._level(message.person) is OrgLevel.COMMUNITY):
            self.supported = message.person
            self.gateways.sms.reply(message.number or "", "2 需要沙袋和抽水泵 need sandbags and a pump")
            return 1
        if habit == "voice" and self._rang(message):
            return 0
        if message.card is not None and habit in ("card", "voice"):
            platform = self.gateways.dingtalk if message.channel == "work_notice" else self.gateways.wecom
            platform.click(message.card.user, message.card, "已到岗" if now.minute % 2 else "收到")
            return 1
        token = message.token("收到", "链接")
        if habit == "link" and token is not None:
            answered = self._answer_page(token, "on_site")
            if answered is not None:
                return answered
        if message.channel == "sms":
            self.gateways.sms.reply(message.number or "", "1")
            return 1
        if token is None:
            return 0
        return self._answer_page(token) or 0

    def _rang(self, message: _Message) -> bool:
        """Whether a voice call reached the person together with ``message`` (the voice habit answers that)."""
        return any(m.person == message.person and m.call is not None and m.seen == message.seen
                   for m in self.messages.values())

    def _answer_page(self, token: str, reply: str = "received") -> int | None:
        """Open a link and, when it is an answer page, answer as it asks: 同意 / 属实 where it asks yes or no, else
        ``reply``; ``None`` when the link is not an answer page (a task's, my tasks) or no longer works."""
        page = self.http.get(f"{self.serve}/a/{token}")
        if page.status_code != 200 or 'name="reply"' not in page.text:
            return None
        chosen = "yes" if 'value="yes"' in page.text else reply
        return self._post(token, {"reply": chosen, "note": "已收到 / received"})

    def _finish(self, token: str) -> int:
        del self.tasks[token]
        page = self.http.get(f"{self.serve}/a/{token}")
        person = _person_of(page.text)
        if page.status_code != 200 or not page.text.count("<title>任务 ·"):
            return 0  # not a task's page (an answer, my tasks), or the task is closed
        lon, lat = self._where(person, token)
        return self._post(token, {"note": "已处置并现场核查 / handled and checked on site", "lon": f"{lon:.6f}",
                                  "lat": f"{lat:.6f}"}, photo=True)

    def _report(self, message: _Message, now: datetime) -> int:
        """The first grid worker's danger report, through the first 险情上报 link after ``report_after``."""
        if (self.reporter is not None or now < self.start + self.report_after
                or self._level(message.person) is not OrgLevel.GRID):
            return 0
        token = message.token("险情上报")
        if token is None:
            return 0
        self.reporter = message.person
        lon, lat = self._where(message.person, "report")
        return self._post(token, {"what": "村道边坡出现新裂缝，约 5 米长，有掉块 / a new 5 m crack in the road cut, "
                                          "stones falling", "place": "村委会后山便道 the path behind the village office",
                                  "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"}, photo=True)

    def _post(self, token: str, form: Mapping[str, str], *, photo: bool = False) -> int:
        files = {"photo": ("site.jpg", _photo(token), "image/jpeg")} if photo else None
        response = self.http.post(f"{self.serve}/a/{token}", data=dict(form), files=files)
        return int(response.status_code == 200)

    def _level(self, person: str) -> OrgLevel | None:
        """The org level of ``person``'s home unit."""
        home = self.directory.persons.get(person)
        return home.unit.level if home is not None else None

    def _where(self, person: str | None, salt: str) -> tuple[float, float]:
        """Where ``person`` stands: their town's place, a few hundred metres off (fixed per person and salt)."""
        home = self.directory.persons.get(person or "")
        town = None
        if home is not None:
            unit = self.directory.org.ancestor(home.unit, OrgLevel.TOWN)
            town = unit.code if unit is not None else None
        lon, lat = self.places.get(town or "", next(iter(self.places.values())))
        digest = hashlib.sha256(f"{person}|{salt}".encode()).digest()
        return lon + (digest[0] - 128) * 2e-5, lat + (digest[1] - 128) * 2e-5


def _sms_messages(parts: list[Sms]) -> dict[str, str]:
    """The SMS messages of an inbox, their parts joined, by the key of the message (``key#i/n`` → ``key``)."""
    joined: dict[str, list[tuple[int, str]]] = {}
    for part in parts:
        key, _, number = part.key.partition("#")
        index = int(number.split("/")[0]) if number else 1
        joined.setdefault(key, []).append((index, _SMS_PART.sub("", part.text)))
    return {key: "".join(text for _, text in sorted(pieces)) for key, pieces in joined.items()}


def _person_of(page: str) -> str | None:
    """The person a phone page is for (its title reads ``… · {person}``)."""
    found = re.search(r"<title>[^<]*· ([^<]+)</title>", page)
    return found.group(1) if found else None


def _delay(person: str, subject: str, low: int, high: int) -> timedelta:
    """A fixed delay in [low, high] minutes for ``person`` and ``subject``."""
    digest = hashlib.sha256(f"{person}|{subject}".encode()).digest()
    return timedelta(minutes=low + digest[0] % (high - low + 1))


def _photo(salt: str) -> bytes:
    """A small JPEG "taken on site" (a grey slope with a dark crack; differs per salt)."""
    from PIL import Image, ImageDraw

    shade = hashlib.sha256(salt.encode()).digest()[0]
    image = Image.new("RGB", (160, 120), (110 + shade % 60, 100, 80))
    ImageDraw.Draw(image).line([(20, 100), (70, 60), (90, 65), (140, 20)], fill=(30, 25, 20), width=4)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()
