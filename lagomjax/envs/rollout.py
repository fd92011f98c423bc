"""A jitted rollout over a functional environment: one ``lax.scan``, a time-major batch out."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from lagomjax.transform.ops import zero_where


@struct.dataclass
class Rollout:
    """``T`` steps of ``B`` environments, time-major (``[T, B, ...]``; ``[T, ...]`` for one env)."""

    obs: jnp.ndarray  # observation the policy acted on
    actions: jnp.ndarray
    rewards: jnp.ndarray
    terminated: jnp.ndarray  # MDP terminal reached: do not bootstrap
    truncated: jnp.ndarray  # time limit: bootstrap from next_obs
    next_obs: jnp.ndarray  # true next observation (the final one where an episode ended)
    extras: Any  # the policy's extra outputs (log-probs, values, ...)
    info: dict  # the environment's info (episode statistics, raw rewards, ...)


def rollout(env, policy, key, env_state, obs, num_steps: int, policy_carry=None):
    """Run ``policy`` for ``num_steps`` steps of ``env`` inside one ``lax.scan``.

    Args:
      env: a :class:`~lagomjax.envs.functional.JaxEnv`, usually auto-resetting.
      policy: ``(key, obs) -> (action, extras)``; ``extras`` is any pytree (``{}`` for none).
      key: a ``jax.random`` key.
      env_state, obs: where to start (from ``env.reset`` or the previous rollout).
      num_steps: ``T``.
      policy_carry: for a recurrent policy, its state (a pytree whose leaves are ``[B, ...]``); then
        ``policy`` is ``(key, obs, carry) -> (action, extras, carry)`` and the carry is zeroed for
        the environments whose episode ended, before the next step.

    Returns:
      ``((env_state, obs), Rollout)``, or ``((env_state, obs, policy_carry), Rollout)`` with a
      ``policy_carry``: the carry to continue from, and the batch.
    """
    recurrent = policy_carry is not None

    def step(carry, key):
        env_state, obs, pcarry = carry
        k_policy, k_env = jax.random.split(key)
        if recurrent:
            action, extras, pcarry = policy(k_policy, obs, pcarry)
        else:
            action, extras = policy(k_policy, obs)
        env_state, next_obs, reward, terminated, truncated, info = env.step(k_env, env_state, action)
        pcarry = zero_where(terminated | truncated, pcarry)  # nothing to zero without a policy carry
        true_next = info.get("next_obs", next_obs)
        info = {k: v for k, v in info.items() if k != "next_obs"}
        ro = Rollout(obs, action, reward, terminated, truncated, true_next, extras, info)
        return (env_state, next_obs, pcarry), ro

    (env_state, obs, policy_carry), ro = lax.scan(
        step, (env_state, obs, policy_carry), jax.random.split(key, num_steps)
    )
    return ((env_state, obs, policy_carry) if recurrent else (env_state, obs)), ro


def random_policy(env):
    """``(key, obs) -> (action, {})`` sampling uniformly from ``env.action_space`` (``Discrete`` or ``Box``),
    batched over the leading axes of ``obs`` beyond one observation."""
    space, obs_ndim = env.action_space, len(env.observation_space.shape)
    if not isinstance(space, gym.spaces.Discrete | gym.spaces.Box):
        raise TypeError(f"random_policy supports Discrete and Box spaces, got {type(space).__name__}")

    def policy(key, obs):
        batch = obs.shape[: obs.ndim - obs_ndim]
        if isinstance(space, gym.spaces.Discrete):
            return jax.random.randint(key, batch, space.start, space.start + space.n), {}
        return jax.random.uniform(key, batch + space.shape, minval=space.low, maxval=space.high), {}

    return policy
