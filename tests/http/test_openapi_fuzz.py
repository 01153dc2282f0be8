"""Schemathesis over /openapi.json against the real `robodine-edge` process, as admin.

Every operation in the document is tried with requests generated from it: its
boundary values, wrong types, missing parts and the methods it does not serve
(Schemathesis's coverage phase), then 25 random examples (its fuzzing phase). No
answer may be a 5xx; every answer must be one the operation documents, with the
documented content type and a body matching its schema; a 405 must carry `Allow`; a
request the document calls invalid must be refused, and one it calls valid accepted —
but for the refusals no schema can state (`UNSAYABLE`).

Schemathesis runs in-process through its engine (what its CLI runs): its pytest
plugin's lazy schemas do not work with this pytest. The fuzzer runs destructive
operations (deleting users, declaring emergencies, commanding robots) against a
service of its own, on a fresh data directory, and the harness keeps its admin able to
act: its own account is never the target of an edit or a deletion (those go to a
second admin, which the fuzzer may change as it likes), and logging out revokes a token
made for that request only.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e
EXAMPLES = 25
SHARDS = 3
"""The operations are dealt out to this many tests in turn (sorted by `METHOD path`), so
the suite's workers fuzz them side by side rather than one worker for ~40 s."""
SKIPPED = {
    "GET /api/video-streams/{camera_id}/live": "an MJPEG stream: it runs until the client leaves",
}
NO_ROW = r"no such [a-z ]+|unknown (robot_)?id"
UNSAYABLE: dict[tuple[str, str], str] = {
    ("*", "before"): NO_ROW,
    ("POST /api/kiosks", "table_id"): NO_ROW,
    ("POST /api/users", "table_id"): NO_ROW,
    ("PATCH /api/users/{user_id}", "table_id"): NO_ROW + "|(required|only) for role kiosk",
    ("POST /api/orders", "table_id"): NO_ROW,
    ("POST /api/orders", "items.*.menu_item_id"): NO_ROW,
    ("POST /api/menu", "ingredients.*.inventory_id"): NO_ROW + "|listed twice",
    ("PATCH /api/menu/{item_id}", "ingredients.*.inventory_id"): NO_ROW + "|listed twice",
    ("PATCH /api/settings", "body"): "Value error, battery_resume must be above battery_low",
    ("PATCH /api/settings", "kitchen_late_s"): r"Value error, must be above kitchen_warning_s \(\d+\)",
    ("PATCH /api/settings", "opening_hours"): r"Value error, [a-z]{3}: '[0-9:-]+' is not an HH:MM-HH:MM range",
    ("POST /api/video-streams", "robot_id"): NO_ROW,
    ("PATCH /api/video-streams/{camera_id}", "robot_id"): NO_ROW + "|(required|only) when source is robot",
}
"""(operation, field of a 422) -> the refusal of a valid request that no schema can state:
what the store holds decides it (an id naming no row, a cursor past no row, a user's or a
camera's stored role or source, the settings already set), or it compares values JSON
Schema cannot (an ingredient listed twice with two quantities; a range's end after its
start). `positive_data_acceptance` passes such a 422 when every field it names is here."""
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "unsupported_method",
    "allow_header_conformance",
    "missing_required_header",
    "ignored_auth",
)
"""Schemathesis's `all` but for `use_after_free`, `ensure_resource_availability` and
`object_level_authorization`, which judge stateful scenarios (links between operations,
a second user) this run does not generate, and `max_response_time`, a timing on a shared
machine. Who may call what is walked role by role in test_authorization_matrix.py."""


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with ServiceProcess(tmp_path_factory.mktemp("fuzzed") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def fuzz_token(fuzzed: ServiceProcess) -> str:
    """The admin's token, taken before any shard runs: the login operation's fuzzing fails
    logins until the address is refused (429) for the rest of the minute."""
    return fuzzed.token()


class AdminAuth:
    """The fuzzer's credentials, set on every case (Schemathesis's auth provider API,
    called on its worker threads)."""

    def __init__(self, service: ServiceProcess, token: str, shard: int) -> None:
        self.service = service
        self.token = token
        auth = service.auth(self.token)
        self.user_id = service.http.get("/api/auth/me", headers=auth).json()["id"]
        spare = service.http.post(
            "/api/users",
            headers=auth,
            json={"username": f"spare-admin-{shard}", "password": "spare-password", "role": "admin"},
        )
        assert spare.status_code == 201, spare.text
        self.spare_id = spare.json()["id"]

    def get(self, case: Any, ctx: Any) -> str:
        return self.token

    def set(self, case: Any, token: str, ctx: Any) -> None:
        own = case.path == "/api/users/{user_id}" and (case.path_parameters or {}).get("user_id") == self.user_id
        if own and case.method.upper() in ("PATCH", "DELETE"):
            case.path_parameters["user_id"] = self.spare_id
        if case.path == "/api/auth/logout":
            token = self.throwaway_token()
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    def throwaway_token(self) -> str:
        """A token of the same admin (`/api/auth/refresh`), for a request that revokes the
        token it carries. No login: the fuzzer's failed logins trip the login rate limit."""
        with httpx.Client(base_url=self.service.url, timeout=10) as client:
            response = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]


def operations_of(shard: int, paths: dict[str, Any]) -> set[str]:
    """The operations of the document's `paths` that `shard` fuzzes (`SKIPPED` left out)."""
    every = sorted(f"{method.upper()} {path}" for path, methods in paths.items() for method in methods)
    return set([operation for operation in every if operation not in SKIPPED][shard::SHARDS])


def fuzz(
    service: ServiceProcess, token: str, seed: int, shard: int
) -> tuple[list[str], Counter[str], dict[str, Counter[int]]]:
    """Run Schemathesis once over the operations of `shard`: its failures as text, counted
    by kind, and each operation's answers counted by status."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": service.url,
            "seed": seed,
            # One thread: CPython 3.11's AST parser is not thread-safe, and Hypothesis parses
            # its strategies' lambdas to describe them — two workers failed cases with
            # "AST constructor recursion depth mismatch" (SystemError). Shards run side by side.
            "workers": 1,
            "generation": {"max-examples": EXAMPLES},
            "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "continue-on-failure": True,
            "request-timeout": 30,
            "suppress-health-check": ["all"],
        }
    )
    document = orjson.loads(service.http.get("/openapi.json").content)
    ours = operations_of(shard, document["paths"])
    schema = schemathesis.openapi.from_dict(document, config=config).exclude(
        func=lambda ctx: f"{ctx.operation.method.upper()} {ctx.operation.path}" not in ours
    )
    schema.auth(refresh_interval=None)(_provider(AdminAuth(service, token, shard)))
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[event.recorder.label][interaction.response.status_code] += 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status != Status.FAILURE or check.failure_info is None:
                        continue
                    if check.name == "positive_data_acceptance" and _unsayable(event.recorder, case_id):
                        kinds["unsayable refusal (allowed)"] += 1
                        continue
                    kinds[check.name] += 1
                    failures.append(_describe(event.recorder, case_id, check))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            kinds["error"] += 1
            info = getattr(event, "info", None)  # a FatalError carries none
            failures.append(f"{getattr(event, 'label', '')}: {info.format() if info is not None else event}")
    return failures, kinds, statuses


def _provider(instance: AdminAuth) -> type:
    """Schemathesis registers a provider class; this one hands out the instance above."""

    class Provider:
        def get(self, case: Any, ctx: Any) -> str:
            return instance.get(case, ctx)

        def set(self, case: Any, token: str, ctx: Any) -> None:
            instance.set(case, token, ctx)

    return Provider


def _unsayable(recorder: Any, case_id: str) -> bool:
    """A 422 whose every field is refused for a reason in `UNSAYABLE`."""
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None or interaction.response.status_code != 422:
        return False
    fields = orjson.loads(interaction.response.content)["error"].get("fields", {})
    operation = recorder.label
    return bool(fields) and all(_allowed(operation, field, why) for field, why in fields.items())


def _allowed(operation: str, field: str, why: str) -> bool:
    field = re.sub(r"\.\d+\.", ".*.", field)
    pattern = UNSAYABLE.get((operation, field)) or UNSAYABLE.get(("*", field))
    return pattern is not None and re.fullmatch(pattern, why) is not None


def _describe(recorder: Any, case_id: str, check: Any) -> str:
    failure = check.failure_info.failure
    interaction = recorder.interactions.get(case_id)
    answer = ""
    if interaction is not None and interaction.response is not None:
        answer = f" -> {interaction.response.status_code} {(interaction.response.content or b'')[:300]!r}"
    sample = check.failure_info.code_sample
    return f"{recorder.label} [{check.name}] {failure.title}: {failure.message[:500]}\n    {sample}{answer}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_the_service_answers_as_its_document_says(fuzzed: ServiceProcess, fuzz_token: str, shard: int) -> None:
    seed = random.getrandbits(64)
    started = time.monotonic()
    failures, kinds, statuses = fuzz(fuzzed, fuzz_token, seed, shard)
    answers = sum(sum(counts.values()) for counts in statuses.values())
    print(f"schemathesis: {answers} answers in {time.monotonic() - started:.1f} s (seed {seed}), {dict(kinds)}")
    assert not failures, f"seed {seed}: {len(failures)} failures ({dict(kinds)}):\n" + "\n".join(failures)
    paths = fuzzed.http.get("/openapi.json").json()["paths"]
    assert set(statuses) == operations_of(shard, paths), "every operation of the shard tried"
    lists = [label for label in statuses if label.startswith("GET /api/") and "{" not in label]
    assert len(lists) >= 3 and answers > 1000, (len(lists), answers)
    refused = [label for label in lists if not any(200 <= status < 300 for status in statuses[label])]
    assert not refused, f"the admin got no list: {refused}"  # its token stayed valid all along
