"""`make vendor` against a registry served on 127.0.0.1: a tarball is written only when
its SHA-512 is the registry's integrity and each file's SHA-256 is the pinned one."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from robodine_edge.web.vendor import REGISTRY, VendoredFile, VendoredPackage, VendorError, fetch

CONTENT = b"export default 42;\n"


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def package(served: bytes, *, sha256: str | None = None, claimed: str | None = None) -> VendoredPackage:
    file = VendoredFile(
        "demo", "1.0.0", "package/x.mjs", "vendor/x.mjs", sha256 or hashlib.sha256(CONTENT).hexdigest(), "x"
    )
    url = f"{REGISTRY}/demo/-/demo-1.0.0.tgz"
    return VendoredPackage("demo", "1.0.0", "MIT", url, claimed or integrity(served), (file,))


@pytest.fixture
def registry() -> Iterator[tuple[str, dict[str, bytes]]]:
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="registry", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", served
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_verified_package_is_written(registry: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, served = registry
    served["/demo/-/demo-1.0.0.tgz"] = data = tarball({"package/x.mjs": CONTENT})
    assert fetch(tmp_path, [package(data)], registry=url) == ["vendor/x.mjs"]
    assert (tmp_path / "vendor" / "x.mjs").read_bytes() == CONTENT


def test_a_tarball_that_is_not_the_registrys_is_refused(registry: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, served = registry
    served["/demo/-/demo-1.0.0.tgz"] = tarball({"package/x.mjs": CONTENT})
    with pytest.raises(VendorError, match="SHA-512"):
        fetch(tmp_path, [package(b"", claimed=integrity(b"another tarball"))], registry=url)
    assert not (tmp_path / "vendor").exists()


def test_a_file_that_differs_from_its_pin_is_refused(registry: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, served = registry
    served["/demo/-/demo-1.0.0.tgz"] = data = tarball({"package/x.mjs": b"export default 43;\n"})
    with pytest.raises(VendorError, match="differs from its pinned SHA-256"):
        fetch(tmp_path, [package(data)], registry=url)
    assert not (tmp_path / "vendor").exists()


def test_a_missing_file_or_package_is_named(registry: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, served = registry
    served["/demo/-/demo-1.0.0.tgz"] = data = tarball({"package/other.mjs": CONTENT})
    with pytest.raises(VendorError, match=r"no file package/x\.mjs"):
        fetch(tmp_path, [package(data)], registry=url)
    with pytest.raises(VendorError, match="cannot download"):
        fetch(tmp_path, [package(data)], registry=url + "/nowhere")
