"""What DQN, DDPG, TD3 and SAC share: a replay buffer in the state, uniform random actions until
``learning_starts``, then ``gradient_steps`` sampled updates after every rollout. Each algorithm
supplies only its learner (networks, losses, target updates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from lagomjax import replay
from lagomjax.train.agent import Agent


@struct.dataclass
class OffPolicyState:
    learner: Any  # params, target params, optimiser states, ... (the algorithm's)
    buffer: replay.ReplayBuffer
    steps: jnp.ndarray  # int32: environment steps taken so far (all envs)


def transitions(ro):
    """A rollout ``[T, B, ...]`` as ``T * B`` transitions. ``next_obs`` is the true next observation and
    only ``terminated`` stops bootstrapping, so time-limit truncation bootstraps correctly."""
    flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731
    return {
        "obs": flat(ro.obs),
        "actions": flat(ro.actions),
        "rewards": flat(ro.rewards),
        "next_obs": flat(ro.next_obs),
        "terminated": flat(ro.terminated),
    }


def check_action_space(name: str, action_space, kind) -> None:
    """A clear error when an algorithm meets the wrong kind of action space (e.g. SAC on CartPole)."""
    if not isinstance(action_space, kind) or (kind is gym.spaces.Box and len(action_space.shape) != 1):
        want = "a continuous (1-D Box)" if kind is gym.spaces.Box else "a discrete"
        raise ValueError(f"{name} needs {want} action space, got {action_space}")
    if kind is gym.spaces.Box and not np.issubdtype(action_space.dtype, np.floating):
        raise ValueError(f"{name} needs a continuous action space, got an integer Box: {action_space}")


def uniform_actions(action_dim: int) -> Callable:
    """``(key, obs [B, ...]) -> actions [B, action_dim]`` uniform in ``[-1, 1]`` (the warm-up policy of
    the continuous-action algorithms; the env rescales)."""

    def random_action(key, obs):
        return jax.random.uniform(key, (*obs.shape[:1], action_dim), minval=-1.0, maxval=1.0)

    return random_action


def make_agent(
    config,
    init_learner: Callable,
    policy: Callable,
    greedy: Callable,
    train_step: Callable,
    random_action: Callable,
    *,
    prioritized: bool = False,
    alpha: float = 0.6,
    beta: Callable | float = 0.4,
    priority_eps: float = 1e-6,
) -> Agent:
    """An off-policy :class:`~lagomjax.train.agent.Agent` (feed-forward: its policy state is ``()``).

    Args:
      config: gives ``buffer_size``, ``batch_size`` (transitions per gradient step),
        ``learning_starts`` and ``gradient_steps`` (run after each rollout once ``learning_starts``
        steps are stored).
      init_learner: ``(key, obs) -> learner``.
      policy: ``(learner, key, obs, steps) -> action``, exploratory (``steps`` for schedules).
      greedy: ``(learner, obs) -> action``.
      train_step: ``(learner, batch, weights, key, step) -> (learner, td_error [batch], metrics)``;
        ``weights`` are importance weights (ones without prioritised replay), ``step`` is the global
        gradient-step index (same for every seed, so ``step % d == 0`` tests stay unbatched), and
        ``td_error`` gives the new priorities.
      random_action: ``(key, obs) -> action``, uniform, used while ``steps < learning_starts``.
      prioritized, alpha, beta, priority_eps: prioritised replay; ``beta`` may be a schedule of the
        gradient step.
    """

    def init(key, obs):
        k_learner, k_action = jax.random.split(key)
        example = {
            "obs": obs[0],
            "actions": random_action(k_action, obs)[0],
            "rewards": jnp.zeros((), jnp.float32),
            "next_obs": obs[0],
            "terminated": jnp.zeros((), bool),
        }
        buffer = replay.init(example, config.buffer_size, prioritized, alpha)
        return OffPolicyState(init_learner(k_learner, obs), buffer, jnp.zeros((), jnp.int32))

    def act(state, key, obs, pstate):
        k_random, k_policy = jax.random.split(key)
        explore = random_action(k_random, obs)
        action = policy(state.learner, k_policy, obs, state.steps)
        return jnp.where(state.steps < config.learning_starts, explore, action).astype(explore.dtype), {}, pstate

    def sgd(carry, inputs):
        learner, buffer = carry
        key, step = inputs
        k_sample, k_train = jax.random.split(key)
        b = beta(step) if callable(beta) else beta
        batch, idx, weights = replay.sample(buffer, k_sample, config.batch_size, b)
        learner, td_error, metrics = train_step(learner, batch, weights, k_train, step)
        if prioritized:
            buffer = replay.update_priorities(buffer, idx, jnp.abs(td_error) + priority_eps)
        return (learner, buffer), metrics

    def learn(state, ro, key, i):
        buffer = replay.add(state.buffer, transitions(ro))
        steps = state.steps + ro.rewards.size
        keys = jax.random.split(key, config.gradient_steps)
        first = i * config.gradient_steps
        inputs = (keys, first + jnp.arange(config.gradient_steps))

        def train(args):
            (learner, buffer), metrics = jax.lax.scan(sgd, args, inputs)
            return (learner, buffer), jax.tree.map(jnp.nanmean, metrics)

        def wait(args):
            shapes = jax.eval_shape(train, args)[1]
            return args, jax.tree.map(lambda s: jnp.full(s.shape, jnp.nan, s.dtype), shapes)

        # the condition depends on the update index only (the same for every seed), so under vmap
        # it stays a real branch and no gradient step is computed before learning starts
        ready = (i + 1) * ro.rewards.size >= config.learning_starts
        (learner, buffer), metrics = jax.lax.cond(ready, train, wait, (state.learner, buffer))
        return OffPolicyState(learner, buffer, steps), metrics

    return Agent(init, act, learn, lambda state, obs, pstate: (greedy(state.learner, obs), pstate))
