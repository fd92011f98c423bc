"""benchmarks/device_check.py (the accelerator check) runs end to end at toy sizes, so it never rots
before a GPU machine runs it at full size: every row measured, the JSON written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_device_check_runs_every_row_at_toy_sizes(tmp_path):
    out = tmp_path / "check.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "device_check.py"), "--tiny", "--repeats", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(out.read_text())
    works = [r["work"] for r in record["rows"]]
    for prefix in ("PPO Breakout-MinAtar", "SAC Pendulum-v1, 16", "random rollout", "CMA-ES"):
        assert any(w.startswith(prefix) for w in works), (prefix, works)
    assert all(r["accelerator"]["rate"] > 0 for r in record["rows"])
    assert "| work | unit | accelerator |" in proc.stdout
