"""JAX's persistent compilation cache on the command line: a second run of the same command loads
the compiled training chunk from disk (JAX reports a cache hit) and trains to the same numbers;
LAGOMJAX_COMPILE_CACHE=off (or --compile-cache off) writes nothing."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from lagomjax.experiment.layout import read_csv
from lagomjax.utils import enable_compile_cache

RUN = """
import logging, sys
logging.basicConfig(level=logging.WARNING)
logging.getLogger("jax._src.compiler").setLevel(logging.DEBUG)
from lagomjax.train.__main__ import main
main(sys.argv[1:])
"""


def _run(tmp_path, name, *flags, env=None):
    cmd = [sys.executable, "-c", RUN, "ppo", "--env", "CartPole-v1", "--num-seeds", "2", "--total-steps", "4096",
           "--eval-every", "0", "--log-dir", str(tmp_path / name), *flags]  # fmt: skip
    env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


@pytest.mark.slow
def test_a_second_run_loads_the_training_chunk_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = _run(tmp_path, "a", "--compile-cache", str(cache))
    assert "PERSISTENT COMPILATION CACHE MISS for 'jit_train_chunk'" in first
    assert any(p.name.startswith("jit_train_chunk") for p in cache.iterdir())
    second = _run(tmp_path, "b", "--compile-cache", str(cache))
    assert "Persistent compilation cache hit for 'jit_train_chunk'" in second
    for seed in ("0", "1"):
        a = read_csv(tmp_path / "a" / "0" / seed / "train_logs.csv")
        b = read_csv(tmp_path / "b" / "0" / seed / "train_logs.csv")
        np.testing.assert_array_equal(a["pg_loss"], b["pg_loss"])


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    """``off`` (what ``--compile-cache off`` passes, or LAGOMJAX_COMPILE_CACHE=off) leaves JAX's
    cache setting alone and creates no directory; the flag's value wins over the variable."""
    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAGOMJAX_COMPILE_CACHE", "off")
    assert enable_compile_cache() is None
    monkeypatch.setenv("LAGOMJAX_COMPILE_CACHE", str(tmp_path / "elsewhere"))
    assert enable_compile_cache("off") is None and enable_compile_cache("OFF") is None
    assert jax.config.jax_compilation_cache_dir == before
    assert not (tmp_path / "home").exists() and not (tmp_path / "elsewhere").exists()
