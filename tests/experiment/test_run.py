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
    with pytest.raises(ValueError, match=r"seeds must be distinct .* got \[1, 2, 1\]"):
        run_experiment(job, Config({"x": 1}), [1, 2, 1], tmp_path / "logs", max_workers=None)
    with pytest.raises(TypeError, match="config must be an experiment.Config .* got list"):
        run_experiment(job, [{"x": 1}], [0], tmp_path / "logs", max_workers=None)
    assert not (tmp_path / "logs").exists()


@pytest.mark.slow
def test_a_dying_or_hanging_worker_is_recorded_and_the_rest_finish(tmp_path):
    def faulty(config, seed, device, logdir):  # shipped by value to the spawned workers
        import os
        import time

        (Path(logdir) / "partial.txt").write_text("started")
        if config["x"] == 1 and seed == 0:
            os.abort()
        if config["x"] == 1 and seed == 1:
            time.sleep(3600)
        return config["x"] * 10 + seed

    config = Config({"x": Grid([0, 1, 2])})
    results = run_experiment(faulty, config, [0, 1, 2], tmp_path, max_workers=2, chunksize=2, timeout=5)
    status = {(r["ID"], r["seed"]): r["status"] for r in results}
    assert status.pop((1, 0)) == status.pop((1, 1)) == "failed" and set(status.values()) == {"done"}
    assert [r["result"] for r in results if r["status"] == "done"] == [0, 1, 2, 12, 20, 21, 22]
    assert "died (exit code -6)" in (tmp_path / "1" / "0" / "error.txt").read_text()  # SIGABRT
    assert "timed out after 5 s" in (tmp_path / "1" / "1" / "error.txt").read_text()
    assert (tmp_path / "1" / "1" / "partial.txt").read_text() == "started"  # partial output kept
    again = run_experiment(faulty, config, [0, 1, 2], tmp_path, max_workers=2, timeout=5, resume=True)
    assert [r["status"] for r in again].count("skipped") == 7


KILLED_PARENT = """
import os, sys, time
from pathlib import Path
from lagomjax.experiment import Config, Grid, run_experiment
out = Path(sys.argv[1])
def slow(config, seed, device, logdir):
    import os, time
    from pathlib import Path
    marks = Path(config["log.dir"]).parent / "marks"
    marks.mkdir(exist_ok=True)
    (marks / f"{{config['ID']}}-{{seed}}-{{os.getpid()}}").write_text("")
    time.sleep({sleep} if config["ID"] == 1 and seed >= 2 else 0)
    return seed
if __name__ == "__main__":
    run_experiment(slow, Config({{"x": Grid([0, 1])}}), [0, 1, 2, 3], out / "logs", max_workers=2, resume=True)
"""


def test_workers_die_with_a_killed_parent_and_resume_reruns_exactly_the_unfinished(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(KILLED_PARENT.format(sleep=3600))
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    marks = tmp_path / "marks"
    deadline = time.monotonic() + 300
    while len([m for m in marks.glob("1-*") if m.name.split("-")[1] in "23"]) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, "the experiment did not get going"
        time.sleep(0.5)  # wait until both workers sit in sleeping jobs
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    pids = [int(m.name.split("-")[2]) for m in marks.glob("*")]
    time.sleep(3)

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"

    assert not any(alive(p) for p in pids), "workers outlived their killed parent"
    done = sorted(str(p.relative_to(tmp_path / "logs")) for p in (tmp_path / "logs").glob("*/*/.done"))
    assert len(done) == 6  # all but the two sleeping jobs
    first_marks = {m.name.rsplit("-", 1)[0] for m in marks.glob("*")}
    for m in marks.glob("*"):
        m.unlink()
    script.write_text(KILLED_PARENT.format(sleep=0))
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=300)
    rerun = sorted(m.name.rsplit("-", 1)[0] for m in marks.glob("*"))
    assert rerun == ["1-2", "1-3"] and {"1-2", "1-3"} <= first_marks
    assert len(list((tmp_path / "logs").glob("*/*/.done"))) == 8
    assert not list((tmp_path / "logs").rglob("*.tmp"))
