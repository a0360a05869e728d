"""The phone page behind a signed one-tap link: ``GET /a/{token}`` shows, ``POST /a/{token}`` acts.

A token is checked before anything else (:func:`warn.links.check` against the claims ``store.links``
keeps): unknown, forged or altered → 403, expired → 410, used already → 409, each a page that says why
and writes nothing. What the link lets its person do is its purpose:

- ``answer``: the request, its deadline and the buttons 收到 / 已到岗 / 需要支援 (an approval: 同意 / 不同意, a verification: 属实 /
  不同意) with a note; the answer is planned at once (:meth:`warn.desk.Desk.answer`);
- ``task``: the task and the form to mark it done with a note, a photo and the phone's location,
  finished through :meth:`warn.desk.Desk.done` with that evidence (``attachment:SHA256 lon=… lat=…``);
- ``tasks``: the person's open tasks (of the posts they hold now), each with a link minted on the spot;
- ``report``: the 险情上报 form — what, where, a photo, the location — recorded by ``store.dangers``.

GET never uses a link up; the first POST that records something does, in the same step. Every answer,
finished task and report names its channel, ``link``, on the timeline.
"""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from warn.command.model import AckKind, Channel, Reply
from warn.errors import UsageError
from warn.freetext import check_text
from warn.links import LinkClaims, Purpose, new_link_id, token_of
from warn.store.attachments import image_type
from warn.web import pages
from warn.desk import OPEN_TASKS, Desk, Refused, Told, post_of

#: Bytes a form may carry besides its photo (the note, the place, the fields' framing).
FORM_OVERHEAD = 64 * 1024
#: What an answer page's button says, by its value: the reply and whether it accepts.
ANSWERS = {**{str(reply): (reply, True) for reply in Reply}, "yes": (Reply.RECEIVED, True),
           "no": (Reply.RECEIVED, False)}


def html_page(text: str, status: int = 200) -> HTMLResponse:
    """A page's response: not cached, no asset from elsewhere, inline style and script only, never in a frame."""
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store",
                                                           "Content-Security-Policy": "default-src 'none'; "
                                                           "style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                                                           "form-action 'self'; img-src 'self'; "
                                                           "frame-ancestors 'none'"})


def refusal(err: Refused) -> HTMLResponse:
    """The page of a refusal, with its status."""
    return html_page(pages.refused_page(err.status, err.zh, err.en), err.status)


async def show(request: Request) -> Response:
    """``GET /a/{token}``: the page of the link's purpose."""
    desk: Desk = request.app.state.desk
    token = request.path_params["token"]
    try:
        return html_page(await run_in_threadpool(_show, desk, token, desk.clock()))
    except Refused as err:
        return refusal(err)


def _show(desk: Desk, token: str, at: datetime) -> str:
    claims = desk.claims(token, at)
    tz = desk.settings.tz
    if claims.purpose is Purpose.ANSWER:
        row = desk.store.ack_request(claims.subject)
        if row is None:
            raise Refused(404, f"无此请求：{claims.subject}", f"no such request: {claims.subject}")
        if row.answered_at is not None:
            raise Refused(409, f"已由 {row.answered_by} 于 {row.answered_at.isoformat()} 应答",
                          f"already answered by {row.answered_by}")
        return pages.answer_page(claims.person, AckKind(row.kind), row.request_id,
                                 f"{row.org_unit}.{row.addressee_role}", row.deadline, tz)
    if claims.purpose is Purpose.TASK:
        task, _post = desk.check_task(claims.subject, claims.person, at)
        return pages.task_page(claims.person, task.task_id, task.summary, f"{task.org_unit}.{task.owner_role}",
                               task.due_at, tz)
    if claims.purpose is Purpose.TASKS:
        return pages.tasks_page(claims.person, _my_tasks(desk, claims, at), tz)
    post = desk.post_now(claims.person, at)
    return pages.report_page(claims.person, str(post))


def _my_tasks(desk: Desk, claims: LinkClaims, at: datetime) -> list[pages.TaskItem]:
    """The open tasks of the posts ``claims.person`` holds now, each with a task link minted for them."""
    roster = desk.setup.roster
    items = []
    for task in desk.store.command.tasks(statuses=OPEN_TASKS):
        post = post_of(task.org_unit, task.owner_role)
        if roster.who(post.role, post.org, at) != claims.person:
            continue
        minted = LinkClaims(new_link_id(), Purpose.TASK, task.task_id, claims.person,
                            min(claims.expires, at + desk.settings.serve.link_ttl))
        desk.store.links.issue(minted, at)
        items.append(pages.TaskItem(task.task_id, task.summary, str(post), task.due_at, task.status,
                                    f"/a/{token_of(desk.secret, minted)}"))
    return items


async def act(request: Request) -> Response:
    """``POST /a/{token}``: answer, finish the task, or report the danger; the link is used up."""
    desk: Desk = request.app.state.desk
    token = request.path_params["token"]
    at = desk.clock()
    try:
        claims = await run_in_threadpool(desk.claims, token, at)
        if claims.purpose is Purpose.TASKS:
            raise Refused(405, "此链接只用于查看任务", "this link only shows tasks")
        size = int(request.headers.get("content-length") or 0)
        if size > desk.settings.serve.max_photo_bytes + FORM_OVERHEAD:
            raise Refused(413, "提交的内容过大（照片请小于 {} MB）".format(desk.settings.serve.max_photo_bytes // 2**20),
                          f"too large: at most {desk.settings.serve.max_photo_bytes} bytes of photo")
        async with request.form(max_files=1, max_fields=8,
                                max_part_size=desk.settings.serve.max_photo_bytes) as form:
            photo = await _photo(form)
            told = await run_in_threadpool(_act, desk, claims, form, photo, at)
        return html_page(pages.done_page(told.zh, told.en))
    except Refused as err:
        return refusal(err)
    except UsageError as err:
        first = err.problems[0] if err.problems else None
        return refusal(Refused(400, f"无法接受：{first}", f"not accepted: {first}"))


async def _photo(form: FormData) -> tuple[bytes, str] | None:
    """The photo of a form (bytes and the claimed type); ``None`` when none was chosen."""
    upload = form.get("photo")
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read()
    return (data, upload.content_type or "") if data else None


def _act(desk: Desk, claims: LinkClaims, form: FormData, photo: tuple[bytes, str] | None,
         at: datetime) -> Told:
    """Record what the form says under ``claims``; what to tell the person."""
    limits = desk.settings.text_limits

    def text(name: str, limit: int, *, multiline: bool = True) -> str:
        value = form.get(name)
        return check_text(name, value.strip() if isinstance(value, str) else "", limit=limit, multiline=multiline)

    def use() -> bool:
        return desk.store.links.use(claims.link_id, at, str(Channel.LINK))

    if claims.purpose is Purpose.ANSWER:
        chosen = form.get("reply")
        if not isinstance(chosen, str) or chosen not in ANSWERS:
            raise Refused(400, "请选择一项应答", f"choose an answer: {', '.join(ANSWERS)}")
        reply, accepted = ANSWERS[chosen]
        note = text("note", limits.note)
        desk.answer(claims.subject, claims.person, Channel.LINK, at, reply=reply, note=note, accepted=accepted,
                    use=use)
        said = reply.zh if chosen in Reply.__members__.values() else ("是" if accepted else "否")
        return Told(f"已应答：{said}（{claims.person}）", f"answered: {chosen} ({claims.person})")
    lon, lat = _location(form)
    if claims.purpose is Purpose.TASK:
        note = text("note", limits.note)
        if not note:
            raise Refused(400, "请填写办理情况", "say what was done")
        desk.check_task(claims.subject, claims.person, at)
        evidence = " ".join(part for part in (
            f"attachment:{_keep(desk, photo, at, claims.person)}" if photo else "",
            f"lon={lon:.6f} lat={lat:.6f}" if lon is not None and lat is not None else "") if part)
        return desk.done(claims.subject, claims.person, Channel.LINK, at, note=note, evidence=evidence, use=use)
    what, place = text("what", limits.note), text("place", limits.name, multiline=False)
    if not what:
        raise Refused(400, "请写明险情", "say what you see")
    desk.post_now(claims.person, at)
    return desk.report(claims.person, claims.link_id, at, what=what, place=place, lon=lon, lat=lat,
                       photo=_keep(desk, photo, at, claims.person) if photo else None, use=use)


def _keep(desk: Desk, photo: tuple[bytes, str] | None, at: datetime, person: str) -> str:
    """Keep ``photo`` (checked to be an image first, so a refused one writes nothing); its attachment id."""
    assert photo is not None
    data, claimed = photo
    if image_type(data) is None:
        raise Refused(415, "照片须为 JPEG、PNG 或 WebP 图片", "the photo must be a JPEG, PNG or WebP image")
    return desk.store.attachments.put(data, claimed, at, person, max_bytes=desk.settings.serve.max_photo_bytes)


def _location(form: FormData) -> tuple[float | None, float | None]:
    """The phone's location from the hidden fields (WGS84 degrees); ``None`` each when absent or out of range."""
    try:
        lon, lat = float(str(form.get("lon") or "nan")), float(str(form.get("lat") or "nan"))
    except ValueError:
        raise Refused(400, "位置格式不正确", "the location is not two numbers") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None, None
    return lon, lat

