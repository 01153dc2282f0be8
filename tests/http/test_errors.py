"""The error handler: every failure in the SPEC's shape, and 500s without a trace."""

from __future__ import annotations

import inspect

import pytest
from sanic import Sanic
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
    )  # the command's own failures, never an HTTP answer
]


@pytest.fixture
def client() -> SanicTestClient:
    Sanic.test_mode = True
    app = Sanic(f"errors_{id(object())}")
    app.error_handler = ApiErrorHandler()

    @app.get("/boom")
    async def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    @app.get("/conflict")
    async def conflict(request):  # type: ignore[no-untyped-def]
        raise errors.OutOfStock("not enough rice", fields={"items.0": "only 2 left"})

    @app.get("/limited")
    async def limited(request):  # type: ignore[no-untyped-def]
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
