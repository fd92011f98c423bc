"""The research scripts in examples/: the sweep, a user's own environment, a new algorithm from the
parts. Each is loaded from its file with runpy, as a script would be."""

import runpy
from pathlib import Path
from types import SimpleNamespace

import jax
import numpy as np
import pytest

from lagomjax.utils import pickle_load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    return SimpleNamespace(**runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}"))


def test_sweep_example_writes_layout_and_plot(tmp_path, capsys):
    sweep = load("sweep")
    metrics, wall = sweep.main(["--lrs", "1e-3,1e-4", "--num-seeds", "2", "--total-steps", "4096",
                                "--log-dir", str(tmp_path)])  # fmt: skip
    assert metrics["eval_return"].shape == (2, 2) and wall > 0
    err = capsys.readouterr().err  # the bar: 8 updates (4096 steps / 512 per update), every run finished
    assert "4 runs: 100%" in err and "8/8" in err
    assert [c["lr"] for c in pickle_load(tmp_path / "configs.pkl")] == [1e-3, 1e-4]
    for cid in (0, 1):
        assert (tmp_path / str(cid) / "config.yml").exists()
        for seed in (0, 1):
            assert (tmp_path / str(cid) / str(seed) / "train_logs.pkl").exists()
    assert (tmp_path / "lr_sweep.png").stat().st_size > 10_000


@pytest.mark.slow
def test_custom_env_example_registers_and_ppo_learns_it(tmp_path):
    """Random play on PointReach-v0 scores about -100 (100 steps about one unit from the goal)."""
    from PIL import Image

    ex = load("custom_env")
    config = ex.ppo.Config(env_id="PointReach-v0", total_steps=40_000)
    _, metrics = jax.jit(ex.ppo.make_train(config))(jax.random.key(0))
    returns = np.asarray(metrics["episode_return"])
    assert np.nanmean(returns[:3]) < -60 and float(metrics["eval_return"]) > -40, float(metrics["eval_return"])
    path = ex.greedy_gif(ex.ppo.Config(env_id="PointReach-v0", total_steps=2048), tmp_path / "reach.gif")
    with Image.open(path) as im:
        assert im.n_frames > 1


def test_custom_algorithm_example_learns_cartpole():
    ex = load("custom_algorithm")
    config = ex.Config(total_steps=100_000)
    _, metrics = jax.jit(ex.make_train(config))(jax.random.key(0))
    assert float(metrics["eval_return"]) >= 150.0, float(metrics["eval_return"])
