"""Deterministic evaluation on functional environments, inside ``jit``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from lagomjax.transform.ops import zero_where


def evaluate(env, act, key, max_steps: int, carry=None):
    """Mean undiscounted return of the first episode of every environment of ``env``.

    Args:
      env: a batched, auto-resetting functional env with :class:`~lagomjax.envs.EpisodeStatistics`
        (e.g. ``envs.make(env_id, num_envs=n)``): ``n`` episodes are evaluated at once.
      act: ``(obs [n, ...]) -> actions``, deterministic (greedy / mean action).
      key: for the initial states.
      max_steps: steps to run (the env's time limit, so every first episode finishes).
      carry: for a recurrent policy, ``batch_shape -> initial carry``; then ``act`` is
        ``(obs, carry) -> (actions, carry)`` and the carry is zeroed where an episode ended.

    Returns:
      ``(mean_return, returns [n], lengths [n])``; an env whose first episode did not finish has
      NaN return and length ``max_steps``.
    """
    state, obs = env.reset(key)
    n = obs.shape[0]

    def step(loop, key):
        state, obs, pcarry, returns, lengths, finished = loop
        if carry is None:
            action = act(obs)
        else:
            action, pcarry = act(obs, pcarry)
        state, obs, _, _, _, info = env.step(key, state, action)
        done = info["episode_done"]
        pcarry = zero_where(done, pcarry)
        returns = jnp.where(done & ~finished, info["episode_return"], returns)
        lengths = lengths + ~finished
        return (state, obs, pcarry, returns, lengths, finished | done), None

    pcarry = None if carry is None else carry((n,))
    init = (state, obs, pcarry, jnp.full((n,), jnp.nan, jnp.float32), jnp.zeros((n,), jnp.int32), jnp.zeros((n,), bool))
    (_, _, _, returns, lengths, _), _ = lax.scan(step, init, jax.random.split(key, max_steps))
    return jnp.nanmean(returns), returns, lengths
