"""A tour of what lagomjax has today: RL metrics on an auto-reset rollout batch, under jit and vmap.

    python examples/quickstart.py

It builds a fake [T, B] rollout with episodes that terminate and are truncated anywhere, computes GAE
advantages and V-trace targets in one jitted call, checks them against lagom's single-segment
functions episode by episode, sweeps gamma with vmap, and logs with lagom's Logger.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import Logger, metric
from lagomjax.transform import describe


def fake_rollout(key, T=256, B=64):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    rewards = jax.random.normal(k1, (T, B))
    values = jax.random.normal(k2, (T, B))
    final_values = jax.random.normal(k3, (T, B))  # V(true final observation) where an episode ended
    u = jax.random.uniform(k4, (T, B))
    terminated, truncated = u < 0.01, (u > 0.995)
    next_values = metric.next_values(values, final_values[-1], terminated | truncated, final_values)
    return rewards, values, next_values, terminated, truncated


@jax.jit
def advantages(rewards, values, next_values, terminated, truncated):
    adv = metric.gae_rollout(0.99, 0.95, rewards, values, next_values, terminated, truncated)
    logp = jnp.zeros_like(rewards)
    vs, pg_adv = metric.vtrace_rollout(logp, logp, 0.99, rewards, values, next_values, terminated, truncated)
    return adv, adv + values, vs, pg_adv


def main():
    logger = Logger()
    batch = fake_rollout(jax.random.key(0))
    t0 = time.perf_counter()
    adv, targets, vs, pg_adv = jax.block_until_ready(advantages(*batch))
    logger("compile_and_run_s", round(time.perf_counter() - t0, 3))
    t0 = time.perf_counter()
    jax.block_until_ready(advantages(*batch))
    logger("run_ms", round(1e3 * (time.perf_counter() - t0), 3))

    # lagom's single-segment gae on the first episode of column 0 gives the same numbers
    rewards, values, next_values, terminated, truncated = map(np.asarray, batch)
    end = int(np.flatnonzero(terminated[:, 0] | truncated[:, 0])[0])
    ref = metric.gae(0.99, 0.95, rewards[: end + 1, 0], values[: end + 1, 0], next_values[end, 0], terminated[end, 0])
    logger("max_abs_diff_vs_single_segment", float(np.abs(ref - adv[: end + 1, 0]).max()))

    # sweep the discount with vmap: one compiled program for all gammas
    gammas = jnp.array([0.9, 0.99, 0.999])
    sweep = jax.jit(jax.vmap(lambda g: metric.gae_rollout(g, 0.95, *batch)))(gammas)
    for g, a in zip(gammas.tolist(), sweep, strict=True):
        logger(f"adv_std_gamma_{g:.3g}", round(float(a.std()), 4))

    logger.dump(border="-" * 60)
    print(describe(np.asarray(adv).ravel()))


if __name__ == "__main__":
    main()
