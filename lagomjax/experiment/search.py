"""Hyper-parameter searches whose trials train as one compiled program: a batch of ``B`` trials x
``S`` seeds is one ``vmap`` (split over the devices), the searched float fields traced.

- :func:`grid_search`: every point of :meth:`Space.grid <lagomjax.experiment.space.Space.grid>`.
- :func:`optuna_search`: Optuna's ask/tell asking ``B`` trials at a time (multivariate TPE after a
  first random batch, a constant liar within a batch), pruned at chunk boundaries (median rule), the
  study in Optuna's own storage (an SQLite file resumes, and ``optuna-dashboard`` reads it). Needs
  ``pip install "lagomjax[search]"``.
- :func:`cmaes_search`: lagomjax's own CMA-ES in the space's unit coordinates (log-scaled where the
  space says), one generation per compiled batch.

Every trial's value is the mean over its seeds of its ``objective``: ``'eval'`` (default) the final
deterministic evaluation (``eval_return``), ``'train'`` the training episodes' return over the last
tenth of the updates (:func:`final_training_return`: the measure MinAtar results are usually given
in; a greedy policy in a deterministic game, e.g. SpaceInvaders-MinAtar, plays every evaluation
episode alike, so there ``'eval'`` is one sample per seed). Seeds are shared across trials (common
random numbers). Population based training is :func:`lagomjax.experiment.pbt`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax.experiment.space import load_space
from lagomjax.experiment.sweep import batch_sharding, chunk_size, put_global, to_host, traced_parts


class Trials(NamedTuple):
    """What a batch of trials produced; settings that were stopped (pruned) have NaN ``eval_return``."""

    metrics: dict  # [B, S, updates run]
    eval_return: np.ndarray  # [B, S]
    stopped: np.ndarray  # [B] bool
    timing: dict


class SearchResult(NamedTuple):
    """A finished search: ``trials`` in the order they were run, each ``{'number', 'hparams', 'value'
    (mean final return over seeds, NaN if pruned or failed), 'state', 'returns' [S], 'curves' (training
    return per seed and update [S, updates run]), 'env_steps' [updates run]}``; ``best`` is the best
    complete one."""

    method: str
    trials: list
    best: dict
    timing: dict
    study: Any = None  # the Optuna study (optuna_search)


def trial_runner(make_parts: Callable, config, batch: int, num_seeds: int = 1, seed: int = 0,
                 chunks: int = 10, devices=None):  # fmt: skip
    """``run(hparams {name: [batch]}, on_chunk=None) -> Trials``: ``batch`` settings x ``num_seeds`` seeds
    trained as one program in ``chunks`` compiled pieces (compiled on the first call, reused after).

    ``on_chunk(updates_done, metrics [batch, S, k])`` is called between pieces and may return a bool
    ``[batch]`` of settings to stop (their later work is wasted, not run differently; the call ends
    early once all are stopped). Setting ``i`` seed ``j`` trains from
    ``jax.random.split(jax.random.key(seed), num_seeds)[j]``, as :func:`~lagomjax.experiment.sweep`.
    """
    init_m, update_m, finish_m = traced_parts(make_parts, config)
    n = config.num_updates
    k = chunk_size(n, chunks)
    devices = list(devices or jax.local_devices())
    size = batch * num_seeds
    padded = -(-size // len(devices)) * len(devices)
    take = np.arange(padded) % size
    keys = jax.random.split(jax.random.key(seed), num_seeds)[take % num_seeds]
    sharding = batch_sharding(devices)
    keys = put_global(keys, sharding)
    compiled = {}

    def chunk(states, hparams, begin):
        def train(state, hp):
            return jax.lax.scan(lambda s, i: update_m(s, hp, i), state, begin + jnp.arange(k))

        return jax.vmap(train)(states, hparams)

    def run(hparams: dict, on_chunk: Callable | None = None) -> Trials:
        if any(np.shape(v) != (batch,) for v in hparams.values()):
            raise ValueError(
                f"hparams must be [batch={batch}] arrays, got { ({n: np.shape(v) for n, v in hparams.items()}) }"
            )
        hp = put_global({name: np.asarray(v, np.float32)[take // num_seeds] for name, v in hparams.items()}, sharding)
        t0 = time.perf_counter()
        if not compiled:
            compiled["init"] = jax.jit(jax.vmap(init_m)).lower(keys, hp).compile()
            states = compiled["init"](keys, hp)
            compiled["chunk"] = jax.jit(chunk).lower(states, hp, jnp.int32(0)).compile()
            compiled["finish"] = jax.jit(jax.vmap(finish_m)).lower(states, hp, keys).compile()
        else:
            states = compiled["init"](keys, hp)
        compile_s = time.perf_counter() - t0
        stopped, pieces = np.zeros(batch, bool), []
        t0 = time.perf_counter()
        for begin in range(0, n, k):
            states, m = compiled["chunk"](states, hp, jnp.int32(begin))
            m = {name: np.asarray(v)[:size].reshape(batch, num_seeds, k) for name, v in to_host(m).items()}
            pieces.append(m)
            if on_chunk is not None:
                stop = on_chunk(begin + k, m)
                if stop is not None:
                    stopped |= np.asarray(stop, bool)
            if stopped.all():
                break
        returns = np.full((batch, num_seeds), np.nan, np.float32)
        if not stopped.all():
            out = to_host(compiled["finish"](states, hp, keys))
            returns = np.where(stopped[:, None], np.nan, np.asarray(out)[:size].reshape(batch, num_seeds))
        run_s = time.perf_counter() - t0
        metrics = {name: np.concatenate([p[name] for p in pieces], axis=2) for name in pieces[0]}
        steps = int(metrics["env_steps"][0, 0, -1]) if "env_steps" in metrics else 0
        timing = {"compile_s": compile_s, "run_s": run_s, "env_steps_per_s": size * steps / run_s}
        return Trials(metrics, returns, stopped, timing)

    return run


OBJECTIVES = ("eval", "train")


def final_training_return(episode_return) -> np.ndarray:
    """``episode_return [..., updates]`` (NaN where no episode ended) -> ``[...]``: the mean over the
    last tenth of the updates (at least one), NaN where no episode ended there."""
    r = np.asarray(episode_return, np.float64)
    with warnings.catch_warnings():  # "mean of empty slice" where no episode ended: NaN is the answer
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(r[..., -max(1, r.shape[-1] // 10) :], axis=-1)


def _check_objective(objective) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def score_runs(objective: str, eval_return, episode_return) -> np.ndarray:
    """Each run's value by ``objective``: its ``eval_return [...]`` (``'eval'``), or
    :func:`final_training_return` of its ``episode_return [..., updates]`` (``'train'``)."""
    _check_objective(objective)
    return np.asarray(eval_return) if objective == "eval" else final_training_return(episode_return)


def _objective(trials: Trials, objective: str) -> np.ndarray:
    """Per setting and seed ``[B, S]``; NaN for a stopped setting."""
    value = score_runs(objective, trials.eval_return, trials.metrics["episode_return"])
    return np.where(trials.stopped[:, None], np.nan, value)


def _record(number, hparams, i, trials: Trials, objective: str = "eval", state=None) -> dict:
    returns = _objective(trials, objective)[i]
    value = float(np.mean(returns)) if np.isfinite(returns).all() else float("nan")
    state = state or ("pruned" if trials.stopped[i] else "complete" if np.isfinite(value) else "fail")
    return {"number": number, "hparams": {k: float(v) for k, v in hparams.items()}, "value": value, "state": state,
            "returns": returns.tolist(), "curves": trials.metrics["episode_return"][i],
            "env_steps": trials.metrics["env_steps"][i, 0]}  # fmt: skip


def best_record(records) -> dict:
    """The complete record with the largest finite value (the first on a tie)."""
    done = [r for r in records if r["state"] == "complete" and np.isfinite(r["value"])]
    if not done:
        raise RuntimeError("no trial completed with a finite return")
    return max(done, key=lambda r: r["value"])


def _progress(total, desc, progress):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="trial", disable=not progress)


def _timing(t0, batches) -> dict:
    return {"wall_s": time.perf_counter() - t0, "compile_s": sum(b["compile_s"] for b in batches),
            "run_s": sum(b["run_s"] for b in batches), "batches": len(batches)}  # fmt: skip


def grid_search(make_parts: Callable, config, space, num: int = 3, num_seeds: int = 1, *, seed: int = 0,
                batch_size: int | None = None, centers: bool = False, objective: str = "eval", devices=None,
                progress: bool = True) -> SearchResult:  # fmt: skip
    """Every point of ``space.grid(num, centers)`` (``C`` points), ``batch_size`` at a time (default
    all ``C`` in one program)."""
    _check_objective(objective)
    space = load_space(space, config)
    points = space.grid(num, centers)
    c = len(next(iter(points.values())))
    batch = min(batch_size or c, c)
    run = trial_runner(make_parts, config, batch, num_seeds, seed, devices=devices)
    records, batches, t0 = [], [], time.perf_counter()
    bar = _progress(c, f"grid {_env(config)}", progress)
    for start in range(0, c, batch):
        index = np.arange(start, start + batch) % c  # the last batch is padded with the first points
        trials = run({k: v[index] for k, v in points.items()})
        batches.append(trials.timing)
        for i, j in enumerate(index[: min(batch, c - start)]):
            records.append(_record(int(j), {k: v[j] for k, v in points.items()}, i, trials, objective))
        bar.update(min(batch, c - start))
    bar.close()
    return SearchResult("grid", records, best_record(records), _timing(t0, batches))


def cmaes_search(make_parts: Callable, config, space, generations: int, popsize: int | None = None,
                 num_seeds: int = 1, *, sigma0: float = 0.25, seed: int = 0, objective: str = "eval",
                 devices=None, progress: bool = True) -> SearchResult:  # fmt: skip
    """CMA-ES over the space's unit coordinates (module docstring), starting from the config's own
    values (clipped into the space) with step size ``sigma0``; each generation's ``popsize`` (default
    ``4 + floor(3 ln D)``, at least 4) candidates train as one program. Candidates outside ``[0, 1]``
    are clipped (repaired) and told as clipped."""
    from lagomjax import es

    _check_objective(objective)
    space = load_space(space, config)
    if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
        raise ValueError(f"generations must be an int >= 1, got {generations!r}")
    popsize = popsize or max(4, es.default_popsize(len(space)))
    strategy = es.cmaes(popsize)
    x0 = jnp.clip(space.to_unit({k: getattr(config, k) for k in space.names}), 0.0, 1.0)
    state = strategy.init(x0.astype(jnp.float32), sigma0)
    ask, tell = jax.jit(strategy.ask), jax.jit(strategy.tell)
    run = trial_runner(make_parts, config, popsize, num_seeds, seed, devices=devices)
    key = jax.random.key(seed + 1)
    records, batches, t0 = [], [], time.perf_counter()
    bar = _progress(generations * popsize, f"cmaes {_env(config)}", progress)
    for g in range(generations):
        key, k = jax.random.split(key)
        x, state = ask(k, state)
        x = jnp.clip(x, 0.0, 1.0)
        hparams = {name: np.asarray(v) for name, v in space.from_unit(x).items()}
        trials = run(hparams)
        batches.append(trials.timing)
        value = _objective(trials, objective).mean(axis=1)
        state = tell(state, x, -jnp.asarray(value))  # minimisation; NaN counts as the worst
        for i in range(popsize):
            records.append(_record(g * popsize + i, {k: v[i] for k, v in hparams.items()}, i, trials, objective))
        bar.update(popsize)
        bar.set_postfix_str(f"best {max(r['value'] for r in records if np.isfinite(r['value'])):.1f}", refresh=False)
    bar.close()
    return SearchResult("cmaes", records, best_record(records), _timing(t0, batches))


def optuna_search(make_parts: Callable, config, space, n_trials: int, batch_size: int = 8, num_seeds: int = 1,
                  *, storage=None, study_name: str = "lagomjax", seed: int = 0, prune: bool = True,
                  objective: str = "eval", chunks: int = 10, devices=None, max_batches: int | None = None,
                  should_stop: Callable[[], bool] | None = None, progress: bool = True) -> SearchResult:  # fmt: skip
    """Optuna asks ``batch_size`` trials at a time; they train as one program and are told back.

    A new study's first batch is a scrambled Sobol design in the space's unit cube (space-filling,
    where independent random points clump); multivariate TPE with a constant liar asks from the second.
    ``storage``: an Optuna storage URL or path of an SQLite file (``study.db`` -> ``sqlite:///study.db``);
    with it the study is created or loaded (``load_if_exists``), so calling again continues until
    ``n_trials`` trials are complete or pruned. Trials left running by a process that died are marked
    failed and asked again with the same values. With ``prune`` each trial reports its mean training
    return over seeds at every chunk boundary (``chunks`` per run) and Optuna's median pruner flags
    those below the median of earlier trials at the same step (after the first batch and the first
    quarter of training). Pruning is per batch: the batch is one program, so a flagged trial costs
    nothing more while any batch-mate still trains; it trains on and completes (its first flagged
    step in the trial's user attribute ``prune_flagged_at``), and the batch stops early, its trials
    pruned, once every trial in it is flagged. ``max_batches`` or ``should_stop()`` (asked between
    batches) end this call early.
    """
    try:
        import optuna
    except ImportError as e:
        raise ImportError('optuna_search needs Optuna: pip install "lagomjax[search]"') from e
    _check_objective(objective)
    space = load_space(space, config)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if storage is not None and "://" not in str(storage):
        storage = f"sqlite:///{storage}"
    State = optuna.trial.TrialState
    pruner = optuna.pruners.MedianPruner(n_startup_trials=batch_size, n_warmup_steps=config.num_updates // 4)
    pruner = pruner if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction="maximize", load_if_exists=True, pruner=pruner
    )
    for t in study.get_trials(deepcopy=False, states=(State.RUNNING,)):  # left by a process that died
        study.tell(t.number, state=State.FAIL)
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
    if not study.trials:  # a new study: the first batch is a space-filling design
        for values in _sobol(space, min(batch_size, n_trials), seed):
            study.enqueue_trial(values, user_attrs={"design": "sobol"})
    study.sampler = optuna.samplers.TPESampler(
        seed=seed + len(study.trials), n_startup_trials=batch_size, multivariate=True, constant_liar=True
    )
    run = trial_runner(make_parts, config, batch_size, num_seeds, seed, chunks, devices)
    records, batches, t0 = [], [], time.perf_counter()

    def finished():
        return len(study.get_trials(deepcopy=False, states=(State.COMPLETE, State.PRUNED)))

    bar = _progress(n_trials, f"optuna {_env(config)}", progress)
    bar.update(min(finished(), n_trials))
    while finished() < n_trials and (max_batches is None or len(batches) < max_batches):
        if should_stop is not None and should_stop():
            break
        asked = [study.ask() for _ in range(min(batch_size, n_trials - finished()))]
        values = [{p.name: _suggest(t, p) for p in space.params} for t in asked]
        index = np.arange(batch_size) % len(asked)  # padded with the first trial (results dropped)
        hparams = {p.name: np.asarray([values[i][p.name] for i in index], np.float32) for p in space.params}

        flagged = np.zeros(len(asked), bool)  # the pruner's verdicts so far (sticky)

        def report(done, m, asked=asked, flagged=flagged):
            with np.errstate(all="ignore"):
                value = np.nanmean(m["episode_return"], axis=(1, 2))
            for i, t in enumerate(asked):
                if np.isfinite(value[i]):
                    t.report(float(value[i]), step=done)
                if prune and not flagged[i] and done < config.num_updates and t.should_prune():
                    flagged[i] = True  # a finished trial completes
                    t.set_user_attr("prune_flagged_at", done)
            return np.full(batch_size, flagged.all())  # the batch stops when all of it is flagged

        trials = run(hparams, report)
        batches.append(trials.timing)
        for i, t in enumerate(asked):
            rec = _record(t.number, values[i], i, trials, objective)
            state = {"complete": State.COMPLETE, "pruned": State.PRUNED, "fail": State.FAIL}[rec["state"]]
            study.tell(t, rec["value"] if state == State.COMPLETE else None, state=state)
            records.append(rec)
        bar.update(min(finished(), n_trials) - bar.n)
    bar.close()
    complete = [r for r in records if r["state"] == "complete"]
    if complete:
        best = best_record(records)
    else:  # every trial of this call was pruned, or this call only resumed a finished study
        best_trial = study.best_trial
        best = {"number": best_trial.number, "hparams": dict(best_trial.params), "value": best_trial.value,
                "state": "complete", "returns": [], "curves": None, "env_steps": None}  # fmt: skip
    return SearchResult("optuna", records, best, _timing(t0, batches), study)


def _sobol(space, n: int, seed: int) -> list[dict]:
    """``n`` points of a scrambled Sobol sequence through :meth:`Space.from_unit`, as Python floats
    Optuna accepts: a choice exactly its listed value, a range value inside its bounds."""
    from scipy.stats import qmc

    u = qmc.Sobol(len(space.params), scramble=True, seed=seed).random_base2(max(n - 1, 0).bit_length())[:n]
    hp = space.from_unit(u)

    def exact(p, v):
        v = float(v)
        return min(p.values, key=lambda c: abs(c - v)) if p.values else min(max(v, p.low), p.high)

    return [{p.name: exact(p, hp[p.name][i]) for p in space.params} for i in range(n)]


def _suggest(trial, p):
    if p.values:
        return float(trial.suggest_categorical(p.name, list(p.values)))
    return float(trial.suggest_float(p.name, p.low, p.high, log=p.log))


def _env(config) -> str:
    return getattr(config, "env_id", type(config).__name__)
