"""``--search pbt|optuna|cmaes|grid --space FILE``: every algorithm's command line searches its float
hyper-parameters with :mod:`lagomjax.experiment` (population based training, batched Optuna trials,
CMA-ES, a grid), each population or batch one compiled program.

    python -m lagomjax.train ppo --env Pendulum-v1 --search pbt --space space.yml --population 8
    python -m lagomjax.train ppo --env Acrobot-v1 --search optuna --space space.yml --trials 32 --batch 8

The run directory holds, beside ``run.yml`` (with the search settings) and lagom's layout (one config
ID per trial or PBT member, its searched values in its ``config.yml``): ``search.yml`` (method,
space, best values and return, wall time), ``trials.csv`` (one row per trial or member),
``learning_curve.png`` (the best trial's, or every PBT member's, training curve), and per method
``pbt.ckpt`` + ``pbt_history.csv`` + ``pbt_schedules.png`` (PBT) or ``study.db`` (Optuna's SQLite
storage: ``optuna-dashboard sqlite:///study.db``). PBT and Optuna runs continue with ``--resume``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

from lagomjax.experiment import search as search_mod
from lagomjax.experiment.layout import write_configs, write_metrics
from lagomjax.experiment.pbt import pbt
from lagomjax.experiment.space import load_space, space_to_dict
from lagomjax.experiment.sweep import chunk_size
from lagomjax.utils import atomic_open, yaml_dump

METHODS = ("pbt", "optuna", "cmaes", "grid")
PBT_CHECKPOINT, STUDY = "pbt.ckpt", "study.db"


def flags() -> dict:
    return {
        "search": ("", f"hyper-parameter search: {', '.join(METHODS)} (with --space); seeds per trial: --num-seeds "
                   "(default 1 when searching)"),
        "space": (None, "YAML search space of float fields, e.g. 'lr: {low: 1.0e-4, high: 3.0e-3, log: true}' or "
                  "'gamma: {values: [0.95, 0.99]}'"),
        "trials": (16, "trials of --search optuna or cmaes (cmaes: whole generations of --batch)"),
        "batch": (8, "trials per compiled program (optuna, grid) and CMA-ES's population size"),
        "pruner": ("median", f"optuna's pruner: {', '.join(search_mod.PRUNERS)} (the median rule, asynchronous "
                   "successive halving, none); a pruned trial's slot takes the next trial at once"),
        "budget": (0.0, "optuna: at most this many whole runs' worth of updates over all trials (0: only --trials "
                   "limits); a pruned trial's unused updates go to further trials, up to --trials"),
        "population": (8, "members of --search pbt (a multiple of the number of devices)"),
        "interval": (0, "updates between PBT's exploit/explore steps (0: about 10 per run)"),
        "grid_points": (3, "points per range of --search grid (a choice uses all its values)"),
        "objective": ("eval", "what a trial or PBT member scores and is picked by: eval (its final greedy "
                      "evaluation) or train (its training return over the last tenth of the updates); PBT's "
                      "in-program selection is by training return either way"),
    }  # fmt: skip


def settings(extra: dict, config) -> dict | None:
    """The search part of a run's record (``run.yml``), checked before anything compiles; ``None``
    when not searching. Raises ``SystemExit`` naming the flag."""
    method = extra["search"]
    if not method:
        if extra["space"]:
            raise SystemExit("--space needs --search (pbt, optuna, cmaes or grid)")
        return None
    if method not in METHODS:
        raise SystemExit(f"--search must be one of {', '.join(METHODS)}, got {method!r}")
    if not extra["space"]:
        raise SystemExit(f"--search {method} needs --space FILE (a YAML search space)")
    try:
        space = load_space(extra["space"], config)
    except (OSError, ValueError) as e:
        raise SystemExit(f"--space {extra['space']}: {e}") from None
    for name in ("trials", "batch", "population", "grid_points"):
        if extra[name] < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {extra[name]}")
    if extra["pruner"] not in search_mod.PRUNERS:
        raise SystemExit(f"--pruner must be one of {', '.join(search_mod.PRUNERS)}, got {extra['pruner']!r}")
    if not extra["budget"] >= 0:
        raise SystemExit(f"--budget must be >= 0, got {extra['budget']}")
    if extra["objective"] not in search_mod.OBJECTIVES:
        raise SystemExit(f"--objective must be one of {', '.join(search_mod.OBJECTIVES)}, got {extra['objective']!r}")
    if method == "pbt" and extra["population"] < 2:
        raise SystemExit(f"--population must be >= 2, got {extra['population']}")
    interval = extra["interval"] or chunk_size(config.num_updates, 10)  # about a tenth of the run, dividing it
    if interval < 1 or config.num_updates % interval:
        raise SystemExit(f"--interval {interval} must divide the run's {config.num_updates} updates")
    out = {"method": method, "space": space_to_dict(space), "objective": extra["objective"]}
    keep = {"pbt": ("population",), "optuna": ("trials", "batch", "pruner", "budget"), "cmaes": ("trials", "batch"),
            "grid": ("grid_points", "batch")}[method]  # fmt: skip
    out.update({k: extra[k] for k in keep})
    if method == "pbt":
        out["interval"] = interval
    return out


def run(algo, slug: str, config, search: dict, run_dir: Path, num_seeds: int, seed: int, should_stop,
        plot: str | None):  # fmt: skip
    """Run the search the record ``search`` describes into ``run_dir``; returns the result (None if
    ``should_stop()`` halted it). ``plot``: the best trial's learning-curve file, the driver's checked
    ``--plot`` (None: no figures, PBT's schedules included)."""
    from lagomjax import vis

    space = load_space(search["space"], config)
    method, objective = search["method"], search.get("objective", "eval")
    print(f"{algo.NAME} on {config.env_id}: --search {method} over {', '.join(space.names)}; run directory {run_dir}")
    if method == "pbt":
        result = pbt(algo.make_parts, config, space, search["population"], search["interval"], seed=seed,
                     checkpoint=run_dir / PBT_CHECKPOINT, should_stop=should_stop)  # fmt: skip
        if not result.timing["finished"]:
            return None
        records = _pbt_records(result, space, objective)
        _write_pbt_history(run_dir / "pbt_history.csv", result.history)
        steps = int(result.metrics["env_steps"][0, 0]) * search["interval"]
        if plot:
            vis.plot_pbt(result.history, run_dir / "pbt_schedules.png", f"PBT {algo.NAME} {config.env_id}", steps,
                         log=[p.name for p in space.params if p.log])  # fmt: skip
        curve = {k: result.metrics[k] for k in ("env_steps", "episode_return")}
        best, timing = search_mod.best_record(records), result.timing
        wall = timing["compile_s"] + timing["run_s"]
    else:
        kw = {"num_seeds": num_seeds, "seed": seed, "objective": objective}
        if method == "optuna":
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar reports trials
            budget = int(search.get("budget", 0) * config.num_updates) or None
            result = search_mod.optuna_search(algo.make_parts, config, space, search["trials"], search["batch"],
                                              storage=run_dir / STUDY, study_name=slug, budget=budget,
                                              pruner=search.get("pruner", "median"),
                                              should_stop=should_stop, **kw)  # fmt: skip
            if not result.timing["finished"]:
                return None
            records = _optuna_records(result)
        elif method == "cmaes":
            generations = math.ceil(search["trials"] / search["batch"])
            result = search_mod.cmaes_search(algo.make_parts, config, space, generations, search["batch"], **kw)
            records = result.trials
        else:
            result = search_mod.grid_search(algo.make_parts, config, space, search["grid_points"],
                                            batch_size=search["batch"], **kw)  # fmt: skip
            records = result.trials
        best, wall = result.best, result.timing["wall_s"]
        curve = None if best.get("curves") is None else {
            "env_steps": np.asarray(best["env_steps"])[None], "episode_return": np.asarray(best["curves"])}  # fmt: skip
    _write_trials(run_dir / "trials.csv", records, space.names)
    _write_layout(run_dir, config, records, seed, objective)
    yaml_dump({"method": method, "space": search["space"], "best": {"trial": int(best["number"]),
               "hparams": best["hparams"], "return": float(best["value"])}, "trials": len(records),
               "wall_s": round(float(wall), 2)}, run_dir / "search.yml", ext=None)  # fmt: skip
    if curve is not None and plot:
        vis.plot_learning_curve(curve, run_dir / plot, f"{algo.NAME} {config.env_id} (best trial)")
    print()
    print(table(records, space.names))
    print(f"\nbest: trial {best['number']} {_values(best['hparams'])} -> {best['value']:.1f}; {len(records)} trials "
          f"in {wall:.1f} s; results in {run_dir}")  # fmt: skip
    return result


def _optuna_records(result) -> list:
    """Every trial of the study that ran (earlier calls' too, so a resumed search reports all of them;
    not the queued design points a budget left waiting)."""
    import optuna

    ran = {r["number"]: r for r in result.trials}
    out = []
    for t in result.study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.WAITING:
            continue
        if t.number in ran:
            out.append(ran[t.number])
        else:
            value = t.value if t.value is not None else float("nan")
            out.append({"number": t.number, "hparams": dict(t.params), "value": value,
                        "state": t.state.name.lower(), "returns": [], "curves": None, "env_steps": None})  # fmt: skip
    return out


def _pbt_records(result, space, objective: str = "eval") -> list:
    last = {k: v[-1] for k, v in result.history["hparams"].items()}
    values = search_mod.score_runs(objective, result.eval_return, result.metrics["episode_return"])
    return [
        {"number": i, "hparams": {k: float(last[k][i]) for k in space.names}, "value": float(values[i]),
         "state": "complete", "returns": [float(values[i])],
         "curves": result.metrics["episode_return"][i][None], "env_steps": result.metrics["env_steps"][i]}
        for i in range(len(result.eval_return))
    ]  # fmt: skip


def _values(hparams: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in hparams.items())


def table(records, names, top: int = 10) -> str:
    """The best ``top`` trials as a Markdown table."""
    rows = sorted(records, key=lambda r: -r["value"] if np.isfinite(r["value"]) else np.inf)[:top]
    lines = [f"| trial | {' | '.join(names)} | return | state |", "|---:|" + "---:|" * len(names) + "---:|---|"]
    for r in rows:
        cells = " | ".join(f"{r['hparams'][k]:.4g}" for k in names)
        lines.append(f"| {r['number']} | {cells} | {r['value']:.1f} | {r['state']} |")
    return "\n".join(lines)


def _write_trials(path, records, names) -> None:
    with atomic_open(path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(["trial", *names, "return", "state", "returns"])
        for r in records:
            writer.writerow([r["number"], *(r["hparams"].get(k, "") for k in names), r["value"], r["state"],
                             " ".join(f"{v:.6g}" for v in r["returns"])])  # fmt: skip


def _write_pbt_history(path, history) -> None:
    names = list(history["hparams"])
    with atomic_open(path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(["interval", "member", *names, "fitness", "continued_from"])
        for j, row in enumerate(history["fitness"]):
            for i, fit in enumerate(row):
                writer.writerow([j, i, *(float(history["hparams"][k][j, i]) for k in names), float(fit),
                                 int(history["source"][j, i])])  # fmt: skip


def _write_layout(run_dir, config, records, seed, objective: str = "eval") -> None:
    """lagom's layout: one config ID per trial (its searched values in the config), one seed folder
    per seed with that seed's training curve and (objective ``eval``) final evaluation."""
    configs = [{"ID": int(r["number"]), **dataclasses.asdict(dataclasses.replace(config, **r["hparams"]))}
               for r in records]  # fmt: skip
    write_configs(run_dir, configs)
    for r, c in zip(records, configs, strict=True):
        if r.get("curves") is None:
            continue
        for s, curve in enumerate(np.asarray(r["curves"])):
            metrics = {"env_steps": np.asarray(r["env_steps"]), "episode_return": curve}
            if objective == "eval" and s < len(r["returns"]):
                metrics["eval_return"] = r["returns"][s]
            write_metrics(run_dir / str(c["ID"]) / str(seed * 1000 + s) / "train_logs.pkl", metrics)
