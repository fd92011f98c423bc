"""Timing shared by the benchmark scripts (the machines are noisy: take the best of several runs)."""

from __future__ import annotations

import time

import jax


def best_of(fn, repeats: int) -> float:
    """Best wall time of ``fn()`` over ``repeats`` runs, after one warm-up run (which compiles)."""
    jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def timed(fn, args, repeats: int = 1):
    """``(compile_s, best run_s, output of the last run)`` of ``jax.jit(fn)(*args)``, compiling
    ahead of time so the compile is timed apart from the runs."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        best = min(best, time.perf_counter() - t0)
    return compile_s, best, out
