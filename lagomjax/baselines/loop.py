"""The training loop every baseline shares, written once: an algorithm is an :class:`Agent` (four pure
functions), and :func:`functional_parts` turns it plus a functional environment into the
``init / update / finish`` triple that :func:`~lagomjax.baselines.driver.train_from_parts` scans
inside one ``jit`` and :func:`~lagomjax.baselines.driver.run_seeds` runs in chunks.

One update = ``num_steps`` steps of every environment with ``Agent.act``, then ``Agent.learn`` on that
time-major :class:`~lagomjax.envs.Rollout`. On-policy methods learn from the rollout itself;
off-policy methods add it to a replay buffer kept in their state and learn from samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
from flax import struct

from lagomjax import envs
from lagomjax.baselines.driver import TrainParts, train_from_parts
from lagomjax.baselines.evaluation import evaluate


class Agent(NamedTuple):
    """An algorithm as pure functions of its state (params, optimiser states, replay buffer, counters).

    - ``init(key, obs) -> state``; ``obs`` is a batch of observations, for shapes.
    - ``act(state, key, obs) -> (action, extras)``: the behaviour policy; ``extras`` (log-probs,
      values, ...) are stored in ``rollout.extras``.
    - ``learn(state, rollout, key, update_index) -> (state, metrics)``: metrics are scalars.
    - ``greedy(state, obs) -> action``: the deterministic policy used for evaluation.
    - ``init_carry``: for recurrent policies only, ``batch_shape -> carry``; then ``act`` is
      ``(state, key, obs, carry) -> (action, extras, carry)`` and ``greedy`` is
      ``(state, obs, carry) -> (action, carry)``. The loop zeroes the carry where an episode ended.
    """

    init: Callable
    act: Callable
    learn: Callable
    greedy: Callable
    init_carry: Callable | None = None


@struct.dataclass
class LoopState:
    agent: Any
    env_state: Any
    obs: jnp.ndarray
    carry: Any  # recurrent policy state (None for feed-forward agents)
    key: jax.Array


def make_envs(config):
    """``(train_env, eval_env_fn, eval_steps)`` for a baseline's ``config`` (fields ``env_id, num_envs,
    eval_episodes, gamma`` and optionally ``normalize_obs, normalize_reward``).

    ``train_env`` is batched and auto-resetting, with running normalisers if asked;
    ``eval_env_fn(train_env_state)`` runs ``eval_episodes`` episodes at once with the observation
    moments frozen at training's and raw rewards; ``eval_steps`` is the time limit. Box actions are
    rescaled from ``[-1, 1]``, so every policy acts in ``[-1, 1]``.
    """
    norm_obs = getattr(config, "normalize_obs", False)
    norm_reward = getattr(config, "normalize_reward", False)

    def build(n, training, moments=None):
        env = envs.make(
            config.env_id,
            num_envs=n,
            normalize_obs=norm_obs and training,
            normalize_reward=norm_reward and training,
            gamma=config.gamma,
        )
        if norm_obs and not training:
            env = envs.NormalizeObservation(env, constant_moments=moments)
        return envs.RescaleAction(env) if isinstance(env.action_space, gym.spaces.Box) else env

    def eval_env_fn(env_state):
        return build(config.eval_episodes, False, obs_moments(env_state) if norm_obs else None)

    return build(config.num_envs, True), eval_env_fn, envs.functional.FUNCTIONAL_ENVS[config.env_id][1]


def make_parts(config, make_agent) -> TrainParts:
    """``TrainParts`` for ``make_agent(config, action_space)`` on ``config.env_id``'s functional twin."""
    env, eval_env_fn, eval_steps = make_envs(config)
    return functional_parts(make_agent(config, env.action_space), env, config.num_steps, eval_env_fn, eval_steps)


def make_train(config, make_agent):
    """``train(key) -> (state, metrics)``: :func:`make_parts`' updates scanned inside one jittable
    function, then the deterministic evaluation (an example's ``make_train(config)``)."""
    return train_from_parts(make_parts(config, make_agent), config.num_updates)


def obs_moments(env_state):
    """``(mean, var)`` of the :class:`~lagomjax.envs.NormalizeObservation` wrapper inside ``env_state``."""
    while not isinstance(env_state, envs.functional.NormalizeObservationState):
        env_state = env_state.inner
    return env_state.moments.mean, env_state.moments.var


def finished_episode_mean(info):
    """Mean return of the episodes that ended in a rollout (NaN where none did)."""
    done = info["episode_done"]
    n = done.sum()
    total = jnp.sum(jnp.where(done, info["episode_return"], 0.0))
    return jnp.where(n > 0, total / jnp.maximum(n, 1), jnp.nan)


def functional_parts(agent: Agent, env, num_steps: int, eval_env_fn: Callable, eval_steps: int) -> TrainParts:
    """``TrainParts`` for ``agent`` on the batched, auto-resetting functional ``env``.

    Each update metrics: ``env_steps`` (per seed, cumulative), ``episode_return`` (mean of the
    episodes finished during the update, NaN if none) and whatever ``agent.learn`` reports.
    ``finish`` evaluates ``agent.greedy`` on ``eval_env_fn(env_state)`` for ``eval_steps`` steps.
    """
    recurrent = agent.init_carry is not None

    def init(key):
        k_agent, k_env, k_loop = jax.random.split(key, 3)
        env_state, obs = env.reset(k_env)
        carry = agent.init_carry(obs.shape[:1]) if recurrent else None
        return LoopState(agent.init(k_agent, obs), env_state, obs, carry, k_loop)

    def update(ls: LoopState, i):
        key, k_roll, k_learn = jax.random.split(ls.key, 3)
        if recurrent:
            policy = lambda k, o, c: agent.act(ls.agent, k, o, c)  # noqa: E731
            (env_state, obs, carry), ro = envs.rollout(
                env, policy, k_roll, ls.env_state, ls.obs, num_steps, policy_carry=ls.carry
            )
        else:
            policy = lambda k, o: agent.act(ls.agent, k, o)  # noqa: E731
            (env_state, obs), ro = envs.rollout(env, policy, k_roll, ls.env_state, ls.obs, num_steps)
            carry = None
        agent_state, metrics = agent.learn(ls.agent, ro, k_learn, i)
        metrics = {
            "env_steps": (i + 1) * ro.rewards.size,
            "episode_return": finished_episode_mean(ro.info),
            **metrics,
        }
        return LoopState(agent_state, env_state, obs, carry, key), metrics

    def finish(ls: LoopState, key):
        eval_env = eval_env_fn(ls.env_state)
        if recurrent:
            act = lambda obs, carry: agent.greedy(ls.agent, obs, carry)  # noqa: E731
            return evaluate(eval_env, act, jax.random.fold_in(key, 1), eval_steps, carry=agent.init_carry)[0]
        act = lambda obs: agent.greedy(ls.agent, obs)  # noqa: E731
        return evaluate(eval_env, act, jax.random.fold_in(key, 1), eval_steps)[0]

    return TrainParts(init, update, finish)
