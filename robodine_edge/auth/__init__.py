"""Who may do what: passwords, tokens, staff accounts and kiosk credentials.

* `passwords` — hashing and checking (argon2; the `kdf` pool runs it off the loop).
* `tokens` — bearer tokens: issued, checked, refreshed (PyJWT).
* `accounts` — users: the first admin and its password (`ensure_admin`), sign-in,
  sessions, changes of role or password; units of work on the writer's thread.
* `kiosks` — a table's kiosk and the user it signs in as.

The HTTP side of signing in is `http/auth.py` (the gate every route passes) and
`http/routes/auth.py`. May import `data` (models, rows, sessions) and the core
(`errors`, `types`, `clock`); nothing that runs on the loop or in an actor.
"""
