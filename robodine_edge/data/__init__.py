"""The database: its folder, file, schema and migrations, and the units of work on it.

* `datadir` — the data directory (private, locked, bound before anything is created).
* `db` — the SQLite connection settings (WAL, synchronous) and the read pool's helpers.
* `models` — the peewee models; `migrations` — the schema's versions, applied at start.
* one module per part of the domain (`orders`, `tables`, `robots`, `events`, ...):
  writers run on the writer actor's thread (handed over with `Writer.write`), readers on
  a read-pool thread.

May import the pure rooms (`domain`, `protocol`, whose `mqtt` bodies the outbox stores)
and the core (`errors`, `types`, `clock`, `config`); never actors, threads or the network.
"""
