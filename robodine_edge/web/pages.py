"""The screens' routes: sign in (`/`), `/dashboard`, `/kitchen`, `/kiosk`, and their files.

A page is a small HTML shell answered without a token (the data behind it needs one):
it names its module and the import map of the vendored libraries, and the module does
the rest through the public API and `/ws`. Every shell carries a Content-Security-Policy
that lets the page load and connect to this origin only; its one inline script is the
import map, allowed by its hash. Handlers run on the event loop; the bundle is read once
in a worker thread (`bundle.StaticBundle.load`).
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass

from sanic import HTTPResponse

from robodine_edge.errors import NotFound
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter
from robodine_edge.web.bundle import Asset, StaticBundle

router = ApiRouter(tag="pages")
LANGUAGES = ("en", "ko")
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Page:
    module: str
    title: str


PAGES = {
    "/": Page("signin", "robodine"),
    "/dashboard": Page("dashboard", "robodine · dashboard"),
    "/kitchen": Page("kitchen", "robodine · kitchen"),
    "/kiosk": Page("kiosk", "robodine · table"),
}

SHELL = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{prefix}/app/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{prefix}/app/style.css">
<script type="importmap">{import_map}</script>
<script type="module" src="{prefix}/app/{module}.js"></script>
</head><body data-page="{module}"><main id="app"></main>
<noscript>This screen needs JavaScript. / 이 화면은 JavaScript가 필요합니다.</noscript>
</body></html>
"""


def preferred_language(accept_language: str) -> str:
    """`ko` when the browser's most preferred language is Korean, else `en`."""
    best, best_q = "en", -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > best_q:
            best, best_q = tag.strip().lower(), quality
    return "ko" if best.startswith("ko") else "en"


def content_security_policy(bundle: StaticBundle) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {bundle.import_map_source}",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


async def bundle_of(request: ApiRequest) -> StaticBundle:
    """The app's bundle, loaded on first use in a worker thread (then shared)."""
    ctx = request.app.ctx
    loading = ctx.web_bundle
    if loading is None:
        loading = ctx.web_bundle = asyncio.get_running_loop().run_in_executor(None, StaticBundle.load)
    return await asyncio.shield(loading)


async def _shell(request: ApiRequest, path: str) -> HTTPResponse:
    bundle = await bundle_of(request)
    page = PAGES[path]
    body = SHELL.format(
        lang=preferred_language(request.headers.get("accept-language", "")),
        title=html.escape(page.title),
        prefix=bundle.prefix,
        import_map=bundle.import_map,
        module=page.module,
    )
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(bundle),
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Language",
    }
    return HTTPResponse(body, content_type="text/html; charset=utf-8", headers=headers)


@router.get("/", roles=None, summary="Sign in", in_schema=False, content_type="text/html")
async def signin_page(request: ApiRequest) -> HTTPResponse:
    return await _shell(request, "/")


@router.get("/dashboard", roles=None, summary="Staff dashboard", in_schema=False, content_type="text/html")
async def dashboard_page(request: ApiRequest) -> HTTPResponse:
    return await _shell(request, "/dashboard")


@router.get("/kitchen", roles=None, summary="Kitchen display", in_schema=False, content_type="text/html")
async def kitchen_page(request: ApiRequest) -> HTTPResponse:
    return await _shell(request, "/kitchen")


@router.get("/kiosk", roles=None, summary="Table kiosk", in_schema=False, content_type="text/html")
async def kiosk_page(request: ApiRequest) -> HTTPResponse:
    return await _shell(request, "/kiosk")


@router.get("/static/<version:str>/<name:path>", roles=None, summary="Page asset", in_schema=False)
async def static_asset(request: ApiRequest, version: str, name: str) -> HTTPResponse:
    """A file of the bundle. Under the current version it may be cached for good; under
    another (a page loaded before an update) it is served, but revalidated next time."""
    bundle = await bundle_of(request)
    asset = bundle.assets.get(name)
    if asset is None:
        raise NotFound(f"no page file {name!r}")
    cache = IMMUTABLE if version == bundle.version else "no-cache"
    return asset_response(request, asset, cache)


def asset_response(request: ApiRequest, asset: Asset, cache: str) -> HTTPResponse:
    headers = {"Cache-Control": cache, "ETag": asset.etag, "X-Content-Type-Options": "nosniff"}
    if asset.packed is not None:
        headers["Vary"] = "Accept-Encoding"
    if asset.etag in request.headers.get("if-none-match", ""):
        return HTTPResponse(status=304, headers=headers)
    if asset.packed is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return HTTPResponse(asset.packed, content_type=asset.content_type, headers=headers)
    return HTTPResponse(asset.raw, content_type=asset.content_type, headers=headers)
