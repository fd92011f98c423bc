"""Hyper-parameter searches whose trials train as one compiled program: a batch of ``B`` trials x
``S`` seeds is one ``vmap`` (split over the devices), the searched float fields traced.

- :func:`grid_search`: every point of :meth:`Space.grid <lagomjax.experiment.space.Space.grid>`.
- :func:`optuna_search`: Optuna's ask/tell filling ``B`` slots, each freed slot asking the next trial
  (multivariate TPE after a first Sobol batch, a constant liar for the trials still training), pruned
  at chunk boundaries (median rule; a pruned trial's slot takes the next at once), the study in
  Optuna's own storage (an SQLite file resumes, and ``optuna-dashboard`` reads it). Needs
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
from lagomjax.transform import select_where
from lagomjax.utils import release_host_memory


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
    """``run(hparams {name: [batch]}) -> Trials``: ``batch`` settings x ``num_seeds`` seeds trained as one
    program in ``chunks`` compiled pieces (compiled on the first call, reused after); ``run.pool(ask,
    on_end, on_chunk=None)``: the same program's ``batch`` slots train trials as they come (below).

    Setting ``i`` seed ``j`` trains from ``jax.random.split(jax.random.key(seed), num_seeds)[j]``, as
    :func:`~lagomjax.experiment.sweep` (in every slot: seeds are common random numbers across trials).
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
        def train(state, hp, b):
            return jax.lax.scan(lambda s, i: update_m(s, hp, i), state, b + jnp.arange(k))

        # one begin for all (settings in step) stays unbatched, so a cond on the update index stays a cond
        return jax.vmap(train, in_axes=(0, 0, None if jnp.ndim(begin) == 0 else 0))(states, hparams, begin)

    programs = {"init": jax.vmap(init_m), "chunk": chunk, "slots": chunk, "finish": jax.vmap(finish_m),
              "select": select_where}  # fmt: skip

    def call(name, *args, clock):
        if name not in compiled:
            t = time.perf_counter()
            compiled[name] = jax.jit(programs[name]).lower(*args).compile()
            clock["compile_s"] += time.perf_counter() - t
        return compiled[name](*args)

    def per_slot(tree):  # leaves [batch] on the host -> [padded] entries (a slot's seeds), placed
        return put_global(jax.tree.map(lambda x: np.asarray(x)[take // num_seeds], tree), sharding)

    def pool(ask: Callable, on_end: Callable, on_chunk: Callable | None = None) -> dict:
        """Train trials in the ``batch`` slots as they come, until ``ask`` has no more and every slot is done.

        ``ask() -> (token, {name: float}) | None`` is called for each free slot (None: nothing more to start);
        ``on_chunk(token, updates_done, metrics {name: [S, k]}) -> bool`` after every piece (True stops the
        trial there: pruned); ``on_end(token, Trials)`` (a batch of 1) as each trial ends, before its slot
        asks again. A slot starts its trial from a fresh ``init`` and its own update 0 while the others go
        on; an empty slot's work is wasted, not run differently. Returns the timing.
        """
        clock = {"compile_s": 0.0, "run_s": 0.0, "updates": 0}
        t0 = time.perf_counter()
        tokens, curves = [None] * batch, [[] for _ in range(batch)]  # a slot's trial and its pieces so far
        values, states, hp = {}, None, None
        while True:
            started = np.zeros(batch, bool)
            for i in range(batch):
                if tokens[i] is None:
                    asked = ask()
                    if asked is None:
                        break
                    tokens[i], setting = asked
                    for name, v in setting.items():
                        values.setdefault(name, np.zeros(batch, np.float32))[i] = v
                    curves[i], started[i] = [], True
            if started.any():
                hp = per_slot(values)
                fresh = call("init", keys, hp, clock=clock)
                states = fresh if states is None else call("select", per_slot(started), fresh, states, clock=clock)
            active = np.array([t is not None for t in tokens])
            if not active.any():
                break
            begins = np.array([len(c) * k if a else 0 for c, a in zip(curves, active, strict=True)], np.int32)
            if active.all() and (begins == begins[0]).all():
                states, m = call("chunk", states, hp, jnp.int32(begins[0]), clock=clock)
            else:
                states, m = call("slots", states, hp, per_slot(begins), clock=clock)
            m = {name: np.asarray(v)[:size].reshape(batch, num_seeds, k) for name, v in to_host(m).items()}
            stopped, ended = np.zeros(batch, bool), np.zeros(batch, bool)
            for i in np.flatnonzero(active):
                curves[i].append({name: v[i] for name, v in m.items()})
                done = len(curves[i]) * k
                clock["updates"] += k
                stop = on_chunk is not None and on_chunk(tokens[i], done, curves[i][-1])
                stopped[i] = bool(stop) and done < n
                ended[i] = stopped[i] or done >= n
            if (ended & ~stopped).any():
                out = np.asarray(to_host(call("finish", states, hp, keys, clock=clock)))[:size].reshape(
                    batch, num_seeds
                )
            for i in np.flatnonzero(ended):
                metrics = {name: np.concatenate([c[name] for c in curves[i]], axis=-1)[None] for name in curves[i][0]}
                returns = np.full((1, num_seeds), np.nan, np.float32) if stopped[i] else out[i][None]
                on_end(tokens[i], Trials(metrics, returns, stopped[i : i + 1], {}))
                tokens[i] = None
            release_host_memory()
        clock["run_s"] = time.perf_counter() - t0 - clock["compile_s"]
        return clock

    def run(hparams: dict) -> Trials:
        if any(np.shape(v) != (batch,) for v in hparams.values()):
            raise ValueError(
                f"hparams must be [batch={batch}] arrays, got { ({n: np.shape(v) for n, v in hparams.items()}) }"
            )
        queue = [(i, {name: v[i] for name, v in hparams.items()}) for i in range(batch)]
        ended = {}
        clock = pool(lambda: queue.pop(0) if queue else None, ended.__setitem__)
        metrics = {name: np.concatenate([ended[i].metrics[name] for i in range(batch)]) for name in ended[0].metrics}
        steps = int(metrics["env_steps"][0, 0, -1]) if "env_steps" in metrics else 0
        timing = {
            "compile_s": clock["compile_s"],
            "run_s": clock["run_s"],
            "env_steps_per_s": size * steps / clock["run_s"],
        }
        returns = np.concatenate([ended[i].eval_return for i in range(batch)])
        return Trials(metrics, returns, np.zeros(batch, bool), timing)

    run.pool = pool
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
                  *, storage=None, study_name: str = "lagomjax", seed: int = 0, pruner="median",
                  objective: str = "eval", chunks: int = 10, budget: int | None = None, devices=None,
                  should_stop: Callable[[], bool] | None = None, progress: bool = True) -> SearchResult:  # fmt: skip
    """Optuna's ask/tell over the ``batch_size`` slots of one compiled program: each slot trains a
    trial, and as one ends (complete or pruned) it is told and its slot asks the next at once.

    A new study's first ``batch_size`` trials are a scrambled Sobol design in the space's unit cube
    (space-filling, where independent random points clump); multivariate TPE with a constant liar (for
    the trials still training) asks after them. Each trial reports its mean training return over seeds
    at every chunk boundary (``chunks`` per run) and stops there, pruned, when ``pruner`` flags it (a
    name of :func:`optuna_pruner` or any Optuna pruner): a pruned trial costs only the updates it ran.
    ``budget``: at most this many training updates over all the study's trials (each trial's seeds
    counted once, a pruned trial what it ran; default: only ``n_trials`` limits): a trial starts only
    if it fits beside what the running trials still need, so what pruned trials did not use goes to
    further trials, up to ``n_trials``. ``storage``: an Optuna storage URL or path of an SQLite file
    (``study.db`` -> ``sqlite:///study.db``); with it the study is created or loaded (``load_if_exists``),
    so calling again continues until ``n_trials`` trials are complete or pruned (or the budget is
    spent). Trials left running by a process that died are marked failed and asked again with the same
    values. ``should_stop()`` (asked before each new trial) ends the call once the running trials end
    (``timing['finished']`` False).
    """
    try:
        import optuna
    except ImportError as e:
        raise ImportError('optuna_search needs Optuna: pip install "lagomjax[search]"') from e
    _check_objective(objective)
    space = load_space(space, config)
    checks = (("n_trials", n_trials), ("batch_size", batch_size)) + (
        (("budget", budget),) if budget is not None else ()
    )
    for name, v in checks:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    if storage is not None and "://" not in str(storage):
        storage = f"sqlite:///{storage}"
    State, n = optuna.trial.TrialState, config.num_updates
    if isinstance(pruner, str):
        pruner = optuna_pruner(pruner, n, batch_size, chunks)
    elif not isinstance(pruner, optuna.pruners.BasePruner):
        raise TypeError(f"pruner must be one of {PRUNERS} or an optuna.pruners.BasePruner, got {pruner!r}")
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
    finished = (State.COMPLETE, State.PRUNED)
    done_before = study.get_trials(deepcopy=False, states=finished)
    count = [len(done_before), sum(t.user_attrs.get("updates", n) for t in done_before)]  # trials, updates
    records, running, halted, t0 = [], {}, [], time.perf_counter()  # running: number -> (trial, values)

    def ask():
        if count[0] + len(running) >= n_trials:
            return None
        if budget is not None and count[1] + n * (len(running) + 1) > budget:  # running ones may complete
            return None
        if should_stop is not None and should_stop():
            halted.append(True)
            return None
        trial = study.ask()
        values = {p.name: _suggest(trial, p) for p in space.params}
        running[trial.number] = (trial, values)
        return trial.number, values

    def report(number, done, m):
        trial = running[number][0]
        with warnings.catch_warnings():  # no episode ended in this piece: nothing to report
            warnings.simplefilter("ignore", RuntimeWarning)
            value = np.nanmean(m["episode_return"])
        if np.isfinite(value):
            trial.report(float(value), step=done)
        return trial.should_prune()

    def tell(number, trials):
        trial, values = running.pop(number)
        done = trials.metrics["episode_return"].shape[-1]  # the updates it ran
        rec = _record(number, values, 0, trials, objective)
        state = {"complete": State.COMPLETE, "pruned": State.PRUNED, "fail": State.FAIL}[rec["state"]]
        trial.set_user_attr("updates", done)
        study.tell(trial, rec["value"] if state == State.COMPLETE else None, state=state)
        records.append(rec)
        count[0] += state in finished
        count[1] += done
        bar.update(min(count[0], n_trials) - bar.n)

    bar = _progress(n_trials, f"optuna {_env(config)}", progress)
    bar.update(min(count[0], n_trials))
    timing = run.pool(ask, tell, report)
    bar.close()
    complete = [r for r in records if r["state"] == "complete"]
    if complete:
        best = best_record(records)
    else:  # every trial of this call was pruned, or this call only resumed a finished study
        best_trial = study.best_trial
        best = {"number": best_trial.number, "hparams": dict(best_trial.params), "value": best_trial.value,
                "state": "complete", "returns": [], "curves": None, "env_steps": None}  # fmt: skip
    timing = {"wall_s": time.perf_counter() - t0, **timing, "finished": not halted}
    return SearchResult("optuna", records, best, timing, study)


PRUNERS = ("median", "halving", "none")


def optuna_pruner(name: str, num_updates: int, batch_size: int, chunks: int = 10):
    """The pruner :func:`optuna_search` builds for ``name``: ``'median'`` (Optuna's median rule: below
    the median of earlier trials at the same step, judged once ``batch_size`` trials completed and
    after the first quarter of training), ``'halving'`` (asynchronous successive halving: rungs at 1, 3
    and 9 reports of a run's ``chunks``, a trial going on past a rung if in the top third of those that
    reached it) or ``'none'``."""
    import optuna

    if name not in PRUNERS:
        raise ValueError(f"pruner must be one of {PRUNERS}, got {name!r}")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=batch_size, n_warmup_steps=num_updates // 4)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=chunk_size(num_updates, chunks), reduction_factor=3)
    return optuna.pruners.NopPruner()


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
