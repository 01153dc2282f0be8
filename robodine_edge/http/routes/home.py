"""`GET /`: where to start, until the web pages are served here.

Someone who opens the edge's address in a browser (the `_http._tcp` record sends tablets
to `/` too) gets links to the API documentation and the health check instead of a bare
404: a small page for a browser, JSON for anything else. The sign-in page replaces this
module when it exists; nothing else refers to it but the router list in `http/app.py`.
"""

from __future__ import annotations

from html import escape

from sanic import HTTPResponse, Request

from robodine_edge import __version__
from robodine_edge.http.routing import ApiRouter, json_response

router = ApiRouter(tag="home")

LINKS = {
    "docs": ("/docs", "API reference (Swagger UI: try the API, sign in with Authorize)"),
    "redoc": ("/redoc", "API reference (ReDoc)"),
    "openapi": ("/openapi.json", "OpenAPI document"),
    "health": ("/health", "Health check"),
}

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>robodine-edge {store}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em">
<h1>robodine-edge</h1><p>Store <b>{store}</b>, version {version}. The HTTP API is under <code>/api</code>.</p>
<ul>{links}</ul></body></html>
"""


@router.get("/", roles=None, summary="Where to start", in_schema=False)
async def home(request: Request) -> HTTPResponse:
    """Runs on the event loop; public, like the documentation it points to."""
    store = request.app.ctx.api.config.store.id
    if "text/html" in request.headers.get("accept", ""):
        links = "".join(f'<li><a href="{path}">{escape(text)}</a></li>' for path, text in LINKS.values())
        page = PAGE.format(store=escape(store), version=escape(__version__), links=links)
        return HTTPResponse(page, content_type="text/html; charset=utf-8")
    body = {"service": "robodine-edge", "store": store, "version": __version__, "api": "/api"}
    return json_response(body | {name: path for name, (path, _) in LINKS.items()})
