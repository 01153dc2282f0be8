"""Headquarters (`robodine-edge hq`): the chain side of federation (docs/FEDERATION.md).

It holds the consumer of the stores' MQTT traffic (`consumer`), the chain database
(`schema`, `storage` writes, `queries` reads; PostgreSQL or SQLite through peewee), the
pure wire parsing of what stores send (`messages`) and of the `cfg` HQ pushes (`cfg`), the
HTTP API (`api`) and the composition root (`service`).

It may import the package's core (config, errors, clock, datadir, logs) and the HTTP error
mapping of `robodine_edge.http.errors`; never the store's actors, its SQLite models or
`robodine_edge.federation` (the store side), so headquarters runs with no store beside it.
"""
