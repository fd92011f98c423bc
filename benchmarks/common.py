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
