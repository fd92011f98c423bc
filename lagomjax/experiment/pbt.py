"""Population based training (Jaderberg et al. 2017, arXiv:1711.09846) as one compiled program.

A population of ``P`` agents, each with its own values of the searched float hyper-parameters
(traced, so the population is one ``vmap``, split over every device of the job), trains for
``interval`` updates; then, inside the same compiled step:

- *exploit* (truncation selection): members are ranked by fitness (best first, ties to the lower
  index, NaN last); each of the bottom ``n = max(1, floor(fraction P))`` copies the whole train
  state (parameters, optimiser state, normalisers, environments; its own PRNG key is kept) of a
  member drawn uniformly from the top ``n``;
- *explore*: each copied member's hyper-parameters are the donor's, each resampled from the space
  with probability ``resample_prob``, else multiplied by ``perturb[0]`` or ``perturb[1]`` (even odds;
  a choice moves one value down or up), then put back into the space.

Fitness is the mean return of the training episodes that ended in the interval (``'train'``, the
paper's choice) or a deterministic evaluation of each member (``'eval'``). The last interval only
trains. Between intervals the population state and the history are checkpointed; a resumed run is
bit-identical to an uninterrupted one.

Example::

    from lagomjax.algos import ppo
    from lagomjax.experiment import load_space, pbt
    space = load_space({"lr": {"low": 1e-4, "high": 3e-3, "log": True}, "ent_coef": {"low": 0.0, "high": 0.02}})
    result = pbt(ppo.make_parts, ppo.Config(env_id="Pendulum-v1"), space, population=8, interval=10)
    result.eval_return, result.history["hparams"]["lr"]   # [P], [intervals, P]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import NamedSharding, PartitionSpec

from lagomjax import checkpoint as ckpt
from lagomjax.experiment.space import Space, load_space, space_to_dict
from lagomjax.experiment.sweep import batch_sharding, put_global, to_host, traced_parts
from lagomjax.utils import release_host_memory


@struct.dataclass
class PBTState:
    members: Any  # every member's train state, leading axis [P]
    hparams: dict  # name -> [P] float32
    key: jax.Array  # selection and exploration


class PBTResult(NamedTuple):
    state: PBTState
    metrics: dict  # per member slot and update, [P, num_updates]
    eval_return: np.ndarray  # [P], the final members' deterministic evaluation
    history: dict  # per interval [K, P]: 'hparams' {name: values trained with}, 'fitness', 'source'
    timing: dict

    @property
    def best(self) -> int:
        """The member with the best final evaluation."""
        return int(np.nanargmax(self.eval_return))


def selection_draws(key, population: int, dims: int) -> dict:
    """The random numbers one exploit/explore step uses (so a reference can replay them)."""
    k_donor, k_resample, k_up, k_fresh = jax.random.split(key, 4)
    return {
        "donor": jax.random.uniform(k_donor, (population,)),  # which of the top n, uniformly
        "resample": jax.random.uniform(k_resample, (population, dims)),  # < resample_prob: resample
        "up": jax.random.bernoulli(k_up, 0.5, (population, dims)),  # perturb[1] (or one value up)
        "fresh": jax.random.uniform(k_fresh, (population, dims)),  # unit coordinates of a resample
    }


def num_replaced(population: int, fraction: float) -> int:
    return max(1, int(fraction * population))


def exploit_explore(draws: dict, fitness, hparams: dict, space: Space, fraction: float = 0.25,
                    resample_prob: float = 0.25, perturb=(0.8, 1.2)):  # fmt: skip
    """One PBT step on the population's ``fitness [P]`` and ``hparams {name: [P]}`` (module docstring).

    Returns ``(source [P] int32, hparams)``: member ``i`` continues from member ``source[i]``'s state
    (itself when kept) with the returned values. Jittable; ``draws`` from :func:`selection_draws`.
    """
    p = fitness.shape[0]
    n = num_replaced(p, fraction)
    f = jnp.where(jnp.isnan(fitness), -jnp.inf, fitness)
    order = jnp.argsort(-f, stable=True)  # best first, ties to the lower index
    rank = jnp.zeros(p, jnp.int32).at[order].set(jnp.arange(p, dtype=jnp.int32))
    replaced = rank >= p - n
    donor = order[jnp.minimum((draws["donor"] * n).astype(jnp.int32), n - 1)]
    source = jnp.where(replaced, donor, jnp.arange(p, dtype=jnp.int32))
    fresh = space.from_unit(draws["fresh"])
    out = {}
    for d, prm in enumerate(space.params):
        v = hparams[prm.name][source]
        up = draws["up"][:, d]
        if prm.values:
            values = jnp.asarray(prm.values, jnp.float32)
            index = jnp.argmin(jnp.abs(v[:, None] - values), axis=-1) + jnp.where(up, 1, -1)
            moved = values[jnp.clip(index, 0, len(prm.values) - 1)]
        else:
            moved = jnp.clip(v * jnp.where(up, perturb[1], perturb[0]), prm.low, prm.high)
        explored = jnp.where(draws["resample"][:, d] < resample_prob, fresh[prm.name], moved)
        out[prm.name] = jnp.where(replaced, explored, hparams[prm.name]).astype(jnp.float32)
    return source, out


def _copy_members(members, source):
    """Every member's state from ``members[source[i]]``, keeping a ``key`` field its own."""
    copied = jax.tree.map(lambda x: x[source], members)
    if dataclasses.is_dataclass(members) and hasattr(members, "key") and hasattr(copied, "replace"):
        copied = copied.replace(key=members.key)
    return copied


def _check(population, interval, num_updates, fraction, resample_prob, perturb, fitness, devices):
    for name, v in (("population", population), ("interval", interval)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    if population < 2:
        raise ValueError(f"population must be >= 2 to select among members, got {population}")
    if num_updates % interval:
        raise ValueError(f"interval={interval} must divide the config's num_updates={num_updates}")
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5] (the bottom copies the top), got {fraction}")
    if not 0 <= resample_prob <= 1:
        raise ValueError(f"resample_prob must be in [0, 1], got {resample_prob}")
    if len(perturb) != 2 or not all(np.isfinite(perturb)) or min(perturb) <= 0:
        raise ValueError(f"perturb must be two positive factors, got {perturb!r}")
    if fitness not in ("train", "eval"):
        raise ValueError(f"fitness must be 'train' or 'eval', got {fitness!r}")
    if population % len(devices):
        raise ValueError(
            f"population={population} is not a multiple of the {len(devices)} devices it is split over: "
            "choose a population that is, or pass devices="
        )


def pbt(
    make_parts: Callable,
    config,
    space,
    population: int = 8,
    interval: int = 10,
    *,
    fraction: float = 0.25,
    resample_prob: float = 0.25,
    perturb=(0.8, 1.2),
    fitness: str = "train",
    seed: int = 0,
    init_hparams: dict | None = None,
    devices=None,
    checkpoint=None,
    max_intervals: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_interval: Callable | None = None,
    progress: bool = True,
) -> PBTResult:
    """Train a population with PBT in one compiled program per interval (see the module docstring).

    Args:
      make_parts: ``config -> TrainParts`` (``init(key)``, ``update(state, i)``, ``finish(state,
        key)``; every algorithm's ``make_parts``); its update metrics must hold ``episode_return``.
      config: the frozen config; the space's fields are traced, the rest fixed.
      space: a :class:`~lagomjax.experiment.space.Space`, dict or YAML path (float fields only).
      population: ``P``, a multiple of the number of devices; interval: updates between exploit
        steps (divides ``config.num_updates``).
      init_hparams: ``{name: [P]}`` starting values (default: drawn from the space).
      devices: what the population is split over (default ``jax.devices()``: every device of a
        ``jax.distributed`` job, each process making this same call with the same arguments; the
        checkpoint is gathered by all and written by process 0).
      checkpoint: a path; written atomically after every interval, resumed from when it exists
        (a run with other settings is refused). ``max_intervals`` / ``should_stop()`` end this call
        early (``timing['finished']`` False).
      on_interval: ``(interval_index, history_row)`` on the host after each interval.

    Returns:
      :class:`PBTResult`; member ``i`` trains from ``jax.random.split(jax.random.key(seed), P)[i]``.
      Evaluations (``fitness='eval'`` and the final one) run every member on the same episodes,
      those of ``jax.random.split(jax.random.key(seed), 1)[0]`` (a one-seed trial's in
      :func:`~lagomjax.experiment.search.trial_runner`), so members and trials compare on equal terms.
    """
    space = load_space(space, config)
    devices = list(devices or jax.devices())
    num_updates = config.num_updates
    _check(population, interval, num_updates, fraction, resample_prob, perturb, fitness, devices)
    num_intervals = num_updates // interval
    init_m, update_m, finish_m = traced_parts(make_parts, config)
    names = space.names
    member = batch_sharding(devices, "population")
    replicated = NamedSharding(member.mesh, PartitionSpec())

    root = jax.random.key(seed)
    keys = jax.random.split(root, population)
    if init_hparams is None:
        hp0 = space.sample(jax.random.fold_in(root, 1), population)
    else:
        missing = sorted(set(names) - set(init_hparams))
        if missing or any(np.shape(init_hparams[k]) != (population,) for k in names):
            raise ValueError(f"init_hparams needs [population={population}] values for {names}; missing {missing}")
        hp0 = space.clip({k: jnp.asarray(init_hparams[k], jnp.float32) for k in names})
    hp0 = {k: np.asarray(v, np.float32) for k, v in hp0.items()}
    meta = {"algorithm": "pbt", "population": population, "interval": interval, "fraction": fraction,
            "resample_prob": resample_prob, "perturb": list(perturb), "fitness": fitness, "seed": seed,
            "space": space_to_dict(space), "config": ckpt.config_fingerprint(config),
            "init_hparams": {k: v.tolist() for k, v in hp0.items()}}  # fmt: skip
    resuming = checkpoint is not None and Path(checkpoint).exists()
    saved = ckpt.check(checkpoint, meta, ()) if resuming else None  # another run's is refused before compiling

    def init_all(keys, hparams, key):
        return PBTState(jax.vmap(init_m)(keys, hparams), hparams, key)

    def step(ps: PBTState, eval_keys, begin, explore):
        def train(state, hparams):
            return jax.lax.scan(lambda s, i: update_m(s, hparams, i), state, begin + jnp.arange(interval))

        members, metrics = jax.vmap(train)(ps.members, ps.hparams)
        if fitness == "train":
            fit = jnp.nanmean(metrics["episode_return"], axis=1)
        else:
            fit = jax.vmap(finish_m)(members, ps.hparams, eval_keys)
        key, k_sel = jax.random.split(ps.key)
        source, hparams = exploit_explore(selection_draws(k_sel, population, len(names)), fit, ps.hparams, space,
                                          fraction, resample_prob, perturb)  # fmt: skip
        source = jnp.where(explore, source, jnp.arange(population, dtype=jnp.int32))
        hparams = {k: jnp.where(explore, hparams[k], ps.hparams[k]) for k in names}
        new = PBTState(_copy_members(members, source), hparams, key)
        return new, metrics, fit, source

    t0 = time.perf_counter()
    eval_keys = jnp.broadcast_to(jax.random.split(root, 1)[0], (population,))  # the same episodes for all
    eval_g = put_global(eval_keys, member)
    keys_g, hp_g, key_g = put_global(keys, member), put_global(hp0, member), put_global(jax.random.fold_in(root, 2),
                                                                                          replicated)  # fmt: skip
    shapes = jax.eval_shape(init_all, keys_g, hp_g, key_g)
    shardings = PBTState(jax.tree.map(lambda _: member, shapes.members), {k: member for k in names}, replicated)
    init_c = jax.jit(init_all, out_shardings=shardings).lower(keys_g, hp_g, key_g).compile()
    ps = init_c(keys_g, hp_g, key_g)
    step_c = jax.jit(step, out_shardings=(shardings, member, member, member))
    step_c = step_c.lower(ps, eval_g, jnp.int32(0), jnp.bool_(True)).compile()
    finish_c = jax.jit(jax.vmap(finish_m)).lower(ps.members, ps.hparams, eval_g).compile()
    compile_s = time.perf_counter() - t0

    history = {"hparams": {k: [] for k in names}, "fitness": [], "source": []}
    chunks, start = [], 0
    if saved is not None:
        restored, saved = ckpt.from_host(to_host(ps), saved["state"]), saved["extra"]
        ps = put_global(restored, member)
        chunks, start = saved["chunks"], int(saved["next_interval"])
        history = {
            "hparams": {k: list(np.asarray(saved["hparams"][k])) for k in names},
            "fitness": list(np.asarray(saved["fitness"])),
            "source": list(np.asarray(saved["source"])),
        }
    from tqdm.auto import tqdm

    desc = f"PBT {getattr(config, 'env_id', type(config).__name__)} x {population}"
    bar = tqdm(total=num_intervals, initial=start, desc=desc, unit="interval", disable=not progress)
    t0, done_now, j = time.perf_counter(), 0, start
    for j in range(start, num_intervals):
        if (max_intervals is not None and done_now >= max_intervals) or (should_stop is not None and should_stop()):
            break
        trained_with = to_host(ps.hparams)
        ps, metrics, fit, source = step_c(ps, eval_g, jnp.int32(j * interval), jnp.bool_(j < num_intervals - 1))
        metrics, fit, source = to_host((metrics, fit, source))
        chunks.append(metrics)
        for k in names:
            history["hparams"][k].append(trained_with[k])
        history["fitness"].append(fit)
        history["source"].append(source)
        done_now += 1
        host_state = to_host(ps) if checkpoint is not None else None  # every process gathers
        if checkpoint is not None and jax.process_index() == 0:
            ckpt.save(checkpoint, host_state, meta, chunks=chunks, next_interval=j + 1,
                      hparams={k: np.stack(v) for k, v in history["hparams"].items()},
                      fitness=np.stack(history["fitness"]), source=np.stack(history["source"]))  # fmt: skip
        best = int(np.nanargmax(np.where(np.isnan(fit), -np.inf, fit)))
        bar.update(1)
        values = ", ".join(f"{k}={trained_with[k][best]:.3g}" for k in names)
        bar.set_postfix_str(f"best fitness {fit[best]:.1f} ({values})", refresh=False)
        if on_interval is not None:
            on_interval(j, {"hparams": {k: trained_with[k] for k in names}, "fitness": fit, "source": source})
        release_host_memory()
    bar.close()
    finished = bool(chunks) and len(chunks) == num_intervals
    eval_return = to_host(finish_c(ps.members, ps.hparams, eval_g)) if finished else None
    run_s = time.perf_counter() - t0
    metrics = {k: np.concatenate([np.asarray(c[k]) for c in chunks], axis=1) for k in chunks[0]} if chunks else {}
    hist = {"hparams": {k: np.asarray(v, np.float32).reshape(-1, population) for k, v in history["hparams"].items()},
            "fitness": np.asarray(history["fitness"]).reshape(-1, population),
            "source": np.asarray(history["source"], np.int32).reshape(-1, population)}  # fmt: skip
    steps = done_now * interval * int(np.asarray(metrics["env_steps"])[0, 0]) if chunks else 0  # this call's
    timing = {"compile_s": compile_s, "run_s": run_s, "finished": finished,
              "env_steps_per_s": population * steps / run_s if done_now and run_s > 0 else 0.0}  # fmt: skip
    return PBTResult(ps, metrics, eval_return, hist, timing)


def lineage(source, member: int) -> np.ndarray:
    """The slots member ``member``'s final state descends from, one per interval ``[K]``: follow
    ``history['source']`` back from the end (``source[j, i]``: whose state slot ``i`` continued from
    after interval ``j``)."""
    source = np.asarray(source)
    out = np.empty(len(source), np.int64)
    slot = member
    for j in range(len(source) - 1, -1, -1):
        slot = int(source[j, slot])
        out[j] = slot
    return out
