"""Deterministic evaluation on functional environments, inside ``jit``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def evaluate(env, act, key, max_steps: int):
    """Mean undiscounted return of the first episode of every environment of ``env``.

    Args:
      env: a batched, auto-resetting functional env with :class:`~lagomjax.envs.EpisodeStatistics`
        (e.g. ``envs.make(env_id, num_envs=n)``): ``n`` episodes are evaluated at once.
      act: ``(obs [n, ...]) -> actions``, deterministic (greedy / mean action).
      key: for the initial states.
      max_steps: steps to run (the env's time limit, so every first episode finishes).

    Returns:
      ``(mean_return, returns [n])``; an env whose first episode did not finish counts as NaN.
    """
    state, obs = env.reset(key)
    n = obs.shape[0]

    def step(carry, key):
        state, obs, returns, finished = carry
        state, obs, _, _, _, info = env.step(key, state, act(obs))
        first_end = info["episode_done"] & ~finished
        returns = jnp.where(first_end, info["episode_return"], returns)
        return (state, obs, returns, finished | info["episode_done"]), None

    init = (state, obs, jnp.full((n,), jnp.nan, jnp.float32), jnp.zeros((n,), bool))
    (_, _, returns, _), _ = lax.scan(step, init, jax.random.split(key, max_steps))
    return jnp.nanmean(returns), returns
