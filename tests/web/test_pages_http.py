"""The pages as HTTP sees them: public shells with a same-origin-only policy, and the
bundle's files versioned, gzipped and cacheable. No browser needed."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from robodine_edge.web import vendor
from robodine_edge.web.bundle import StaticBundle
from robodine_edge.web.pages import PAGES, preferred_language
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with ServiceProcess(tmp_path_factory.mktemp("pages")) as running:
        yield running


def asset_paths(shell: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', shell)


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_is_public_html_allowing_only_its_own_origin(service: ServiceProcess, path: str) -> None:
    response = service.http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert re.fullmatch(r"'self' 'sha256-[A-Za-z0-9+/=]+'", policy["script-src"])
    assert "http" not in response.headers["content-security-policy"]
    assert not re.search(r'(?:src|href)="(?:https?:)?//', response.text)
    for asset in asset_paths(response.text):
        assert service.http.get(asset).status_code == 200, asset


def test_the_import_map_is_the_one_inline_script_and_its_hash_is_allowed(service: ServiceProcess) -> None:
    response = service.http.get("/dashboard")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
    inline = [body for attrs, body in scripts if "src=" not in attrs]
    assert len(inline) == 1
    digest = hashlib.sha256(inline[0].encode()).digest()
    assert f"'sha256-{base64.b64encode(digest).decode()}'" in response.headers["content-security-policy"]


def test_assets_are_gzipped_cached_for_good_and_revalidated(service: ServiceProcess) -> None:
    shell = service.http.get("/").text
    script = next(a for a in asset_paths(shell) if a.endswith("/app/signin.js"))
    zipped = service.http.get(script, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    plain = service.http.get(script, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content.startswith(b"//")
    again = service.http.get(script, headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = service.http.get(script.replace(script.split("/")[2], "000000000000"))
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("name", ["../../../etc/passwd", "app/nothing.js", "..%2F..%2Fpages.py", "app"])
def test_no_path_outside_the_bundle_is_served(service: ServiceProcess, name: str) -> None:
    response = service.http.get(f"/static/v/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_first_load_of_the_dashboard_is_small(service: ServiceProcess) -> None:
    """SPEC's budget for a first load is 300 KB compressed; the shell and every file it
    names (and the modules they import) stay well inside it."""
    bundle = StaticBundle.load()
    total = sum(len(a.packed or a.raw) for name, a in bundle.assets.items() if not name.startswith("vendor/licenses"))
    assert total < 300_000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("ko", "ko"),
        ("fr-FR, ko;q=0.5", "en"),
        ("en;q=0.2, ko;q=0.7", "ko"),
        ("", "en"),
        ("ko;q=bad, en", "en"),
    ],
)
def test_the_shell_names_the_browsers_preferred_language(header: str, expected: str) -> None:
    assert preferred_language(header) == expected


def test_the_vendored_files_are_the_pinned_ones() -> None:
    assert vendor.check() == []


def test_a_changed_vendored_file_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(vendor.STATIC_DIR, copy)
    target = copy / "vendor" / "preact.mjs"
    target.write_bytes(target.read_bytes() + b"\n// patched")
    (copy / "vendor" / "htm.mjs").unlink()
    problems = vendor.check(copy)
    assert any(p.startswith("vendor/preact.mjs: SHA-256") for p in problems)
    assert "vendor/htm.mjs: missing (run `make vendor`)" in problems


def test_every_vendored_module_is_in_the_import_map() -> None:
    mapping = vendor.import_map(vendor.load_manifest(), "/static/x")["imports"]
    assert mapping == {
        "preact": "/static/x/vendor/preact.mjs",
        "preact/hooks": "/static/x/vendor/preact-hooks.mjs",
        "htm": "/static/x/vendor/htm.mjs",
        "@preact/signals-core": "/static/x/vendor/signals-core.mjs",
        "@preact/signals": "/static/x/vendor/signals.mjs",
    }


def test_gzip_of_the_bundle_is_deterministic() -> None:
    first, second = StaticBundle.load(), StaticBundle.load()
    assert first.version == second.version
    name = "vendor/preact.mjs"
    assert first.assets[name].packed == second.assets[name].packed
    assert gzip.decompress(first.assets[name].packed or b"") == first.assets[name].raw
