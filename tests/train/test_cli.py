"""The command line: flags from the Config dataclass, one entry for every algorithm
(``python -m lagomjax.train <name>``), ``examples/ppo.py``, and bad flags refused before compiling."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lagomjax.algos import ppo
from lagomjax.train.__main__ import main
from lagomjax.train.cli import config_from_args
from lagomjax.train.driver import results_table
from lagomjax.utils import pickle_load, yaml_load

ROOT = Path(__file__).resolve().parents[2]


def test_flags_come_from_the_dataclass():
    config, extra = config_from_args(
        ppo.Config, ["--env", "Pendulum-v1", "--hidden-sizes", "32,32", "--anneal-lr", "off", "--lstm-size", "8",
                     "--num-seeds", "3"], num_seeds=8,
    )  # fmt: skip
    assert config == ppo.Config(env_id="Pendulum-v1", hidden_sizes=(32, 32), anneal_lr=False, lstm_size=8)
    assert extra == {"num_seeds": 3, "_given": {"env_id", "hidden_sizes", "anneal_lr", "lstm_size", "num_seeds"}}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--anneal-lr", "maybe"], "expected a boolean"),
        (["--hidden-sizes", "64,x"], "comma-separated integers"),
        (["--num-minibatches", "3"], "divisible by num_minibatches=3"),
        (["--total-steps", "10"], "total_steps=10"),
    ],
)
def test_bad_flags_are_usage_errors_before_compiling(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        config_from_args(ppo.Config, argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, code, err",
    [
        (["ppo2", "--env", "CartPole-v1"], 2, "error: unknown algorithm 'ppo2'; one of ppo, vpg, dqn"),
        ([], 2, "error: no algorithm given; one of ppo,"),
        (["--help"], 0, ""),
    ],
)
def test_the_entry_names_an_unknown_algorithm(argv, code, err, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    assert e.value.code == code and (err in out.err if err else out.err == "")
    assert "usage: python -m lagomjax.train {ppo,vpg,dqn,ddpg,td3,sac,es_policy,evaluate,compare}" in out.out + out.err


def test_results_table_shows_no_speed_where_nothing_ran():
    timing = {"env_steps_per_s": 0.0, "compile_s": 2.5}  # a finished run resumed
    assert results_table("PPO", [400.0, 500.0], timing).splitlines()[-1] == (
        "| PPO | 2 | 450.0 +- 50.0 | 400.0 | 500.0 | - | 2.5 s |"
    )
    assert "| 12,345 | 2.5 s |" in results_table("PPO", [1.0], {**timing, "env_steps_per_s": 12_345.4})


def test_one_entry_for_every_algorithm_writes_lagom_layout(tmp_path, capsys):
    metrics, timing = main(["es_policy", "--env", "CartPole-v1", "--num-seeds", "2", "--generations", "3",
                            "--log-dir", str(tmp_path)])  # fmt: skip
    assert pickle_load(tmp_path / "configs.pkl")[0]["strategy"] == "cmaes"
    assert yaml_load(tmp_path / "0" / "config.yml")["ID"] == 0
    assert (tmp_path / "0" / "0" / "train_logs.pkl").exists() and (tmp_path / "0" / "1" / "train_logs.pkl").exists()
    assert (tmp_path / "learning_curve.png").exists() and (tmp_path / "run.yml").exists()
    assert metrics["episode_return"].shape == (2, 3) and timing["env_steps_per_s"] > 0
    assert "| ES-policy CartPole-v1 (deterministic eval) | 2 |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["a3c"])
    assert e.value.code == 2


@pytest.mark.parametrize("plot", ["curve.tmp", "", "sub/curve.png"])
def test_plot_names_are_checked_before_the_run(tmp_path, plot):
    """'' and off mean no plot; a name matplotlib cannot write (or a path) is refused before anything
    compiles or is written, not after the run."""
    argv = ["es_policy", "--env", "CartPole-v1", "--num-seeds", "1", "--generations", "2", "--log-dir", str(tmp_path)]
    if plot:
        with pytest.raises(SystemExit, match="--plot must be a file name ending in one of"):
            main([*argv, "--plot", plot])
        assert not any(tmp_path.iterdir())
    else:
        main([*argv, "--plot", plot])
        assert (tmp_path / "run.yml").exists() and not list(tmp_path.glob("*.png"))
        main([*argv[:-1], str(tmp_path / "svg"), "--plot", "curve.svg"])
        assert (tmp_path / "svg" / "curve.svg").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sac", "--env", "CartPole-v1"], "SAC on CartPole-v1: SAC needs a continuous (1-D Box) action space"),
        (["ppo", "--env", "NoSuchEnv-v0"], "PPO on NoSuchEnv-v0: Environment `NoSuchEnv` doesn't exist"),
        (["dqn", "--env", "gymnax:NoSuch-v0"], "gymnax has no environment 'NoSuch-v0'; its ids: "),
        (["dqn", "--env", "CartPole-v1", "--torso", "cnn"], "torso='cnn' needs image observations"),
        (["ppo", "--env", "FrozenLake-v1", "--search", "grid", "--space", "s.yml"], "is not a registered functional"),
        (["ppo", "--env", "MountainCar-v0", "--no-such-flag", "1"], "unrecognized arguments: --no-such-flag"),
        (["ppo", "--num-seeds", "0"], "--num-seeds must be >= 1, got 0"),
        (["ppo", "--eval-every", "-5"], "--eval-every must be -1, 0 or a number of updates, got -5"),
        (["ppo", "--checkpoint-seconds", "-1"], "--checkpoint-seconds must be >= 0, got -1.0"),
        # trackers stream one run as it trains: elsewhere they were silently ignored
        (["es_policy", "--env", "FrozenLake-v1", "--wandb", "true"], "ES on the gymnasium path (FrozenLake-v1) gives"),
        (["ppo", "--tensorboard", "true", "--search", "grid", "--space", "s.yml"], "--search writes its own record"),
    ],
)
def test_a_run_that_cannot_start_says_why_in_one_line_and_claims_no_directory(tmp_path, argv, message, capsys):
    """An unknown id, a missing dependency or a space the algorithm cannot use stops the command before
    a run directory is claimed, so the same --log-dir works once the command is fixed."""
    (tmp_path / "s.yml").write_text("lr: {low: 1.0e-4, high: 1.0e-2, log: true}\n")
    argv = [a if a != "s.yml" else str(tmp_path / "s.yml") for a in argv]
    with pytest.raises(SystemExit) as e:
        main([*argv, "--log-dir", str(tmp_path / "run")])
    assert message in str(e.value.code) + capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tensorboard", "true"], '--tensorboard needs tensorboardX: pip install "lagomjax[tensorboard]"'),
        (["--wandb", "true"], '--wandb needs wandb: pip install "lagomjax[wandb]"'),
        (["--search", "optuna", "--space", "s.yml"], '--search optuna needs optuna: pip install "lagomjax[search]"'),
    ],
)
def test_a_missing_extra_is_named_before_a_directory_is_claimed(tmp_path, argv, message, monkeypatch):
    """The core install lacks the extras: the run stopped with a traceback after claiming its
    directory (trackers) or after its first search step (optuna)."""
    import importlib.util

    real = importlib.util.find_spec
    missing = {"tensorboardX", "wandb", "optuna"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a))
    (tmp_path / "s.yml").write_text("lr: {low: 1e-4, high: 1e-2, log: true}\n")
    argv = [a if a != "s.yml" else str(tmp_path / "s.yml") for a in argv]
    with pytest.raises(SystemExit, match=re.escape(message)):
        main(["ppo", *argv, "--log-dir", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_examples_ppo_script_runs_the_library_ppo(tmp_path):
    cmd = [sys.executable, str(ROOT / "examples" / "ppo.py"), "--env", "CartPole-v1", "--num-seeds", "2",
           "--total-steps", "2048", "--log-dir", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "| PPO CartPole-v1 (deterministic eval) | 2 |" in proc.stdout
    assert (tmp_path / "learning_curve.png").exists() and (tmp_path / "0" / "1" / "train_logs.pkl").exists()
