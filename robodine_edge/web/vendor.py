"""The third-party files the pages load: pinned in `vendor.toml`, fetched by `make vendor`.

The pages must work on a store's network with no internet, and nothing is built at run
time, so the few libraries they use (Preact, htm, Preact Signals) are files of this
package, taken from the npm registry. This module reads the manifest, checks the files
on disk against it (the tests do, so a hand-edited copy cannot ship), and fetches them
again: each tarball is checked against the registry's SHA-512 `integrity`, each file
taken from it against its SHA-256. Runs in a developer's shell or a test, never in the
service.

    python -m robodine_edge.web.vendor            # check the files on disk
    python -m robodine_edge.web.vendor --fetch    # download, verify and write them
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from robodine_edge.errors import RobodineError

WEB_DIR = Path(__file__).parent
MANIFEST = WEB_DIR / "vendor.toml"
STATIC_DIR = WEB_DIR / "static"
REGISTRY = "https://registry.npmjs.org"
FETCH_TIMEOUT_S = 60.0


class VendorError(RobodineError):
    """A vendored file is missing, differs from its pin, or could not be fetched."""


@dataclass(frozen=True)
class VendoredFile:
    package: str
    version: str
    source: str
    """Path inside the package's tarball."""
    target: str
    """Path under the static folder, as the pages request it."""
    sha256: str
    module: str | None
    """The bare module name the import map gives this file, if the pages import it."""


@dataclass(frozen=True)
class VendoredPackage:
    name: str
    version: str
    license: str
    tarball: str
    integrity: str
    files: tuple[VendoredFile, ...]


def load_manifest(path: Path = MANIFEST) -> list[VendoredPackage]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    packages = []
    for entry in raw["package"]:
        files = tuple(
            VendoredFile(entry["name"], entry["version"], f["from"], f["to"], f["sha256"], f.get("import"))
            for f in entry["files"]
        )
        packages.append(
            VendoredPackage(
                entry["name"], entry["version"], entry["license"], entry["tarball"], entry["integrity"], files
            )
        )
    return packages


def import_map(packages: list[VendoredPackage], prefix: str) -> dict[str, dict[str, str]]:
    """The pages' import map: each bare module name to its file under `prefix`."""
    return {"imports": {f.module: f"{prefix}/{f.target}" for p in packages for f in p.files if f.module}}


def check(static_dir: Path = STATIC_DIR, packages: list[VendoredPackage] | None = None) -> list[str]:
    """What is wrong with the vendored files on disk (an empty list when all match)."""
    problems = []
    for package in packages if packages is not None else load_manifest():
        for file in package.files:
            path = static_dir / file.target
            if not path.is_file():
                problems.append(f"{file.target}: missing (run `make vendor`)")
            elif (digest := hashlib.sha256(path.read_bytes()).hexdigest()) != file.sha256:
                problems.append(f"{file.target}: SHA-256 {digest} is not the pinned {file.sha256}")
    return problems


def fetch(
    static_dir: Path = STATIC_DIR, packages: list[VendoredPackage] | None = None, registry: str = REGISTRY
) -> list[str]:
    """Download every package, verify it, and write its files; returns what was written.

    `registry` replaces the manifest's registry address (a mirror, or a test's server).
    Nothing is written unless every check of that package passed."""
    written = []
    for package in packages if packages is not None else load_manifest():
        url = package.tarball.replace(REGISTRY, registry.rstrip("/"), 1)
        tarball = _download(url)
        _verify_integrity(package, tarball)
        contents = _extract(package, tarball)
        for file in package.files:
            path = static_dir / file.target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(contents[file.target])
            written.append(file.target)
    return written


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
            return bytes(response.read())
    except OSError as exc:
        raise VendorError(f"cannot download {url}: {exc}") from None


def _verify_integrity(package: VendoredPackage, tarball: bytes) -> None:
    algorithm, _, expected = package.integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"{package.name}: unsupported integrity {algorithm!r} (the registry gives sha512)")
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != expected:
        raise VendorError(f"{package.name} {package.version}: the tarball's SHA-512 is not the registry's integrity")


def _extract(package: VendoredPackage, tarball: bytes) -> dict[str, bytes]:
    contents = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for file in package.files:
            try:
                member = archive.extractfile(file.source)
            except KeyError:
                member = None
            if member is None:
                raise VendorError(f"{package.name} {package.version}: no file {file.source} in the tarball")
            data = member.read()
            if hashlib.sha256(data).hexdigest() != file.sha256:
                raise VendorError(f"{package.name} {package.version}: {file.source} differs from its pinned SHA-256")
            contents[file.target] = data
    return contents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robodine_edge.web.vendor", description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="download, verify and write the files")
    parser.add_argument("--registry", default=REGISTRY, help="npm registry address (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            for target in fetch(registry=args.registry):
                print(f"wrote {target}")
        problems = check()
    except VendorError as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"vendor: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
