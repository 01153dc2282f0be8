"""The HTTP and WebSocket room: the Sanic app, its routes, the live hub and `/ws`.

* `app` — the app factory (`create_app`); `context` — what handlers reach (`ApiContext`);
  `routing` — routers that validate and declare each route for OpenAPI; `idempotency` —
  the `Idempotency-Key` protocol of creating requests; `errors` — the one error shape;
  `middleware`, `openapi`, `schemas`.
* `auth` — the gate every route passes (bearer tokens, roles, revocations).
* `hub`, `topics`, `outbound`, `snapshots`, `ws`, `wsframe`, `orphans` — the live topics
  and the WebSocket; `live` — camera MJPEG.
* `routes/` — one module per router.

Runs on the event loop and reaches actors only through `threads.bridge`. May import
the actors' slots and proxies, `threads`, `auth`, `data` (the read pool), `domain`,
`protocol`, `process`, `federation` (its status for `/health`), `web` (its routes) and
the core; never `net`.
"""
