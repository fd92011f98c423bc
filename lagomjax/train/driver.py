"""The command line of every algorithm: flags from its ``Config``, seeds vmapped in one compiled
program (or, for a gymnasium id that is not registered as a functional environment, lagom's Python
runners, seeds one after another), lagom's log layout, a learning-curve PNG and a results table.

An algorithm module (``lagomjax.algos.<name>``) gives ``NAME``, ``Config``, ``make_parts`` and, for
the gymnasium path, ``make_agent`` (or its own ``run_gym``). ``python -m lagomjax.train <name>``
and ``lagomjax-train <name>`` call :func:`main`.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
from pathlib import Path

import jax
import numpy as np

from lagomjax import checkpoint as ckpt
from lagomjax import envs
from lagomjax.envs.registry import env_kwargs
from lagomjax.experiment.layout import write_logs
from lagomjax.train import gym_loop, runs, search_cli
from lagomjax.train import trackers as trackers_mod
from lagomjax.train.cli import config_from_args
from lagomjax.train.seeds import run_seeds
from lagomjax.utils import enable_compile_cache


def results_table(name, final_returns, timing) -> str:
    r = np.asarray(final_returns, dtype=np.float64)
    rate = timing["env_steps_per_s"]
    rate = f"{rate:,.0f}" if rate > 0 else "-"  # "-": no step ran in this call (a finished run resumed)
    return "\n".join(
        [
            "| algorithm | seeds | final return (mean +- std) | min | max | env-steps/s | compile |",
            "|---|---:|---:|---:|---:|---:|---:|",
            f"| {name} | {r.size} | {r.mean():.1f} +- {r.std():.1f} | {r.min():.1f} | {r.max():.1f} "
            f"| {rate} | {timing['compile_s']:.1f} s |",
        ]
    )


def _flags(slug: str) -> dict:
    return {
        "num_seeds": (8, "seeds, vmapped in one compiled program"),
        "seed": (0, "base seed: seed i trains from jax.random.split(key(seed))[i]"),
        "log_dir": (None, f"run directory (default: runs/{slug}/<env>/<date-time>); must be new or empty"),
        "resume": (None, "continue the run in this directory where its checkpoint left off (bit-identical)"),
        "checkpoint_seconds": (60.0, "seconds between checkpoints (also saved on Ctrl-C, SIGTERM and at the end)"),
        "eval_every": (-1, "updates between deterministic evaluations during training (-1: about 10 per run, 0: none)"),
        "init_from": (None, "start from a trained run's latest state (its checkpoint: parameters, optimiser state, "
                      "observation moments, any replay buffer; seeds one to one), as RL Zoo's --trained-agent; "
                      "this run's learning-rate annealing and learning_starts count from its own start"),
        "plot": ("learning_curve.png", "learning-curve PNG (and SVG), in the run directory ('' or off: none)"),
        "tensorboard": (False, "also log to TensorBoard event files in <run>/tb (needs lagomjax[tensorboard])"),
        "wandb": (False, "also log to Weights & Biases, one run per seed (needs lagomjax[wandb])"),
        "wandb_mode": ("", "W&B mode: online, offline or disabled (default: W&B's own, e.g. WANDB_MODE)"),
        "compile_cache": ("", "JAX's persistent compilation cache: a directory (default $LAGOMJAX_COMPILE_CACHE or "
                          "~/.cache/lagomjax/jax), or 'off'; a second run of the same program loads it from there"),
    }  # fmt: skip


# the command line's own flags that run.yml records and a --resume keeps unless given again
_SETTINGS = ("checkpoint_seconds", "eval_every", "plot", "tensorboard", "wandb", "wandb_mode")


class _StopOnSignal:
    """SIGINT/SIGTERM ask the run to stop after the current chunk (saving a checkpoint); a second
    SIGINT interrupts at once. Installed only in the main thread."""

    def __init__(self):
        self.asked = False
        self.old = {}

    def __call__(self, signum, frame):
        if self.asked and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.asked = True
        print(f"\n{signal.Signals(signum).name}: stopping after this chunk and saving a checkpoint "
              "(Ctrl-C again to quit at once)", file=sys.stderr, flush=True)  # fmt: skip

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.old = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self.old.items():
            signal.signal(s, handler)


def _resume(algo, slug, config, extra):
    """The config, seeds and directory of the run to continue; flags that contradict it are refused.
    The run's recorded settings (:data:`_SETTINGS`) replace the flags' defaults in ``extra``."""
    run_dir = Path(extra["resume"])
    try:
        record = runs.read_record(run_dir)
        if record["algorithm"] != slug:
            raise ValueError(f"that run is {record['algorithm']}, not {slug}")
        saved = runs.config_from_dict(algo.Config, record["config"])
    except ValueError as e:
        raise SystemExit(f"--resume {run_dir}: {e}") from None
    wrong = [f"{f}: run {getattr(saved, f)!r}, given {getattr(config, f)!r}" for f in sorted(extra["_given"])
             if hasattr(saved, f) and getattr(saved, f) != getattr(config, f)]  # fmt: skip
    for name in ("num_seeds", "seed"):
        if name in extra["_given"] and extra[name] != record[name]:
            wrong.append(f"{name}: run {record[name]!r}, given {extra[name]!r}")
    search = record.get("search")
    for name in sorted(set(search_cli.flags()) & extra["_given"]):
        key = "method" if name == "search" else name
        if name == "space" or search is None or search.get(key, extra[name]) != extra[name]:
            wrong.append(f"{name}: run {None if search is None else search.get(key)!r}, given {extra[name]!r}")
    if wrong:
        raise SystemExit(f"--resume {run_dir}: these flags differ from the run's settings: {'; '.join(wrong)}")
    given_from = extra["init_from"] and str(Path(extra["init_from"]).resolve())
    if "init_from" in extra["_given"] and given_from != record.get("init_from"):
        raise SystemExit(f"--resume {run_dir}: --init-from: run {record.get('init_from')!r}, given {given_from!r}")
    extra["init_from"] = record.get("init_from")  # used again if the run stopped before its first checkpoint
    kept = record.get("settings") or {}  # runs written before settings were recorded have none
    extra.update({k: v for k, v in kept.items() if k in _SETTINGS and k not in extra["_given"]})
    return saved, record["num_seeds"], record["seed"], run_dir, search


def _shape_differences(state, like) -> list[str]:
    """Where two train states (arrays or shapes) differ in structure, shape or dtype, path by path."""
    a, b = jax.tree_util.tree_flatten_with_path(state), jax.tree_util.tree_flatten_with_path(like)
    if a[1] != b[1]:
        return ["another structure"]
    return [f"{jax.tree_util.keystr(p)}: {x.shape} {x.dtype}, here {y.shape} {y.dtype}"
            for (p, x), (_, y) in zip(a[0], b[0], strict=True) if (x.shape, x.dtype) != (y.shape, y.dtype)]  # fmt: skip


def _init_state(algo, slug, config, parts, num_seeds: int, search, source):
    """``--init-from``: the latest train state of the run ``source`` (leaves ``[seeds, ...]``), where
    this run starts (checked before a run directory is claimed or anything compiles)."""
    where = f"--init-from {source}"
    if search is not None:
        raise SystemExit(f"{where}: a --search trains every trial from its own start")
    if parts is None and not hasattr(algo, "make_agent"):
        raise SystemExit(f"{where}: {algo.NAME}'s own gymnasium loop ({config.env_id}) keeps no state to start from")
    try:
        record = runs.read_record(source)
        if record["algorithm"] != slug:
            raise ValueError(f"that run is {record['algorithm']}, not {slug}")
        if record["num_seeds"] != num_seeds:
            raise ValueError(f"that run has {record['num_seeds']} seeds, this one {num_seeds}: its seeds start this "
                             f"run's one to one (give --num-seeds {record['num_seeds']})")  # fmt: skip
        state, extra = runs.load_state(source, algo)
    except ValueError as e:
        raise SystemExit(f"{where}: {e}") from None
    if parts is not None:
        like = jax.eval_shape(jax.vmap(parts.init), jax.random.split(jax.random.key(0), num_seeds))
    else:  # the gymnasium path: one agent state per seed
        one = gym_loop.restore_target(config, algo.make_agent, jax.random.key(0))[1]
        like = jax.tree.map(lambda x: jax.ShapeDtypeStruct((num_seeds, *x.shape), x.dtype), one)
    bad = _shape_differences(state, like)
    if bad:
        changed = ckpt.differences(record["config"], runs.config_to_dict(config))
        raise SystemExit(f"{where}: its train state does not fit this run's ({'; '.join(bad[:3])}"
                         f"{'; ...' if len(bad) > 3 else ''}); the configs differ in {'; '.join(changed)}: the fields "
                         "that shape the state (network sizes, num_envs, buffer size, ...) must match")  # fmt: skip
    print(f"starting from {source} at its update {int(extra['next_update'])}", flush=True)
    return state


def _check_numbers(extra: dict) -> None:
    """The script-level numbers, checked before anything is built or a run directory claimed."""
    if extra["num_seeds"] < 1:
        raise SystemExit(f"--num-seeds must be >= 1, got {extra['num_seeds']}")
    if extra["eval_every"] < -1:
        raise SystemExit(f"--eval-every must be -1, 0 or a number of updates, got {extra['eval_every']}")
    if not extra["checkpoint_seconds"] >= 0:
        raise SystemExit(f"--checkpoint-seconds must be >= 0, got {extra['checkpoint_seconds']}")


def _check_extras(extra: dict, search, streams: bool, env_id: str) -> None:
    """The optional packages the flags need, and trackers only where they stream (``streams``: not
    ES's own gymnasium loop; not --search), checked before a run directory is claimed."""
    trackers = [f"--{name}" for name in ("tensorboard", "wandb") if extra[name]]
    flags = f"{' and '.join(trackers)} stream{'s' if len(trackers) == 1 else ''}"
    if trackers and search is not None:
        raise SystemExit(f"{flags} one run's metrics; --search writes its own record")
    if trackers and not streams:
        raise SystemExit(f"{flags} a run's metrics as they come; ES on the gymnasium path ({env_id}) gives them at "
                         "the end (its logs: <run>/0/<seed>/train_logs.csv)")  # fmt: skip
    need = [(flag, module, flag[2:]) for flag, module in (("--tensorboard", "tensorboardX"), ("--wandb", "wandb"))
            if flag in trackers]  # fmt: skip
    if search is not None and search["method"] == "optuna":
        need.append(("--search optuna", "optuna", "search"))
    for flag, module, name in need:
        if importlib.util.find_spec(module) is None:
            raise SystemExit(f'{flag} needs {module}: pip install "lagomjax[{name}]"')


def _eval_every(flag: int, num_updates: int) -> int | None:
    return None if flag == 0 else max(1, num_updates // 10) if flag == -1 else flag


def _plot_name(flag: str) -> str | None:
    """``--plot``: a file name in a format matplotlib writes, or None for '' and 'off' (no plot);
    checked before anything compiles, not after the run."""
    if flag in ("", "off"):
        return None
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    if Path(flag).name != flag or Path(flag).suffix.lstrip(".").lower() not in kinds:
        raise SystemExit(f"--plot must be a file name ending in one of {', '.join('.' + k for k in sorted(kinds))} "
                         f"(written in the run directory), or '' or off for none; got {flag!r}")  # fmt: skip
    return flag


def _resume_points(run_dir, num_seeds: int, functional: bool):
    """``(update, environment step)`` where a resumed run continues (0, 0 for a new one): one pair
    for the compiled path's seeds, which go on together; lists per seed on the gymnasium path."""
    if functional:
        if not (run_dir / runs.CHECKPOINT).exists():
            return 0, 0
        saved = ckpt.load(run_dir / runs.CHECKPOINT)["extra"]
        return int(saved["next_update"]), 1 + max((int(np.max(c["env_steps"])) for c in saved["chunks"]), default=-1)
    updates, steps = [0] * num_seeds, [0] * num_seeds
    for i in range(num_seeds):
        if gym_loop.checkpoint_path(run_dir, i).exists():
            saved = ckpt.load(gym_loop.checkpoint_path(run_dir, i))["extra"]
            updates[i] = int(saved["next_update"])
            steps[i] = 1 + int(saved["rows"][updates[i] - 1]["env_steps"]) if updates[i] else 0
    return updates, steps


def _all_saved(run_dir, num_seeds: int, functional: bool) -> bool:
    """Whether every seed of the run has a checkpoint to resume from (its files exist: none is read)."""
    if functional:
        return (run_dir / runs.CHECKPOINT).exists()
    return all(gym_loop.checkpoint_path(run_dir, i).exists() for i in range(num_seeds))


def _trackers(run_dir, seeds, config, extra, functional: bool) -> trackers_mod.Trackers:
    """CSV always; TensorBoard and W&B when asked. On resume they continue from the checkpoint."""
    start_update, start_step = _resume_points(run_dir, len(seeds), functional)
    out = [trackers_mod.CSVTracker(run_dir, seeds, start_update)]
    if extra["tensorboard"]:
        out.append(trackers_mod.TensorBoardTracker(run_dir, seeds, start_step))
    if extra["wandb"]:
        out.append(
            trackers_mod.WandbTracker(run_dir, seeds, runs.config_to_dict(config), mode=extra["wandb_mode"] or None)
        )
    return trackers_mod.Trackers(*out)


def _preflight(algo, config, search):
    """The run's training parts (functional envs; ``None`` on the gymnasium path), built here so that
    an unknown id, a missing suite or dependency, or an action space the algorithm cannot use stops
    the command with one line before a run directory is claimed (nothing compiles)."""
    import gymnasium as gym

    try:
        functional = envs.is_registered(config.env_id)
        if search is not None and not functional:
            raise SystemExit(f"--search trains compiled programs: {config.env_id} is not a registered functional env")
        if functional:
            return algo.make_parts(config)
        env = gym.make(config.env_id, **env_kwargs(config))
        try:
            if hasattr(algo, "make_agent"):
                algo.make_agent(config, env.action_space)
        finally:
            env.close()
    except (ValueError, TypeError, ImportError, gym.error.Error) as e:
        raise SystemExit(f"{algo.NAME} on {config.env_id}: {e}") from None
    return None


def main(algo, argv=None, **defaults):
    """Train ``algo`` (an algorithm module) from command-line flags: every ``algo.Config`` field plus
    ``--num-seeds``, ``--seed``, ``--log-dir``, ``--resume``, ``--init-from``, ``--checkpoint-seconds``,
    ``--plot`` and the trackers.

    Each run gets its own directory (:mod:`lagomjax.train.runs`): ``run.yml``, a checkpoint saved
    periodically, on SIGINT/SIGTERM and at the end (it then holds the final parameters:
    :func:`~lagomjax.algos.policies.load_policy`), lagom's log layout, the learning-curve PNG; prints
    the results table. ``defaults`` override the script-level flag defaults. Returns
    ``(metrics, timing)``; an interrupted run exits with status 130 after saving.
    """
    from lagomjax import vis

    slug = algo.__name__.rsplit(".", 1)[-1]
    if not algo.__name__.startswith("lagomjax.algos."):  # a user's algorithm module (e.g. a script)
        slug = algo.NAME.lower().replace("-", "_").replace(" ", "_")
    flags = {**_flags(slug), **search_cli.flags()}
    flags.update({k: (v, flags[k][1]) for k, v in defaults.items()})
    config, extra = config_from_args(algo.Config, argv, description=algo.__doc__, prog=slug, **flags)
    enable_compile_cache(extra["compile_cache"] or None)
    if extra["resume"]:
        config, n, seed, run_dir, search = _resume(algo, slug, config, extra)
    else:
        search, n, seed, run_dir = search_cli.settings(extra, config), extra["num_seeds"], extra["seed"], None
        if search is not None and "num_seeds" not in extra["_given"]:
            n = 1  # seeds per trial
    plot = _plot_name(extra["plot"])
    _check_numbers(extra)
    parts = _preflight(algo, config, search)  # before a run directory is claimed
    _check_extras(extra, search, parts is not None or not hasattr(algo, "run_gym"), config.env_id)
    init_state = None  # --init-from's state, needed while a seed has no checkpoint of its own
    if extra["init_from"] and (run_dir is None or not _all_saved(run_dir, n, parts is not None)):
        init_state = _init_state(algo, slug, config, parts, n, search, extra["init_from"])
    if run_dir is None:
        record = runs.run_record(slug, config, n, seed, {k: extra[k] for k in _SETTINGS})
        if search is not None:
            record["search"] = search
        if extra["init_from"]:
            record["init_from"] = str(Path(extra["init_from"]).resolve())
        try:
            run_dir = runs.claim_run_dir(extra["log_dir"] or runs.new_run_dir("runs", slug, config.env_id), record)
        except ValueError as e:
            raise SystemExit(str(e)) from None
    if search is not None:
        if search["method"] in ("cmaes", "grid") and extra["resume"]:
            raise SystemExit(f"--search {search['method']} cannot be resumed (only pbt and optuna keep their state)")
        with _StopOnSignal() as stop:
            result = search_cli.run(algo, slug, config, search, run_dir, n, seed, lambda: stop.asked, plot)
        if result is None:
            print(f"stopped; continue with:\n  python -m lagomjax.train {slug} --resume {run_dir}", flush=True)
            raise SystemExit(130)
        return result
    functional = parts is not None  # _preflight built them: a registered functional env
    path = "functional env, seeds vmapped" if functional else "gymnasium env through lagom's runners"
    print(f"{algo.NAME} on {config.env_id} ({path}): {config.num_updates} updates x {n} seeds; run directory {run_dir}")
    seeds = [seed * 1000 + i for i in range(n)]
    if not functional and hasattr(algo, "run_gym"):  # an algorithm with its own gymnasium loop (ES): no checkpoints
        with _StopOnSignal():
            metrics, timing = algo.run_gym(config, num_seeds=n, seed=seed)
    else:
        trackers = _trackers(run_dir, seeds, config, extra, functional)
        try:
            with _StopOnSignal() as stop:
                if functional:
                    print("compiling ...", end=" ", flush=True)
                    _, metrics, timing = run_seeds(
                        parts, config, n, seed=seed, checkpoint=run_dir / runs.CHECKPOINT,
                        checkpoint_every=10**9, checkpoint_seconds=extra["checkpoint_seconds"],
                        should_stop=lambda: stop.asked, on_compiled=lambda s: print(f"{s:.1f} s", flush=True),
                        on_metrics=trackers, eval_every=_eval_every(extra["eval_every"], config.num_updates),
                        on_eval=trackers.log_eval, best_checkpoint=run_dir / runs.BEST, init_state=init_state,
                    )  # fmt: skip
                else:
                    metrics, timing = gym_loop.run_seeds_gym(
                        config, algo.make_agent, n, seed=seed, checkpoint_dir=run_dir,
                        checkpoint_seconds=extra["checkpoint_seconds"], should_stop=lambda: stop.asked,
                        on_metrics=trackers, init_state=init_state,
                        eval_every=_eval_every(extra["eval_every"], config.num_updates),
                        on_eval=lambda i, u, steps, ret: trackers.log_eval(u, [steps], [ret], [i]),
                    )  # fmt: skip
        finally:
            trackers.close()
    if not timing.get("finished", True):
        print(f"stopped; checkpoint saved in {run_dir}. Continue with:\n  python -m lagomjax.train {slug} "
              f"--resume {run_dir}", flush=True)  # fmt: skip
        raise SystemExit(130)
    per_seed = {k: np.asarray(v)[None] for k, v in metrics.items()}
    log = write_logs(run_dir, [config], per_seed, seeds) / "0"
    png = plot and vis.plot_learning_curve(metrics, run_dir / plot, f"{algo.NAME} {config.env_id}")
    halted = np.atleast_1d(metrics.get("halted_at", -1))
    for i in np.flatnonzero(halted >= 0):
        print(f"seed {seeds[i]} stopped learning at update {halted[i]}: non-finite values (its results are its last "
              "finite policy's)")  # fmt: skip
    print()
    print(results_table(f"{algo.NAME} {config.env_id} (deterministic eval)", metrics["eval_return"], timing))
    curve = f"; curve in {png}" if png else ""
    print(f"\nrun {timing['run_s']:.1f} s after {timing['compile_s']:.1f} s compile; logs in {log}{curve}")
    return metrics, timing
