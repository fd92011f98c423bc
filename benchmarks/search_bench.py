"""Hyper-parameter search as compiled programs (issue #16): PBT and batched Optuna against the best
fixed configuration of an equally sized grid and against the base settings, at equal environment
steps, over independent searches; and each search's wall time against its trials run one after
another.

    python benchmarks/search_bench.py     # PPO Pendulum-v1, Acrobot-v1 and SpaceInvaders-MinAtar
    python benchmarks/search_bench.py --tasks pendulum --searches 4 --out /tmp/search.json
    python benchmarks/search_bench.py --fields lr gae_lambda ent_coef clip_eps --optuna-batch 4   # 16 trials
    python benchmarks/search_bench.py --tasks spaceinvaders --objective train   # scored by training return
    python benchmarks/search_bench.py --methods base grid optuna --rescore 8   # the picks on 8 fresh seeds

Every search trains ``N = 2^D`` trials (or PBT members) of ``T`` environment steps each, ``D`` the
number of searched fields (``--fields``; default lr, gae_lambda, ent_coef): PBT a population of ``N``
that exploits and explores about 12 times a run (its interval the largest divisor of the run's updates
giving at least 12 rounds, ``chunk_size(updates, 12)``); Optuna ``N`` trials asked ``N/2`` at a time (or
``--optuna-batch``; a Sobol first batch, then TPE; the median pruner, or ``--optuna-pruner halving|none``,
a pruned trial's slot taking the next trial, within a budget of ``N`` whole trials' updates); the grid
the ``2^D`` cell centres of the same space (``Space.grid(2, centers=True)``); the base settings ``N``
seeds. A search's result is the final deterministic evaluation of what it picked (its best trial or
member, each trained from one seed, all evaluated on the same episodes), or with ``--objective train``
its training return over the last tenth of the updates (the searches then pick by it too; PBT's
in-program selection is by training return either way); the table gives the mean over independent
searches (search ``i`` uses seed ``i``). Picking the best of ``N`` on the episodes it reports flatters
every search alike; "base settings (best of N seeds)" shows how much picking alone gives (its seeds are
evaluated on their own episodes). "one after another" runs the same trials as separate programs in
sequence (one compile, reused: the searched fields are traced; for PBT and the base settings, ``N``
single runs). ``--rescore K`` also trains the setting each grid and Optuna search picked, and the base
settings, from ``K`` fresh seeds (keys apart from every search's; the same keys for every method of a
search) and reports their mean: what the picked setting is worth, without the luck of the one seed it
was picked on. (PBT's product is its trained members, not a setting, so it is not rescored.)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import jax
import numpy as np
from baselines_bench import MINATAR_PPO

from lagomjax.algos import ppo
from lagomjax.experiment import grid_search, load_space, optuna_search, pbt, with_hparams
from lagomjax.experiment.search import PRUNERS, score_runs
from lagomjax.experiment.sweep import chunk_size

SPACE = {
    "lr": {"low": 1e-4, "high": 3e-3, "log": True},
    "gae_lambda": {"low": 0.8, "high": 0.99},
    "ent_coef": {"low": 0.0, "high": 0.01},
    "clip_eps": {"low": 0.1, "high": 0.4},  # searched with --fields (the default space is the first three)
}
FIELDS = ("lr", "gae_lambda", "ent_coef")
SPACE_OF = {  # a task's own ranges where its base settings lie outside the shared ones
    "spaceinvaders": {"lr": {"low": 5e-4, "high": 1.5e-2, "log": True}, "ent_coef": {"low": 0.0, "high": 0.03}},
}
TASKS = {
    # RL Zoo-like PPO settings (the README's learning table): 48 updates of 4 x 1024 steps
    "pendulum": ppo.Config(env_id="Pendulum-v1", total_steps=196_608, num_envs=4, num_steps=1024, update_epochs=10,
                           num_minibatches=32, lr=1e-3, gamma=0.9, normalize_obs=True, normalize_reward=True),
    # RL Zoo's Acrobot-v1 settings: 48 updates of 16 x 256 steps
    "acrobot": ppo.Config(env_id="Acrobot-v1", total_steps=196_608, normalize_obs=True, num_envs=16, num_steps=256,
                          gae_lambda=0.94, update_epochs=4),
    # lagomjax's MinAtar settings (MINATAR_PPO of baselines_bench.py, flattened image, 64-64 ReLU MLP):
    # 128 updates of 64 x 32 steps
    "spaceinvaders": ppo.Config(**{**MINATAR_PPO, "env_id": "gymnax:SpaceInvaders-MinAtar", "total_steps": 262_144}),
}  # fmt: skip


def sequential_wall(config, hparams: dict, seed: int) -> float:
    """The trials ``hparams {name: [N]}`` as separate programs one after another (compiled once)."""
    train = jax.jit(with_hparams(ppo.make_train, config))
    key = jax.random.key(seed)
    n = len(next(iter(hparams.values())))
    first = {k: np.float32(v[0]) for k, v in hparams.items()}
    jax.block_until_ready(train(key, first))  # compile
    t0 = time.perf_counter()
    for i in range(n):
        jax.block_until_ready(train(key, {k: np.float32(v[i]) for k, v in hparams.items()}))
    return time.perf_counter() - t0


def rescorer(config, seeds: int, objective: str):
    """``score(hparams, search)``: the mean score of the setting ``hparams {name: value}`` trained from
    ``seeds`` fresh seeds (keys apart from every search's; the same keys for every method of search
    ``search``, so methods differ only by the setting they picked), one compiled program for all."""
    train = jax.jit(jax.vmap(with_hparams(ppo.make_train, config), in_axes=(0, None)))

    def score(hparams: dict, search: int) -> float:
        keys = jax.random.split(jax.random.key(10_000 + search), seeds)
        _, m = jax.block_until_ready(train(keys, {k: np.float32(v) for k, v in hparams.items()}))
        return float(np.mean(score_runs(objective, m["eval_return"], m["episode_return"])))

    return score


def run_task(name: str, searches: int, methods=None, optuna_batch: int | None = None, fields=FIELDS,
             objective: str = "eval", pruner: str = "median", rescore: int = 0) -> dict:  # fmt: skip
    config = TASKS[name]
    trials = 2 ** len(fields)  # the grid is 2 points per searched field; every search gets as many trials
    spec = {k: SPACE_OF.get(name, {}).get(k, SPACE[k]) for k in fields}
    space = load_space(spec, config)
    interval = chunk_size(config.num_updates, 12)  # PBT's: at least 12 rounds a run (4 of 48 updates; 8 of 128)
    out = {"config": dataclasses.asdict(config), "space": spec, "trials": trials,
           "steps_per_trial": config.num_updates * config.rollout_size,
           "optuna_pruner": pruner, "objective": objective}  # fmt: skip
    rows = {"base settings (mean of N seeds)": [], "base settings (best of N seeds)": [], "grid (best fixed)": [],
            "PBT": [], "Optuna (batched)": []}  # fmt: skip
    if rescore:  # the setting each search picked, trained again from fresh seeds
        score = rescorer(config, rescore, objective)
        rows.update({f"{k}, on {rescore} fresh seeds": [] for k in ("base settings", "grid pick", "Optuna pick")})
    walls, ran = {k: [] for k in rows}, {"Optuna (batched)": []}  # ran: [trials, of which pruned] per search
    seq = {}
    methods = set(methods or ("base", "grid", "pbt", "optuna"))
    for i in range(searches):
        picked = {}  # this search's settings to rescore
        if "base" in methods:
            t0 = time.perf_counter()
            keys = jax.random.split(jax.random.key(i), trials)
            _, m = jax.block_until_ready(jax.jit(jax.vmap(ppo.make_train(config)))(keys))
            walls["base settings (mean of N seeds)"].append(time.perf_counter() - t0)
            walls["base settings (best of N seeds)"].append(walls["base settings (mean of N seeds)"][-1])
            values = score_runs(objective, m["eval_return"], m["episode_return"])
            rows["base settings (mean of N seeds)"].append(float(np.mean(values)))
            rows["base settings (best of N seeds)"].append(float(np.max(values)))
        if "grid" in methods:
            g = grid_search(ppo.make_parts, config, space, num=2, centers=True, seed=i, objective=objective,
                            progress=False)  # fmt: skip
            walls["grid (best fixed)"].append(g.timing["wall_s"])
            rows["grid (best fixed)"].append(g.best["value"])
            picked["grid pick"] = g.best["hparams"]
        if "pbt" in methods:
            t0 = time.perf_counter()
            p = pbt(ppo.make_parts, config, space, population=trials, interval=interval, seed=i, progress=False)
            walls["PBT"].append(time.perf_counter() - t0)
            rows["PBT"].append(float(np.nanmax(score_runs(objective, p.eval_return, p.metrics["episode_return"]))))
        if "optuna" in methods:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            # the same updates as N whole trials; with pruning, what pruned trials did not use goes to more trials
            o = optuna_search(ppo.make_parts, config, space, trials * (1 if pruner == "none" else 4),
                              batch_size=optuna_batch or trials // 2, seed=i, pruner=pruner, objective=objective,
                              budget=trials * config.num_updates, progress=False)  # fmt: skip
            walls["Optuna (batched)"].append(o.timing["wall_s"])
            rows["Optuna (batched)"].append(o.best["value"])
            picked["Optuna pick"] = o.best["hparams"]
            ran["Optuna (batched)"].append([len(o.trials), sum(t["state"] == "pruned" for t in o.trials)])
        if rescore:
            picked["base settings"] = {k: getattr(config, k) for k in space.names}
            for label, hparams in picked.items():
                t0 = time.perf_counter()
                rows[f"{label}, on {rescore} fresh seeds"].append(score(hparams, i))
                walls[f"{label}, on {rescore} fresh seeds"].append(time.perf_counter() - t0)
            out.setdefault("picked", []).append(picked)
        print(f"  {name} search {i}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rows.items() if v), flush=True)
        if i == 0 and {"base", "grid", "optuna"} <= methods:  # the same trials one after another
            seq["grid (best fixed)"] = sequential_wall(config, space.grid(2, centers=True), i)
            done = [t for t in o.trials if t["state"] == "complete"]  # scaled to the updates all its trials ran
            seq["Optuna (batched)"] = (
                sequential_wall(config, {k: np.asarray([t["hparams"][k] for t in done]) for k in space.names}, i)
                * o.timing["updates"]
                / (len(done) * config.num_updates)
            )
            base = {k: np.full(trials, getattr(config, k)) for k in space.names}
            seq["base settings (mean of N seeds)"] = sequential_wall(config, base, i)
    rows = {k: v for k, v in rows.items() if v}
    out["results"] = rows
    out["wall_s"] = walls
    out["sequential_wall_s"] = seq
    out["trials_run"] = ran
    out["rescore_seeds"] = rescore
    return out


def table(name, res) -> str:
    head = f"\n### PPO {res['config']['env_id']}: {res['trials']} trials x {res['steps_per_trial']:,} steps per search"
    if res.get("objective") == "train":
        head += " (scored by the training return over the last tenth of the updates)"
    lines = [head, "| method | final return, mean over searches | per search | wall per search | same trials one after "
             "another |", "|---|---:|---|---:|---:|"]  # fmt: skip
    for method, values in res["results"].items():
        v = np.asarray(values)
        seq = res["sequential_wall_s"].get(method, res["sequential_wall_s"].get("base settings (mean of N seeds)"))
        seq = None if "fresh seeds" in method else seq  # a rescoring is one program, not a search
        seq = "" if seq is None else f"{seq:.0f} s"
        pruner = res.get("optuna_pruner", "median" if res.get("optuna_prune", True) else "none")
        label = method if "Optuna" not in method or pruner == "median" else f"{method}, pruner {pruner}"
        if res.get("trials_run", {}).get(method):
            label += " ({} trials, {} pruned, per search)".format(
                *["-".join(str(c) for c in sorted({r[j] for r in res["trials_run"][method]})) for j in (0, 1)]
            )
        lines.append(f"| {label} | {v.mean():.1f} +- {v.std():.1f} | {', '.join(f'{x:.1f}' for x in v)} | "
                     f"{np.min(res['wall_s'][method]):.0f} s | {seq} |")  # fmt: skip
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--searches", type=int, default=4, help="independent searches per method")
    parser.add_argument("--fields", nargs="*", default=list(FIELDS), choices=list(SPACE), help="the searched fields")
    parser.add_argument("--methods", nargs="*", choices=["base", "grid", "pbt", "optuna"], default=None)
    parser.add_argument("--optuna-batch", type=int, default=None, help="trials per Optuna batch (default: half)")
    parser.add_argument("--optuna-pruner", choices=PRUNERS, default="median",
                        help="Optuna's pruner (search.optuna_pruner): the median rule, asynchronous successive "
                        "halving, or none")  # fmt: skip
    parser.add_argument(
        "--objective",
        choices=["eval", "train"],
        default="eval",
        help="what a run scores: its final greedy evaluation, or its training return over the last "
        "tenth of the updates (every method picks and is reported by it)",
    )
    parser.add_argument(
        "--rescore",
        type=int,
        default=0,
        metavar="K",
        help="also train the setting each grid and Optuna search picked (and the base settings) from K fresh "
        "seeds, the same K for every method of a search, and report their mean",
    )
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    print(f"jax {jax.__version__}, devices {jax.devices()}, fields {args.fields}, {2 ** len(args.fields)} trials")
    results = {}
    for name in args.tasks:
        results[name] = run_task(
            name,
            args.searches,
            args.methods,
            args.optuna_batch,
            args.fields,
            args.objective,
            args.optuna_pruner,
            args.rescore,
        )
        print(table(name, results[name]))
        sys.stdout.flush()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
