"""Host-side driver shared by the example scripts: flags from a typed config, a progress bar fed
from inside ``jit``, many seeds in one compiled program, lagom's log layout, a table and a plot."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import jax
import numpy as np

from lagomjax.logger import Logger
from lagomjax.utils import pickle_dump, yaml_dump


def config_from_args(config_cls, argv=None, description=None, **extra_flags):
    """Parse ``--field-name value`` for every field of the frozen dataclass ``config_cls``.

    ``extra_flags`` are ``name=default`` pairs for script-level flags (``num_seeds``, ``log_dir``).
    ``env_id`` also answers to ``--env``. Returns ``(config, extras)``.
    """
    parser = argparse.ArgumentParser(description=description)
    for f in dataclasses.fields(config_cls):
        names = [f"--{f.name.replace('_', '-')}"] + (["--env"] if f.name == "env_id" else [])
        default = f.default
        if isinstance(default, bool):
            parser.add_argument(*names, dest=f.name, type=lambda s: s.lower() in ("1", "true", "yes"), default=default)
        elif isinstance(default, tuple):
            parser.add_argument(
                *names, dest=f.name, type=lambda s: tuple(int(v) for v in s.split(",")), default=default
            )
        else:
            parser.add_argument(*names, dest=f.name, type=type(default), default=default)
    for name, default in extra_flags.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default), default=default)
    args = vars(parser.parse_args(argv))
    extras = {name: args.pop(name) for name in extra_flags}
    return config_cls(**args), extras


class Progress:
    """A tqdm bar over updates, advanced from inside ``jit`` by :meth:`callback`.

    Under ``vmap`` over seeds the callback runs once per seed per update; the bar shows the furthest
    update any seed has finished, with the latest mean episode return.
    """

    def __init__(self, total: int, desc: str = "training"):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="update", dynamic_ncols=True)
        self.done = 0

    def callback(self, update, episode_return):
        # Arguments arrive as jax Arrays: read them with NumPy (zero-copy). ``int()`` / ``float()`` on them
        # would call back into the runtime that is executing this callback and can deadlock under vmap.
        update = np.asarray(update).item() + 1
        episode_return = np.asarray(episode_return).item()
        if update > self.done:
            self.bar.update(update - self.done)
            self.done = update
        if np.isfinite(episode_return):
            self.bar.set_postfix(episode_return=f"{episode_return:.1f}", refresh=False)

    def close(self):
        self.bar.close()


def run_seeds(make_train, config, num_seeds: int, seed: int = 0, progress: bool = True):
    """Train ``num_seeds`` seeds as one compiled program; returns ``(final_state, metrics, timing)``.

    ``make_train(config, progress_callback)`` must return ``train(key) -> (state, metrics)`` whose
    metrics have a leading update axis and include ``env_steps``.
    """
    num_updates = config.num_updates
    bar = Progress(num_updates, desc=f"{config.env_id} x {num_seeds} seeds") if progress else None
    train = make_train(config, bar.callback if bar else None)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(train)).lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state, metrics = jax.block_until_ready(compiled(keys))
    run_s = time.perf_counter() - t0
    if bar:
        bar.close()
    env_steps = int(np.asarray(metrics["env_steps"])[0, -1])
    timing = {"compile_s": compile_s, "run_s": run_s, "env_steps_per_s": num_seeds * env_steps / run_s}
    return state, jax.device_get(metrics), timing


def write_logs(log_dir, config, metrics, seeds, config_id: int = 0) -> Path:
    """lagom's layout: ``log_dir/configs.pkl``, ``log_dir/<ID>/config.yml``, ``log_dir/<ID>/<seed>/train_logs.pkl``."""
    root = Path(log_dir)
    cfg = {"ID": config_id, **dataclasses.asdict(config)}
    pickle_dump([cfg], root / "configs.pkl", ext=".pkl")
    yaml_dump(cfg, root / str(config_id) / "config.yml")
    for i, seed in enumerate(seeds):
        logger = Logger()
        for key, values in metrics.items():
            per_seed = np.asarray(values)[i]
            for v in np.atleast_1d(per_seed):  # per-update series, or one value (final evaluation)
                logger(key, v.item() if np.ndim(v) == 0 else v)
        logger.save(root / str(config_id) / str(seed) / "train_logs.pkl")
    return root / str(config_id)


def plot_learning_curve(metrics, path, title: str, eval_key: str = "episode_return") -> Path:
    """Mean and min-max band over seeds of ``metrics[eval_key]`` against env steps, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.asarray(metrics["env_steps"])[0]
    y = np.asarray(metrics[eval_key], dtype=np.float64)  # [seeds, updates], NaN where no episode ended
    y = np.stack([_ffill(row) for row in y])
    mean, lo, hi = np.nanmean(y, 0), np.nanmin(y, 0), np.nanmax(y, 0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(x, lo, hi, alpha=0.25, label=f"min-max over {y.shape[0]} seeds")
    ax.plot(x, mean, label="mean")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(eval_key.replace("_", " "))
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)  # atomic
    return path


def _ffill(row):
    """Carry the last finite value forward (updates in which no episode ended are NaN)."""
    out = row.copy()
    for i in range(1, len(out)):
        if not np.isfinite(out[i]):
            out[i] = out[i - 1]
    return out


def results_table(name, final_returns, timing) -> str:
    r = np.asarray(final_returns, dtype=np.float64)
    return "\n".join(
        [
            "| algorithm | seeds | final return (mean +- std) | min | max | env-steps/s | compile |",
            "|---|---:|---:|---:|---:|---:|---:|",
            f"| {name} | {r.size} | {r.mean():.1f} +- {r.std():.1f} | {r.min():.1f} | {r.max():.1f} "
            f"| {timing['env_steps_per_s']:,.0f} | {timing['compile_s']:.1f} s |",
        ]
    )
