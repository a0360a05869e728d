"""The ``warn`` command: one typer app, one module per area.

Exit codes (STYLE.md): 0 success, 1 runtime failure or refusal, 2 usage or
configuration error. Heavy imports (xarray, geopandas) happen inside the commands
that need them, so ``warn --help`` stays quick.
"""

from __future__ import annotations

import typer

from warn.cli import check, demo, dispatch, flood, ingest, landslide, qc, rain, replay, run, skill, verify

app = typer.Typer(
    name="warn",
    help="暴雨预警与应急指挥 / heavy-rainfall early warning and emergency command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("check")(check.check)
app.command("rain")(rain.rain)
app.command("demo")(demo.demo)
app.command("qc", help=qc.HELP)(qc.qc)
app.command("ingest")(ingest.ingest)
app.command("skill")(skill.skill)
app.command("landslide")(landslide.landslide)
app.command("flood")(flood.flood)
app.command("verify")(verify.verify)
app.command("dispatch")(dispatch.dispatch)
app.command("run")(run.run)
app.command("replay")(replay.replay)
