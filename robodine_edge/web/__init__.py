"""The screens staff and guests use from a browser, served by the edge itself.

Sign in, the staff dashboard, the kitchen display and the table kiosk (docs/SCREENS.md)
are static files of this package (`static/`: our ES modules and styles, and the
vendored libraries pinned in `vendor.toml`), loaded with no build step and nothing from
any other host. They use only the public HTTP API and `/ws`. May import `http.routing` and `http.context`
(to declare their routes and what a handler gets) and `errors`; nothing else of ours.
"""
