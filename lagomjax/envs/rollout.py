"""Rollouts and deterministic evaluation over a functional environment, each one ``lax.scan``.

Every policy here has one signature, recurrent or not: it takes and returns a *policy state*
(an LSTM carry, or ``()`` for a feed-forward policy), which is zeroed for the environments whose
episode ended before the next step.

- acting: ``policy(key, obs, policy_state) -> (action, extras, policy_state)``
- evaluating: ``act(obs, policy_state) -> (action, policy_state)`` (deterministic)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from lagomjax._checks import check_int
from lagomjax.envs.functional import batch_shape
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


def rollout(env, policy, key, env_state, obs, num_steps: int, policy_state=()):
    """Run ``policy`` for ``num_steps`` steps of ``env`` inside one ``lax.scan``.

    Args:
      env: a :class:`~lagomjax.envs.functional.JaxEnv`, usually auto-resetting.
      policy: ``(key, obs, policy_state) -> (action, extras, policy_state)``; ``extras`` is any
        pytree (``{}`` for none).
      key: a ``jax.random`` key.
      env_state, obs: where to start (from ``env.reset`` or the previous rollout).
      num_steps: ``T``.
      policy_state: the policy's recurrent state (leaves ``[B, ...]``), ``()`` for a feed-forward
        policy. It is zeroed for the environments whose episode ended, before the next step.

    Returns:
      ``((env_state, obs, policy_state), Rollout)``: where to continue from, and the batch.
    """

    def step(carry, key):
        env_state, obs, pstate = carry
        k_policy, k_env = jax.random.split(key)
        action, extras, pstate = policy(k_policy, obs, pstate)
        env_state, next_obs, reward, terminated, truncated, info = env.step(k_env, env_state, action)
        pstate = zero_where(terminated | truncated, pstate)
        true_next = info.get("next_obs", next_obs)
        info = {k: v for k, v in info.items() if k != "next_obs"}
        return (env_state, next_obs, pstate), Rollout(
            obs, action, reward, terminated, truncated, true_next, extras, info
        )

    return lax.scan(step, (env_state, obs, policy_state), jax.random.split(key, num_steps))


def evaluate(env, act, key, max_steps: int, init_policy_state=None):
    """Mean undiscounted return of the first episode of every environment of ``env``.

    Args:
      env: a batched functional env with :class:`~lagomjax.envs.EpisodeStatistics`, e.g.
        ``envs.make(env_id, num_envs=n, auto_reset=False)``: ``n`` episodes are evaluated at once.
        Only first episodes count, so an auto-reset is wasted work: without it the program has no
        reset inside its step to compile or run (a world generation for Craftax, a forward pass of
        the physics for MJX: a sixth to a quarter of such a training program's compile time).
      act: ``(obs [n, ...], policy_state) -> (actions, policy_state)``, deterministic.
      key: for the initial states.
      max_steps: most steps to run (the env's time limit, so every first episode finishes); the
        loop stops as soon as every first episode has ended (Craftax's limit is 10,000 steps).
      init_policy_state: ``batch_shape -> policy_state``, the zero state of a recurrent policy
        (``None``: feed-forward, the policy state is ``()``).

    Returns:
      ``(mean_return, returns [n], lengths [n])``; an env whose first episode did not finish has
      NaN return and length ``max_steps``.
    """
    check_int("max_steps", max_steps, low=1)
    state, obs = env.reset(key)
    (n,) = batch_shape(env.observation_space, obs)  # structured (Dict) observations too
    keys = jax.random.split(key, max_steps)  # step t uses keys[t] however early the loop stops

    def running(loop):
        t, *_, finished = loop
        return (t < max_steps) & ~finished.all()

    def step(loop):
        t, state, obs, pstate, returns, lengths, finished = loop
        action, pstate = act(obs, pstate)
        state, obs, _, _, _, info = env.step(keys[t], state, action)
        done = info["episode_done"]
        returns = jnp.where(done & ~finished, info["episode_return"], returns)
        lengths = lengths + ~finished
        return t + 1, state, obs, zero_where(done, pstate), returns, lengths, finished | done

    pstate = () if init_policy_state is None else init_policy_state((n,))
    init = (jnp.zeros((), jnp.int32), state, obs, pstate, jnp.full((n,), jnp.nan, jnp.float32),
            jnp.zeros((n,), jnp.int32), jnp.zeros((n,), bool))  # fmt: skip
    *_, returns, lengths, _ = lax.while_loop(running, step, init)
    return jnp.nanmean(returns), returns, lengths


def random_policy(env):
    """``(key, obs, policy_state) -> (action, {}, policy_state)`` sampling uniformly from
    ``env.action_space`` (``Discrete`` or ``Box``), batched over the leading axes of ``obs``."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete | gym.spaces.MultiDiscrete | gym.spaces.Box):
        raise TypeError(f"random_policy supports Discrete, MultiDiscrete and Box spaces, got {type(space).__name__}")

    def policy(key, obs, policy_state=()):
        batch = batch_shape(env.observation_space, obs)
        if isinstance(space, gym.spaces.Discrete):
            return jax.random.randint(key, batch, space.start, space.start + space.n), {}, policy_state
        if isinstance(space, gym.spaces.MultiDiscrete):
            nvec = jnp.asarray(space.nvec, jnp.int32)
            return jax.random.randint(key, batch + nvec.shape, 0, nvec), {}, policy_state
        return jax.random.uniform(key, batch + space.shape, minval=space.low, maxval=space.high), {}, policy_state

    return policy
