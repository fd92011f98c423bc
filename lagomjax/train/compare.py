"""Runs side by side: ``python -m lagomjax.train compare RUN [RUN ...]`` (RL Zoo's ``plot_train``).

Each argument is a run directory, or a directory holding runs (every ``run.yml`` below it counts,
e.g. ``runs/ppo/CartPole-v1``). Every run gives one curve, the mean over its seeds with a 95%
bootstrap confidence band (:func:`lagomjax.vis.read_xy`, :func:`lagomjax.vis.plot_curves`) against
environment steps, and one row of a table: algorithm, environment, seeds, steps so far, final
training return and final deterministic evaluation. A finished run is read from its logs
(``train_logs.csv``; the final evaluation from ``train_logs.pkl``, the run's own pickle), a run
still training from what its trackers stream (``progress.csv``, ``eval.csv``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from lagomjax.train import runs

METRICS = ("episode_return", "eval_episode_return")


def _is_search(run_dir: Path) -> bool:
    return runs.read_record(run_dir).get("search") is not None


def find_runs(paths) -> list[Path]:
    """The run directories ``paths`` name: each one itself if it holds ``run.yml``, else every run
    below it (sorted), less ``--search`` runs (their trials are in ``trials.csv`` and their own
    plots); a path with none, or a search run named itself, raises ``ValueError``."""
    out = []
    for path in map(Path, paths):
        if (path / runs.RUN_FILE).exists() and _is_search(path):
            raise ValueError(f"{path} is a --search run: its trials are in {path / 'trials.csv'} and its plot")
        found = [path] if (path / runs.RUN_FILE).exists() else sorted(p.parent for p in path.rglob(runs.RUN_FILE))
        found = [p for p in found if not _is_search(p)]
        if not found:
            raise ValueError(f"{path} is not a run directory and holds none (no {runs.RUN_FILE} of a training run "
                             "in or below it)")  # fmt: skip
        out += [p for p in found if p not in out]
    return out


def _finished(run_dir: Path) -> bool:
    return any((run_dir / "0").glob("*/train_logs.csv"))


def run_summary(run_dir, metric: str = "episode_return") -> dict:
    """One run's curve (``x [P]``, ``ys [seeds, P]``: :func:`~lagomjax.vis.read_xy`'s, ``None`` before
    its first value) and its numbers: ``algorithm``, ``env_id``, ``seeds``, ``env_steps`` (the most
    any seed took), ``train`` and ``eval`` (per seed: the last training return, the final
    deterministic evaluation or, while training, the latest; NaN where none)."""
    from lagomjax.experiment.layout import read_csv
    from lagomjax.utils import pickle_load
    from lagomjax.vis import read_xy

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    run_dir = Path(run_dir)
    record = runs.read_record(run_dir)
    finished = _finished(run_dir)
    seed_dirs = sorted((p for p in (run_dir / "0").glob("*") if p.is_dir()), key=lambda p: int(p.name))
    train = "train_logs.csv" if finished else "progress.csv"
    evals = "train_logs.csv" if finished else "eval.csv"
    last = lambda y: y[np.isfinite(y)][-1] if np.isfinite(y).any() else np.nan  # noqa: E731
    numbers = {"train": [], "eval": [], "steps": []}
    for d in seed_dirs:
        logs = read_csv(d / train) if (d / train).exists() else {}
        numbers["train"].append(last(logs.get("episode_return", np.array([]))))
        numbers["steps"].append(float(np.max(logs["env_steps"])) if len(logs.get("env_steps", [])) else 0.0)
        ev = read_csv(d / evals) if (d / evals).exists() else {}
        value = last(ev.get("eval_episode_return", np.array([])))
        if finished and (d / "train_logs.pkl").exists():  # the final evaluation, run with --eval-every 0 too
            value = float(np.ravel(pickle_load(d / "train_logs.pkl").get("eval_return", [value]))[-1])
        numbers["eval"].append(value)
    source = train if metric == "episode_return" else evals
    curves = read_xy(run_dir, source, lambda logs: logs["env_steps"], lambda logs: logs[metric])
    curves = [c for c in curves if c["ID"] == 0 and c["ys"].shape[1] > 0]
    return {
        "algorithm": record["algorithm"],
        "env_id": record["config"]["env_id"],
        "seeds": record["num_seeds"],
        "finished": finished,
        "env_steps": max(numbers["steps"], default=0.0),
        "train": np.asarray(numbers["train"], np.float64),
        "eval": np.asarray(numbers["eval"], np.float64),
        "x": curves[0]["x"] if curves else None,
        "ys": curves[0]["ys"] if curves else None,
    }


def _mean_std(x) -> str:
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    return f"{x.mean():.1f} +- {x.std():.1f}" if x.size else "-"


def table(summaries: dict) -> str:
    """A Markdown table of :func:`run_summary` results, one row per label."""
    lines = ["| run | algorithm | env | seeds | env steps | final training return | final eval return |",
             "|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for label, s in summaries.items():
        steps = f"{s['env_steps']:,.0f}" + ("" if s["finished"] else " (training)")
        lines.append(f"| {label} | {s['algorithm']} | {s['env_id']} | {s['seeds']} | {steps} | {_mean_std(s['train'])} "
                     f"| {_mean_std(s['eval'])} |")  # fmt: skip
    return "\n".join(lines)


def plot(summaries: dict, path, metric: str = "episode_return", title: str | None = None) -> Path:
    """The runs' curves of ``metric`` in one figure, mean over seeds with a 95% bootstrap band, as a
    PNG (and an SVG beside it); runs without a value yet are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lagomjax.vis import plot_mean_band, save_figure, set_ticker

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, s in summaries.items():
        if s["x"] is not None:
            plot_mean_band(ax, s["x"], s["ys"], label=f"{label} ({s['ys'].shape[0]} seeds)", band="ci95")
    what = "training episodes" if metric == "episode_return" else "deterministic evaluation"
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"return, {what} (mean, 95% CI)")
    envs = sorted({s["env_id"] for s in summaries.values()})
    ax.set_title(title or ", ".join(envs))
    set_ticker(ax, "x", num=6, KM_format=True)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path, also=(".svg",))


def main(argv=None) -> dict:
    """Compare runs: one figure of their learning curves and a table of their final returns."""
    parser = argparse.ArgumentParser(prog="python -m lagomjax.train compare", description=main.__doc__)
    parser.add_argument("runs", nargs="+", help="run directories, or directories holding runs")
    parser.add_argument("--out", default="compare.png", help="the figure (an SVG is written beside it)")
    parser.add_argument("--metric", default="episode_return", choices=METRICS,
                        help="the curve: training episodes' returns or the deterministic evaluations")  # fmt: skip
    parser.add_argument("--labels", default="", help="comma-separated labels, one per run (default: their paths)")
    parser.add_argument("--title", default=None, help="the figure's title (default: the environments)")
    args = parser.parse_args(argv)
    try:
        found = find_runs(args.runs)
        labels = [s.strip() for s in args.labels.split(",")] if args.labels else None
        if labels is not None and len(labels) != len(found):
            raise ValueError(f"--labels gives {len(labels)} labels for {len(found)} runs: {[str(p) for p in found]}")
        if labels is None:
            common = Path(os.path.commonpath([p.resolve() for p in found])) if len(found) > 1 else None
            labels = [str(p.resolve().relative_to(common)) if common else str(p) for p in found]
        summaries = {label: run_summary(p, args.metric) for label, p in zip(labels, found, strict=True)}
    except ValueError as e:
        parser.error(str(e))
    print(table(summaries))
    out = plot(summaries, args.out, args.metric, args.title)
    print(f"\ncurves in {out}")
    return summaries
