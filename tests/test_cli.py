"""The `robodine-edge` command line, run as a real process."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.service import EXECUTABLE, ServiceProcess, service_env

pytestmark = pytest.mark.e2e


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXECUTABLE, *args], env=env, capture_output=True, text=True, timeout=60)


def test_check_config_prints_the_effective_config(data_dir: Path) -> None:
    env = service_env(data_dir, ROBODINE_ADMIN_PASSWORD="do-not-print-me")
    result = cli("check-config", env=env)
    assert result.returncode == 0, result.stderr
    config = tomllib.loads(result.stdout)
    assert config["data"]["dir"] == str(data_dir) and config["mdns"]["enabled"] is False
    assert "do-not-print-me" not in result.stdout
    assert "# from ROBODINE_HTTP_PORT" in result.stdout


def test_check_config_with_a_broken_file_exits_2(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[auth]\ntoken_ttl_s = "a day"\n[nope]\n')
    result = cli("check-config", "--config", str(bad), env=service_env(data_dir))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any("auth.token_ttl_s" in line for line in lines) and any("nope: unknown key" in line for line in lines)


def test_check_config_explains_a_bad_store_id_in_words(data_dir: Path) -> None:
    result = cli("check-config", env=service_env(data_dir, ROBODINE_STORE_ID="front counter"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "robodine-edge: config error: store.id (from ROBODINE_STORE_ID='front counter'): only letters, digits,"
        " '.', '_' and '-' are allowed (got 'front counter')"
    ]


def test_an_explicit_missing_config_exits_2(data_dir: Path, tmp_path: Path) -> None:
    result = cli("check-config", "--config", str(tmp_path / "missing.toml"), env=service_env(data_dir))
    assert result.returncode == 2 and "not found" in result.stderr


def test_usage_errors_exit_2(data_dir: Path) -> None:
    assert cli("frobnicate", env=service_env(data_dir)).returncode == 2
    assert cli("backup", env=service_env(data_dir)).returncode == 2


def test_backup_while_running_and_restore_only_when_stopped(data_dir: Path, tmp_path: Path) -> None:
    env = service_env(data_dir)
    copy = tmp_path / "backups" / "night.sqlite3"
    with ServiceProcess(data_dir, env) as service:
        admin = service.auth(service.token())
        service.http.post(
            "/api/users", headers=admin, json={"username": "in-backup", "password": "password-1", "role": "staff"}
        )
        result = cli("backup", "--out", str(copy), env=env)
        assert result.returncode == 0, result.stderr
        service.http.post(
            "/api/users", headers=admin, json={"username": "after-backup", "password": "password-1", "role": "staff"}
        )
        refused = cli("restore", "--from", str(copy), env=env)
        assert refused.returncode == 1 and "in use by a running robodine-edge: stop the service first" in refused.stderr
    with sqlite3.connect(copy) as conn:
        names = {row[0] for row in conn.execute("SELECT username FROM user")}
    assert "in-backup" in names and "after-backup" not in names
    restored = cli("restore", "--from", str(copy), env=env)
    assert restored.returncode == 0, restored.stderr
    assert list((data_dir / "backups").glob("before-restore-*.sqlite3"))
    with ServiceProcess(data_dir, env) as service:
        assert service.token("in-backup", "password-1")
        bad = service.http.post("/api/auth/login", json={"username": "after-backup", "password": "password-1"})
        assert bad.status_code == 401


def test_backup_into_a_folder_and_never_silently_over_a_file(data_dir: Path, tmp_path: Path) -> None:
    env = service_env(data_dir)
    folder = tmp_path / "usb"
    folder.mkdir()
    with ServiceProcess(data_dir, env):
        into = cli("backup", "--out", str(folder), env=env)
        assert into.returncode == 0, into.stderr
        [made] = folder.iterdir()
        assert into.stdout == f"{made}\n" and made.name.startswith("robodine-") and made.suffix == ".sqlite3"
        assert stat.S_IMODE(made.stat().st_mode) == 0o600
        first = made.read_bytes()
        made.write_bytes(b"last week's copy")
        refused = cli("backup", "--out", str(made), env=env)
        assert refused.returncode == 1 and made.read_bytes() == b"last week's copy"
        [line] = refused.stderr.splitlines()
        assert f"{made} already exists; choose another name, or add --force to replace it" in line
        assert "Errno" not in refused.stderr and ".partial" not in refused.stderr
        forced = cli("backup", "--out", str(made), "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        assert made.read_bytes()[:16] == first[:16] == b"SQLite format 3\x00"


def test_restore_of_a_bad_file_exits_1(data_dir: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("junk")
    result = cli("restore", "--from", str(junk), env=service_env(data_dir))
    assert result.returncode == 1 and "not a robodine-edge database" in result.stderr


def test_a_config_named_by_the_environment_that_is_missing_exits_2(data_dir: Path, tmp_path: Path) -> None:
    """A typo in ROBODINE_CONFIG must not start the service on the defaults (every interface)."""
    for command in ("check-config", "run"):
        env = {**service_env(data_dir), "ROBODINE_CONFIG": str(tmp_path / "typo.toml")}
        result = cli(command, env=env)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"robodine-edge: config error: {tmp_path / 'typo.toml'} (from ROBODINE_CONFIG): config file not found"
        ]
