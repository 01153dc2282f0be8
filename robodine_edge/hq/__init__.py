"""Headquarters (`robodine-edge hq`): the chain side of federation (docs/FEDERATION.md).

It holds the consumer of the stores' MQTT traffic (`consumer`), the chain database
(`schema`, `storage` writes, `queries` reads; PostgreSQL or SQLite through peewee), the
pure wire parsing of what stores send (`messages`) and of the `cfg` HQ pushes (`cfg`), the
HTTP API (`api`) and the composition root (`service`).

It may import the core (`config`, `errors`, `clock`), `data.datadir`, `process.logs`,
`protocol.mqtt`, `net.sockets`, and of `http` the error mapping and the settings' schema
it pushes; never the store's actors, its SQLite models or `federation` (the store side),
so headquarters runs with no store beside it.
"""
