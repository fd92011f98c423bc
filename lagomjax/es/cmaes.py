r"""CMA-ES as pure functions (Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772).

Default parameters are the tutorial's (Table 1), with active (negative) recombination weights as in
pycma. The covariance factor used to sample and to whiten is refreshed lazily, every
``max(1, floor(1 / (10 n (c1 + c_mu))))`` generations, under ``lax.cond``. Three factorisations:

* ``'eigh'``: ``C = B D^2 B^T``; samples ``y = B D z`` and whitens with the symmetric
  ``C^{-1/2} = B D^{-1} B^T``: the textbook algorithm.
* ``'cholesky'``: ``C = L L^T``; samples ``y = L z`` and whitens with a triangular solve
  ``L^{-1} y``. A Cholesky factorisation is about 10x cheaper than ``eigh`` (5 ms against 56 ms at
  ``n = 1000`` here), which is what makes large dimensions fast. ``L^{-1} y`` has the same
  distribution as ``C^{-1/2} y``, which is all step-size adaptation needs (as in the
  Cholesky-CMA-ES of Krause, Arbones and Igel, NeurIPS 2016).
* ``'auto'`` (default): ``'eigh'`` below 100 dimensions, ``'cholesky'`` from 100 up.

``diagonal=True`` gives sep-CMA-ES (Ros and Hansen 2008): a diagonal covariance with learning rates
scaled by ``(n + 2) / 3``, O(n) per sample.
"""

from __future__ import annotations

import math
import numbers
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import lax
from jax.scipy.linalg import solve_triangular

from lagomjax.es.base import (
    Best,
    Strategy,
    best_init,
    best_update,
    check_start,
    check_told,
    guarded,
    make_result,
)


@struct.dataclass
class CMAESState:
    mean: jnp.ndarray  # [D]
    sigma: jnp.ndarray  # step size
    C: jnp.ndarray  # [D, D] covariance ([D] when diagonal)
    pc: jnp.ndarray  # [D] evolution path of C
    ps: jnp.ndarray  # [D] conjugate evolution path of sigma
    factor: jnp.ndarray  # sampling factor A, C ~= A A^T ([D] when diagonal)
    whitener: jnp.ndarray  # C^{-1/2} for 'eigh', 1 / sqrt(C) when diagonal, unused () for 'cholesky'
    refreshed_at: jnp.ndarray  # generation of the last refresh of factor / whitener
    asked: jnp.ndarray  # [popsize, D] the solutions of the last ask ...
    asked_z: jnp.ndarray  # [popsize, D] ... and their standard-normal draws: tell reuses them when told exactly these
    sigma0: jnp.ndarray  # the initial step size (for tolupsigma)
    history: jnp.ndarray  # [H] best fitness of the last H generations, newest at [iterations % H] (for tolfun)
    best: Best


def history_length(n: int) -> int:
    """Generations whose best fitness ``tolfun`` looks at: pycma's ``10 + ceil(30 n / popsize)``, here
    with the default popsize and capped at 1000 (the history lives in the state)."""
    return min(1000, 10 + math.ceil(30 * n / default_popsize(n)))


def check_memory(n: int, popsize: int, itemsize: int, mode: str, max_memory=None) -> None:
    """Refuse, before allocating, a full-covariance state (C, its factor and whitener, and the
    update's temporaries: about 5 ``n x n`` matrices) larger than ``max_memory`` bytes (default: the
    host's available memory)."""
    need = (5 if mode == "eigh" else 4) * n * n * itemsize + 4 * popsize * n * itemsize
    if max_memory is None:
        try:
            max_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # no sysconf: do not guess
            return
    if need > max_memory:
        raise ValueError(
            f"a full-covariance CMA-ES at dimension {n} needs about {need / 2**30:.1f} GiB "
            f"(more than the {max_memory / 2**30:.1f} GiB available); use diagonal=True "
            "(sep-CMA-ES, O(n) memory) for large dimensions"
        )


def default_popsize(dim: int) -> int:
    """``4 + floor(3 ln n)``."""
    return 4 + int(math.floor(3 * math.log(dim)))


class CMAESParams(struct.PyTreeNode):
    """Derived constants for dimension ``n`` and population ``popsize`` (tutorial, Table 1)."""

    weights: jnp.ndarray  # [popsize], positive then negative
    mu: int = struct.field(pytree_node=False)
    mueff: float = struct.field(pytree_node=False)
    cs: float = struct.field(pytree_node=False)
    ds: float = struct.field(pytree_node=False)
    cc: float = struct.field(pytree_node=False)
    c1: float = struct.field(pytree_node=False)
    cmu: float = struct.field(pytree_node=False)
    chi_n: float = struct.field(pytree_node=False)
    gap: int = struct.field(pytree_node=False)


def cmaes_params(n: int, popsize: int, diagonal: bool = False, active: bool = True) -> CMAESParams:
    lam = popsize
    mu = lam // 2
    w = np.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))
    pos, neg = w[:mu], w[mu:]
    mueff = pos.sum() ** 2 / (pos**2).sum()
    mueff_neg = neg.sum() ** 2 / (neg**2).sum() if neg.size else 0.0
    cs = (mueff + 2) / (n + mueff + 5)
    ds = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    if diagonal:  # sep-CMA-ES learning rates
        c1 = c1 * (n + 2) / 3
        cmu = min(1 - c1, cmu * (n + 2) / 3)
    weights = np.zeros(lam)
    weights[:mu] = pos / pos.sum()
    if active and neg.size:
        alpha_mu = 1 + c1 / cmu
        alpha_mueff = 1 + 2 * mueff_neg / (mueff + 2)
        alpha_posdef = (1 - c1 - cmu) / (n * cmu)
        weights[mu:] = min(alpha_mu, alpha_mueff, alpha_posdef) * neg / np.abs(neg).sum()
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n**2))
    gap = max(1, int(1 / (10 * n * (c1 + cmu))))
    return CMAESParams(
        weights=jnp.asarray(weights), mu=mu, mueff=mueff, cs=cs, ds=ds, cc=cc, c1=c1, cmu=cmu, chi_n=chi_n, gap=gap
    )


def cmaes(
    popsize: int | None = None,
    *,
    dim: int | None = None,
    decomposition: str = "auto",
    diagonal: bool = False,
    active: bool = True,
    lazy_gap: int | None = None,
    dtype=None,
    tolfun: float = 1e-11,
    tolx: float = 1e-11,
    tolconditioncov: float = 1e14,
    tolupsigma: float = 1e20,
    max_memory: float | None = None,
) -> Strategy:
    """CMA-ES (minimisation) as a :class:`~lagomjax.es.Strategy`.

    Args:
      popsize: ``lambda``; ``None`` gives ``4 + floor(3 ln n)`` (then ``dim`` must be given, since the
        factory has not seen ``x0`` yet).
      dim: the dimension ``n``; needed only when ``popsize`` is ``None``.
      decomposition: ``'auto'``, ``'eigh'`` or ``'cholesky'`` (see the module docstring).
      diagonal: sep-CMA-ES (diagonal covariance).
      active: use negative weights (active CMA, pycma's default).
      lazy_gap: generations between refreshes of the factor; ``None`` for the default rule.
      dtype: float dtype of the state (default float32, float64 under x64).
      tolfun, tolx, tolconditioncov, tolupsigma: pycma's stopping conditions (same defaults), reported
        in ``result(state).stop``; once one holds, ``tell`` stops moving the distribution (see
        :data:`~lagomjax.es.base.STOP_CONDITIONS`). ``0`` / ``inf`` switch one off.
      max_memory: bytes a full-covariance state may take (default: the host's available memory);
        ``init`` refuses a larger one, before allocating, pointing to ``diagonal=True``.

    Example:
      >>> es = cmaes(popsize=10)
      >>> state = es.init(jnp.full(10, 0.5), 0.5)
      >>> x, state = es.ask(jax.random.key(0), state)
      >>> state = es.tell(state, x, sphere(x))
    """
    if popsize is None:
        if dim is None:
            raise ValueError("give popsize, or dim for the default popsize 4 + floor(3 ln dim)")
        popsize = default_popsize(dim)
    if not isinstance(popsize, int) or popsize < 2:
        raise ValueError(f"popsize must be an int >= 2, got {popsize!r}")
    if decomposition not in ("auto", "eigh", "cholesky"):
        raise ValueError(f"decomposition must be 'auto', 'eigh' or 'cholesky', got {decomposition!r}")
    if lazy_gap is not None and lazy_gap < 1:
        raise ValueError(f"lazy_gap must be >= 1, got {lazy_gap}")
    for name, value in (("tolfun", tolfun), ("tolx", tolx), ("tolconditioncov", tolconditioncov),
                        ("tolupsigma", tolupsigma)):  # fmt: skip
        if not isinstance(value, numbers.Real) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    def setup(n):
        p = cmaes_params(n, popsize, diagonal, active)
        mode = "diagonal" if diagonal else decomposition
        if mode == "auto":
            mode = "eigh" if n < 100 else "cholesky"
        return p, mode, (lazy_gap or p.gap)

    def init(x0, sigma0) -> CMAESState:
        x0 = check_start(x0, sigma0, dtype)
        n, dt = x0.shape[0], x0.dtype
        _, mode, _ = setup(n)
        if jnp.ndim(sigma0) != 0:
            raise ValueError(f"sigma0 must be a scalar for CMA-ES, got shape {jnp.shape(sigma0)}")
        if mode != "diagonal":
            check_memory(n, popsize, jnp.dtype(dt).itemsize, mode, max_memory)
        eye = jnp.ones(n, dt) if mode == "diagonal" else jnp.eye(n, dtype=dt)
        zeros = jnp.zeros(n, dt)
        return CMAESState(
            mean=x0,
            sigma=jnp.asarray(sigma0, dt),
            C=eye,
            pc=zeros,
            ps=zeros,
            factor=eye,
            whitener=jnp.zeros((), dt) if mode == "cholesky" else eye,
            refreshed_at=jnp.zeros((), jnp.int32),
            asked=jnp.full((popsize, n), jnp.nan, dt),
            asked_z=jnp.zeros((popsize, n), dt),
            sigma0=jnp.asarray(sigma0, dt),
            history=jnp.full(history_length(n), jnp.inf, dt),
            best=best_init(x0),
        )

    def refresh(state: CMAESState, mode) -> CMAESState:
        C = state.C
        if mode == "diagonal":
            factor = jnp.sqrt(jnp.maximum(C, jnp.finfo(C.dtype).tiny))
            whitener = 1.0 / factor
        elif mode == "eigh":
            C = 0.5 * (C + C.T)
            d2, B = jnp.linalg.eigh(C)
            d = jnp.sqrt(jnp.maximum(d2, jnp.finfo(C.dtype).tiny))
            factor = B * d
            whitener = (B / d) @ B.T
        else:  # the Cholesky factorisation reads only the lower triangle: no need to symmetrise
            # C is symmetric and only its lower triangle is read, so skip jnp's symmetrisation pass
            L = lax.linalg.cholesky(C, symmetrize_input=False)
            # keep the last factor if rounding broke positive definiteness (JAX then returns NaNs; the
            # last diagonal entry, computed last, is NaN whenever any step failed)
            ok = jnp.isfinite(L[-1, -1])
            factor = jnp.where(ok, L, state.factor)
            whitener = state.whitener
        return state.replace(C=C, factor=factor, whitener=whitener, refreshed_at=state.best.iterations)

    def whiten(state: CMAESState, y, mode):
        """``C^{-1/2} y`` for rows ``y [k, D]``."""
        if mode == "diagonal":
            return y * state.whitener
        if mode == "eigh":
            return y @ state.whitener  # symmetric
        return solve_triangular(state.factor, y.T, lower=True).T

    def ask(key, state: CMAESState):
        n = state.mean.shape[0]
        _, mode, gap = setup(n)
        if gap == 1:  # static: refresh every generation, no branch
            state = refresh(state, mode)
        else:
            due = state.best.iterations - state.refreshed_at >= gap
            state = lax.cond(due, lambda s: refresh(s, mode), lambda s: s, state)
        z = jax.random.normal(key, (popsize, n), state.mean.dtype)
        # einsum contracts against the factor's rows in place (``z @ factor.T`` would copy a transpose)
        y = z * state.factor if mode == "diagonal" else jnp.einsum("ij,pj->pi", state.factor, z)
        x = state.mean + state.sigma * y
        return x, state.replace(asked=x, asked_z=z)

    def tell(state: CMAESState, solutions, fitness) -> CMAESState:
        n = state.mean.shape[0]
        p, mode, _ = setup(n)
        solutions, fitness = check_told(popsize, n, solutions, fitness)
        solutions = solutions.astype(state.mean.dtype)
        best = best_update(state.best, solutions, fitness)
        dt = state.mean.dtype
        w = p.weights.astype(dt)
        order = jnp.argsort(fitness, stable=True)
        ys = ((solutions - state.mean) / state.sigma)[order]
        y_w = jnp.maximum(w, 0.0) @ ys
        mean = state.mean + state.sigma * y_w
        cs, cc, c1, cmu = p.cs, p.cc, p.c1, p.cmu
        # C^{-1/2} of y_w and of the samples with negative weights (the worst lambda - mu). When told
        # exactly what ask returned these are the draws z (C^{-1/2} y = z, y_w -> sum w z), which
        # saves a triangular solve; otherwise whiten the solutions as told.
        # (Not for 'eigh', whose symmetric C^{-1/2} y = B z; there whitening is a cheap small matmul.)
        to_whiten = jnp.concatenate([y_w[None], ys[p.mu :]])
        if mode == "eigh":
            white = whiten(state, to_whiten, mode)
        else:
            z = state.asked_z[order]
            white = lax.cond(
                jnp.all(solutions == state.asked),
                lambda: jnp.concatenate([(jnp.maximum(w, 0.0) @ z)[None], z[p.mu :]]),
                lambda: whiten(state, to_whiten, mode),
            )
        ps = (1 - cs) * state.ps + math.sqrt(cs * (2 - cs) * p.mueff) * white[0]
        norm_ps = jnp.linalg.norm(ps)
        g = best.iterations.astype(dt)
        hsig = (norm_ps / jnp.sqrt(1 - (1 - cs) ** (2 * g)) < (1.4 + 2 / (n + 1)) * p.chi_n).astype(dt)
        pc = (1 - cc) * state.pc + hsig * math.sqrt(cc * (2 - cc) * p.mueff) * y_w
        # active weights: negative ones (all after the mu-th) are rescaled by n / ||C^{-1/2} y||^2
        wz2 = jnp.sum(jnp.square(white[1:]), axis=-1)
        w_neg = w[p.mu :]
        w_circ = jnp.concatenate(
            [w[: p.mu], jnp.where(w_neg >= 0, w_neg, w_neg * n / jnp.maximum(wz2, jnp.finfo(dt).tiny))]
        )
        decay = 1 + c1 * (1 - hsig) * cc * (2 - cc) - c1 - cmu * jnp.sum(w)
        if mode == "diagonal":
            C = decay * state.C + c1 * pc**2 + cmu * (w_circ @ ys**2)
        else:
            C = decay * state.C + c1 * jnp.outer(pc, pc) + cmu * (ys.T * w_circ) @ ys
        sigma = state.sigma * jnp.exp(jnp.minimum(1.0, (cs / p.ds) * (norm_ps / p.chi_n - 1)))
        history = state.history.at[state.best.iterations % state.history.shape[0]].set(jnp.min(fitness))
        new = state.replace(mean=mean, sigma=sigma.astype(dt), C=C, pc=pc, ps=ps, history=history, best=best)
        stopped = jnp.any(jnp.stack([v for k, v in own_stops(state).items()]))
        return guarded(state, new, (mean, sigma, C), stopped)

    def own_stops(state: CMAESState) -> dict:
        diag = state.C if state.C.ndim == 1 else jnp.diag(state.C)
        stds = state.sigma * jnp.sqrt(diag)
        full = state.best.iterations >= state.history.shape[0]
        hist_range = jnp.max(state.history) - jnp.min(state.history)
        # condition number: exact from the eigen/diagonal factor, a lower bound from Cholesky's diagonal
        if state.C.ndim == 1:
            d2 = state.C
        elif state.whitener.ndim == 0:  # Cholesky
            d2 = jnp.square(jnp.diag(state.factor))
        else:
            d2 = jnp.sum(jnp.square(state.factor), axis=0)
        return {
            "tolfun": full & (hist_range < tolfun) & (state.best.last_range < tolfun),
            "tolx": jnp.all(stds < tolx) & jnp.all(state.sigma * jnp.abs(state.pc) < tolx),
            "conditioncov": jnp.max(d2) > tolconditioncov * jnp.min(d2),
            "tolupsigma": state.sigma > tolupsigma * state.sigma0,
        }

    def result(state: CMAESState):
        diag = state.C if state.C.ndim == 1 else jnp.diag(state.C)
        return make_result(state.best, state.mean, state.sigma * jnp.sqrt(diag), **own_stops(state))

    return Strategy(init, ask, tell, result)
