"""A municipality on one PostgreSQL store: every district's centre and the municipal centre (市级).

:func:`warn.municipal.init.init` writes one deployment folder per centre (its config.yaml, zone
layers, synthetic roster, playbooks and model files, :mod:`warn.municipal.deployments`) and provisions
the database: a schema and a LOGIN role per centre, isolation by PostgreSQL's privileges, the city's
response readable by the districts (:mod:`warn.store.municipal`).
"""
