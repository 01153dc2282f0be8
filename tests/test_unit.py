"""The systemd unit: its sandbox as `systemd-analyze security` rates it, and what the service needs from it.

`systemd-analyze` is Debian's (the systemd package, as on Raspberry Pi OS); `--offline=yes`
rates the unit file itself, without a running systemd. `systemd-analyze verify` needs the
installed command, so it runs in tests/test_install.py on the staged install.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from robodine_edge.config import load_config

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "robodine-edge.service"
EXPOSURE_TARGET = 2.5
"""`systemd-analyze security` rates 0 (locked down) to 10 (exposed); 8.5 before the sandbox."""
OVERALL = re.compile(r"Overall exposure level for robodine-edge\.service: (\d+\.\d) (\w+)")


def service_section() -> dict[str, list[str]]:
    """The [Service] section's settings, every value of a repeated one, in order."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


@pytest.fixture(scope="module")
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is needed: Debian's systemd package (apt install systemd)")
    return path


def test_systemd_analyze_security_rates_the_unit_at_most_the_target(analyze: str) -> None:
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(UNIT)], capture_output=True, text=True, check=False
    )
    match = OVERALL.search(result.stdout)
    assert match is not None, result.stdout[-2000:] + result.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze security: {exposure} {match.group(2)}")
    assert exposure <= EXPOSURE_TARGET, result.stdout


def test_the_sandbox_keeps_the_sockets_the_service_uses() -> None:
    """AF_UNIX: the systemd notification socket; AF_INET/AF_INET6: HTTP, robot TCP, UDP and mDNS
    multicast; AF_NETLINK: getifaddrs(), which lists the interfaces mDNS announces."""
    (families,) = service_section()["RestrictAddressFamilies"]
    assert set(families.split()) == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}


def test_serial_ports_plugged_in_while_the_service_runs_are_not_shut_out() -> None:
    """No device cgroup: DeviceAllow=char-ttyUSB is resolved at start, and matches nothing
    while usbserial is not loaded (the adapter not plugged in yet): that port would then fail
    with EPERM until a restart. The ports' file modes guard them: root:dialout 0660."""
    settings = service_section()
    assert "DeviceAllow" not in settings and "DevicePolicy" not in settings
    assert settings.get("PrivateDevices", ["no"]) == ["no"]  # it would hide every serial port
    assert "SupplementaryGroups" not in settings  # the user's groups are the sysusers file's
    sysusers = (ROOT / "systemd" / "robodine.sysusers").read_text()
    assert re.findall(r"^m robodine (\S+)$", sysusers, re.M) == ["dialout"]


def test_no_capability_is_needed_as_every_default_port_is_above_1024() -> None:
    """CapabilityBoundingSet= is empty: binding a port below 1024 would need CAP_NET_BIND_SERVICE."""
    assert service_section()["CapabilityBoundingSet"] == [""]
    for config_file in (None, ROOT / "config" / "robodine.system.toml"):
        config = load_config(config_file, env={})
        for port in (config.http.port, config.robots.port, config.telemetry.port, config.video.port):
            assert port >= 1024, port


def test_the_data_folder_is_the_service_users_only() -> None:
    settings = service_section()
    assert settings["StateDirectory"] == ["robodine"] and settings["StateDirectoryMode"] == ["0700"]
    assert settings["UMask"] == ["0077"]
    assert settings["Environment"] == ["ROBODINE_DATA_DIR=/var/lib/robodine"]
    assert settings["ReadWritePaths"] == ["/var/lib/robodine"]
    system = tomllib.loads((ROOT / "config" / "robodine.system.toml").read_text())
    assert system["data"]["dir"] == "/var/lib/robodine"


def test_the_unit_runs_as_the_user_the_sysusers_file_makes() -> None:
    settings = service_section()
    sysusers = [line.split() for line in (ROOT / "systemd" / "robodine.sysusers").read_text().splitlines()]
    made = [fields[1] for fields in sysusers if fields and fields[0] == "u"]
    assert settings["User"] == made == ["robodine"]
    assert settings["Group"] == ["robodine"]


def test_the_unit_parses_as_one_setting_per_line() -> None:
    """A continued or misspelt line would be dropped by systemd with a warning only."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    assert parser.sections() == ["Unit", "Service", "Install"]
