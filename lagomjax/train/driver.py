"""The command line of every algorithm: flags from its ``Config``, seeds vmapped in one compiled
program (or, for a gymnasium id that is not registered as a functional environment, lagom's Python
runners, seeds one after another), lagom's log layout, a learning-curve PNG and a results table.

An algorithm module (``lagomjax.algos.<name>``) gives ``NAME``, ``Config``, ``make_parts`` and, for
the gymnasium path, ``make_agent`` (or its own ``run_gym``). ``python -m lagomjax.train <name>``
and ``lagomjax-train <name>`` call :func:`main`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from lagomjax import envs
from lagomjax.experiment.layout import write_logs
from lagomjax.train import gym_loop
from lagomjax.train.cli import config_from_args
from lagomjax.train.seeds import run_seeds


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


def main(algo, argv=None, **defaults):
    """Train ``algo`` (an algorithm module) from command-line flags: every ``algo.Config`` field plus
    ``--num-seeds``, ``--seed``, ``--log-dir``, ``--plot``. Writes lagom's log layout and a
    learning-curve PNG and prints the results table. ``defaults`` override the script-level flag
    defaults. Returns ``(metrics, timing)``."""
    from lagomjax import vis

    slug = algo.NAME.lower().replace("-", "_").replace(" ", "_")
    flags = {"num_seeds": 8, "seed": 0, "log_dir": f"logs/{slug}", "plot": f"{slug}_learning_curve.png", **defaults}
    config, extra = config_from_args(algo.Config, argv, description=algo.__doc__, prog=slug, **flags)
    n = extra["num_seeds"]
    functional = envs.is_registered(config.env_id)
    path = "functional env, seeds vmapped" if functional else "gymnasium env through lagom's runners"
    print(f"{algo.NAME} on {config.env_id} ({path}): {config.num_updates} updates x {n} seeds")
    if functional:
        _, metrics, timing = run_seeds(algo.make_parts(config), config, n, seed=extra["seed"])
    else:
        run_gym = getattr(algo, "run_gym", None) or functools.partial(
            gym_loop.run_seeds_gym, make_agent=algo.make_agent
        )
        metrics, timing = run_gym(config, num_seeds=n, seed=extra["seed"])
    seeds = [extra["seed"] * 1000 + i for i in range(n)]
    log = write_logs(extra["log_dir"], [config], {k: np.asarray(v)[None] for k, v in metrics.items()}, seeds) / "0"
    png = vis.plot_learning_curve(metrics, Path(extra["log_dir"]) / extra["plot"], f"{algo.NAME} {config.env_id}")
    halted = np.atleast_1d(metrics.get("halted_at", -1))
    for i in np.flatnonzero(halted >= 0):
        print(f"seed {seeds[i]} stopped learning at update {halted[i]}: non-finite values (its results are its last "
              "finite policy's)")  # fmt: skip
    print()
    print(results_table(f"{algo.NAME} {config.env_id} (deterministic eval)", metrics["eval_return"], timing))
    print(f"\nrun {timing['run_s']:.1f} s after {timing['compile_s']:.1f} s compile; logs in {log}; curve in {png}")
    return metrics, timing
