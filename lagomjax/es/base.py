"""The ``Strategy`` interface shared by every evolution strategy, and best-so-far bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


class Strategy(NamedTuple):
    """An evolution strategy as four pure functions (settings live in the factory's closure).

    Attributes:
      init: ``(x0 [D], sigma0) -> state``.
      ask: ``(key, state) -> (solutions [popsize, D], state)``.
      tell: ``(state, solutions [popsize, D], fitness [popsize]) -> state`` (minimisation; NaN counts
        as the worst value).
      result: ``state -> Result``.
    """

    init: Callable
    ask: Callable
    tell: Callable
    result: Callable


class Result(NamedTuple):
    """What a run has found so far (lagom's / pycma's ``result``)."""

    xbest: jnp.ndarray  # best solution ever evaluated, [D]
    fbest: jnp.ndarray  # its fitness
    evals_best: jnp.ndarray  # evaluation count at which it was found
    evaluations: jnp.ndarray  # evaluations so far
    iterations: jnp.ndarray  # generations told so far
    xfavorite: jnp.ndarray  # the distribution's mean, [D]
    stds: jnp.ndarray  # per-coordinate standard deviations of the search distribution, [D]
    stop: dict = {}  # noqa: RUF012 (never mutated) stopping condition -> bool (pycma's ``stop()``): see below


STOP_CONDITIONS = {
    "flatfitness": "the last generation's fitness values were all equal (reported; the search goes on)",
    "nonfinite": "a tell would have made the search distribution non-finite (overflow, NaN): state kept",
    "sigmacollapse": "some coordinate's std is 0: the search no longer moves there (CEM's noise may revive it)",
    "tolfun": "CMA-ES: fitness range of the recent generations' bests and of the last generation < tolfun",
    "tolx": "CMA-ES: every coordinate's std and sigma * pc < tolx",
    "conditioncov": "CMA-ES: condition number of C > tolconditioncov",
    "tolupsigma": "CMA-ES: sigma grew by more than tolupsigma times sigma0 (a divergent search)",
}
"""What ``Result.stop`` reports. A tell that would make the distribution non-finite is not applied;
CMA-ES also stops updating its distribution once any of its own conditions holds (``tell`` then
only counts evaluations and the best), so a fixed-length jitted loop never turns NaN. Stop a Python
loop with ``any(result.stop.values())``."""


@struct.dataclass
class Best:
    """Best-so-far record carried in every strategy state."""

    x: jnp.ndarray
    f: jnp.ndarray
    evals_best: jnp.ndarray
    evaluations: jnp.ndarray
    iterations: jnp.ndarray
    last_range: jnp.ndarray  # max - min of the last generation's fitness (inf before the first tell)
    nonfinite: jnp.ndarray  # a tell was refused because it made the distribution non-finite


def check_start(x0, sigma0, dtype=None, allow_zero_sigma=False):
    """Validate and convert ``x0 [D]`` and ``sigma0`` (scalar, or ``[D]`` where allowed); ``sigma0``
    must be > 0 (>= 0 with ``allow_zero_sigma``, for CEM whose extra noise can drive the search)."""
    x0 = jnp.asarray(x0, dtype or jnp.result_type(float))
    if x0.ndim != 1 or x0.shape[0] < 1:
        raise ValueError(f"x0 must be a non-empty vector [D], got shape {tuple(x0.shape)}")
    try:
        finite = bool(np.all(np.isfinite(np.asarray(x0)))) and bool(np.all(np.isfinite(np.asarray(sigma0))))
        positive = bool(np.all(np.asarray(sigma0) >= 0 if allow_zero_sigma else np.asarray(sigma0) > 0))
    except Exception:  # traced (inside jit/vmap): cannot check values
        finite = positive = True
    if not finite:
        raise ValueError(f"x0 and sigma0 must be finite, got x0={x0} and sigma0={sigma0}")
    if not positive:
        raise ValueError(
            f"sigma0 must be {'>=' if allow_zero_sigma else '>'} 0 (the initial search scale), got {sigma0}"
        )
    return x0


def best_init(x0) -> Best:
    i32 = jnp.int32
    return Best(
        x=x0,
        f=jnp.asarray(jnp.inf, x0.dtype),
        evals_best=jnp.zeros((), i32),
        evaluations=jnp.zeros((), i32),
        iterations=jnp.zeros((), i32),
        last_range=jnp.asarray(jnp.inf, x0.dtype),
        nonfinite=jnp.zeros((), bool),
    )


def check_told(popsize: int, dim: int, solutions, fitness):
    """Shapes of what is told (checked at trace time); NaN fitness becomes +inf (the worst)."""
    solutions = jnp.asarray(solutions)
    fitness = jnp.asarray(fitness)
    if solutions.shape != (popsize, dim):
        raise ValueError(f"solutions must be [popsize, D] = {(popsize, dim)}, got shape {tuple(solutions.shape)}")
    if fitness.shape != (popsize,):
        raise ValueError(f"fitness must be [popsize] = ({popsize},), got shape {tuple(fitness.shape)}")
    return solutions, jnp.where(jnp.isnan(fitness), jnp.inf, fitness)


def best_update(best: Best, solutions, fitness) -> Best:
    """Record the generation's best if it beats the best so far (fitness already NaN-free)."""
    i = jnp.argmin(fitness)
    better = fitness[i] < best.f
    evaluations = best.evaluations + fitness.shape[0]
    return Best(
        x=jnp.where(better, solutions[i].astype(best.x.dtype), best.x),
        f=jnp.where(better, fitness[i].astype(best.f.dtype), best.f),
        evals_best=jnp.where(better, best.evaluations + i + 1, best.evals_best),
        evaluations=evaluations,
        iterations=best.iterations + 1,
        last_range=(jnp.max(fitness) - jnp.min(fitness)).astype(best.f.dtype),
        nonfinite=best.nonfinite,
    )


def finite(*arrays) -> jnp.ndarray:
    """True if every entry of every array is finite (a scalar)."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(a)) for a in arrays]))


def guarded(old, new, distribution, stopped=False):
    """``new``, unless its ``distribution`` arrays are not all finite (then ``old`` with ``new``'s best
    and the ``nonfinite`` flag set) or ``stopped`` (then ``old`` with ``new``'s best)."""
    bad = ~finite(*distribution)
    best = new.best.replace(nonfinite=new.best.nonfinite | bad)
    return jax.lax.cond(bad | stopped, lambda: old.replace(best=best), lambda: new.replace(best=best))


def make_result(best: Best, mean, stds, **stop) -> Result:
    """The :class:`Result` with the generic stopping flags plus a strategy's own ``stop`` flags."""
    flags = {
        "flatfitness": (best.iterations > 0) & (best.last_range == 0),
        "nonfinite": best.nonfinite,
        "sigmacollapse": jnp.any(stds == 0),
    }
    return Result(best.x, best.f, best.evals_best, best.evaluations, best.iterations, mean, stds, {**flags, **stop})
