"""lagom's log layout, written in one place (``run_experiment`` and the training command line)::

    log_dir/configs.pkl              every config (dicts with their ``ID``)
    log_dir/<ID>/config.yml          one config
    log_dir/<ID>/<seed>/<file>       one run's logs (e.g. ``train_logs.pkl``, a Logger)

All files are written atomically.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from lagomjax.logger import Logger
from lagomjax.utils import pickle_dump, yaml_dump


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
    """One run's ``metrics`` (per-update series and scalars) as a lagom :class:`Logger` pickle."""
    logger = Logger()
    for key, values in metrics.items():
        for v in np.atleast_1d(np.asarray(values)):
            logger(key, v.item() if np.ndim(v) == 0 else v)
    return logger.save(path)


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
