"""The chaos drill: the demo storm through a real ``warn run`` process while things go wrong on a seeded schedule.

:mod:`~warn.sim.chaos.faults` (what goes wrong and when), :mod:`~warn.sim.chaos.drill` (one
drill), :mod:`~warn.sim.chaos.invariants` (what must hold), with the pieces they drive:
:mod:`~warn.sim.chaos.broker` (a Mosquitto of the drill's own), :mod:`~warn.sim.chaos.devices`
(MQTT devices) and :mod:`~warn.sim.chaos.process` (the service process and its deployment).
``bench/chaos.py`` runs the full storm; ``tests/sim/chaos/`` a shortened one in CI.
"""
