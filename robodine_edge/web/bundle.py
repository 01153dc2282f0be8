"""The pages' files, read once and kept ready to send: raw, gzipped, with an ETag.

Everything under `static/` (our modules and styles, and the vendored libraries) is one
bundle with one version: a hash of every file's content. The pages ask for
`/static/<version>/<file>`, so a browser may keep a file for a year (`immutable`) and an
update of the service is seen at the next page load, never a mix of old and new files.
Loading runs once, in a worker thread (see `web.pages`); the result is read-only, so
the event loop then serves from it without locks.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import orjson

from robodine_edge.web import vendor

GZIP_MIN_BYTES = 256
CONTENT_TYPES = {
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".wav": "audio/wav",
}
COMPRESSIBLE = (".mjs", ".js", ".css", ".svg", ".json", ".txt")


@dataclass(frozen=True, slots=True)
class Asset:
    raw: bytes
    packed: bytes | None
    """The gzipped body, when compressing pays (text of `GZIP_MIN_BYTES` or more)."""
    content_type: str
    etag: str


@dataclass(frozen=True)
class StaticBundle:
    version: str
    """12 hex digits of a hash over every file: part of every asset's URL."""
    assets: dict[str, Asset]
    """By path under `static/`, with `/` separators."""
    import_map: str
    """The pages' `<script type="importmap">` body (JSON)."""
    import_map_source: str
    """The import map's CSP source (`'sha256-…'`): the one inline script a page may run."""

    @property
    def prefix(self) -> str:
        return f"/static/{self.version}"

    @classmethod
    def load(cls, static_dir: Path = vendor.STATIC_DIR) -> StaticBundle:
        """Read and compress every file. Blocking: a worker thread runs it, once."""
        files = sorted(p for p in static_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
        assets = {}
        whole = hashlib.sha256()
        for path in files:
            name = path.relative_to(static_dir).as_posix()
            raw = path.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            whole.update(f"{name}\0{digest}\0".encode())
            assets[name] = Asset(raw, _pack(name, raw), _content_type(name), f'"{digest[:20]}"')
        version = whole.hexdigest()[:12]
        mapping = orjson.dumps(vendor.import_map(vendor.load_manifest(), f"/static/{version}")).decode()
        source = "'sha256-" + base64.b64encode(hashlib.sha256(mapping.encode()).digest()).decode() + "'"
        return cls(version, assets, mapping, source)


def _content_type(name: str) -> str:
    suffix = Path(name).suffix
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _pack(name: str, raw: bytes) -> bytes | None:
    if not name.endswith(COMPRESSIBLE) or len(raw) < GZIP_MIN_BYTES:
        return None
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    return packed if len(packed) < len(raw) else None
