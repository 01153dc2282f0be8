"""A real robodine-edge store with federation on, for the end-to-end federation tests."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from robodine_edge.data.db import database_path
from tests.federation.conftest import Broker
from tests.http.conftest import seed_table
from tests.service import ServiceProcess, service_env

CHAIN = "acme"
STORE = "s1"
PREFIX = f"robodine/v1/{CHAIN}/{STORE}"


def federated_env(data_dir: Path, broker: Broker, *, store: str = STORE, **extra: str) -> dict[str, str]:
    settings = {
        "ROBODINE_STORE_ID": store,
        "ROBODINE_FEDERATION": "1",
        "ROBODINE_FEDERATION_URL": broker.url,
        "ROBODINE_FEDERATION_CHAIN": CHAIN,
        "ROBODINE_FEDERATION_KEEPALIVE_S": "2",
        "ROBODINE_FEDERATION_REPLAY_PER_S": "2000",
    }
    return service_env(data_dir, **{**settings, **extra})


class Store:
    """The store process, a table and a dish to order (no recipe: orders raise no stock events)."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        if not database_path(data_dir).exists():
            seed_table(data_dir)
        self.process = ServiceProcess(data_dir, env)
        self.headers: dict[str, str] = {}
        self.table_id = 0
        self.dish_id = 0

    def start(self) -> Store:
        self.process.start()
        self.headers = self.process.auth(self.process.token())
        self.table_id = self.process.http.get("/api/tables", headers=self.headers).json()[0]["id"]
        dishes = self.process.http.get("/api/menu", headers=self.headers).json()
        if dishes:
            self.dish_id = dishes[0]["id"]
        else:
            created = self.process.http.post("/api/menu", headers=self.headers, json={"name": "Bibimbap", "price": 9.5})
            assert created.status_code == 201, created.text
            self.dish_id = created.json()["id"]
        return self

    def __enter__(self) -> Store:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.process.__exit__()

    def order(self) -> dict[str, Any]:
        body = {"table_id": self.table_id, "items": [{"menu_item_id": self.dish_id, "quantity": 1}]}
        placed = self.process.http.post("/api/orders", headers=self.headers, json=body)
        assert placed.status_code == 201, placed.text
        return placed.json()

    def health(self) -> dict[str, Any]:
        return self.process.http.get("/health").json()

    def metric(self, name: str) -> float:
        text = self.process.http.get("/metrics").text
        found = re.search(rf"^{name} (\S+)$", text, re.M)
        assert found, name
        return float(found.group(1))

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Read the live database (WAL: a reader beside the service's writer)."""
        with sqlite3.connect(f"file:{database_path(self.data_dir)}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(query).fetchall()

    def head(self) -> int:
        return int(self.sql('SELECT COALESCE(MAX("seq"), 0) FROM "event"')[0][0])
