"""The [federation] and [hq] keys: validated, overridable, their secrets never printed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from robodine_edge.config import hide_password, load_config, render_config
from robodine_edge.errors import ConfigError
from tests.service import EXECUTABLE


def test_defaults_and_variables() -> None:
    config = load_config(None, {})
    assert (config.federation.url, config.federation.keepalive_s, config.federation.enabled) == (
        "mqtt://localhost:1883", 30, False,
    )  # fmt: skip
    assert (config.hq.database_url, config.hq.http_port, config.hq.api_token) == ("", 8100, "")
    env = {"ROBODINE_FEDERATION": "1", "ROBODINE_FEDERATION_URL": "mqtts://broker.example:8883",
           "ROBODINE_FEDERATION_CHAIN": "acme",
           "ROBODINE_HQ_DATABASE_URL": "postgresql://hq:pw@db:5432/chain", "ROBODINE_HQ_HTTP_PORT": "0"}  # fmt: skip
    config = load_config(None, env)
    assert config.federation.enabled and config.federation.url == "mqtts://broker.example:8883"
    assert (config.hq.database_url, config.hq.http_port) == ("postgresql://hq:pw@db:5432/chain", 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROBODINE_FEDERATION_URL", "http://broker"),
        ("ROBODINE_FEDERATION_URL", "mqtt://"),
        ("ROBODINE_FEDERATION_URL", "mqtt://u:p@broker"),
        ("ROBODINE_FEDERATION_URL", "mqtt://broker:99999"),
        ("ROBODINE_FEDERATION_CHAIN", "a/b"),
        ("ROBODINE_FEDERATION_KEEPALIVE_S", "0"),
        ("ROBODINE_HQ_DATABASE_URL", "mysql://db"),
        ("ROBODINE_HQ_DATABASE_URL", "sqlite:///"),
        ("ROBODINE_HQ_HTTP_PORT", "70000"),
    ],
)
def test_bad_values_name_their_key(name: str, value: str) -> None:
    """Checked when the store's federation is on (with it off, a store needs none of it;
    `robodine-edge hq` checks the broker's keys itself: test_hq_needs_the_brokers_keys)."""
    env = {"ROBODINE_FEDERATION": "1", "ROBODINE_FEDERATION_CHAIN": "acme", name: value}
    with pytest.raises(ConfigError) as caught:
        load_config(None, env)
    assert name in caught.value.problems[0]


def test_hq_needs_the_brokers_keys_even_with_the_stores_federation_off() -> None:
    config = load_config(None, {"ROBODINE_FEDERATION_URL": "http://broker"})
    assert sorted(config.federation.problems()) == [
        "federation.chain: required",
        "federation.url: not mqtt://host[:port] or mqtts://host[:port]",
    ]
    assert load_config(None, {"ROBODINE_FEDERATION_CHAIN": "acme"}).federation.problems() == []


def test_secrets_are_never_printed() -> None:
    env = {"ROBODINE_FEDERATION_PASSWORD": "broker-secret", "ROBODINE_HQ_API_TOKEN": "token-secret",
           "ROBODINE_HQ_DATABASE_URL": "postgresql://hq:db-secret@db:5432/chain"}  # fmt: skip
    text = render_config(load_config(None, env), env)
    assert "secret" not in text
    assert "# password: set (hidden)" in text and "# api_token: set (hidden)" in text
    assert 'database_url = "postgresql://hq:***@db:5432/chain"' in text
    assert hide_password("postgresql://db/chain") == "postgresql://db/chain"


def test_hq_without_a_chain_is_a_config_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}
    env.update(ROBODINE_CONFIG=os.devnull, ROBODINE_DATA_DIR=str(tmp_path))
    result = subprocess.run([EXECUTABLE, "hq"], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "federation.chain: required (robodine-edge hq needs the chain's broker)" in result.stderr
