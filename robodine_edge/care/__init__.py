"""Operations that keep the device healthy for a year: backups, retention of history,
recovery of a damaged database, the watch on free disk space and on the card's wear.

Each module has one job. Recovery runs on the main thread at start, before anything
opens the database; the rest are jobs on the care threads (`rota.Rota`), which hand
every write to the writer actor in small units, so none of it blocks the event loop or
holds the single writer for long (docs/ARCHITECTURE.md, "Keeping data safe").
`snapshot` is the consistent copy (and its restore) that `backup`, `restore` and the
scheduled backups share. May import `actors.storage` (the writer), `data`, `process`,
`config` and the core.
"""
