"""A hyper-parameter sweep in one compiled program: PPO on CartPole-v1, 3 learning rates x 4 seeds.

    python examples/sweep.py                      # the sweep, lagom's log layout, a comparison PNG
    python examples/sweep.py --sequential         # also time the 12 runs one after another

The learning rate is traced (``experiment.with_hparams``), so the 12 runs are one ``vmap`` batch,
sharded across all local devices (``experiment.sweep``). Logs: ``log_dir/configs.pkl``,
``log_dir/<ID>/config.yml``, ``log_dir/<ID>/<seed>/train_logs.pkl``; the plot is drawn back from
those logs with ``vis.read_xy``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import jax
import matplotlib
import numpy as np

from lagomjax import experiment, vis
from lagomjax.algos import ppo
from lagomjax.experiment.layout import write_logs
from lagomjax.train.loop import train_from_parts

matplotlib.use("Agg")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lrs", type=lambda s: [float(v) for v in s.split(",")], default=[1e-3, 2.5e-4, 5e-5])
    parser.add_argument("--num-seeds", type=int, default=4)
    parser.add_argument("--total-steps", type=int, default=200_000)
    parser.add_argument("--log-dir", default="logs/sweep")
    parser.add_argument("--sequential", action="store_true", help="also time the runs one after another")
    args = parser.parse_args(argv)

    config = ppo.Config(total_steps=args.total_steps)
    hparams = experiment.grid(lr=args.lrs)
    n_runs = len(args.lrs) * args.num_seeds
    print(f"PPO CartPole-v1: {len(args.lrs)} learning rates x {args.num_seeds} seeds in one program on "
          f"{jax.local_device_count()} device(s)")  # fmt: skip
    bar = experiment.SweepProgress(config.num_updates, n_runs, desc=f"{n_runs} runs")

    def make_train(cfg):  # PPO's make_train with the bar's hook after every update
        return train_from_parts(ppo.make_parts(cfg), cfg.num_updates, on_update=bar)

    t0 = time.perf_counter()
    try:
        _, metrics = jax.block_until_ready(
            experiment.sweep(experiment.with_hparams(make_train, config), hparams, args.num_seeds)
        )
        jax.effects_barrier()
    finally:
        bar.close()
    sweep_s = time.perf_counter() - t0

    root = Path(args.log_dir)
    seeds = list(range(args.num_seeds))
    write_logs(root, [dataclasses.replace(config, lr=lr) for lr in args.lrs], metrics, seeds)

    curves = vis.read_xy(root, "train_logs.pkl", lambda g: g["env_steps"], lambda g: g["episode_return"])
    ax = vis.plot_curves(curves, label=lambda c: f"lr={c['config']['lr']:g}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("training episode return")
    ax.set_title(f"PPO CartPole-v1, mean and min-max over {args.num_seeds} seeds")
    vis.set_ticker(ax, "x", num=6, KM_format=True)
    png = vis.save_figure(ax.figure, root / "lr_sweep.png")

    print("\n| lr | final eval return (mean +- std over seeds) |\n|---:|---:|")
    for i, lr in enumerate(args.lrs):
        r = np.asarray(metrics["eval_return"][i])
        print(f"| {lr:g} | {r.mean():.1f} +- {r.std():.1f} |")
    print(f"\nsweep of {n_runs} runs: {sweep_s:.1f} s wall (compile included); logs in {root}; plot {png}")

    if args.sequential:
        t0 = time.perf_counter()
        keys = jax.random.split(jax.random.key(0), args.num_seeds)
        for lr in args.lrs:  # each learning rate is its own program, as a plain script would do it
            train = jax.jit(ppo.make_train(dataclasses.replace(config, lr=lr)))
            for key in keys:
                jax.block_until_ready(train(key))
        seq_s = time.perf_counter() - t0
        print(f"the same {n_runs} runs one after another: {seq_s:.1f} s wall ({seq_s / sweep_s:.1f}x the sweep)")
    return metrics, sweep_s


if __name__ == "__main__":
    main(sys.argv[1:])
