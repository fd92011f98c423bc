"""examples/sweep.py: learning rates x seeds in one program, lagom's layout and the comparison PNG."""

from conftest import load_example

from lagomjax.utils import pickle_load


def test_sweep_example_writes_layout_and_plot(tmp_path):
    sweep = load_example("sweep")
    metrics, wall = sweep.main(["--lrs", "1e-3,1e-4", "--num-seeds", "2", "--total-steps", "4096",
                                "--log-dir", str(tmp_path)])  # fmt: skip
    assert metrics["eval_return"].shape == (2, 2) and wall > 0
    assert [c["lr"] for c in pickle_load(tmp_path / "configs.pkl")] == [1e-3, 1e-4]
    for cid in (0, 1):
        assert (tmp_path / str(cid) / "config.yml").exists()
        for seed in (0, 1):
            assert (tmp_path / str(cid) / str(seed) / "train_logs.pkl").exists()
    assert (tmp_path / "lr_sweep.png").stat().st_size > 10_000
