"""The README's commands, pasted in order against the demo `make run` starts.

Every ```sh block of README.md after the first (the two `make` commands) runs, in one
bash session, in a folder laid out like a checkout after `make run`: `var/` is the
demo's data directory and `.venv/bin/robodine-edge` the installed command. The demo
listens on ports chosen by the system, so the README's `127.0.0.1:8000` and `:8001`
are rewritten to them; nothing else is changed. `curl` fails on an HTTP error (and
shows the body), so a command that would answer 409 to a newcomer fails this test.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.service import EXECUTABLE, ServiceProcess, service_env

pytestmark = pytest.mark.e2e
README = Path(__file__).parent.parent / "README.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
PRELUDE = """set -euo pipefail
curl() { command curl --silent --show-error --fail-with-body "$@"; }
"""


def readme_commands() -> list[str]:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert blocks and "make run" in blocks[0] and "make test" in blocks[0]
    return [block for block in blocks[1:] if not re.search(r"^\s*(make|sudo|ROBODINE_HOST=)", block, re.M)]


def test_the_first_block_is_the_two_commands_of_a_fresh_machine() -> None:
    first = BLOCK.findall(README.read_text(encoding="utf-8"))[0]
    assert [line.split()[:2] for line in first.strip().splitlines()] == [["make", "run"], ["make", "test"]]


def test_every_readme_command_works_pasted_in_order_against_the_demo(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "robodine-edge").symlink_to(EXECUTABLE)
    data_dir = checkout / "var"
    env = service_env(data_dir)
    del env["ROBODINE_ADMIN_PASSWORD"]  # as `make run`: the password is generated into var/
    with ServiceProcess(data_dir, env, args=("--demo",)) as demo:
        ports = demo.runtime
        script = "\n".join(readme_commands())
        script = script.replace("127.0.0.1:8000", f"127.0.0.1:{ports['http_port']}")
        script = script.replace("127.0.0.1:8001", f"127.0.0.1:{ports['robot_port']}")
        shell_env = {k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}
        shell_env["ROBODINE_CONFIG"] = os.devnull  # the simulator reads config too: no checkout file
        result = subprocess.run(
            ["bash", "-c", PRELUDE + script],
            cwd=checkout,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"a README command failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        out = result.stdout
        assert '"status":"ok"' in out.replace(" ", "")
        table = re.search(r"Lee's party sits at table (\d+)", out)
        assert table is not None, out[-2000:]
        orders = re.findall(rf'"id":(\d+),"table_id":{table.group(1)},', out.replace(" ", ""))
        assert len(orders) >= 2 and len(set(orders)) == 1, "the retry with the same key made another order"
