"""lagomjax.vis: curves from lagom's layout, ticks, image grids, the viewer and episode GIFs."""

import warnings

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lagomjax import vis  # noqa: E402
from lagomjax.logger import Logger  # noqa: E402
from lagomjax.utils import yaml_dump  # noqa: E402


def _write_runs(root):
    """Two config IDs x 3 seeds; ID 1 is ID 0 shifted up by 10; NaN where no episode ended."""
    for cid in (0, 1):
        yaml_dump({"ID": cid, "lr": [1e-3, 1e-4][cid]}, root / str(cid) / "config.yml")
        for seed in range(3):
            logger = Logger()
            for i in range(10):
                logger("env_steps", (i + 1) * 100)
                logger("episode_return", np.nan if i == 3 else float(i + seed + 10 * cid))
            logger.save(root / str(cid) / str(seed) / "train_logs.pkl")


def test_read_xy_and_curves(tmp_path):
    _write_runs(tmp_path)
    curves = vis.read_xy(
        tmp_path, "train_logs.pkl", lambda logs: logs["env_steps"], lambda logs: logs["episode_return"]
    )
    assert [c["ID"] for c in curves] == [0, 1] and curves[1]["config"]["lr"] == 1e-4
    assert curves[0]["ys"].shape == (3, 10) and curves[0]["seeds"] == [0, 1, 2]
    np.testing.assert_allclose(curves[0]["x"], np.arange(1, 11) * 100)
    # the NaN update (no episode finished) keeps the last finite value
    np.testing.assert_allclose(curves[0]["ys"][2], [2, 3, 4, 4, 6, 7, 8, 9, 10, 11])
    np.testing.assert_allclose(curves[1]["ys"], curves[0]["ys"] + 10)
    thin = vis.read_xy(
        tmp_path, "train_logs.pkl", lambda g: g["env_steps"], lambda g: g["episode_return"], point_step=3
    )
    assert thin[0]["ys"].shape == (3, 4)
    ax = vis.plot_curves(curves, label=lambda c: f"lr={c['config']['lr']}")
    vis.set_ticker(ax, "x", num=4, KM_format=True)
    assert len(ax.get_lines()) == 2 and len(ax.collections) == 2  # two means, two bands
    assert vis._km(1500) == "1.5K" and vis._km(2e6) == "2M" and vis._km(12) == "12"
    png = vis.save_figure(ax.figure, tmp_path / "curves.png")
    assert png.exists() and not list(tmp_path.glob(".*tmp*"))
    with pytest.raises(ValueError, match="axis"):
        vis.set_ticker(ax, "z")
    plt.close("all")


def test_grid_image_and_viewer():
    g = vis.GridImage(ncol=3, padding=1)
    g.add(np.ones((4, 5, 3)))  # one image
    g.add(np.zeros((4, 4, 5, 3)))  # a batch of 4
    out = g.grid()
    assert out.shape == (2 * (4 + 1) + 1, 3 * (5 + 1) + 1, 3)
    assert out[1:5, 1:6].min() == 1 and out[0].max() == 0
    gray = vis.GridImage(ncol=2)
    gray.add(np.ones((3, 2, 2)))  # three gray images
    assert gray.grid().shape == (2 * 4 + 2, 2 * 4 + 2, 1)
    with pytest.raises(ValueError, match="empty"):
        vis.GridImage().grid()
    with pytest.raises(ValueError, match="ncol must be an int >= 1, got 0"):
        vis.GridImage(ncol=0)
    with pytest.raises(ValueError, match="padding must be an int >= 0, got -1"):
        vis.GridImage(padding=-1)
    viewer = vis.ImageViewer()
    viewer.imshow(np.zeros((8, 8, 3), np.uint8))
    viewer.imshow(np.ones((8, 8, 3), np.uint8))
    assert len(viewer.frames) == 2
    viewer.close()
    assert not viewer.isopen


def test_episode_gif(tmp_path):
    from PIL import Image

    act = lambda obs, pstate: (jnp.int32(obs[2] > 0), pstate)  # noqa: E731
    path = vis.episode_gif("CartPole-v1", act, jax.random.key(0), tmp_path / "ep.gif")
    with Image.open(path) as im:
        assert im.n_frames > 20 and im.size == (240, 160)
    frame = vis.render_frame("Pendulum-v1", np.array([0.5, 0.0]))
    assert frame.shape == (160, 240, 3) and frame.dtype == np.uint8
    with pytest.raises(ValueError, match="registered"):
        vis.render_frame("LunarLander-v3", np.zeros(8))


def test_a_video_format_without_its_extra_is_refused_before_the_episode(tmp_path, monkeypatch, capsys):
    import importlib.util

    from lagomjax.train.__main__ import main

    real, played = importlib.util.find_spec, []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "imageio" else real(name, *a))

    def act(obs, pstate):
        played.append(1)
        return jnp.int32(0), pstate

    with pytest.raises(ImportError, match=r'writing \.mp4 videos needs imageio: pip install "lagomjax\[video\]"'):
        vis.record_episode("CartPole-v1", act, jax.random.key(0), tmp_path / "ep.mp4")
    assert played == [] and not (tmp_path / "ep.mp4").exists()
    vis.check_video_path(tmp_path / "ep.gif")  # Pillow's, always there
    with pytest.raises(SystemExit):  # the command line: one usage line, before loading the run
        main(["evaluate", str(tmp_path / "no_run"), "--video", "ep.webm"])
    assert 'writing .webm videos needs imageio: pip install "lagomjax[video]"' in capsys.readouterr().err


def test_an_environment_without_a_render_hook_is_refused_before_the_episode_runs(tmp_path, monkeypatch):
    """A functional env registered without ``render`` (a user's, or Jumanji's GraphColoring) cannot be
    drawn: recording it is a ValueError before the policy acts, and ``check_video_path`` (the command
    line's) says so."""
    from lagomjax import envs
    from lagomjax.envs import registry
    from lagomjax.envs.classic_control import cartpole

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the registration ends with the test
    envs.register("UndrawnCartPole-v0", cartpole, 50, overwrite=True)
    played = []

    def act(obs, pstate):
        played.append(1)
        return jnp.int32(0), pstate

    with pytest.raises(ValueError, match="'UndrawnCartPole-v0' was registered without a render hook"):
        vis.record_episode("UndrawnCartPole-v0", act, jax.random.key(0), tmp_path / "ep.gif")
    assert played == [] and not (tmp_path / "ep.gif").exists()
    with pytest.raises(ValueError, match="without a render hook"):
        vis.check_video_path(tmp_path / "ep.gif", "UndrawnCartPole-v0")
    vis.check_video_path(tmp_path / "ep.gif", "CartPole-v1")


def test_evaluate_video_renders_mujoco_headless_through_egl_unless_told(tmp_path, monkeypatch, capsys):
    """Without a display, ``evaluate --video`` sets MUJOCO_GL=egl (read when MuJoCo is imported, so
    before the run is read); a MUJOCO_GL already set, or a display, is left as it is."""
    import os

    from lagomjax.train.__main__ import main

    for display, given, expect in [(None, None, "egl"), (None, "osmesa", "osmesa"), (":0", None, None)]:
        for name, value in (("DISPLAY", display), ("MUJOCO_GL", given)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit):
            main(["evaluate", str(tmp_path / "no_run"), "--video", "ep.gif"])
        assert "is not a run directory" in capsys.readouterr().err
        assert os.environ.get("MUJOCO_GL") == expect


def test_bootstrap_ci_matches_a_plain_loop_and_covers_the_mean():
    from lagomjax.vis import bootstrap_ci

    ys = np.random.default_rng(1).normal(size=(10, 3))
    ys[2, 1] = np.nan
    lo, hi = bootstrap_ci(ys, n_boot=500, seed=4)
    idx = np.random.default_rng(4).integers(0, 10, (500, 10))
    for t in range(3):
        means = [np.nanmean(ys[i, t]) for i in idx]
        np.testing.assert_allclose([lo[t], hi[t]], np.quantile(means, [0.025, 0.975]), rtol=1e-12)
        assert lo[t] < np.nanmean(ys[:, t]) < hi[t]
    lo, hi = bootstrap_ci(np.full((4, 2), np.nan))
    assert np.isnan(lo).all() and np.isnan(hi).all()
    with warnings.catch_warnings():  # a column without any value (no episode ended yet) warns nothing
        warnings.simplefilter("error")
        lo, hi = bootstrap_ci(np.asarray([[np.nan, 1.0], [np.nan, 3.0]]))
    assert np.isnan(lo[0]) and 1.0 <= lo[1] <= hi[1] <= 3.0
    with pytest.raises(ValueError, match="ci"):
        bootstrap_ci(ys, ci=1.5)


def test_learning_curve_png_at_150_dpi_with_svg_and_no_warnings(tmp_path, recwarn):
    from PIL import Image

    from lagomjax.vis import plot_learning_curve

    steps = np.tile(np.arange(1, 21) * 100, (3, 1))
    ret = np.where(np.arange(20) % 3 == 0, np.nan, np.linspace(10, 200, 20))[None].repeat(3, 0)
    ev = np.full((3, 20), np.nan)
    ev[:, 9], ev[:, 19] = [50, 60, 70], [190, 200, 210]
    path = plot_learning_curve({"env_steps": steps, "episode_return": ret, "eval_episode_return": ev},
                               tmp_path / "c.png", "t")  # fmt: skip
    with Image.open(path) as im:
        assert im.size == (900, 600)  # 6 x 4 inches at 150 dpi
    assert (tmp_path / "c.svg").read_text().startswith("<?xml")
    assert not [w for w in recwarn if "empty slice" in str(w.message)]
    # one run's metrics, without a seed axis (jax.jit(train)(key)), plot as one seed
    one = plot_learning_curve({"env_steps": steps[0], "episode_return": ret[0], "eval_episode_return": ev[0]},
                              tmp_path / "one.png", "t")  # fmt: skip
    with Image.open(one) as im:
        assert im.size == (900, 600)
    with pytest.raises(ValueError, match=r"must be \[seeds, updates\] matching env_steps \(20,\), got \(3, 19\)"):
        plot_learning_curve({"env_steps": steps, "episode_return": ret[:, 1:]}, tmp_path / "bad.png", "t")


def test_aggregate_metrics_follow_rliables_definitions():
    from scipy import stats

    from lagomjax.vis import aggregate_metrics

    scores = np.random.default_rng(3).uniform(0, 1.4, size=(7, 5))
    agg = aggregate_metrics(scores, reps=300, seed=9)
    assert agg["IQM"][0] == pytest.approx(stats.trim_mean(scores.ravel(), 0.25))
    assert agg["median"][0] == pytest.approx(np.median(scores.mean(axis=0)))
    assert agg["optimality gap"][0] == pytest.approx(np.mean(np.maximum(1.0 - scores, 0.0)))
    rng = np.random.default_rng(9)  # the stratified bootstrap as a plain loop: runs resampled per task
    idx = rng.integers(0, 7, (300, 7, 5))
    means = [np.mean([[scores[idx[r, i, t], t] for t in range(5)] for i in range(7)]) for r in range(300)]
    np.testing.assert_allclose(agg["mean"][1:], np.quantile(means, [0.025, 0.975]))
    for point, lo, hi in agg.values():
        assert lo <= point <= hi
    with pytest.raises(ValueError, match="scores"):
        aggregate_metrics(np.ones(4))
