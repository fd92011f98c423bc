"""``python -m lagomjax.train compare``: runs found in and below the given directories, each one curve
and one table row with its final training return and final deterministic evaluation (finished runs
from their logs, runs still training from their trackers' stream)."""

import numpy as np
import pytest
from PIL import Image

from lagomjax.algos import dqn, ppo
from lagomjax.experiment.layout import write_logs
from lagomjax.train import compare, runs, trackers
from lagomjax.train.__main__ import main


def _finished(path, config, train, evals, final):
    """A finished run's directory: ``train``/``evals`` ``[seeds, updates]``, ``final`` ``[seeds]``."""
    seeds, updates = np.shape(train)
    runs.claim_run_dir(path, runs.run_record(config.__module__.rsplit(".", 1)[-1], config, seeds, 0))
    steps = np.tile(100 * np.arange(1, updates + 1), (seeds, 1))
    metrics = {"env_steps": steps, "episode_return": train, "eval_episode_return": evals, "eval_return": final}
    write_logs(path, [config], {k: np.asarray(v)[None] for k, v in metrics.items()}, list(range(seeds)))


def test_compare_finds_runs_and_reports_each_runs_final_returns(tmp_path, capsys):
    nan = np.nan
    _finished(tmp_path / "ppo" / "a", ppo.Config(), [[1.0, nan, 3.0], [2.0, 4.0, nan]],
              [[nan, nan, 10.0], [nan, nan, 20.0]], [10.0, 20.0])  # fmt: skip
    _finished(tmp_path / "dqn" / "b", dqn.Config(), [[5.0, 6.0]], [[nan, nan]], [7.0])  # evaluated only at the end
    live = tmp_path / "ppo" / "live"  # a run still training: what its trackers streamed so far
    runs.claim_run_dir(live, runs.run_record("ppo", ppo.Config(), 1, 0))
    stream = trackers.CSVTracker(live, [0])
    for u in range(2):
        stream.log(0, u, {"env_steps": np.int32(50 * (u + 1)), "episode_return": np.float32(u + 8)})
    stream.log_eval(1, [100], [30.0])
    stream.close()

    search = tmp_path / "ppo" / "search"  # a --search run among them: its trials are no run's seeds
    runs.claim_run_dir(search, {**runs.run_record("ppo", ppo.Config(), 1, 0), "search": {"method": "grid"}})
    summaries = main(["compare", str(tmp_path), "--out", str(tmp_path / "c.png")])
    out = capsys.readouterr().out
    assert sorted(summaries) == ["dqn/b", "ppo/a", "ppo/live"]  # the search run left out
    assert "| dqn/b | dqn | CartPole-v1 | 1 | 200 | 6.0 +- 0.0 | 7.0 +- 0.0 |" in out
    assert "| ppo/a | ppo | CartPole-v1 | 2 | 300 | 3.5 +- 0.5 | 15.0 +- 5.0 |" in out  # each seed's last value
    assert "| ppo/live | ppo | CartPole-v1 | 1 | 100 (training) | 9.0 +- 0.0 | 30.0 +- 0.0 |" in out
    np.testing.assert_array_equal(summaries["ppo/a"]["ys"][:, -1], [3.0, 4.0])  # NaN: the last return carried on
    with Image.open(tmp_path / "c.png") as im:
        assert im.size[0] > 500 and (tmp_path / "c.svg").exists()

    summaries = main(["compare", str(tmp_path / "ppo" / "a"), str(tmp_path / "ppo" / "live"), "--labels", "A,L",
                      "--metric", "eval_episode_return", "--out", str(tmp_path / "e.png")])  # fmt: skip
    assert list(summaries) == ["A", "L"] and summaries["A"]["ys"].shape == (2, 1)  # the one evaluation
    with pytest.raises(SystemExit):
        main(["compare", str(tmp_path / "ppo"), "--labels", "one"])
    assert "--labels gives 1 labels for 2 runs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", str(search)])
    assert "is a --search run: its trials are in" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        main(["compare", str(tmp_path / "empty")])
    assert "is not a run directory and holds none" in capsys.readouterr().err


def test_a_run_compared_from_the_command_line_gives_its_results_table_numbers(tmp_path, capsys):
    from lagomjax.train.driver import main as train

    metrics, _ = train(ppo, ["--total-steps", str(4 * 128 * 3), "--num-seeds", "2", "--hidden-sizes", "8",
                             "--plot", "off", "--log-dir", str(tmp_path / "r")])  # fmt: skip
    capsys.readouterr()
    summary = compare.main([str(tmp_path / "r"), "--out", str(tmp_path / "c.png")])[str(tmp_path / "r")]
    np.testing.assert_allclose(summary["eval"], metrics["eval_return"], rtol=1e-6)
    assert summary["env_steps"] == metrics["env_steps"][0, -1] and summary["finished"]
