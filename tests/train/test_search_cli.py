"""``--search pbt|optuna|cmaes|grid --space FILE`` on the command line: what a search run writes, a PBT
run interrupted and resumed equal to an uninterrupted one, an Optuna search continued with --resume,
and bad search flags refused before compiling. A toy algorithm (the PBT paper's quadratic problem)
keeps it fast; PPO under PBT is tested in tests/experiment/test_pbt.py."""

import csv
import functools
import pickle
import types
from dataclasses import dataclass

import numpy as np
import pytest

from lagomjax.experiment.toy import Toy, toy_parts
from lagomjax.train import driver, search_cli
from lagomjax.utils import yaml_dump, yaml_load

SPACE = {"h0": {"low": 0.0, "high": 1.0}, "h1": {"low": 0.01, "high": 1.0, "log": True}}


@dataclass(frozen=True)
class Config(Toy):
    h0: float = 0.5  # surrogate weight of coordinate 0
    h1: float = 0.5  # surrogate weight of coordinate 1
    num_updates: int = 20  # updates
    env_id: str = "CartPole-v1"  # the search needs a registered functional env id; the toy ignores it


TOY = types.ModuleType("toy_algorithm", "The PBT paper's toy problem as an algorithm module.")
TOY.NAME, TOY.Config, TOY.make_parts = "Toy", Config, toy_parts


@pytest.fixture
def space_file(tmp_path):
    return str(yaml_dump(SPACE, tmp_path / "space.yml", ext=None))


def run(argv):
    return driver.main(TOY, argv)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_pbt_run_writes_its_record_and_resumes_to_the_uninterrupted_result(tmp_path, space_file, monkeypatch, capsys):
    argv = ["--search", "pbt", "--space", space_file, "--population", "4", "--interval", "4"]
    whole = run([*argv, "--log-dir", str(tmp_path / "whole")])
    d = tmp_path / "whole"
    for name in ("run.yml", "search.yml", "trials.csv", "pbt_history.csv", "pbt_schedules.png", "pbt.ckpt",
                 "learning_curve.png", "configs.pkl", "0/config.yml", "3/0/train_logs.pkl"):  # fmt: skip
        assert (d / name).exists(), name
    record = yaml_load(d / "run.yml")
    assert record["search"] == {
        "method": "pbt",
        "space": {**SPACE, "h0": {**SPACE["h0"], "log": False}},
        "population": 4,
        "interval": 4,
        "objective": "eval",
    }
    assert record["num_seeds"] == 1
    summary = yaml_load(d / "search.yml")
    assert summary["best"]["return"] == pytest.approx(float(np.max(whole.eval_return)))
    assert len(rows(d / "trials.csv")) == 4 and len(rows(d / "pbt_history.csv")) == 5 * 4
    assert yaml_load(d / "2" / "config.yml")["h0"] == pytest.approx(float(whole.history["hparams"]["h0"][-1, 2]))
    assert "| trial | h0 | h1 | return | state |" in capsys.readouterr().out

    # interrupted after two intervals (as Ctrl-C does), then resumed
    real = search_cli.pbt
    monkeypatch.setattr(search_cli, "pbt", functools.partial(real, max_intervals=2))
    with pytest.raises(SystemExit) as e:
        run([*argv, "--log-dir", str(tmp_path / "cut")])
    assert e.value.code == 130 and "--resume" in capsys.readouterr().out
    monkeypatch.setattr(search_cli, "pbt", real)
    resumed = run(["--resume", str(tmp_path / "cut")])
    np.testing.assert_array_equal(resumed.eval_return, whole.eval_return)
    np.testing.assert_array_equal(resumed.history["source"], whole.history["source"])
    assert rows(tmp_path / "cut" / "pbt_history.csv") == rows(d / "pbt_history.csv")
    with pytest.raises(SystemExit, match="population: run 4, given 6"):
        run(["--resume", str(tmp_path / "cut"), "--population", "6"])


def test_optuna_cmaes_and_grid_from_the_command_line(tmp_path, space_file, capsys):
    pytest.importorskip("optuna", reason="needs lagomjax[search]")
    out = run(["--search", "optuna", "--space", space_file, "--trials", "8", "--batch", "4", "--log-dir",
               str(tmp_path / "opt")])  # fmt: skip
    assert (tmp_path / "opt" / "study.db").exists() and len(rows(tmp_path / "opt" / "trials.csv")) == 8
    assert out.study.best_value == pytest.approx(yaml_load(tmp_path / "opt" / "search.yml")["best"]["return"])
    # resuming a finished study runs nothing new and reports every trial
    again = run(["--resume", str(tmp_path / "opt")])
    assert again.trials == [] and len(rows(tmp_path / "opt" / "trials.csv")) == 8
    # a budget of 2.5 runs' worth of updates, no pruning: two trials start (a third would not fit); done
    capped = run(["--search", "optuna", "--space", space_file, "--trials", "8", "--batch", "4", "--budget", "2.5",
                  "--pruner", "none", "--log-dir", str(tmp_path / "capped")])  # fmt: skip
    assert len(capped.trials) == 2 and capped.timing["finished"] and capped.timing["updates"] == 2 * 20
    record = yaml_load(tmp_path / "capped" / "run.yml")["search"]
    assert record["budget"] == 2.5 and record["pruner"] == "none"
    assert run(["--resume", str(tmp_path / "capped")]).trials == []

    grid = run(["--search", "grid", "--space", space_file, "--grid-points", "2", "--num-seeds", "2",
                "--log-dir", str(tmp_path / "grid")])  # fmt: skip
    assert len(grid.trials) == 4 and grid.best["hparams"] == {"h0": 1.0, "h1": 1.0}
    assert len(rows(tmp_path / "grid" / "trials.csv")[0]["returns"].split()) == 2  # two seeds per trial
    assert (tmp_path / "grid" / "3" / "1" / "train_logs.csv").exists()  # trial 3, seed 1
    assert (tmp_path / "grid" / "learning_curve.png").exists()
    # a trial's config.yml (lagom's layout, with its ID) is a --config for a run of its own
    from lagomjax.train.cli import config_from_args

    trial, _ = config_from_args(Config, ["--config", str(tmp_path / "grid" / "3" / "config.yml")])
    assert (trial.h0, trial.h1) == (1.0, 1.0) and trial.num_updates == 20
    run(["--search", "grid", "--space", space_file, "--grid-points", "2", "--plot", "off", "--log-dir",
         str(tmp_path / "grid_off")])  # fmt: skip
    assert (tmp_path / "grid_off" / "search.yml").exists() and not list((tmp_path / "grid_off").glob("*.png"))

    # scored by the training return: the mean Q of the last tenth of the 20 updates (the 19th and 20th)
    train = run(["--search", "grid", "--space", space_file, "--grid-points", "2", "--objective", "train",
                 "--log-dir", str(tmp_path / "grid_train")])  # fmt: skip
    for r in train.trials:
        theta, qs = np.array([0.9, 0.9]), []
        for _ in range(20):
            theta = theta - 0.05 * 2.0 * np.array([r["hparams"]["h0"], r["hparams"]["h1"]]) * theta
            qs.append(1.2 - np.sum(theta**2))
        assert r["value"] == pytest.approx(np.mean(qs[-2:]), rel=1e-5)
    best = yaml_load(tmp_path / "grid_train" / "search.yml")["best"]
    assert best["return"] == pytest.approx(max(r["value"] for r in train.trials)) and best["hparams"]["h0"] == 1.0
    with open(tmp_path / "grid_train" / "0" / "0" / "train_logs.pkl", "rb") as f:
        logs = pickle.load(f)
    assert "episode_return" in logs and "eval_return" not in logs  # no evaluation was scored

    cma = run(["--search", "cmaes", "--space", space_file, "--trials", "10", "--batch", "5", "--log-dir",
               str(tmp_path / "cma")])  # fmt: skip
    assert len(cma.trials) == 10
    with pytest.raises(SystemExit, match="cannot be resumed"):
        run(["--resume", str(tmp_path / "cma")])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--search", "pbt"], "needs --space FILE"),
        (["--search", "bayes", "--space", "S"], "--search must be one of pbt, optuna, cmaes, grid"),
        (["--space", "S"], "--space needs --search"),
        (["--search", "pbt", "--space", "S", "--population", "1"], "--population must be >= 2"),
        (["--search", "pbt", "--space", "S", "--interval", "3"], "--interval 3 must divide the run's 20 updates"),
        (["--search", "grid", "--space", "S", "--batch", "0"], "--batch must be >= 1"),
        (["--search", "optuna", "--space", "S", "--budget", "-1"], "--budget must be >= 0"),
        (["--search", "optuna", "--space", "S", "--pruner", "asha"], "--pruner must be one of median, halving, none"),
        (["--search", "grid", "--space", "S", "--objective", "best"], "--objective must be one of eval, train"),
        (["--search", "grid", "--space", "BAD"], "num_updates.*set shapes or program structure"),
        (["--search", "grid", "--space", "S", "--env", "Taxi-v3"], "not a registered functional env"),
    ],
)
def test_bad_search_flags_are_refused_before_compiling(argv, message, tmp_path, space_file):
    bad = str(yaml_dump({"num_updates": {"low": 1, "high": 4}}, tmp_path / "bad.yml", ext=None))
    argv = [space_file if a == "S" else bad if a == "BAD" else a for a in argv]
    with pytest.raises(SystemExit, match=message):
        run([*argv, "--log-dir", str(tmp_path / "run")])


def test_every_algorithm_takes_the_search_flags(capsys):
    from lagomjax.train.__main__ import main

    with pytest.raises(SystemExit):
        main(["sac", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--search", "--space", "--trials", "--batch", "--population", "--interval", "--grid-points",
                 "--objective"):  # fmt: skip
        assert flag in help_text


def test_a_search_run_has_no_policy_to_load_and_says_how_to_train_its_best_trial(tmp_path):
    """``load_policy`` (and ``evaluate``) on a --search run directory name the best trial's config.yml
    to train, not a FileNotFoundError for a checkpoint a search never writes."""
    from lagomjax.algos import policies, ppo
    from lagomjax.train import runs

    record = {**runs.run_record("ppo", ppo.Config(), 1, 0), "search": {"method": "optuna"}}
    yaml_dump(record, tmp_path / "run.yml", ext=None)
    yaml_dump({"method": "optuna", "best": {"trial": 2, "return": 1.0}}, tmp_path / "search.yml", ext=None)
    with pytest.raises(ValueError, match=r"--search optuna run, which keeps no trained policy .*"
                                         r"python -m lagomjax.train ppo --config .*2/config\.yml"):  # fmt: skip
        policies.load_policy(tmp_path)


def test_a_pbt_run_s_members_load_as_policies_with_the_parameters_pbt_trained(tmp_path, capsys):
    """PPO under PBT on the command line; each member of the final population loads from ``pbt.ckpt``
    (``best``: search.yml's), and the loaded state is that member's: its deterministic evaluation on
    PBT's own evaluation episodes reproduces the member's return in trials.csv."""
    import jax

    from lagomjax.algos import policies, ppo

    space = str(yaml_dump({"lr": {"low": 1e-3, "high": 1e-2, "log": True}}, tmp_path / "s.yml", ext=None))
    run_dir = tmp_path / "pbt"
    driver.main(ppo, ["--env", "CartPole-v1", "--num-envs", "4", "--num-steps", "32", "--total-steps", "1024",
                      "--eval-episodes", "4", "--search", "pbt", "--space", space, "--population", "2",
                      "--interval", "4", "--plot", "off", "--log-dir", str(run_dir)])  # fmt: skip
    trials = rows(run_dir / "trials.csv")
    config = policies.load_policy(run_dir, 1).config
    parts = ppo.make_parts(config)
    members, update, best = policies._pbt_population(parts, yaml_load(run_dir / "run.yml"), run_dir, True)
    assert update == config.num_updates and best == yaml_load(run_dir / "search.yml")["best"]["trial"]
    eval_key = jax.random.split(jax.random.key(0), 1)[0]  # PBT's evaluation episodes (seed 0)
    for i, trial in enumerate(trials):
        one = jax.tree.map(lambda x, i=i: x[i], members)
        assert float(jax.jit(parts.finish)(one, eval_key)) == pytest.approx(float(trial["return"]), abs=1e-4)
    policy = policies.load_policy(run_dir, best=True)
    assert policy.update == config.num_updates and int(policy.act(np.zeros(4, np.float32))[0]) in (0, 1)
    with pytest.raises(ValueError, match=r"seed_index \(the member\) must lie in \[0, 2\)"):
        policies.load_policy(run_dir, 2)
