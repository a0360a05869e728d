"""山洪 (flash flood) of small mountain catchments, as a registered hazard.

Each small catchment (小流域) of the ``catchments`` layer has a village at its outlet, the
people it threatens and the critical rainfall (临界雨量) of the county's 山洪灾害防御预案 for
准备转移 (prepare to move) and 立即转移 (move now) over 1/3/6 h. Catchment rain is scored
against them, lowered when the catchment is wet (:mod:`warn.risk.flashflood`,
``models/flashflood.yaml``); ``playbooks/flashflood.yaml`` calls the village's responsible
person at 准备转移 and evacuates the threatened people at 立即转移.

CAP: category ``Met`` — OASIS CAP 1.2 §3.2.2 lists "Met – Meteorological (inc. flood)" and
"Geo – Geophysical (inc. landslide)"; a flash flood is a rain-driven flood (the debris
flows and landslides a storm may also bring are the landslide hazard's). No
eventCode of its own: the GB/T 35965.1 event-type code for 山洪 was not verified, so none
is claimed.

Official bulletins (the water and meteorological departments' 山洪灾害气象预警) are not read
yet: they are issued by county or town, not by catchment, and no feed of them is wired.
"""

from __future__ import annotations

from warn.hazards.flashflood.model import FlashFloodFile
from warn.hazards.flashflood.scoring import score
from warn.hazards.spec import CapProfile, Column, HazardSpec, Input, Rescore, Role
from warn.vocab import ItemKind

#: The catchment attributes scoring and the playbook read (besides the id and name).
FIELDS = ("village", "threatened_people",
          "prepare_1h_mm", "prepare_3h_mm", "prepare_6h_mm", "evacuate_1h_mm", "evacuate_3h_mm", "evacuate_6h_mm")

SPEC = HazardSpec(
    name="flashflood",
    zh="山洪",
    en="Flash flood",
    roles=(Role("catchments", "catchment", ItemKind.CATCHMENT, "山洪小流域", "small catchment", fields=FIELDS),),
    inputs=frozenset({Input.RAIN}),
    score=score,
    cap=CapProfile(category="Met", event_zh="山洪灾害", event_en="Flash flood"),
    model=FlashFloodFile,
    rescore=Rescore.NEW_BASIS,
    playbooks=("flashflood",),
    columns=(
        Column("rain_1h_mm", "1 h 雨量（24 h 内最大）", "max 1 h rain to +24 h", "mm"),
        Column("rain_3h_mm", "3 h 雨量（24 h 内最大）", "max 3 h rain to +24 h", "mm"),
        Column("rain_6h_mm", "6 h 雨量（24 h 内最大）", "max 6 h rain to +24 h", "mm"),
        Column("swi_mm", "前期土壤含水指数", "antecedent soil water index", "mm"),
        Column("lowered_pct", "临界雨量下调", "critical rainfall lowered by", "%"),
        Column("prepare_3h_mm", "3 h 准备转移临界雨量", "3 h prepare-to-move rainfall", "mm"),
        Column("evacuate_3h_mm", "3 h 立即转移临界雨量", "3 h move-now rainfall", "mm"),
    ),
)
