"""The documentation describes the whole outside of the service, in the repository itself.

A clone has README.md and docs/ and nothing else: no page, no packaged config comment,
no OpenAPI text and no CLI help may send its reader to a file outside the repository;
every relative link must land on a file (and heading) that exists; and every interface
a user or integrator needs — config keys and their variables, CLI commands and options,
routes, WebSocket topics, robot frames and commands, legacy frames, metrics, error
codes — must be named in the page that describes it, so adding one without writing it
down fails here. Pure file and import checks: no service is started.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path

import pytest

from robodine_edge import config as config_module
from robodine_edge import errors
from robodine_edge.cli import build_parser
from robodine_edge.http.app import route_specs
from robodine_edge.http.errors import STATUS
from robodine_edge.http.openapi import build_openapi
from robodine_edge.http.topics import TOPIC_KEYS
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol import legacy, link

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
OUTSIDE = re.compile(r"\.\./shared|SPEC\.md|\bSPEC\b")
"""A path out of the repository, the outside contract's file, or "SPEC §N" pointers to it."""
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def text_of(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def prose(markdown: str) -> str:
    """Markdown without code blocks and code spans, where link syntax is only text."""
    return CODE_SPAN.sub("", FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group(0) == "_" else "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    for line in FENCE.sub("", markdown).splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            base = slug(match.group(1))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


# -- nothing points outside the repository ------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name if p.parent == DOCS else f"../{p.name}")
def test_pages_point_to_nothing_outside_the_repository(page: Path) -> None:
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        assert not OUTSIDE.search(line), f"{page.relative_to(ROOT)}:{number}: {line.strip()}"


def test_config_files_and_the_unit_point_to_nothing_outside() -> None:
    for path in [
        ROOT / "robodine_edge" / "default.toml",
        *(ROOT / "config").glob("*.toml"),
        *(ROOT / "systemd").glob("*"),
    ]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not OUTSIDE.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def test_no_file_of_the_repository_names_a_path_outside_it() -> None:
    """Code comments may say what they like, but not send a reader to a file a clone lacks."""
    path_out = re.compile(r"\.\./shared|SPEC\.md")
    roots = ["robodine_edge", "actors", "tests", "bench", "config", "systemd", "docs"]
    files = [p for r in roots for p in (ROOT / r).rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".toml", "")]
    files += [ROOT / name for name in ("README.md", "Makefile", "setup.py", "pyproject.toml")]
    for path in files:
        if path == Path(__file__).resolve() or "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not path_out.search(text), path.relative_to(ROOT)


def test_the_openapi_description_points_to_nothing_outside() -> None:
    document = json.dumps(build_openapi(route_specs(), title="robodine-edge", version="0"))
    assert not OUTSIDE.search(document), OUTSIDE.search(document)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (group,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(group.choices)


def test_the_cli_help_points_to_nothing_outside() -> None:
    for text in [build_parser().format_help(), *(p.format_help() for p in _subcommands().values())]:
        assert not OUTSIDE.search(text), text


# -- links land -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name if p.parent == DOCS else f"../{p.name}")
def test_every_relative_link_lands_on_a_file_and_heading(page: Path) -> None:
    markdown = page.read_text(encoding="utf-8")
    for target in LINK.findall(prose(markdown)):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        assert path.exists(), f"{page.name}: {target} names no file"
        assert ROOT in path.parents or path == ROOT, f"{page.name}: {target} leaves the repository"
        if anchor:
            assert path.suffix == ".md", f"{page.name}: {target}"
            assert anchor in anchors(path.read_text(encoding="utf-8")), f"{page.name}: {target}: no such heading"


def test_the_slug_rule_matches_github() -> None:
    assert slug("Legacy robots (`legacy.enabled = true`)") == "legacy-robots-legacyenabled--true"
    assert slug("Events (`/api/events`, staff)") == "events-apievents-staff"
    assert slug("`robodine-edge simulate`") == "robodine-edge-simulate"
    assert slug("runtime.json") == "runtimejson"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


# -- every interface is written down ----------------------------------------------------------


def test_every_config_key_and_variable_is_in_config_md() -> None:
    page = text_of("CONFIG.md")
    defaults = tomllib.loads((ROOT / "robodine_edge" / "default.toml").read_text(encoding="utf-8"))
    keys = [f"{section}.{key}" for section, table in defaults.items() for key in table]
    assert len(keys) > 15
    for key in keys:
        assert f"`{key}`" in page, key
        assert f"`{config_module.env_name(key)}`" in page, (key, config_module.env_name(key))
    for name in ("`[[serial]]`", "`ROBODINE_SERIAL`", "`ROBODINE_ADMIN_PASSWORD`", "`ROBODINE_CONFIG`"):
        assert name in page, name


def test_every_cli_command_and_option_is_in_operations_md() -> None:
    page = text_of("OPERATIONS.md")
    assert "`robodine-edge --version`" in page
    for name, parser in _subcommands().items():
        assert f"robodine-edge {name}" in page, name
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert re.search(rf"(?<![\w-]){option}(?![\w-])", page), (name, option)


PATH_PARAM = re.compile(r"<(\w+)(:[^>]*)?>")


def test_every_route_is_in_api_md() -> None:
    page = text_of("API.md")
    screens = text_of("SCREENS.md")
    for spec in route_specs():
        if spec.tag == "pages":  # the screens and their files: docs/SCREENS.md
            shown = PATH_PARAM.sub(r"<\1>", spec.path)
            assert f"`{shown}`" in screens, spec.path
            continue
        if not spec.in_schema:
            assert spec.path.startswith(("/docs", "/redoc", "/openapi.json")), spec.path
            continue
        path = re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", spec.path)
        assert re.search(re.escape(f"{spec.method} {path}") + r"(?![\w/{}.-])", page), f"{spec.method} {path}"
    for public in ("/docs", "/redoc", "/openapi.json"):
        assert f"`{public}`" in page, public


def test_every_websocket_topic_is_in_api_md() -> None:
    page = text_of("API.md")
    for topic in TOPIC_KEYS:
        assert re.search(rf"^\| `{topic}` \| `{TOPIC_KEYS[topic]}` \|", page, re.M), topic
    for code in ("4401", "4403", "4404", "1013", "1001", "auth_ok", "auth_invalid", "id_reuse", "unsubscribe"):
        assert code in page, code


def test_every_api_error_code_is_in_api_md() -> None:
    page = text_of("API.md")
    codes = {cls.code: status for cls, status in STATUS.items()}
    codes.update({sub.code: 409 for sub in errors.Conflict.__subclasses__()})
    assert {"out_of_stock", "invalid_transition", "idempotency_conflict"} <= set(codes)
    for code, status in codes.items():
        assert re.search(rf"^\| {status} \| `{code}` \|", page, re.M), (status, code)


def test_every_robot_frame_command_and_legacy_frame_is_in_robots_md() -> None:
    page = text_of("ROBOTS.md")
    for frame_type in link._DECODERS:
        assert re.search(rf"^\| `{frame_type}` \|", page, re.M), frame_type
    for name in link.COMMANDS:
        assert re.search(rf"^\| `{name}` \|", page, re.M), name
    for msg_type in legacy._DECODERS:
        assert re.search(rf"^\| `{msg_type}` \|", page, re.M), msg_type
    for word, state in legacy.STATES.items():
        assert f"| `{word}` | `{state}` |" in page, word
    for code in ("welcome", "auth_failed", "unsupported_proto", "unavailable", "hello_required", "hello_timeout",
                 "already_linked", "bad_frame", "RDV1", "_robodine._tcp.local.", "_http._tcp.local."):  # fmt: skip
        assert code in page, code


def test_every_metric_is_in_operations_md() -> None:
    page = text_of("OPERATIONS.md")
    metrics = Metrics()
    metrics.watch_mailboxes(dict)
    exposition = metrics.render().decode()
    names = re.findall(r"^# TYPE (\w+) \w+$", exposition, re.M)  # as scraped: counters end in _total
    assert len(names) > 10
    for name in names:
        assert f"`{name}`" in page, name
