"""The ``warn`` command: one typer app, one module per area.

Exit codes (STYLE.md): 0 success, 1 runtime failure or refusal, 2 usage or
configuration error. Heavy imports (xarray, geopandas) happen inside the commands
that need them, so ``warn --help`` stays quick.
"""

from __future__ import annotations

import typer

from warn.cli import (
    account,
    acting,
    check,
    demo,
    dispatch,
    hindcast,
    ingest,
    lists,
    municipal,
    nowcast,
    qc,
    rain,
    replay,
    report,
    run,
    score,
    serve,
    skill,
    status,
    token,
    verify,
)

app = typer.Typer(
    name="warn",
    help="暴雨预警与应急指挥 / heavy-rainfall early warning and emergency command.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.command("check")(check.check)
app.command("rain")(rain.rain)
app.command("nowcast")(nowcast.nowcast)
app.command("demo")(demo.demo)
app.command("qc", cls=qc.QCCommand)(qc.qc)
app.command("ingest")(ingest.ingest)
app.command("skill")(skill.skill)
app.command("score")(score.score)
app.command("landslide")(score.landslide)
app.command("waterlogging")(score.waterlogging)
app.command("flood", deprecated=True)(score.flood)
app.command("verify")(verify.verify)
app.add_typer(verify.anchor_app)
app.command("dispatch")(dispatch.dispatch)
app.command("run")(run.run)
app.command("serve")(serve.serve)
app.command("replay")(replay.replay)
app.command("hindcast")(hindcast.hindcast)
app.command("status")(status.status)
app.command("watch")(status.watch)
app.command("warnings")(lists.warnings)
app.command("zones")(lists.zones)
app.command("incidents")(lists.incidents)
app.command("tasks")(lists.tasks)
app.command("calls")(lists.calls)
app.command("timeline")(lists.timeline)
app.command("feeds")(lists.feeds)
app.command("ack")(acting.ack)
app.command("done")(acting.done)
app.command("assign")(acting.assign)
app.command("note")(acting.note)
app.command("mode")(acting.mode)
app.command("approve")(acting.approve)
app.command("reject")(acting.reject)
app.command("broadcast")(acting.broadcast)
app.command("report")(report.report)
app.add_typer(token.app, name="token")
app.add_typer(account.app, name="account")
app.add_typer(municipal.app, name="municipal")
