"""The soak harness end to end, short (`make test-slow`): 90 s of the dinner rush against the real
`run --demo` with 20 robots. It proves the sampler reads the service from outside every few
seconds, that every order placed is accounted for (served or explained, none lost), that the
dashboard's `orders` topic ends where the API does, and that the verdict is drawn; the figures of
a 90-second run say nothing of drift (that is `make soak`, two hours)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bench.soak_drift import TOLERANCES

SAMPLE_FIELDS = ("t_s", "rss_mb", "rss_anon_mb", "threads", "fds", "cpu_s", "db_mb", "wal_mb", "orders_placed",
                 "orders_served", "open_orders", "replay_mb", "sqlite_mb", "rss_net_mb", "health_p50_ms")  # fmt: skip


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_a_short_soak_samples_the_service_and_accounts_for_every_order(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    command = [sys.executable, "-m", "bench.soak", "--minutes", "1.5", "--sample-s", "10", "--warmup-minutes", "0.5",
               "--order-every", "8", "--staff-every", "10", "--drain-s", "180", "--workdir", str(tmp_path / "run"),
               "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=540)
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a verdict said no (90 s is no soak)
    result = orjson.loads(out.read_bytes())
    assert result["exit_code"] == 0, result["log"]

    samples = result["samples"]
    assert len(samples) >= 8
    assert [s["t_s"] for s in samples] == sorted(s["t_s"] for s in samples)
    for sample in samples:
        missing = [name for name in SAMPLE_FIELDS if sample.get(name) is None]
        assert not missing, (missing, sample)
        assert 20 < sample["rss_mb"] < 1000 and sample["threads"] > 20 and sample["fds"] > 10
        assert sample["replay_mb"] > 0 and sample["sqlite_mb"] > 0
    assert samples[-1]["orders_placed"] > 3 and samples[-1]["orders_served"] > 0
    assert samples[-1]["cpu_s"] > samples[0]["cpu_s"]

    accounting = result["accounting"]
    assert accounting["ok"], accounting
    assert accounting["lost"] == 0 and accounting["orders"] >= result["load"]["kiosk_orders_acknowledged"] > 0
    assert accounting["served"] + accounting["explained"] == accounting["orders"]
    assert result["screens_agree"]["differ"] == 0 and result["screens_agree"]["finished_orders"] > 0
    assert all(screen["gaps"] == 0 and screen["messages"] > 0 for screen in result["screens"].values())
    assert result["load"]["errors"] == {}

    verdict = result["verdict"]
    assert set(verdict["drift"]) == {t.resource for t in TOLERANCES}
    judged = [t.resource for t in TOLERANCES if t.per_hour is not None]
    assert all(verdict["drift"][name]["samples"] >= 3 and verdict["drift"][name]["ok"] is not None for name in judged)
    assert verdict["checks"]["orders"] is True and verdict["checks"]["screens"] is True
    assert ("flat" in done.stdout) and ("orders up to #" in done.stdout)
