"""Trackers fed from the metric stream of the compiled program (or the gymnasium path's loop): CSV
always, TensorBoard and W&B (offline) when asked, read back with their own readers; a resumed run
appends without duplicates."""

import csv

import numpy as np
import pytest

from lagomjax.algos import ppo
from lagomjax.experiment.layout import read_csv
from lagomjax.train import trackers
from lagomjax.train.driver import main

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
pytest.importorskip("tensorboardX")
pytest.importorskip("wandb")


def _scalars(path, tag):
    acc = event_accumulator.EventAccumulator(str(path))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_cli_streams_to_csv_tensorboard_and_wandb(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    metrics, _ = main(ppo, ["--total-steps", str(4 * 128 * 12), "--num-seeds", "2", "--log-dir", str(run),
                            "--tensorboard", "true", "--wandb", "true", "--wandb-mode", "offline"])  # fmt: skip
    for i, seed in enumerate(("0", "1")):
        rows = read_csv(run / "0" / seed / "progress.csv")
        np.testing.assert_array_equal(rows["update"], np.arange(12))
        np.testing.assert_array_equal(rows["env_steps"], metrics["env_steps"][i])
        np.testing.assert_allclose(rows["v_loss"], metrics["v_loss"][i], rtol=1e-6)
        tb = _scalars(run / "tb" / f"seed_{seed}", "train/v_loss")
        assert [s for s, _ in tb] == metrics["env_steps"][i].tolist()
        np.testing.assert_allclose([v for _, v in tb], metrics["v_loss"][i], rtol=1e-6)
        evals = read_csv(run / "0" / seed / "eval.csv")  # about 10 evaluations per run: here every update
        np.testing.assert_array_equal(evals["update"], np.arange(12))
        np.testing.assert_array_equal(evals["eval_episode_return"], metrics["eval_episode_return"][i])
        assert evals["eval_episode_return"][-1] == metrics["eval_return"][i]  # the last is the final evaluation
        assert len(_scalars(run / "tb" / f"seed_{seed}", "eval/episode_return")) == 12
    assert (run / "learning_curve.png").exists() and (run / "learning_curve.svg").exists()
    offline = list((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 2 and all(any(p.glob("*.wandb")) for p in offline)


def test_a_resumed_csv_and_tensorboard_append_without_duplicates(tmp_path):
    def log(tracker, updates):
        for u in updates:
            tracker.log(0, u, {"env_steps": np.int32(100 * (u + 1)), "loss": np.float32(u), "note": np.zeros(2)})
        tracker.close()

    log(trackers.CSVTracker(tmp_path, [7]), range(10))  # logged up to update 9, checkpoint at 6
    log(trackers.CSVTracker(tmp_path, [7], start_update=6), range(6, 12))
    with open(tmp_path / "0" / "7" / "progress.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["update", "env_steps", "loss"] and [int(r[0]) for r in rows[1:]] == list(range(12))

    log(trackers.TensorBoardTracker(tmp_path, [7]), range(10))
    log(trackers.TensorBoardTracker(tmp_path, [7], start_step=601), range(6, 12))
    steps = [s for s, _ in _scalars(tmp_path / "tb" / "seed_7", "train/loss")]
    assert steps == [100 * (u + 1) for u in range(12)]


def test_the_gymnasium_path_streams_too_and_resumes_each_seed_where_it_stopped(tmp_path, monkeypatch):
    """A gymnasium id (seeds one after another) streams to the same trackers; stopped in its second
    seed and resumed, each seed's CSV and TensorBoard hold every update once, as its logs do."""
    from lagomjax.train import gym_loop

    run = tmp_path / "run"
    real = gym_loop.run_seeds_gym

    def stopping(*args, **kwargs):  # asked before each update: seed 0's six, then seed 1's first three
        calls = iter(range(100))
        return real(*args, **{**kwargs, "should_stop": lambda: next(calls) >= 9})

    argv = ["--env", "FrozenLake-v1", "--num-envs", "2", "--num-steps", "16", "--total-steps", str(2 * 16 * 6),
            "--num-seeds", "2", "--eval-episodes", "2", "--tensorboard", "true", "--plot", "off"]  # fmt: skip
    with monkeypatch.context() as m:
        m.setattr(gym_loop, "run_seeds_gym", stopping)
        with pytest.raises(SystemExit):
            main(ppo, [*argv, "--log-dir", str(run)])
    assert len(read_csv(run / "0" / "1" / "progress.csv")["update"]) == 3
    metrics, _ = main(ppo, ["--resume", str(run)])
    for i, seed in enumerate(("0", "1")):
        rows, logs = read_csv(run / "0" / seed / "progress.csv"), read_csv(run / "0" / seed / "train_logs.csv")
        np.testing.assert_array_equal(rows["update"], np.arange(6))
        np.testing.assert_array_equal(rows["env_steps"], logs["env_steps"])
        np.testing.assert_allclose(rows["v_loss"], metrics["v_loss"][i], rtol=1e-6)
        tb = _scalars(run / "tb" / f"seed_{seed}", "train/v_loss")
        assert [s for s, _ in tb] == metrics["env_steps"][i].tolist()
        np.testing.assert_allclose([v for _, v in tb], metrics["v_loss"][i], rtol=1e-6)
