"""Host-side driver shared by the example scripts: flags from a typed config, many seeds in one
compiled program run in chunks under a progress bar, lagom's log layout, a table and a plot."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax.logger import Logger
from lagomjax.utils import pickle_dump, pickle_load, yaml_dump


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


def check_rollout_config(config) -> None:
    """The checks every baseline config shares: at least one rollout, and it fits the replay buffer."""
    rollout = config.num_envs * config.num_steps
    if min(config.num_envs, config.num_steps) < 1:
        raise ValueError(f"num_envs={config.num_envs} and num_steps={config.num_steps} must be >= 1")
    if config.total_steps < rollout:
        raise ValueError(f"total_steps={config.total_steps} is less than one rollout of {rollout} steps")
    if rollout > getattr(config, "buffer_size", rollout):
        raise ValueError(f"buffer_size={config.buffer_size} is smaller than one rollout ({rollout} steps)")


class TrainParts(NamedTuple):
    """A training run as three pure functions (an example's ``make_parts(config)``)."""

    init: Callable  # key -> state
    update: Callable  # (state, update index) -> (state, metrics of this update)
    finish: Callable  # (state, key) -> final evaluation return


def train_from_parts(parts: TrainParts, num_updates: int):
    """``train(key) -> (state, metrics)``: every update in one ``lax.scan``, then the evaluation."""

    def train(key):
        state, metrics = jax.lax.scan(parts.update, parts.init(key), jnp.arange(num_updates))
        return state, {**metrics, "eval_return": parts.finish(state, key)}

    return train


def chunk_size(num_updates: int, target_chunks: int = 50) -> int:
    """The largest divisor of ``num_updates`` giving at least ``target_chunks`` chunks (1 at worst)."""
    limit = max(1, num_updates // target_chunks)
    return max(d for d in range(1, limit + 1) if num_updates % d == 0)


def _is_key(x) -> bool:
    return jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_host(state):
    """A train state's leaves as NumPy arrays (typed PRNG keys as their raw data)."""
    return [np.asarray(jax.random.key_data(x) if _is_key(x) else x) for x in jax.tree.leaves(state)]


def _from_host(like, leaves):
    """Rebuild a train state shaped like ``like`` (which also says which leaves are keys) from
    :func:`_to_host`'s output."""
    ref, treedef = jax.tree.flatten(like)
    out = []
    for r, x in zip(ref, leaves, strict=True):
        x = jax.random.wrap_key_data(x, impl=jax.random.key_impl(r)) if _is_key(r) else jnp.asarray(x, r.dtype)
        if x.shape != r.shape:
            raise ValueError(f"checkpoint leaf of shape {x.shape} does not match the train state's {r.shape}")
        out.append(x)
    return jax.tree.unflatten(treedef, out)


def run_seeds(
    parts: TrainParts,
    config,
    num_seeds: int,
    seed: int = 0,
    progress: bool = True,
    on_metrics: Callable | None = None,
    checkpoint=None,
    checkpoint_every: int = 1,
    max_chunks: int | None = None,
):
    """Train ``num_seeds`` seeds vmapped in one program, in compiled chunks of updates. Returns
    ``(final_state, metrics [seeds, updates], timing)``; the numbers equal
    ``jax.vmap(train_from_parts(parts, n))``'s.

    Every update streams its metrics to the host from inside the compiled chunk
    (``jax.debug.callback``): they advance the progress bar and, if given, go to
    ``on_metrics(seed_index, update_index, metrics)`` (per seed, e.g. into a
    :class:`~lagomjax.logger.Logger`). Chunk results are copied to the host as they finish, so device
    memory does not grow with the number of updates.

    Checkpoint and resume: with ``checkpoint`` (a file path) the whole train state (parameters,
    optimiser states, env states, normaliser moments, RNG keys, replay buffers) and the metrics so far
    are written atomically every ``checkpoint_every`` chunks; if the file exists when called, training
    continues from it, and the result is bit-identical to an uninterrupted run on the same machine.
    ``max_chunks`` stops after that many chunks in this call (then ``timing['finished']`` is False).
    """
    from tqdm.auto import tqdm

    n = config.num_updates
    k = chunk_size(n)
    bar = None  # created after compiling, so that its rate and ETA count training only

    def host(seed_index, update_index, metrics):
        seed_index, update_index = int(np.asarray(seed_index)), int(np.asarray(update_index))
        if seed_index == 0 and update_index + 1 > bar.n:
            bar.update(update_index + 1 - bar.n)
            ret = float(np.asarray(metrics["episode_return"]))
            if np.isfinite(ret):
                bar.set_postfix(episode_return=f"{ret:.1f}", refresh=False)
        if on_metrics is not None:
            on_metrics(seed_index, update_index, {key: np.asarray(v) for key, v in metrics.items()})

    def update(carry, i):
        state, seed_index = carry
        state, metrics = parts.update(state, i)
        jax.debug.callback(host, seed_index, i, metrics)
        return (state, seed_index), metrics

    keys = jax.random.split(jax.random.key(seed), num_seeds)
    seed_ids = jnp.arange(num_seeds)
    t0 = time.perf_counter()
    init = jax.jit(jax.vmap(parts.init)).lower(keys).compile()
    state = init(keys)
    chunk = jax.jit(jax.vmap(lambda c, idx: jax.lax.scan(update, c, idx), in_axes=(0, None)))
    chunk = chunk.lower((state, seed_ids), jnp.arange(k)).compile()
    finish = jax.jit(jax.vmap(parts.finish)).lower(state, keys).compile()
    compile_s = time.perf_counter() - t0
    bar = tqdm(total=n, desc=f"{config.env_id} x {num_seeds} seeds", unit="update", disable=not progress)
    chunks, start = [], 0
    meta = {"num_seeds": num_seeds, "seed": seed, "num_updates": n, "chunk": k}
    if checkpoint is not None and Path(checkpoint).exists():
        saved = pickle_load(checkpoint)
        if saved["meta"] != meta:
            raise ValueError(f"checkpoint {checkpoint} is for {saved['meta']}, not {meta}")
        state = _from_host(state, saved["state"])
        chunks, start = saved["chunks"], saved["next_update"]
        bar.update(start)
    t0 = time.perf_counter()
    done_now = 0
    for begin in range(start, n, k):
        if max_chunks is not None and done_now >= max_chunks:
            break
        (state, _), m = chunk((state, seed_ids), jnp.arange(begin, begin + k))
        chunks.append(jax.device_get(m))
        done_now += 1
        if checkpoint is not None and (len(chunks) % checkpoint_every == 0 or begin + k == n):
            payload = {"meta": meta, "state": _to_host(state), "chunks": chunks, "next_update": begin + k}
            pickle_dump(payload, checkpoint, ext=None)
    finished = len(chunks) * k == n
    eval_return = jax.block_until_ready(finish(state, keys)) if finished else None
    jax.effects_barrier()
    run_s = time.perf_counter() - t0
    bar.close()
    metrics = {key: np.concatenate([np.asarray(c[key]) for c in chunks], axis=1) for key in chunks[0]}
    if finished:
        metrics["eval_return"] = np.asarray(eval_return)
    env_steps = int(metrics["env_steps"][0, -1])
    timing = {
        "compile_s": compile_s,
        "run_s": run_s,
        "env_steps_per_s": num_seeds * env_steps / run_s,
        "finished": finished,
    }
    return state, metrics, timing


def write_logs(log_dir, configs, metrics, seeds) -> Path:
    """lagom's layout for the configs (dataclasses) with IDs ``0..C-1``: ``log_dir/configs.pkl``,
    ``log_dir/<ID>/config.yml``, ``log_dir/<ID>/<seed>/train_logs.pkl``. ``metrics`` leaves are
    ``[C, seeds, ...]``. Returns ``log_dir``."""
    root = Path(log_dir)
    cfgs = [{"ID": i, **dataclasses.asdict(c)} for i, c in enumerate(configs)]
    pickle_dump(cfgs, root / "configs.pkl", ext=".pkl")
    for cfg in cfgs:
        yaml_dump(cfg, root / str(cfg["ID"]) / "config.yml")
        for i, seed in enumerate(seeds):
            logger = Logger()
            for key, values in metrics.items():
                for v in np.atleast_1d(np.asarray(values)[cfg["ID"], i]):  # per-update series, or the final eval
                    logger(key, v.item() if np.ndim(v) == 0 else v)
            logger.save(root / str(cfg["ID"]) / str(seed) / "train_logs.pkl")
    return root


def plot_learning_curve(metrics, path, title: str, eval_key: str = "episode_return") -> Path:
    """Mean and min-max band over seeds of ``metrics[eval_key]`` against env steps, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lagomjax import vis

    x = np.asarray(metrics["env_steps"])[0]
    y = np.asarray(metrics[eval_key], dtype=np.float64)  # [seeds, updates], NaN where no episode ended
    fig, ax = plt.subplots(figsize=(6, 4))
    vis.plot_mean_band(ax, x, np.stack([vis._ffill(row) for row in y]), label=f"mean, min-max over {y.shape[0]} seeds")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(eval_key.replace("_", " "))
    ax.set_title(title)
    vis.set_ticker(ax, "x", num=6, KM_format=True)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return vis.save_figure(fig, path)


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


def main(
    name: str, config_cls, argv=None, description=None, *, make_agent=None, make_parts=None, run_gym=None, **defaults
):
    """The command line of every example: flags for each ``config_cls`` field plus ``--num-seeds``,
    ``--seed``, ``--log-dir``; trains on the functional twin of ``--env`` (seeds vmapped in one program)
    or, for any other gymnasium id, through the Python runner path (one seed after another). Then
    writes lagom's log layout, a learning-curve PNG and prints the results table.

    Give ``make_agent`` (an :class:`~lagomjax.baselines.loop.Agent` factory: both paths follow), or
    ``make_parts(config) -> TrainParts`` and ``run_gym(config, num_seeds, seed) -> (metrics, timing)``.
    ``defaults`` override script-level flag defaults. Returns ``(metrics, timing)``.
    """
    from lagomjax.baselines import gym_loop, loop
    from lagomjax.envs.functional import FUNCTIONAL_ENVS

    if make_agent is not None:
        make_parts = functools.partial(loop.make_parts, make_agent=make_agent)
        run_gym = functools.partial(gym_loop.run_seeds_gym, make_agent=make_agent)
    slug = name.lower().replace("-", "_")
    flags = {"num_seeds": 8, "seed": 0, "log_dir": f"logs/{slug}", "plot": f"{slug}_learning_curve.png", **defaults}
    config, extra = config_from_args(config_cls, argv, description=description, **flags)
    n = extra["num_seeds"]
    functional = config.env_id in FUNCTIONAL_ENVS
    path = "functional env, seeds vmapped" if functional else "gymnasium env through lagom's runners"
    print(f"{name} on {config.env_id} ({path}): {config.num_updates} updates x {n} seeds")
    if functional:
        _, metrics, timing = run_seeds(make_parts(config), config, n, seed=extra["seed"])
    else:
        metrics, timing = run_gym(config, num_seeds=n, seed=extra["seed"])
    seeds = [extra["seed"] * 1000 + i for i in range(n)]
    log = write_logs(extra["log_dir"], [config], {k: np.asarray(v)[None] for k, v in metrics.items()}, seeds) / "0"
    png = plot_learning_curve(metrics, Path(extra["log_dir"]) / extra["plot"], f"{name} {config.env_id}")
    print()
    print(results_table(f"{name} {config.env_id} (deterministic eval)", metrics["eval_return"], timing))
    print(f"\nrun {timing['run_s']:.1f} s after {timing['compile_s']:.1f} s compile; logs in {log}; curve in {png}")
    return metrics, timing
