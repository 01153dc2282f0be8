"""Configuration: defaults, file, environment, validation, rendering."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robodine_edge.config import config_file, env_name, load_config, render_config
from robodine_edge.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "robodine.toml"
    path.write_text(text)
    return path


def problems(path: Path | None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env or {})
    return caught.value.problems


def test_packaged_defaults_match_the_spec() -> None:
    config = load_config(None, {})
    assert (config.http.port, config.robots.port, config.telemetry.port, config.video.port) == (8000, 8001, 8002, 5000)
    assert config.net.host == "0.0.0.0"
    assert config.mdns.enabled is True
    assert config.legacy.enabled is False
    assert config.store.id == "store-1"
    assert Path(config.data.dir).is_absolute() and Path(config.data.dir).name == "var"
    assert config.serial == ()


def test_file_overrides_defaults_and_env_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[http]\nport = 9000\n[store]\nid = "shop-7"\n[[serial]]\nport = "loop://"\nbaud = 9600\n')
    config = load_config(path, {"ROBODINE_STORE_ID": "shop-8"})
    assert config.http.port == 9000
    assert config.store.id == "shop-8"
    assert config.serial[0].port == "loop://" and config.serial[0].baud == 9600
    assert dict(config.sources) == {"store.id": "ROBODINE_STORE_ID"}
    assert config.file == str(path)


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("ROBODINE_DATA_DIR", "/srv/robodine", lambda c: c.data.dir),
        ("ROBODINE_HOST", "127.0.0.1", lambda c: c.net.host),
        ("ROBODINE_HTTP_PORT", "0", lambda c: c.http.port),
        ("ROBODINE_ROBOT_PORT", "18001", lambda c: c.robots.port),
        ("ROBODINE_TELEMETRY_PORT", "18002", lambda c: c.telemetry.port),
        ("ROBODINE_VIDEO_PORT", "15000", lambda c: c.video.port),
        ("ROBODINE_MDNS", "0", lambda c: c.mdns.enabled),
        ("ROBODINE_STORE_ID", "store-9", lambda c: c.store.id),
        ("ROBODINE_LEGACY", "1", lambda c: c.legacy.enabled),
        ("ROBODINE_LOG_LEVEL", "debug", lambda c: c.log.level),
        ("ROBODINE_AUTH_TOKEN_TTL_S", "600", lambda c: c.auth.token_ttl_s),
        ("ROBODINE_AUTH_KIOSK_TOKEN_TTL_S", "600", lambda c: c.auth.kiosk_token_ttl_s),
    ],
)
def test_spec_environment_variables(variable: str, value: str, read) -> None:
    expected = {"0": 0, "1": True, "18001": 18001, "18002": 18002, "15000": 15000, "600": 600}.get(value, value)
    if variable == "ROBODINE_MDNS":
        expected = False
    assert read(load_config(None, {variable: value})) == expected


def test_env_names_follow_the_spec_table() -> None:
    assert env_name("robots.port") == "ROBODINE_ROBOT_PORT"
    assert env_name("net.host") == "ROBODINE_HOST"
    assert env_name("http.ask_timeout_s") == "ROBODINE_HTTP_ASK_TIMEOUT_S"


def test_list_and_serial_from_environment() -> None:
    config = load_config(
        None,
        {
            "ROBODINE_HTTP_CORS_ORIGINS": "http://a.test, http://b.test",
            "ROBODINE_SERIAL": '[{"port": "/dev/ttyUSB0", "baud": 115200}]',
        },
    )
    assert config.http.cors_origins == ("http://a.test", "http://b.test")
    assert config.serial[0].baud == 115200


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[http\nport = 1\n")
    [problem] = problems(path)
    assert str(path) in problem and "invalid TOML" in problem


def test_wrong_types_name_the_key(tmp_path: Path) -> None:
    found = problems(write(tmp_path, '[http]\nport = "8000"\n[mdns]\nenabled = "yes"\n'))
    assert any(p.startswith("http.port:") and "integer" in p for p in found)
    assert any(p.startswith("mdns.enabled:") and "boolean" in p for p in found)


def test_env_errors_name_key_and_variable() -> None:
    [problem] = problems(None, {"ROBODINE_ROBOT_PORT": "eighty"})
    assert problem.startswith("robots.port (from ROBODINE_ROBOT_PORT='eighty')")


def test_range_errors_from_env_name_the_variable() -> None:
    [problem] = problems(None, {"ROBODINE_HTTP_PORT": "70000"})
    assert "http.port (from ROBODINE_HTTP_PORT" in problem and "65535" in problem


def test_unknown_keys_and_sections_are_errors(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "[http]\nprot = 1\n[robot]\nport = 1\n"))
    assert "http.prot: unknown key" in found
    assert "robot: unknown key" in found


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, '[http]\nport = -1\n[store]\nid = "no spaces allowed"\n[[serial]]\nport = ""\nbaud = 0\n')
    found = problems(path, {"ROBODINE_MDNS": "maybe"})
    keys = {p.split(":")[0].split(" ")[0] for p in found}
    assert {"http.port", "store.id", "serial.0.port", "serial.0.baud", "mdns.enabled"} <= keys


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml", {}, required=True)
    assert "not found" in caught.value.problems[0]
    assert load_config(tmp_path / "absent.toml", {}).http.port == 8000


def test_a_config_file_named_by_the_environment_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo.toml"
    assert config_file(None, {"ROBODINE_CONFIG": str(missing)}) == (missing, "ROBODINE_CONFIG")
    assert config_file(missing, {"ROBODINE_CONFIG": "/elsewhere.toml"}) == (missing, "--config")
    with pytest.raises(ConfigError) as caught:
        load_config(missing, {}, named_by="ROBODINE_CONFIG")
    assert caught.value.problems == [f"{missing} (from ROBODINE_CONFIG): config file not found"]


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1", "::", "fe80::1", "localhost", "edge.local", "pi-4.store."])
def test_hosts_that_can_be_bound(host: str) -> None:
    assert load_config(None, {"ROBODINE_HOST": host}).net.host == host


@pytest.mark.parametrize("host", ["not_an_ip", "-edge", "edge-", "a..b", "x" * 64, "10.0.0.1:8000", "http://edge", " "])
def test_a_host_that_is_no_address_nor_name_is_an_error(host: str) -> None:
    [problem] = problems(None, {"ROBODINE_HOST": host})
    assert problem.startswith(f"net.host (from ROBODINE_HOST={host!r}): not an IP address or host name")


def test_a_store_id_must_fit_the_mdns_instance_name() -> None:
    """`robodine-edge <id>` is one DNS label of at most 63 bytes, `-99` appended on a
    name conflict included: 46 characters fit, and the message says the same number
    for every longer id (not the 64 of the SPEC's id rule)."""
    assert len(f"robodine-edge {'s' * 46}-99") == 63
    assert load_config(None, {"ROBODINE_STORE_ID": "s" * 46}).store.id == "s" * 46
    for length in (47, 64, 70):
        [problem] = problems(None, {"ROBODINE_STORE_ID": "s" * length})
        assert problem.startswith("store.id (from ROBODINE_STORE_ID=") and "at most 46 characters" in problem


@pytest.mark.parametrize(
    ("store_id", "said"),
    [
        ("bad id", "only letters, digits, '.', '_' and '-' are allowed"),
        ("", "must not be empty"),
        ("é", "only letters"),
    ],
)
def test_a_bad_store_id_is_explained_in_words_not_a_pattern(store_id: str, said: str) -> None:
    [problem] = problems(None, {"ROBODINE_STORE_ID": store_id})
    assert problem.startswith(f"store.id (from ROBODINE_STORE_ID={store_id!r}): {said}")
    assert not any(mark in problem for mark in ("pattern", "^", "{1,", "[A-Z"))


@pytest.mark.parametrize("text", ["notjson", "/dev/ttyUSB0", '{"port": "/dev/ttyUSB0", "baud": 9600}', "[1"])
def test_serial_from_the_environment_must_be_a_json_list(text: str) -> None:
    [problem] = problems(None, {"ROBODINE_SERIAL": text})
    assert problem.startswith(f"serial (from ROBODINE_SERIAL={text!r}): expected a JSON list of {{port, baud}} objects")


def test_a_serial_entry_that_is_not_a_table_names_it() -> None:
    [problem] = problems(None, {"ROBODINE_SERIAL": "[1]"})
    assert problem == "serial.0 (from ROBODINE_SERIAL='[1]'): expected a table of keys"


def test_section_replaced_by_a_scalar_is_reported(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "http = 5\n"), {"ROBODINE_HTTP_PORT": "1"})
    assert any(p.startswith("http") for p in found)


def test_the_demo_binds_loopback_with_a_store_id_of_its_own() -> None:
    """`run --demo` must not announce itself to the store's network under the name a
    real store gets by default; a real store's defaults stay those of the SPEC."""
    demo = load_config(None, {}, demo=True)
    assert (demo.net.host, demo.store.id) == ("127.0.0.1", "demo")
    assert dict(demo.sources) == {"net.host": "run --demo", "store.id": "run --demo"}
    assert 'host = "127.0.0.1"  # from run --demo' in render_config(demo, {})
    real = load_config(None, {})
    assert (real.net.host, real.store.id) == ("0.0.0.0", "store-1")


def test_the_file_and_the_environment_open_the_demo_to_the_network(tmp_path: Path) -> None:
    opened = load_config(None, {"ROBODINE_HOST": "0.0.0.0"}, demo=True)
    assert (opened.net.host, opened.store.id) == ("0.0.0.0", "demo")
    assert dict(opened.sources) == {"net.host": "ROBODINE_HOST", "store.id": "run --demo"}
    path = write(tmp_path, '[net]\nhost = "0.0.0.0"\n[store]\nid = "store-1"\n')
    from_file = load_config(path, {}, demo=True)
    assert (from_file.net.host, from_file.store.id) == ("0.0.0.0", "store-1") and from_file.sources == ()


def test_render_round_trips_and_masks_secrets(tmp_path: Path) -> None:
    env = {
        "ROBODINE_HTTP_PORT": "9100",
        "ROBODINE_ADMIN_PASSWORD": "hunter2-secret",
        "ROBODINE_SERIAL": '[{"port":"loop://","baud":9600}]',
    }
    config = load_config(None, env)
    text = render_config(config, env)
    assert "hunter2-secret" not in text
    assert "ROBODINE_ADMIN_PASSWORD: set (hidden)" in text
    assert "port = 9100  # from ROBODINE_HTTP_PORT" in text
    again = load_config(write(tmp_path, text), {})
    assert again.model_dump(exclude={"file", "sources"}) == config.model_dump(exclude={"file", "sources"})
    tomllib.loads(text)


def test_federation_password_is_never_printed_and_bad_federation_keys_are_each_named() -> None:
    env = {"ROBODINE_FEDERATION_PASSWORD": "mqtt-secret-9", "ROBODINE_FEDERATION_CHAIN": "acme"}
    text = render_config(load_config(None, env), env)
    assert "mqtt-secret-9" not in text
    assert "# password: set (hidden)  # from ROBODINE_FEDERATION_PASSWORD" in text
    tomllib.loads(text)
    bad = {
        "ROBODINE_FEDERATION": "1",
        "ROBODINE_FEDERATION_URL": "http://broker",
        "ROBODINE_FEDERATION_CA_FILE": "/no/such/ca.pem",
        "ROBODINE_STORE_ID": "all",
    }
    with pytest.raises(ConfigError) as raised:
        load_config(None, bad)
    problems = raised.value.problems
    assert any(p.startswith("federation.url (from ROBODINE_FEDERATION_URL=") for p in problems), problems
    assert any(p.startswith("federation.chain: required") for p in problems), problems
    assert any(p.startswith("federation.ca_file (from ROBODINE_FEDERATION_CA_FILE=") for p in problems), problems
    with pytest.raises(ConfigError, match=r"store.id \(from ROBODINE_STORE_ID='all'\): 'all' names every store"):
        load_config(None, {"ROBODINE_FEDERATION": "1", "ROBODINE_FEDERATION_CHAIN": "acme", "ROBODINE_STORE_ID": "all"})
    assert load_config(None, {"ROBODINE_STORE_ID": "all"}).store.id == "all"  # only a problem with federation on
    assert load_config(None, {"ROBODINE_FEDERATION_URL": "nonsense"}).federation.enabled is False


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "ROBODINE_HTTP_PORT",
                "ROBODINE_MDNS",
                "ROBODINE_SERIAL",
                "ROBODINE_HTTP_CORS_ORIGINS",
                "ROBODINE_AUTH_TOKEN_TTL_S",
                "ROBODINE_LOG_FORMAT",
            ]
        ),
        st.text(max_size=40),
    )
)
def test_hostile_environment_only_raises_config_errors(env: dict[str, str]) -> None:
    try:
        load_config(None, env)
    except ConfigError as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)
