"""CMA-ES time per generation (ask + evaluate + tell): lagomjax vs pycma vs evosax's ``CMA_ES``.

JAX contenders run G generations inside one jitted ``lax.scan`` (compile time excluded); pycma runs
its usual Python loop. All in one process, best of several repeats. Ratios > 1: lagomjax is faster.

    python benchmarks/es_bench.py
    python benchmarks/es_bench.py --configs 10x16,1000x128 --repeats 5

evosax comes from the ``bench`` extra (``pip install -e .[bench]``); without it its rows are skipped.
"""

from __future__ import annotations

import argparse

import cma
import jax
import jax.numpy as jnp
import numpy as np
from common import best_of

from lagomjax import es

try:
    from evosax.algorithms import CMA_ES
except ImportError:  # pragma: no cover - optional peer
    CMA_ES = None

objective = es.ellipsoid


def lagomjax_run(D, P, G, **kw):
    strategy = es.cmaes(P, **kw)

    @jax.jit
    def run(key):
        def gen(carry, _):
            state, key = carry
            key, k = jax.random.split(key)
            x, state = strategy.ask(k, state)
            return (strategy.tell(state, x, objective(x)), key), None

        (state, _), _ = jax.lax.scan(gen, (strategy.init(jnp.full(D, 0.5), 0.5), key), None, length=G)
        return strategy.result(state).fbest

    return lambda: run(jax.random.key(0))


def evosax_run(D, P, G):
    algo = CMA_ES(population_size=P, solution=jnp.zeros(D))
    params = algo.default_params.replace(std_init=0.5)

    @jax.jit
    def run(key):
        def gen(carry, _):
            state, key = carry
            key, k1, k2 = jax.random.split(key, 3)
            x, state = algo.ask(k1, state, params)
            state, _ = algo.tell(k2, x, objective(x), state, params)
            return (state, key), None

        key, k = jax.random.split(key)
        state = algo.init(k, jnp.full(D, 0.5), params)
        (state, _), _ = jax.lax.scan(gen, (state, key), None, length=G)
        return state.best_fitness

    return lambda: run(jax.random.key(0))


def pycma_run(D, P, G):
    scales = 1e6 ** (np.arange(D) / max(D - 1, 1))

    def run():
        opts = {"popsize": P, "seed": 1, "verbose": -9, "maxiter": G, "tolx": 0, "tolfun": 0, "tolstagnation": 1e9}
        solver = cma.CMAEvolutionStrategy(np.full(D, 0.5), 0.5, opts)
        for _ in range(G):
            x = np.asarray(solver.ask())
            solver.tell(list(x), list((scales * x**2).sum(-1)))
        return solver.result.fbest

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="10x16,1000x128", help="comma-separated DxPOPSIZE")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"jax {jax.__version__}, pycma {cma.__version__}, evosax {'yes' if CMA_ES else 'not installed'}")
    print("| D | popsize | contender | ms / generation | lagomjax speed-up |")
    print("|---:|---:|---|---:|---:|")
    for config in args.configs.split(","):
        D, P = map(int, config.split("x"))
        G = 1000 if D <= 100 else 30  # generations per timed run
        G_pycma = 300 if D <= 100 else 10
        rows = {"lagomjax": best_of(lagomjax_run(D, P, G), args.repeats) / G}
        if D >= 100:
            rows["lagomjax (eigh)"] = best_of(lagomjax_run(D, P, G, decomposition="eigh"), args.repeats) / G
        if CMA_ES is not None:
            rows["evosax CMA_ES"] = best_of(evosax_run(D, P, G), args.repeats) / G
        rows["pycma"] = best_of(pycma_run(D, P, G_pycma), args.repeats) / G_pycma
        ours = rows["lagomjax"]
        for name, t in rows.items():
            print(f"| {D} | {P} | {name} | {t * 1e3:.3f} | {t / ours:.1f}x |")


if __name__ == "__main__":
    main()
