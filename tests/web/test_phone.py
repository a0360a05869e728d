"""The phone page behind a one-tap link, over HTTP on a real server: answers, tasks, danger reports, refusals."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.web.serving import CALL04, JPEG, LEADER04, NOW, TASK04, Served
from warn.links import Purpose, link_id_of

GRID = "演示网格员（各镇街）"


def refused(served: Served, method: str, token: str, status: int, says: str, **form: object) -> None:
    """``method`` on the link's page is refused with ``status``, says why, and writes nothing."""
    before = served.snapshot()
    response = served.client.request(method, f"/a/{token}", **form)
    assert response.status_code == status, response.text
    assert says in response.text
    assert served.snapshot() == before


def test_an_answer_through_the_link_is_planned_at_once_and_names_its_channel(served):
    token = served.link(Purpose.ANSWER, CALL04, LEADER04)
    page = served.client.get(f"/a/{token}")
    assert page.status_code == 200
    assert all(word in page.text for word in ("收到", "已到岗", "需要支援", CALL04))
    assert served.query("select used_at from links where link_id = ?", link_id_of(token)) == [(None,)]  # GET: unused
    response = served.client.post(f"/a/{token}", data={"reply": "need_support", "note": "需要沙袋 200 袋"})
    assert response.status_code == 200, response.text
    assert "已应答" in response.text
    assert served.query("select answered_by, channel from ack_requests where request_id = ?", CALL04) == [
        (LEADER04, "link")]
    [(summary, details)] = served.query("select summary, details from timeline where kind = 'ack' "
                                        "and actor = ? order by seq desc limit 1", LEADER04)
    assert "link" in summary and json.loads(details)["channel"] == "link"
    assert served.query("select used_via from links where link_id = ?", link_id_of(token)) == [("link",)]
    refused(served, "POST", token, 409, "使用过", data={"reply": "received"})
    refused(served, "GET", token, 409, "使用过")


def test_no_token_reaches_a_log(served, caplog):
    token = served.link(Purpose.ANSWER, CALL04, LEADER04)
    with caplog.at_level("DEBUG"):
        assert served.client.get(f"/a/{token}").status_code == 200
        assert served.client.get(f"/a/{token[:-1]}").status_code == 403
    served_lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not [line for line in served_lines if token[:12] in line]


def test_wrong_forged_expired_and_not_theirs_links_are_refused_and_write_nothing(served):
    token = served.link(Purpose.ANSWER, CALL04, LEADER04)
    link_id, mac = token.split(".")
    # always another signature: the last two characters replaced by "AA" were the signature itself one time in 256
    forged = ("B" if mac[0] == "A" else "A") + mac[1:]
    refused(served, "GET", f"{link_id}.{forged}", 403, "签名不符")
    refused(served, "POST", f"{link_id}.{forged}", 403, "签名不符", data={"reply": "received"})
    refused(served, "POST", f"nosuchlink.{mac}", 403, "链接无效", data={"reply": "received"})
    refused(served, "GET", "not-a-token", 403, "链接无效")
    expired = served.link(Purpose.ANSWER, CALL04, LEADER04, expires=NOW - timedelta(minutes=1))
    refused(served, "GET", expired, 410, "已过期")
    refused(served, "POST", expired, 410, "已过期", data={"reply": "received"})
    stranger = served.link(Purpose.ANSWER, CALL04, "演示镇街负责人16")
    refused(served, "POST", stranger, 403, "无权代为应答", data={"reply": "received"})
    refused(served, "POST", token, 400, "请选择一项应答", data={"reply": "maybe"})
    refused(served, "POST", token, 400, "note", data={"reply": "received", "note": "bad\x00text"})
    assert served.client.get("/a/no/such/page").status_code == 404  # an open path; others need a login first


def test_a_task_is_done_with_a_photo_and_the_location(served):
    tasks = served.link(Purpose.TASKS, "", LEADER04)
    listing = served.client.get(f"/a/{tasks}")
    assert listing.status_code == 200 and "1 项待办" in listing.text
    path = listing.text.split('href="')[1].split('"')[0]
    page = served.client.get(path)
    assert page.status_code == 200 and 'accept="image/*"' in page.text and "capture" in page.text
    token = path.removeprefix("/a/")
    refused(served, "POST", token, 415, "JPEG", data={"note": "队伍已集结"},
            files={"photo": ("x.jpg", b"%PDF-1.7 not an image", "image/jpeg")})
    response = served.client.post(path, data={"note": "抢险队 12 人已集结", "lon": "106.631", "lat": "29.718"},
                                  files={"photo": ("team.jpg", JPEG, "image/jpeg")})
    assert response.status_code == 200, response.text
    [(status, done_by, evidence)] = served.query("select status, done_by, evidence from tasks where task_id = ?", TASK04)
    assert (status, done_by) == ("done", LEADER04)
    [(photo, media, size)] = served.query("select attachment_id, content_type, size from attachments "
                                          "where received_at >= '2026-07-15 05:05'")
    assert evidence == f"attachment:{photo} lon=106.631000 lat=29.718000"
    assert (media, size) == ("image/jpeg", len(JPEG))
    [(summary, details)] = served.query("select summary, details from timeline where kind = 'task' and actor = ? "
                                        "order by seq desc limit 1", LEADER04)
    assert "via link" in summary and json.loads(details)["via"] == "link"
    refused(served, "POST", token, 409, "使用过", data={"note": "again"})


def test_a_danger_report_is_recorded_with_its_photo_and_channel(served):
    token = served.link(Purpose.REPORT, "", GRID)
    page = served.client.get(f"/a/{token}")
    assert page.status_code == 200 and "险情上报" in page.text
    refused(served, "POST", token, 400, "请写明险情", data={"what": " "})
    response = served.client.post(f"/a/{token}", data={"what": "村道边坡出现裂缝，有落石", "place": "DEMO-T04 二组",
                                                       "lon": "106.62", "lat": "29.71"},
                                  files={"photo": ("slope.jpg", JPEG, "image/jpeg")})
    assert response.status_code == 200, response.text
    [row] = served.query("select by, role, org_unit, what, place, lon, lat, photo, via from danger_reports")
    assert row[:5] == (GRID, "grid_worker", row[2], "村道边坡出现裂缝，有落石", "DEMO-T04 二组")
    assert row[5:7] == (106.62, 29.71) and row[7] is not None and row[8] == "link"
    summaries = [r[0] for r in served.query("select summary from timeline where kind = 'danger' and actor = ?", GRID)]
    assert len(summaries) == 2 and "received via link" in summaries[0]  # received, then the planner's record
    [report] = [r[0] for r in served.query("select report_id from danger_reports")]
    # planned at once: somebody is asked to verify it (the demo roster's grid worker has no town of their own)
    assert served.query("select kind, addressee_role from ack_requests where request_id = ?",
                        f"danger/{report}/verify") == [("verify", "duty_officer")]
    refused(served, "POST", token, 409, "使用过", data={"what": "again"})
    nobody = served.link(Purpose.REPORT, "", "张三")
    refused(served, "GET", nobody, 403, "不在值班表上")
    refused(served, "POST", nobody, 403, "不在值班表上", data={"what": "x"})
