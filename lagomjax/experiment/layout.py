"""lagom's log layout, written in one place (``run_experiment`` and the training command line)::

    log_dir/configs.pkl              every config (dicts with their ``ID``)
    log_dir/<ID>/config.yml          one config
    log_dir/<ID>/<seed>/<file>       one run's logs (e.g. ``train_logs.pkl``, a Logger)

All files are written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from lagomjax.logger import Logger
from lagomjax.utils import atomic_open, pickle_dump, yaml_dump


def config_dicts(configs) -> list[dict]:
    """Dataclass configs as lagom's config dicts with ``ID`` 0..n-1 (dicts pass through)."""
    out = []
    for i, c in enumerate(configs):
        d = dataclasses.asdict(c) if dataclasses.is_dataclass(c) else dict(c)
        out.append({"ID": d.pop("ID", i), **d})
    return out


def write_configs(log_dir, configs: list[dict]) -> Path:
    """``log_dir/configs.pkl`` and ``log_dir/<ID>/config.yml`` for config dicts with an ``ID``."""
    root = Path(log_dir)
    pickle_dump(configs, root / "configs.pkl", ext=".pkl")
    for c in configs:
        yaml_dump(c, root / str(c["ID"]) / "config.yml")
    return root


def run_dir(log_dir, config_id, seed) -> Path:
    """``log_dir/<ID>/<seed>``."""
    return Path(log_dir) / str(config_id) / str(seed)


def write_metrics(path, metrics: dict) -> Path:
    """One run's ``metrics`` (per-update series and scalars) as a lagom :class:`Logger` pickle, and
    its per-update series (the 1-D metrics of the longest length) as a CSV beside it (``.csv``),
    which :func:`lagomjax.vis.read_xy` also reads: pickles are for trusted files only."""
    logger = Logger()
    for key, values in metrics.items():
        for v in np.atleast_1d(np.asarray(values)):
            logger(key, v.item() if np.ndim(v) == 0 else v)
    write_csv(Path(path).with_suffix(".csv"), metrics)
    return logger.save(path)


def write_csv(path, metrics: dict) -> Path:
    """The 1-D series of ``metrics`` that share the longest length, as columns of a CSV, atomically."""
    series = {k: np.asarray(v) for k, v in metrics.items() if np.ndim(v) == 1}
    series = {k: v.astype(np.int64) if v.dtype == bool else v for k, v in series.items()}
    n = max((len(v) for v in series.values()), default=0)
    series = {k: v for k, v in series.items() if len(v) == n}
    with atomic_open(path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(list(series))
        writer.writerows(zip(*(v.tolist() for v in series.values()), strict=True))
    return Path(path)


def read_csv(path) -> dict:
    """:func:`write_csv`'s file as ``{column: float array}``."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path} is empty")
    columns = np.asarray(rows[1:], dtype=np.float64).reshape(len(rows) - 1, len(rows[0]))
    return {k: columns[:, i] for i, k in enumerate(rows[0])}


def write_logs(log_dir, configs, metrics, seeds, file_name: str = "train_logs.pkl") -> Path:
    """The whole layout for ``configs`` (dataclasses or dicts) x ``seeds``; ``metrics`` leaves are
    ``[C, S, ...]`` (per-update series, or one final value). Returns ``log_dir``."""
    cfgs = config_dicts(configs)
    root = write_configs(log_dir, cfgs)
    for j, c in enumerate(cfgs):
        for i, seed in enumerate(seeds):
            write_metrics(
                run_dir(root, c["ID"], seed) / file_name, {k: np.asarray(v)[j, i] for k, v in metrics.items()}
            )
    return root
