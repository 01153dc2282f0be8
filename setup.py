"""Packaging for robodine-edge.

`actors/` sits at the top of the repository by design and is reached as
`robodine_edge.actors` through the symlink `robodine_edge/actors -> ../actors` (see
docs/ARCHITECTURE.md), so the code has one import root that every tool can follow.
"""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'^__version__ = "([^"]+)"', (HERE / "robodine_edge" / "__init__.py").read_text(), re.M).group(1)

INSTALL_REQUIRES = [
    "pykka>=4.1,<5",
    "sanic>=25.3,<26",
    "peewee>=4.0,<5",
    "pyserial>=3.5,<4",
    "zeroconf>=0.140,<1",
    # The machine's interface addresses (what mDNS advertises; zeroconf's own dependency).
    "ifaddr>=0.2,<1",
    "orjson>=3.10,<4",
    # Validation and the JSON Schema behind /openapi.json.
    "pydantic>=2.7,<3",
    # Bearer tokens (HS256): expiry, audience and algorithm checks done right.
    "PyJWT>=2.8,<3",
    # Password hashing with a memory-hard KDF.
    "argon2-cffi>=23.1,<26",
    # Prometheus text exposition for /metrics.
    "prometheus-client>=0.20,<1",
    # Swagger UI and ReDoc assets served by the service itself (an offline Pi has no CDN).
    "openapi-ui-bundles>=0.3,<1",
    # Chain federation (MQTT v5: QoS 1, retained, will, TLS) on the service's own event loop;
    # brings paho-mqtt 2.x, whose in-flight limit it exposes (docs/FEDERATION.md).
    "aiomqtt>=2.3,<3",
    # Headquarters' PostgreSQL, through peewee: psycopg 3 is the maintained driver (psycopg 2
    # only gets fixes) and its binary wheels carry libpq, for x86-64 and 64-bit ARM alike.
    "psycopg[binary]>=3.2,<4",
]

TEST_REQUIRES = [
    "pytest>=8,<10",
    "pytest-timeout>=2.3,<3",
    # The end-to-end tests mostly wait on other processes: run them side by side.
    "pytest-xdist>=3.5,<4",
    "hypothesis>=6.100,<7",
    "httpx>=0.27,<1",
    "sanic-testing>=24.6,<25",
    "websockets>=12,<18",
    # Browser tests drive Debian's Chromium (the tests install the package when missing).
    "playwright>=1.45,<2",
    # A real JPEG decoder (libjpeg-turbo, as browsers use) reads the simulator's generated
    # frames back pixel by pixel; the service itself decodes no image.
    "Pillow>=10,<14",
    # Request bodies checked against /openapi.json as its readers check them (JSON Schema
    # 2020-12, ECMA-262 patterns): tests/http/test_openapi.py.
    "jsonschema-rs>=0.29,<1",
    # Schemathesis tries every operation of /openapi.json against the real process
    # (tests/http/test_openapi_fuzz.py, through its engine: its pytest plugin is off).
    "schemathesis>=4.32,<5",
    # Fails a test whose code blocks an event loop (tests/blocking.py), as python-zeroconf's suite does.
    "blockbuster>=1.5,<2",
]

LINT_REQUIRES = [
    "ruff>=0.6",
    # The type checker (`make lint`), with the stubs of what ships none.
    "mypy>=1.13,<3",
    "types-pyserial>=3.5",
    # The rooms' import rules (pyproject.toml, [tool.importlinter]): a layered layout
    # checked from the code itself, indirect imports included, not by hand.
    "import-linter>=2.1,<3",
]

setup(
    name="robodine-edge",
    version=VERSION,
    description="In-store edge service for a robot restaurant: orders, robots, live state, video.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    # find_packages walks into robodine_edge/actors (it follows symlinks); the wheel holds the files.
    packages=find_packages(include=["robodine_edge", "robodine_edge.*"]),
    package_data={
        "robodine_edge": ["default.toml", "web/vendor.toml", "web/static/*/*", "web/static/*/*/*"],
    },
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": TEST_REQUIRES, "lint": LINT_REQUIRES},
    entry_points={"console_scripts": ["robodine-edge = robodine_edge.cli:main"]},
)
