"""Pure science: arrays in, arrays out (DESIGN.md "risk/").

Rain scores (:mod:`~warn.risk.rain`), landslide and dangerous-rock scores
(:mod:`~warn.risk.landslide`), urban waterlogging (:mod:`~warn.risk.waterlogging`), river
gauges (:mod:`~warn.risk.river`), flash flood (:mod:`~warn.risk.flashflood`), levels with
memory (:mod:`~warn.risk.levels`), drivers (:mod:`~warn.risk.drivers`) and the skill of
issued warnings (:mod:`~warn.risk.skill`).
Functions take arrays and frozen parameter objects (built from models/*.yaml by
:mod:`warn.modelfiles`) and return arrays: no I/O, no clock, no database, no settings.
The import contracts in ``.importlinter`` keep it so.
"""
