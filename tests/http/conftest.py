"""A real robodine-edge process shared by the HTTP tests of one module."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.migrations import migrate
from robodine_edge.data.models import DiningTable
from tests.service import ServiceProcess

_names = itertools.count(1)


def seed_table(data_dir: Path, name: str = "T1") -> int:
    """Create a dining table before the service starts (kiosk users need one)."""
    db = open_database(database_path(data_dir))
    migrate(db)
    table_id = DiningTable.create(name=name, seats=4).id
    db.close()
    return table_id


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir = tmp_path_factory.mktemp("service")
    seed_table(data_dir)
    with ServiceProcess(data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def admin(service: ServiceProcess) -> dict[str, str]:
    return service.auth(service.token())


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def make_user(service: ServiceProcess, admin: dict[str, str], role: str, **extra: object) -> tuple[int, dict[str, str]]:
    """Create a user of `role`; returns its id and auth headers."""
    username, password = unique(role), "a-good-password"
    created = service.http.post(
        "/api/users", headers=admin, json={"username": username, "password": password, "role": role, **extra}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], service.auth(service.token(username, password))
