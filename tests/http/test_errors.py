"""The error handler: every failure in the SPEC's shape, and 500s without a trace."""

from __future__ import annotations

import inspect
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sanic import Sanic
from sanic.response import text
from sanic_testing.testing import SanicTestClient

from robodine_edge import errors
from robodine_edge.http.errors import STATUS, ApiErrorHandler, status_of

HTTP_FACING = [
    cls
    for cls in vars(errors).values()
    if inspect.isclass(cls)
    and issubclass(cls, errors.RobodineError)
    and cls.__module__ == errors.__name__
    and cls
    not in (
        errors.RobodineError,
        errors.ConfigError,
        errors.DataDirBusy,
        errors.BackupError,
        errors.AuthFailed,
        errors.CannotListen,
        errors.NoMdnsName,
    )  # the command's own failures, never an HTTP answer
]


SANIC_TESTING_LISTENER = (
    r".*Passing the loop argument to listeners is deprecated\. Your listener 'SanicTestClient\._run_request' "
)
"""sanic-testing's own listener (its `*args` makes Sanic retry it with the loop); `.*`:
Sanic colours the message when stdout is a terminal."""


def sanic_app() -> Sanic:
    """A Sanic app for these tests. Making it adds Sanic's own warnings filter
    (`DEPRECATION_FILTER`: "once" for every DeprecationWarning from `sanic.*`) in front
    of pytest's, where no pyproject `filterwarnings` entry can overrule it; so the one
    warning that is not ours is ignored here, after it, and by its message only."""
    Sanic.test_mode = True
    app = Sanic(f"errors_{id(object())}")
    warnings.filterwarnings("ignore", message=SANIC_TESTING_LISTENER, category=DeprecationWarning)
    return app


@pytest.fixture
def client() -> SanicTestClient:
    app = sanic_app()
    app.error_handler = ApiErrorHandler()

    @app.get("/boom")
    async def boom(request):
        raise RuntimeError("secret internal detail")

    @app.get("/conflict")
    async def conflict(request):
        raise errors.OutOfStock("not enough rice", fields={"items.0": "only 2 left"})

    @app.get("/limited")
    async def limited(request):
        raise errors.RateLimited("slow down", retry_after_s=17)

    return app.test_client


def test_an_unexpected_exception_is_a_500_without_a_trace(
    client: SanicTestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, response = client.get("/boom")
    assert response.status == 500
    assert response.json == {"error": {"code": "internal_error", "message": "internal error; see the service log"}}
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert "secret internal detail" in caplog.text


def test_specific_codes_and_fields_are_kept(client: SanicTestClient) -> None:
    _, response = client.get("/conflict")
    assert response.status == 409
    assert response.json == {
        "error": {"code": "out_of_stock", "message": "not enough rice", "fields": {"items.0": "only 2 left"}}
    }
    _, response = client.get("/limited")
    assert response.status == 429 and response.headers["retry-after"] == "17"


def test_sanic_errors_use_the_same_shape(client: SanicTestClient) -> None:
    _, response = client.get("/nowhere")
    assert response.status == 404 and response.json["error"]["code"] == "not_found"
    _, response = client.post("/boom")
    assert response.status == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_only_sanic_testings_deprecation_is_hidden_not_one_of_ours() -> None:
    """A listener of ours in the old form (taking the loop) still warns: the filter
    above names sanic-testing's listener, not every deprecation Sanic issues."""
    app = sanic_app()

    async def our_old_style_listener(app: Sanic, loop: object) -> None:
        pass

    @app.get("/here")
    async def here(request):
        return text("here")

    app.register_listener(our_old_style_listener, "before_server_start")
    with warnings.catch_warnings(record=True) as seen:  # the filters in place, recorded instead of shown
        _, response = app.test_client.get("/here")
    assert response.status == 200
    said = [str(warning.message) for warning in seen if warning.category is DeprecationWarning]
    assert any("our_old_style_listener" in message for message in said), said
    assert not any("SanicTestClient._run_request" in message for message in said), said


def test_a_pytest_run_of_these_tests_shows_no_deprecation_warnings() -> None:
    """`make test` prints no warnings summary for sanic-testing's listener."""
    root = Path(__file__).parents[2]
    tests = [
        f"{__file__}::{name}"
        for name in ("test_sanic_errors_use_the_same_shape", "test_specific_codes_and_fields_are_kept")
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", *tests],
        cwd=root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert "2 passed" in result.stdout and "warnings summary" not in result.stdout, result.stdout


@pytest.mark.parametrize("cls", HTTP_FACING, ids=lambda c: c.__name__)
def test_every_api_error_type_has_a_status(cls: type[errors.RobodineError]) -> None:
    error = cls("x", retry_after_s=1) if cls is errors.RateLimited else cls("x")
    assert 400 <= status_of(error) < 600 and status_of(error) != 500
    assert error.code.islower() and " " not in error.code


def test_the_status_table_follows_the_spec() -> None:
    assert {cls.code: status for cls, status in STATUS.items()} == {
        "bad_request": 400,
        "unauthorized": 401,
        "forbidden": 403,
        "not_found": 404,
        "method_not_allowed": 405,
        "conflict": 409,
        "too_large": 413,
        "validation_error": 422,
        "rate_limited": 429,
        "unavailable": 503,
        "timeout": 504,
    }
    assert status_of(errors.InvalidTransition("x")) == 409 and status_of(errors.IdempotencyConflict("x")) == 409
