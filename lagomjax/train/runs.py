"""Run directories of the command line: where a run lives, what it was, and its trained policy.

A run directory holds ``run.yml`` (the algorithm, its full config, the seeds and the command
line's settings: it loads back with ``--config`` to an equal config, the same seeds and settings,
and ``--resume`` keeps them), ``checkpoint.ckpt`` (the whole train state of
every seed and the metrics so far, :mod:`lagomjax.checkpoint`; at the end it holds the final
parameters), ``best.ckpt`` (each seed's state at its best periodic evaluation, less any replay
buffer: :func:`~lagomjax.train.seeds.restore_best`), lagom's log
layout (``configs.pkl``, ``0/config.yml``, ``0/<seed>/train_logs.{pkl,csv}``), the learning curve
and, for ``--tensorboard``, event files under ``tb/``.

:func:`lagomjax.algos.policies.load_policy` rebuilds a trained policy from a run directory.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from lagomjax import checkpoint as ckpt
from lagomjax.utils import yaml_dump, yaml_load

RUN_FILE, CHECKPOINT, BEST = "run.yml", "checkpoint.ckpt", "best.ckpt"


def config_to_dict(config) -> dict:
    """A config dataclass as plain YAML-able data (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(config_cls, data: dict):
    """``config_cls(**data)`` with lists turned back into tuples; unknown keys raise, naming them."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {config_cls.__module__}.Config fields {unknown}; known: {sorted(fields)}")
    return config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def run_record(algo_name: str, config, num_seeds: int, seed: int, settings: dict | None = None) -> dict:
    """``run.yml``'s content; ``settings``: the command line's own flags that a ``--resume`` keeps
    (evaluation cadence, plot, trackers, checkpoint interval)."""
    record = {"algorithm": algo_name, "num_seeds": num_seeds, "seed": seed, "config": config_to_dict(config)}
    return record | ({"settings": dict(settings)} if settings else {})


def new_run_dir(root, algo_name: str, env_id: str) -> Path:
    """``root/<algorithm>/<env id>/<date-time>`` (``-1``, ``-2``, ... if taken), created."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / algo_name / env_id.replace("/", "_").replace(":", "_") / stamp
    path, i = base, 0
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{stamp}-{i}")


def claim_run_dir(path, record: dict) -> Path:
    """Use ``path`` for the run ``record``: a new or empty directory is taken (``run.yml`` written);
    one holding another run, or anything else, is refused with ``ValueError`` saying why."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if not (path / RUN_FILE).exists():
            raise ValueError(f"{path} is not empty and holds no {RUN_FILE}: give a new or empty directory")
        old = yaml_load(path / RUN_FILE)
        if old != record:
            diff = ckpt.differences(old, record)
            raise ValueError(f"{path} holds another run ({'; '.join(diff)}): give a new directory, or --resume it")
        raise ValueError(f"{path} already holds this run: continue it with --resume {path}")
    path.mkdir(parents=True, exist_ok=True)
    yaml_dump(record, path / RUN_FILE, ext=None)
    return path


def read_record(path) -> dict:
    """The ``run.yml`` record of the run directory ``path`` (algorithm name, config, seeds)."""
    path = Path(path)
    if not (path / RUN_FILE).exists():
        raise ValueError(f"{path} is not a run directory (no {RUN_FILE})")
    return yaml_load(path / RUN_FILE)
