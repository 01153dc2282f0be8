"""API documentation pages that work offline: /docs (Swagger UI), /redoc, /openapi.json.

The JavaScript and CSS come from the `openapi-ui-bundles` package and are served by
the service itself (a Pi behind the counter has no CDN). Assets are read and gzipped
once, off the event loop, on first use.
"""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
from functools import cache
from pathlib import Path

from openapi_ui_bundles import redoc, swagger_ui
from sanic import HTTPResponse

from robodine_edge.errors import NotFound
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter

router = ApiRouter(tag="docs")

ASSETS: dict[str, Path] = {
    "swagger-ui-bundle.js": swagger_ui.static_path / "swagger-ui-bundle.js",
    "swagger-ui.css": swagger_ui.static_path / "swagger-ui.css",
    "favicon-32x32.png": swagger_ui.static_path / "favicon-32x32.png",
    "redoc.standalone.js": redoc.static_path / "redoc.standalone.js",
}

SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>robodine-edge API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  validatorUrl: null, persistAuthorization: true, presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});
</script></body></html>
"""

REDOC_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>robodine-edge API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/static/redoc.standalone.js"></script></body></html>
"""


OFFLINE: dict[str, list[tuple[bytes, bytes]]] = {
    # ReDoc's sidebar logo is an <img> from Redocly's CDN; with a src that fails to load
    # ReDoc drops the image (its onError), so the page asks nothing of the internet.
    "redoc.standalone.js": [(b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,")],
}
"""URLs outside the store in the bundled assets, and what is served instead. (Swagger
UI's one, its spec validator badge, is turned off in the page: `validatorUrl: null`.)"""


@cache
def _asset(name: str) -> tuple[bytes, bytes, str]:
    """(raw, gzipped, content type) of one asset. Runs in a worker thread, once per name."""
    raw = ASSETS[name].read_bytes()
    for outside, inside in OFFLINE.get(name, []):
        raw = raw.replace(outside, inside)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return raw, gzip.compress(raw, compresslevel=6), content_type


def _html(page: str) -> HTTPResponse:
    return HTTPResponse(page, content_type="text/html; charset=utf-8")


@router.get("/docs", roles=None, summary="Swagger UI", in_schema=False, content_type="text/html")
async def swagger_page(request: ApiRequest) -> HTTPResponse:
    return _html(SWAGGER_PAGE)


@router.get("/redoc", roles=None, summary="ReDoc", in_schema=False, content_type="text/html")
async def redoc_page(request: ApiRequest) -> HTTPResponse:
    return _html(REDOC_PAGE)


@router.get("/openapi.json", roles=None, summary="OpenAPI document", in_schema=False)
async def openapi_document(request: ApiRequest) -> HTTPResponse:
    return HTTPResponse(request.app.ctx.openapi_json, content_type="application/json")


@router.get("/docs/static/<name:str>", roles=None, summary="Documentation asset", in_schema=False)
async def asset(request: ApiRequest, name: str) -> HTTPResponse:
    if name not in ASSETS:
        raise NotFound(f"no documentation asset {name!r}")
    raw, packed, content_type = await asyncio.get_running_loop().run_in_executor(None, _asset, name)
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return HTTPResponse(packed, content_type=content_type, headers=headers)
    return HTTPResponse(raw, content_type=content_type, headers=headers)
