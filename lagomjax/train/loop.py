"""The training loop every algorithm shares, written once.

An algorithm is an :class:`~lagomjax.train.agent.Agent`; :func:`functional_parts` turns it plus a
functional environment into :class:`TrainParts` (``init / update / finish``), which
:func:`train_from_parts` scans inside one ``jit`` and :func:`~lagomjax.train.seeds.run_seeds` runs
in compiled chunks. One update = ``num_steps`` steps of every environment with ``Agent.act``, then
``Agent.learn`` on that time-major :class:`~lagomjax.envs.Rollout`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
from flax import struct

from lagomjax import envs
from lagomjax.envs.functional import NormalizeObservation, NormalizeObservationState
from lagomjax.envs.registry import env_kwargs
from lagomjax.replay import ReplayBuffer
from lagomjax.train.agent import Agent


class TrainParts(NamedTuple):
    """A training run as three pure functions."""

    init: Callable  # key -> state
    update: Callable  # (state, update index) -> (state, metrics of this update)
    finish: Callable  # (state, key) -> final evaluation return
    config: Any = None  # what the algorithms' make_parts built them for (run_seeds checks it)


def train_from_parts(parts: TrainParts, num_updates: int, on_update: Callable | None = None):
    """``train(key) -> (state, metrics)``: every update in one ``lax.scan``, then the evaluation.
    ``on_update(update_index, metrics)`` (optional) is called on the host after every update, from
    inside the compiled program (``jax.debug.callback``; once per run when vmapped), e.g. a
    :class:`~lagomjax.experiment.SweepProgress` bar."""

    def update(state, i):
        state, metrics = parts.update(state, i)
        if on_update is not None:
            jax.debug.callback(on_update, i, metrics)
        return state, metrics

    def train(key):
        state, metrics = jax.lax.scan(update, parts.init(key), jnp.arange(num_updates))
        return state, {**metrics, "eval_return": parts.finish(state, key)}

    return train


@struct.dataclass
class LoopState:
    agent: Any
    env_state: Any
    obs: jnp.ndarray
    policy_state: Any  # () for feed-forward policies
    key: jax.Array


def make_envs(config, auto_reset: bool = True):
    """``(train_env, eval_env_fn, eval_steps)`` for a config with ``env_id, num_envs,
    eval_episodes, gamma`` and optionally ``normalize_obs, normalize_reward, reset_pool``.

    ``train_env`` is batched and auto-resetting (unless ``auto_reset=False``: for a learner that
    only ever runs first episodes, as ES does), with running normalisers if asked;
    ``eval_env_fn(train_env_state)`` runs ``eval_episodes`` first episodes at once
    (:func:`~lagomjax.envs.evaluate`, no auto-reset) with the observation moments frozen at
    training's and raw rewards; ``eval_steps`` is the time limit. Box actions are rescaled from
    ``[-1, 1]``, so every policy acts in ``[-1, 1]``.
    """
    norm_obs = getattr(config, "normalize_obs", False)
    norm_reward = getattr(config, "normalize_reward", False)
    flatten = observation_layout(config)

    pool = getattr(config, "reset_pool", 0)

    def build(n, training):
        resets = training and auto_reset  # evaluation counts first episodes only: no reset to compile or run
        return envs.make(
            config.env_id,
            num_envs=n,
            auto_reset=resets,
            normalize_obs=norm_obs and training,
            normalize_reward=norm_reward and training,
            gamma=config.gamma,
            reset_pool=(pool or None) if resets else None,
            **env_kwargs(config),
        )

    def outer(env, moments=None):
        if moments is not None:
            env = NormalizeObservation(env, constant_moments=moments)
        if flatten:
            env = envs.FlattenObservation(env)
        return envs.RescaleAction(env) if isinstance(env.action_space, gym.spaces.Box) else env

    eval_env = build(config.eval_episodes, False)  # built here, outside any trace (suites build with jnp)

    def eval_env_fn(env_state):
        return outer(eval_env, obs_moments(env_state) if norm_obs else None)

    return outer(build(config.num_envs, True)), eval_env_fn, envs.time_limit(config.env_id)


def observation_layout(config) -> bool:
    """Whether ``config``'s networks need ``config.env_id``'s observations flattened (an MLP torso on
    image or structured observations). A CNN torso on anything but images ``[H, W, C]`` is refused
    here, before anything compiles."""
    space = envs.make(config.env_id, auto_reset=False, episode_statistics=False, **env_kwargs(config)).observation_space
    torso = getattr(config, "torso", "mlp")
    if torso == "cnn":
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 3):
            raise ValueError(f"torso='cnn' needs image observations [H, W, C]; {config.env_id} observes {space}")
        return False
    return not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1)


def obs_moments(env_state):
    """``(mean, var)`` of the functional :class:`~lagomjax.envs.functional.NormalizeObservation`
    wrapper inside ``env_state``."""
    while not isinstance(env_state, NormalizeObservationState):
        env_state = env_state.inner
    return env_state.moments.mean, env_state.moments.var


def finished_episode_mean(info):
    """Mean return of the episodes that ended in a rollout (NaN where none did)."""
    done = info["episode_done"]
    n = done.sum()
    total = jnp.sum(jnp.where(done, info["episode_return"], 0.0))
    return jnp.where(n > 0, total / jnp.maximum(n, 1), jnp.nan)


def all_finite(tree) -> jnp.ndarray:
    """True where every floating-point leaf of ``tree`` is finite (a scalar; one reduction per leaf).
    Replay buffers are skipped: what goes into them is checked as it is collected."""
    leaves = jax.tree.leaves(tree, is_leaf=lambda x: isinstance(x, ReplayBuffer))
    leaves = [x for x in leaves if not isinstance(x, ReplayBuffer) and jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    return jnp.all(jnp.stack([jnp.isfinite(x).all() for x in leaves])) if leaves else jnp.bool_(True)


def functional_parts(agent: Agent, env, num_steps: int, eval_env_fn: Callable, eval_steps: int) -> TrainParts:
    """``TrainParts`` for ``agent`` on the batched, auto-resetting functional ``env``.

    Each update's metrics: ``env_steps`` (per seed, cumulative), ``episode_return`` (mean of the
    episodes finished during the update, NaN if none), ``finite`` (the rollout's observations and
    rewards and the new agent state, replay buffers aside, are all finite: a cheap check that
    :func:`~lagomjax.train.seeds.run_seeds` acts on) and whatever ``agent.learn`` reports (NaN
    where it has no value yet, e.g. losses before ``learning_starts``).
    ``finish`` evaluates ``agent.greedy`` on ``eval_env_fn(env_state)`` for ``eval_steps`` steps.
    """

    def init(key):
        k_agent, k_env, k_loop = jax.random.split(key, 3)
        env_state, obs = env.reset(k_env)
        return LoopState(agent.init(k_agent, obs), env_state, obs, agent.init_policy_state(obs.shape[:1]), k_loop)

    def update(ls: LoopState, i):
        key, k_roll, k_learn = jax.random.split(ls.key, 3)
        policy = lambda k, o, p: agent.act(ls.agent, k, o, p)  # noqa: E731
        (env_state, obs, pstate), ro = envs.rollout(
            env, policy, k_roll, ls.env_state, ls.obs, num_steps, ls.policy_state
        )
        agent_state, metrics = agent.learn(ls.agent, ro, k_learn, i)
        finite = all_finite((ro.obs, ro.rewards, agent_state))
        metrics = {"env_steps": (i + 1) * ro.rewards.size, "episode_return": finished_episode_mean(ro.info),
                   "finite": finite, **metrics}  # fmt: skip
        return LoopState(agent_state, env_state, obs, pstate, key), metrics

    def finish(ls: LoopState, key):
        eval_env = eval_env_fn(ls.env_state)
        act = lambda obs, p: agent.greedy(ls.agent, obs, p)  # noqa: E731
        return envs.evaluate(eval_env, act, jax.random.fold_in(key, 1), eval_steps, agent.init_policy_state)[0]

    return TrainParts(init, update, finish)


def entry_points(make_agent: Callable):
    """``(make_parts, make_train)`` of an algorithm given its ``make_agent(config, action_space)``:

    - ``make_parts(config) -> TrainParts`` on ``config.env_id``'s functional environment (what the
      command line runs in chunks);
    - ``make_train(config) -> train(key) -> (state, metrics)``: the whole training and a
      deterministic evaluation in one jittable function, so ``jax.jit(jax.vmap(train))(keys)``
      trains many seeds at once; ``metrics`` have a leading update axis, ``'eval_return'`` is scalar.
    """

    def make_parts(config) -> TrainParts:
        """``init(key) -> state``, ``update(state, i) -> (state, metrics)``, ``finish(state, key) ->
        eval_return`` on ``config.env_id``'s functional environment."""
        env, eval_env_fn, eval_steps = make_envs(config)
        parts = functional_parts(make_agent(config, env.action_space), env, config.num_steps, eval_env_fn, eval_steps)
        return parts._replace(config=config)

    def make_train(config):
        """``train(key) -> (state, metrics)``: the whole training and a deterministic evaluation in one
        jittable function; ``metrics`` have a leading update axis, ``metrics['eval_return']`` is scalar."""
        return train_from_parts(make_parts(config), config.num_updates)

    return make_parts, make_train
