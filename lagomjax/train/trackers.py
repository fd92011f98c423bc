"""Trackers: where the metric stream that leaves the compiled program goes, per seed, as it comes.

Every update of every seed reaches the host as its compiled chunk ends
(:func:`~lagomjax.train.seeds.run_seeds`' ``on_metrics``; on the gymnasium path as the update
ends, :func:`~lagomjax.train.gym_loop.run_seeds_gym`); a tracker writes it out:

- :class:`CSVTracker` (always on the command line): ``<run>/0/<seed>/progress.csv``, one row per
  update, flushed as it comes.
- :class:`TensorBoardTracker` (``--tensorboard``, extra ``lagomjax[tensorboard]``): event files in
  ``<run>/tb/seed_<seed>`` through tensorboardX (no TensorFlow), x axis = environment steps.
- :class:`WandbTracker` (``--wandb``, extra ``lagomjax[wandb]``): one W&B run per seed, grouped by
  the run directory; ``WANDB_MODE=offline`` (or ``--wandb-mode offline``) keeps it on disk.

A resumed run appends: each tracker drops what it had logged past the checkpoint being resumed
(rows of the CSV, TensorBoard's ``purge_step``; W&B resumes its runs), so nothing is duplicated.
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import numpy as np


def _per_seed(start, seeds) -> list[int]:
    """A resume point for every seed: one for all (the compiled path resumes its seeds together), or
    one per seed (the gymnasium path runs them one after another)."""
    return [int(start)] * len(seeds) if np.ndim(start) == 0 else [int(x) for x in start]


def _evals(env_steps, returns, seed_indices):
    """``(seed index, env steps, return)`` of an evaluation of every seed (``seed_indices`` None) or
    of the seeds listed (the gymnasium path evaluates one seed at a time)."""
    indices = range(len(returns)) if seed_indices is None else seed_indices
    return zip(indices, env_steps, returns, strict=True)


def _scalars(metrics: dict) -> dict:
    """Finite-or-NaN Python floats of the scalar metrics (NaN: no value this update)."""
    out = {}
    for k, v in metrics.items():
        v = np.asarray(v)
        if v.ndim == 0 and v.dtype.kind in "biuf":
            out[k] = float(v)
    return out


class CSVTracker:
    """``<run_dir>/<config id>/<seed>/<name>``: ``update`` then every scalar metric; periodic
    evaluations go to ``eval.csv`` beside it. ``start_update``: where a resumed run continues, for
    all seeds or per seed (rows from there on are dropped)."""

    def __init__(self, run_dir, seeds, start_update=0, config_id=0, name: str = "progress.csv"):
        self.run_dir, self.seeds, self.start_update, self.config_id = run_dir, seeds, start_update, config_id
        self.evals = None
        self.paths = [Path(run_dir) / str(config_id) / str(s) / name for s in seeds]
        self.files, self.writers, self.columns = [], [], [None] * len(seeds)
        for i, (path, start) in enumerate(zip(self.paths, _per_seed(start_update, seeds), strict=True)):
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = []
            if path.exists() and start > 0:  # resume: keep the rows before the checkpoint
                with open(path, newline="") as f:
                    rows = list(csv.reader(f))
                if rows:
                    self.columns[i] = rows[0]
                    rows = [rows[0]] + [r for r in rows[1:] if int(r[0]) < start]
            fh = open(path, "w", newline="", buffering=1)  # noqa: SIM115 (line-buffered while the run streams)
            writer = csv.writer(fh)
            writer.writerows(rows)
            fh.flush()
            self.files.append(fh)
            self.writers.append(writer)

    def log(self, seed_index: int, update: int, metrics: dict) -> None:
        values = _scalars(metrics)
        if self.columns[seed_index] is None:
            self.columns[seed_index] = ["update", *values]
            self.writers[seed_index].writerow(self.columns[seed_index])
        row = [update] + [values.get(k, math.nan) for k in self.columns[seed_index][1:]]
        self.writers[seed_index].writerow(row)

    def log_eval(self, update: int, env_steps, returns, seed_indices=None) -> None:
        if self.evals is None:
            self.evals = CSVTracker(self.run_dir, self.seeds, self.start_update, self.config_id, "eval.csv")
        for i, steps, ret in _evals(env_steps, returns, seed_indices):
            self.evals.log(i, update, {"env_steps": steps, "eval_episode_return": ret})

    def flush(self) -> None:
        for fh in self.files:
            fh.flush()

    def close(self) -> None:
        for fh in self.files:
            fh.close()
        if self.evals is not None:
            self.evals.close()


class TensorBoardTracker:
    """tensorboardX event files per seed; scalars under ``train/`` (``eval/`` for evaluation returns).
    ``start_step``: the first environment step of a resumed run, for all seeds or per seed (events
    logged from there on are purged)."""

    def __init__(self, run_dir, seeds, start_step=0):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError('--tensorboard needs tensorboardX: pip install "lagomjax[tensorboard]"') from e
        self.writers = [
            SummaryWriter(
                str(Path(run_dir) / "tb" / f"seed_{s}"),
                purge_step=start if start > 0 else None,  # drop events logged past the resumed checkpoint
                flush_secs=10,
                filename_suffix=f".from{start}",
            )
            for s, start in zip(seeds, _per_seed(start_step, seeds), strict=True)
        ]

    def log(self, seed_index: int, update: int, metrics: dict) -> None:
        values = _scalars(metrics)
        step = int(values.pop("env_steps", update))
        for k, v in values.items():
            if math.isfinite(v):
                tag = f"eval/{k}" if k.startswith("eval_") else f"train/{k}"
                self.writers[seed_index].add_scalar(tag, v, step)

    def log_eval(self, update: int, env_steps, returns, seed_indices=None) -> None:
        for i, steps, ret in _evals(env_steps, returns, seed_indices):
            self.writers[i].add_scalar("eval/episode_return", float(ret), int(steps))

    def flush(self) -> None:
        for w in self.writers:
            w.flush()

    def close(self) -> None:
        for w in self.writers:
            w.close()


class WandbTracker:
    """One W&B run per seed (``id`` derived from the run directory, so a resume continues it)."""

    def __init__(self, run_dir, seeds, config: dict, project: str = "lagomjax", mode: str | None = None):
        try:
            import wandb
        except ImportError as e:
            raise ImportError('--wandb needs wandb: pip install "lagomjax[wandb]"') from e
        run_dir = Path(run_dir).resolve()
        group = "-".join(run_dir.parts[-3:])
        self.runs = [
            wandb.init(
                project=project,
                dir=str(run_dir),
                group=group,
                name=f"{group}-seed{s}",
                id=hashlib.sha1(f"{run_dir}:{s}".encode()).hexdigest()[:16],
                resume="allow",
                config=config,
                mode=mode,
                reinit="create_new",
            )  # fmt: skip
            for s in seeds
        ]

    def log(self, seed_index: int, update: int, metrics: dict) -> None:
        values = {k: v for k, v in _scalars(metrics).items() if math.isfinite(v)}
        self.runs[seed_index].log(values, step=update)

    def log_eval(self, update: int, env_steps, returns, seed_indices=None) -> None:
        for i, _, ret in _evals(env_steps, returns, seed_indices):
            self.runs[i].log({"eval_episode_return": float(ret)}, step=update)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        for run in self.runs:
            run.finish()


class Trackers:
    """Several trackers as one ``on_metrics(seed_index, update, metrics)`` callback."""

    def __init__(self, *trackers):
        self.trackers = [t for t in trackers if t is not None]

    def __call__(self, seed_index, update, metrics) -> None:
        for t in self.trackers:
            t.log(seed_index, update, metrics)

    def log_eval(self, update, env_steps, returns, seed_indices=None) -> None:
        for t in self.trackers:
            t.log_eval(update, env_steps, returns, seed_indices)

    def flush(self) -> None:
        for t in self.trackers:
            t.flush()

    def close(self) -> None:
        for t in self.trackers:
            t.close()
