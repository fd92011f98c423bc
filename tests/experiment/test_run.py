"""run_experiment: lagom's layout, failure isolation with tracebacks, resume skipping finished jobs,
no prompts, worker processes."""

from pathlib import Path

import pytest

from lagomjax.experiment import Config, Grid, run_experiment
from lagomjax.utils import pickle_load, yaml_load


def job(config, seed, device, logdir):
    out = Path(config["log.dir"]) / str(config["ID"]) / str(seed)
    assert Path(logdir) == out and out.is_dir()
    if config["x"] == 2 and seed == 1:
        raise RuntimeError("boom: a broken job")
    (out / "result.txt").write_text(f"{config['x'] * 10 + seed} {device}")
    return config["x"] * 10 + seed


def test_layout_failure_isolation_and_resume(tmp_path):
    config = Config({"x": Grid([1, 2, 3]), "name": "t"})
    results = run_experiment(job, config, [0, 1], tmp_path, max_workers=None)  # lagom: None runs them in turn
    assert (tmp_path / "source_files" / "test_run.py").read_text() == Path(__file__).read_text()
    assert [(r["ID"], r["seed"], r["status"]) for r in results] == [
        (0, 0, "done"), (0, 1, "done"), (1, 0, "done"), (1, 1, "failed"), (2, 0, "done"), (2, 1, "done"),
    ]  # fmt: skip
    assert results[5]["result"] == 31
    assert "boom: a broken job" in results[3]["error"]
    assert "boom" in (tmp_path / "1" / "1" / "error.txt").read_text()
    configs = pickle_load(tmp_path / "configs.pkl")
    assert [c["ID"] for c in configs] == [0, 1, 2] and yaml_load(tmp_path / "2" / "config.yml")["x"] == 3
    assert (tmp_path / "2" / "1" / "result.txt").read_text() == "31 cpu"

    with pytest.raises(FileExistsError, match="resume"):
        run_experiment(job, config, [0, 1], tmp_path, max_workers=0)
    again = run_experiment(job, config, [0, 1], tmp_path, max_workers=0, resume=True)
    assert [r["status"] for r in again] == ["skipped"] * 3 + ["failed"] + ["skipped"] * 2
    with pytest.raises(ValueError, match="differs"):
        run_experiment(job, Config({"x": Grid([5])}), [0], tmp_path, max_workers=0, resume=True)
    fresh = run_experiment(job, Config({"x": Grid([5])}), [0], tmp_path, max_workers=0, overwrite=True)
    assert [r["status"] for r in fresh] == ["done"] and not (tmp_path / "2").exists()


def test_worker_processes_and_closures(tmp_path):
    offset = 100

    def closure_job(config, seed, device, logdir):  # not importable by name: shipped with cloudpickle
        if seed == 1:
            raise ValueError("fails in a worker")
        return offset + config["x"] + seed

    results = run_experiment(closure_job, Config({"x": Grid([1, 2])}), [0, 1], tmp_path, max_workers=2, use_gpu=True,
                             gpu_ids=[0, 1])  # fmt: skip
    assert [r["status"] for r in results] == ["done", "failed", "done", "failed"]
    assert [r.get("result") for r in results] == [101, None, 102, None]
    assert (tmp_path / "0" / "0" / ".done").exists() and (tmp_path / "1" / "1" / "error.txt").exists()


def test_run_must_take_lagoms_four_arguments(tmp_path):
    with pytest.raises(TypeError, match=r"\(config, seed, device, logdir\)"):
        run_experiment(lambda config, seed, device: None, Config({"x": 1}), [0], tmp_path, max_workers=None)
    assert not tmp_path.joinpath("configs.pkl").exists()  # refused before anything was written


def test_seeds_that_are_not_plain_names_are_refused(tmp_path):
    for seed in ("../../x", "a/b", 1.5):
        with pytest.raises(ValueError, match="seeds must be ints or plain names"):
            run_experiment(job, Config({"x": 1}), [0, seed], tmp_path / "logs", max_workers=None)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "x").exists()
