"""`make install` and `make uninstall`, staged with DESTDIR into a throwaway root.

The staged install is the real one: the Makefile's recipe, the system's `python3 -m venv`,
a pip install of this checkout and its dependencies. Only what needs this machine's systemd
as PID 1 (systemctl) or changes its users (systemd-sysusers) is left out under DESTDIR;
`make -n` shows those commands for a real install. The staged service is run at its final
path, /opt/robodine-edge, through a bind mount in a private mount namespace (`unshare`):
nothing outside the test's folder is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from robodine_edge import __version__

ROOT = Path(__file__).resolve().parent.parent
OPT = "opt/robodine-edge"
CONFIG = "etc/robodine/robodine.toml"
UNIT = "etc/systemd/system/robodine-edge.service"
SYSUSERS = "usr/lib/sysusers.d/robodine.conf"
SOURCES = {
    CONFIG: "config/robodine.system.toml",
    UNIT: "systemd/robodine-edge.service",
    SYSUSERS: "systemd/robodine.sysusers",
}
"""Staged file → the checkout's file it is a copy of."""
SYSTEM_PYTHON = Path("/usr/bin/python3")
INSTALL_TIMEOUT_S = 600


@cache
def python_x_y() -> str:
    """The system Python's version as its venv names it: `python3.11` on Bookworm."""
    command = [str(SYSTEM_PYTHON), "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def make(target: str, destdir: Path | None = None, *flags: str) -> subprocess.CompletedProcess[str]:
    args = ["make", "--no-print-directory", "-C", str(ROOT), *flags, target]
    if destdir is not None:
        args.append(f"DESTDIR={destdir}")
    env = {k: v for k, v in os.environ.items() if k not in ("DESTDIR", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(args, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False, env=env)


def install(destdir: Path) -> float:
    """`make install DESTDIR=destdir`; its duration in seconds."""
    started = time.monotonic()
    result = make("install", destdir)
    assert result.returncode == 0, f"make install failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return time.monotonic() - started


def tree(root: Path) -> dict[str, os.stat_result]:
    """Every path under root (relative, "." for root itself) and its lstat."""
    found = {".": root.lstat()}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = path.lstat()
    return found


def at_final_path(destdir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run `command` with the staged /opt/robodine-edge bind-mounted at /opt/robodine-edge,
    in a private mount namespace (a tmpfs over /opt there), so the venv runs where it will."""
    script = 'mount -t tmpfs tmpfs /opt && mkdir /opt/robodine-edge && mount --bind "$1" /opt/robodine-edge'
    script += ' && shift && exec "$@"'
    args = ["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(destdir / OPT), *command]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def checkout_files() -> dict[str, int]:
    """The checkout's files and their mtimes, but for what its own tools write (venv, caches)."""
    skipped = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    found: dict[str, int] = {}
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in skipped]
        for name in files:
            path = Path(folder, name)
            found[str(path.relative_to(ROOT))] = path.lstat().st_mtime_ns
    return found


@pytest.fixture(scope="module")
def staging() -> Iterator[tuple[Path, set[str]]]:
    """One `make install DESTDIR=...` for the module: the staged root, and what changed in the
    checkout meanwhile (under sudo, a file the build left there would be root's)."""
    if not SYSTEM_PYTHON.exists():
        pytest.fail(f"make install builds its venv with {SYSTEM_PYTHON} (Debian's python3 and python3-venv)")
    with tempfile.TemporaryDirectory(prefix="robodine-install-") as folder:
        destdir = Path(folder) / "root"
        destdir.mkdir()
        before = checkout_files()
        seconds = install(destdir)
        after = checkout_files()
        print(f"make install DESTDIR=... took {seconds:.1f} s")
        yield destdir, {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.fixture
def staged(staging: tuple[Path, set[str]]) -> Path:
    return staging[0]


def slow(test: Callable[..., None]) -> Callable[..., None]:
    """A test on the staged install: the fixture's real pip install takes ~25 s with a warm
    pip cache (minutes on a Pi), so these run in `make test-slow`, not `make test`."""
    return pytest.mark.slow(pytest.mark.timeout(INSTALL_TIMEOUT_S)(test))


# -- what is staged -----------------------------------------------------------------------------


@slow
def test_everything_outside_the_venv_is_the_config_the_unit_and_the_user(staged: Path) -> None:
    outside = {p for p, st in tree(staged).items() if not stat.S_ISDIR(st.st_mode) and not p.startswith(OPT + "/")}
    assert outside == set(SOURCES)
    for staged_path, source in SOURCES.items():
        assert (staged / staged_path).read_bytes() == (ROOT / source).read_bytes(), staged_path
        assert stat.S_IMODE((staged / staged_path).stat().st_mode) == 0o644, staged_path
    folders = {p for p, st in tree(staged).items() if stat.S_ISDIR(st.st_mode) and not p.startswith(OPT + "/")}
    assert folders == {".", "etc", "etc/robodine", "etc/systemd", "etc/systemd/system", "usr", "usr/lib",
                       "usr/lib/sysusers.d", "opt", OPT}  # fmt: skip


@slow
def test_every_staged_file_is_the_installers_readable_by_all_writable_by_none_else(staged: Path) -> None:
    """Installed by root (sudo), the service user reads it all and can change none of it."""
    entries = tree(staged)
    del entries["."]  # DESTDIR itself is the caller's
    assert len(entries) > 1000  # the venv, not an empty shell
    for path, st in entries.items():
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), path
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            assert mode == 0o755, f"{path}: {mode:o}"
        elif stat.S_ISREG(st.st_mode):
            assert mode in (0o644, 0o755), f"{path}: {mode:o}"
        else:
            assert stat.S_ISLNK(st.st_mode), f"{path}: neither a file, a folder nor a link"


@slow
def test_the_install_writes_nothing_in_the_checkout(staging: tuple[Path, set[str]]) -> None:
    _, changed = staging
    assert changed == set()


@slow
def test_the_links_of_the_venv_stay_in_it_or_name_the_system_python(staged: Path) -> None:
    links = {p: os.readlink(staged / p) for p, st in tree(staged).items() if stat.S_ISLNK(st.st_mode)}
    assert links == {
        f"{OPT}/bin/python": "python3",
        f"{OPT}/bin/python3": str(SYSTEM_PYTHON),
        f"{OPT}/bin/{python_x_y()}": "python3",
        f"{OPT}/lib64": "lib",
    }


@slow
def test_no_staged_file_names_the_staging_folder(staged: Path) -> None:
    """The venv was built under DESTDIR, but its shebangs, pyvenv.cfg, activate scripts and
    compiled files name /opt/robodine-edge only: the staged tree works once copied to /."""
    needle = str(staged).encode()
    named = [p for p, st in tree(staged).items() if stat.S_ISREG(st.st_mode) and needle in (staged / p).read_bytes()]
    assert named == []
    assert (staged / OPT / "bin" / "robodine-edge").read_text().splitlines()[0] == "#!/opt/robodine-edge/bin/python3"
    cfg = dict(line.split(" = ", 1) for line in (staged / OPT / "pyvenv.cfg").read_text().splitlines() if " = " in line)
    assert cfg["home"] == str(SYSTEM_PYTHON.parent)
    assert cfg["include-system-site-packages"] == "false"
    assert not (staged / "opt" / "robodine-edge.new").exists() and not (staged / "opt" / "robodine-edge.old").exists()


@slow
def test_the_venv_has_compiled_files_for_the_service_user_who_cannot_write_them(staged: Path) -> None:
    """ProtectSystem=strict: the service cannot write __pycache__, so every module is compiled here."""
    package = staged / OPT / "lib" / python_x_y() / "site-packages" / "robodine_edge"
    sources = list(package.rglob("*.py"))
    tag = python_x_y().replace("python", "cpython-").replace(".", "")
    compiled = list(package.rglob(f"__pycache__/*.{tag}.pyc"))
    assert sources and len(compiled) == len(sources)


# -- the staged service works where it will run ------------------------------------------------


@pytest.fixture(scope="module")
def namespaces() -> None:
    probe = subprocess.run(["unshare", "--map-root-user", "--mount", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here (unshare: {probe.stderr.decode().strip()})")


@slow
@pytest.mark.usefixtures("namespaces")
def test_the_staged_command_runs_at_its_final_path(staged: Path) -> None:
    version = at_final_path(staged, "/opt/robodine-edge/bin/robodine-edge", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"robodine-edge {__version__}"
    check = at_final_path(
        staged, "/opt/robodine-edge/bin/robodine-edge", "check-config", "--config", str(staged / CONFIG)
    )
    assert check.returncode == 0, check.stderr
    assert 'dir = "/var/lib/robodine"' in check.stdout


@slow
@pytest.mark.usefixtures("namespaces")
def test_systemd_analyze_verifies_the_staged_unit(staged: Path) -> None:
    """`verify` checks the unit's syntax and that ExecStart names an executable, which
    exists only once installed."""
    result = at_final_path(staged, "systemd-analyze", "verify", str(staged / UNIT))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


@slow
def test_the_units_documentation_is_installed(staged: Path) -> None:
    unit = (staged / UNIT).read_text()
    (urls,) = re.findall(r"^Documentation=(.*)$", unit, re.M)
    paths = [url.removeprefix("file://") for url in urls.split()]
    assert paths and all(url.startswith("file:///opt/robodine-edge/") for url in urls.split())
    for path in paths:
        assert (staged / path.lstrip("/")).is_file(), path
    readme = (staged / OPT / "README.md").read_text()
    for target in re.findall(r"\]\((docs/[^)#\s]+)", readme):
        assert (staged / OPT / target).is_file(), f"the installed README links to {target}, which is not installed"


# -- installing again, uninstalling --------------------------------------------------------------


@slow
def test_installing_again_keeps_the_config_and_replaces_the_venv(staged: Path, tmp_path: Path) -> None:
    destdir = tmp_path / "root"
    shutil.copytree(staged, destdir, symlinks=True)
    (destdir / CONFIG).write_text('[store]\nid = "corner-shop"\n')
    (destdir / OPT / "left-by-the-last-version").write_text("")
    seconds = install(destdir)
    print(f"make install DESTDIR=... again took {seconds:.1f} s")
    assert (destdir / CONFIG).read_text() == '[store]\nid = "corner-shop"\n'
    assert not (destdir / OPT / "left-by-the-last-version").exists()
    assert (destdir / OPT / "bin" / "robodine-edge").is_file()
    assert (destdir / UNIT).read_bytes() == (ROOT / SOURCES[UNIT]).read_bytes()


@slow
def test_uninstall_removes_everything_but_the_config_and_the_data(staged: Path, tmp_path: Path) -> None:
    destdir = tmp_path / "root"
    shutil.copytree(staged, destdir, symlinks=True)
    data = destdir / "var" / "lib" / "robodine"
    data.mkdir(parents=True)
    (data / "robodine.sqlite3").write_bytes(b"SQLite format 3\x00")
    result = make("uninstall", destdir)
    assert result.returncode == 0, result.stderr
    files = {p for p, st in tree(destdir).items() if not stat.S_ISDIR(st.st_mode)}
    assert files == {CONFIG, "var/lib/robodine/robodine.sqlite3"}
    assert not (destdir / OPT).exists()


# -- what a real install does to this machine (a dry run: systemd is not PID 1 here) -----------


def dry_run(target: str, destdir: Path | None = None) -> list[str]:
    """The commands `make -n` prints, a continued line joined to its start."""
    result = make(target, destdir, "-n")
    assert result.returncode == 0, result.stderr
    return result.stdout.replace("\\\n", " ").splitlines()


def position(commands: list[str], wanted: str) -> int:
    found = [i for i, line in enumerate(commands) if wanted in line]
    assert found, f"no command runs {wanted!r}:\n" + "\n".join(commands)
    return found[0]


def test_a_real_install_builds_in_opt_creates_the_user_then_enables_and_starts_the_unit() -> None:
    commands = dry_run("install")
    venv = position(commands, "/usr/bin/python3 -m venv /opt/robodine-edge.new")
    moved = position(commands, "mv /opt/robodine-edge.new /opt/robodine-edge")
    config = position(
        commands,
        "[ -e /etc/robodine/robodine.toml ] || install -m 0644 config/robodine.system.toml /etc/robodine/robodine.toml",
    )
    unit = position(commands, "install -m 0644 systemd/robodine-edge.service /etc/systemd/system/robodine-edge.service")
    users = position(commands, "install -m 0644 systemd/robodine.sysusers /usr/lib/sysusers.d/robodine.conf")
    user = position(commands, "systemd-sysusers /usr/lib/sysusers.d/robodine.conf")
    start = position(
        commands,
        "systemctl daemon-reload && systemctl enable robodine-edge.service && systemctl restart robodine-edge.service",
    )
    assert commands[start].startswith("if [ -d /run/systemd/system ]; then")  # only where systemd is PID 1
    assert venv < moved < start and config < start and unit < start and users < user < start


def test_a_real_uninstall_stops_the_unit_and_removes_the_user_but_not_the_config_or_the_data() -> None:
    commands = dry_run("uninstall")
    stop = position(commands, "systemctl disable --now robodine-edge.service")
    files = position(commands, "rm -f /etc/systemd/system/robodine-edge.service /usr/lib/sysusers.d/robodine.conf")
    venv = position(commands, "rm -rf /opt/robodine-edge ")
    user = position(commands, "userdel robodine")
    assert stop < files < user and stop < venv < user
    removals = [line for line in commands if re.search(r"\brm\b", line)]
    assert not [line for line in removals if "/etc/robodine" in line or "/var/lib" in line]


@pytest.mark.parametrize("target", ["install", "uninstall"])
def test_a_staged_install_touches_neither_systemd_nor_the_users_of_this_machine(target: str, tmp_path: Path) -> None:
    commands = "\n".join(dry_run(target, tmp_path))
    for program in ("systemctl", "systemd-sysusers", "useradd", "userdel", "groupdel"):
        assert program not in commands


def test_the_sysusers_file_makes_a_system_user_in_the_serial_ports_group(tmp_path: Path) -> None:
    """Applied by systemd-sysusers to a root holding Debian's base groups, as on a fresh Pi."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\nvideo:x:44:\n")
    conf = tmp_path / SYSUSERS
    conf.parent.mkdir(parents=True)
    shutil.copy(ROOT / SOURCES[SYSUSERS], conf)
    result = subprocess.run(["systemd-sysusers", f"--root={tmp_path}"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    users = {line.split(":")[0]: line.split(":") for line in (etc / "passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (etc / "group").read_text().splitlines()}
    _, _, uid, gid, gecos, home, shell = users["robodine"]
    assert 0 < int(uid) < 1000 and groups["robodine"][2] == gid  # a system user with its own group
    assert (gecos, home, shell) == ("robodine-edge service", "/var/lib/robodine", "/usr/sbin/nologin")
    assert groups["dialout"][3].split(",") == ["robodine"]
    assert groups["video"][3] == ""  # no video device is opened: cameras send over UDP
