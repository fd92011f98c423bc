r"""Jittable, vmappable functional environments and pure wrappers.

An environment here is a Python object holding only configuration, with two pure methods::

    state, obs = env.reset(key)
    state, obs, reward, terminated, truncated, info = env.step(key, state, action)

All arrays live in ``state`` (a pytree), so ``reset``/``step`` jit, ``vmap`` and ``lax.scan``, and
``info`` has the same keys at every step. ``terminated`` (an MDP terminal) and ``truncated`` (a time
limit) are never merged.

The physics come from gymnasium's own ``FuncEnv`` implementations (``gymnasium.envs.phys2d``), adapted
by :class:`FuncEnvAdapter`; any other ``FuncEnv`` plugs in the same way. Wrappers compose by holding
an inner environment and extending its state:

* :class:`TimeLimit`, :class:`AutoReset` (keeps the true final observation in ``info['next_obs']``),
  :class:`EpisodeStatistics`, :class:`ClipAction`, :class:`RescaleAction` work on one environment
  or on a batch (their arithmetic is elementwise);
* :class:`VmapEnv` turns one environment into ``num_envs`` (a leading batch axis on everything);
* :class:`NormalizeObservation` and :class:`NormalizeReward` keep running moments shared by every
  environment of a batch, so put them outside :class:`VmapEnv` (inside it each environment would
  keep its own moments).

:class:`SelectObservation` keeps some observation entries (partial observability);
:class:`FlattenObservation` turns image or structured (dict) observations into one vector.
:func:`~lagomjax.envs.registry.make` builds the standard stacks: ``make('CartPole-v1', num_envs=8)``.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from lagomjax._checks import check_int
from lagomjax.transform.ops import select_where
from lagomjax.transform.running_mean_var import MeanVarState, mean_var_init, mean_var_update

EPS = 1e-8


def batch_shape(space, obs) -> tuple:
    """Leading axes of ``obs`` beyond one observation of ``space`` (``()`` for a single environment);
    a Dict/Tuple space and its structured observations are read through their first part."""
    if isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        space, obs = _space_leaves(space)[0], jax.tree.leaves(obs)[0]
    return tuple(jnp.shape(obs)[: jnp.ndim(obs) - len(space.shape)])


def strong_types(tree):
    """``tree`` with weakly typed leaves (from Python scalars) made strongly typed, so a state from
    ``reset`` has the dtypes a stepped one has and a jitted rollout does not compile twice."""

    def strong(x):
        if isinstance(x, bool | int | float):  # a Python scalar in a state: an array of its default dtype
            return jnp.asarray(x, dtype=jnp.result_type(x))
        if getattr(x, "weak_type", False) or getattr(getattr(x, "aval", None), "weak_type", False):
            return jnp.asarray(x, dtype=x.dtype)
        return x

    return jax.tree.map(strong, tree)


class JaxEnv:
    """Base class: spaces describe one environment; subclasses implement ``reset`` and ``step``."""

    observation_space: gym.spaces.Space
    action_space: gym.spaces.Space

    def reset(self, key):
        raise NotImplementedError

    def step(self, key, state, action):
        raise NotImplementedError

    @property
    def unwrapped(self) -> JaxEnv:
        return self


def _without_rng(method, args_with_rng: int):
    """``method`` called with FuncEnv's arguments ``(..., rng, params)``: a method written without
    ``rng`` (gymnasium's own ``CliffWalkingFunctional``: ``observation(state, params)``) gets it dropped."""
    params = inspect.signature(method).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return method
    if sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= args_with_rng:
        return method
    return lambda *args: method(*args[:-2], args[-1])


class FuncEnvAdapter(JaxEnv):
    """A gymnasium ``FuncEnv`` (with its params) as a :class:`JaxEnv`. Never truncates by itself."""

    def __init__(self, func_env, params=None):
        self.func_env = func_env
        self.params = params if params is not None else func_env.get_default_params()
        self.observation_space = func_env.observation_space
        self.action_space = func_env.action_space
        self._observation = _without_rng(func_env.observation, 3)
        self._reward = _without_rng(func_env.reward, 5)
        self._terminal = _without_rng(func_env.terminal, 3)

    def reset(self, key):
        state = self.func_env.initial(key, self.params)
        return state, self._obs(state, key)

    def _obs(self, state, key):
        return jnp.asarray(self._observation(state, key, self.params), jnp.float32)

    def step(self, key, state, action):
        p = self.params
        next_state = self.func_env.transition(state, action, key, p)
        reward = jnp.asarray(self._reward(state, action, next_state, key, p), jnp.float32)
        terminated = jnp.asarray(self._terminal(next_state, key, p), bool)
        return next_state, self._obs(next_state, key), reward, terminated, jnp.zeros((), bool), {}


class Wrapper(JaxEnv):
    """Delegates to ``env``; subclasses override what they change."""

    def __init__(self, env: JaxEnv):
        if not isinstance(env, JaxEnv):
            hint = (
                f": for a gymnasium env use lagom's wrapper lagomjax.envs.{type(self).__name__}, if there is one"
                if isinstance(env, gym.Env | gym.vector.VectorEnv)
                else ""
            )
            raise TypeError(
                f"{type(self).__name__} is a functional (JAX) wrapper and needs a lagomjax JaxEnv, "
                f"got {type(env).__name__}{hint}"
            )
        self.env = env
        self.observation_space = env.observation_space
        self.action_space = env.action_space

    def reset(self, key):
        return self.env.reset(key)

    def step(self, key, state, action):
        return self.env.step(key, state, action)

    @property
    def unwrapped(self) -> JaxEnv:
        return self.env.unwrapped


@struct.dataclass
class TimeLimitState:
    inner: Any
    t: jnp.ndarray  # steps taken in the current episode


class TimeLimit(Wrapper):
    """``truncated`` once ``max_episode_steps`` steps have been taken (as gymnasium's ``TimeLimit``)."""

    def __init__(self, env, max_episode_steps: int):
        super().__init__(env)
        check_int("max_episode_steps", max_episode_steps, low=1)
        self.max_episode_steps = max_episode_steps

    def reset(self, key):
        inner, obs = self.env.reset(key)
        return TimeLimitState(inner, jnp.zeros(batch_shape(self.observation_space, obs), jnp.int32)), obs

    def step(self, key, state, action):
        inner, obs, reward, terminated, truncated, info = self.env.step(key, state.inner, action)
        t = state.t + 1
        return TimeLimitState(inner, t), obs, reward, terminated, truncated | (t >= self.max_episode_steps), info


class VmapEnv(Wrapper):
    """``num_envs`` copies of ``env`` stepped in lock-step (``jax.vmap``): everything gains an axis."""

    def __init__(self, env, num_envs: int):
        super().__init__(env)
        if num_envs <= 0:
            raise ValueError(f"num_envs must be > 0, got {num_envs}")
        self.num_envs = num_envs

    def reset(self, key):
        return jax.vmap(self.env.reset)(jax.random.split(key, self.num_envs))

    def step(self, key, state, action):
        leading = {np.shape(x)[:1] for x in jax.tree.leaves(action)}
        if leading != {(self.num_envs,)}:
            shapes = jax.tree.map(np.shape, action)
            raise ValueError(f"action must be batched over the {self.num_envs} envs [num_envs, ...], got {shapes}")
        return jax.vmap(self.env.step)(jax.random.split(key, self.num_envs), state, action)


class AutoReset(Wrapper):
    """Reset every environment whose episode ended, in the same step (no data-dependent shapes).

    The returned observation is the first of the new episode; ``info['next_obs']`` is always the
    true next observation (the episode's final observation where it ended), which is what
    bootstrapping at a truncation needs. ``terminated`` and ``truncated`` pass through unchanged.

    A step where any environment ended computes a reset for every environment and keeps those of
    the ones that ended; a step where none ended computes none (a ``lax.cond``; under an outer
    ``vmap``, as over seeds, it is a select again and both branches run). Where a
    reset costs far more than a step (Craftax generates a world: about 10x its step),
    ``reset_pool=k`` (on a :class:`VmapEnv`, ``1 <= k <= num_envs``) computes ``k`` fresh resets
    per step instead and hands them to the environments that ended, in order: each gets its own
    while at most ``k`` end in one step; beyond that, initial states repeat within that step (the
    "optimistic resets" of Craftax's baselines, which draw them with replacement).
    """

    def __init__(self, env, reset_pool: int | None = None):
        super().__init__(env)
        if reset_pool is not None:
            if not isinstance(env, VmapEnv):
                raise TypeError(f"reset_pool needs a batched env (make(..., num_envs=N)), got {type(env).__name__}")
            if isinstance(reset_pool, bool) or not isinstance(reset_pool, int) or not 1 <= reset_pool <= env.num_envs:
                raise ValueError(f"reset_pool must be an int in [1, num_envs={env.num_envs}], got {reset_pool!r}")
            reset_pool = None if reset_pool == env.num_envs else reset_pool
        self.reset_pool = reset_pool

    def _resets(self, key, done):
        if self.reset_pool is None:
            return self.env.reset(key)
        pool = jax.vmap(self.env.env.reset)(jax.random.split(key, self.reset_pool))
        slot = (jnp.cumsum(done) - 1) % self.reset_pool  # the i-th environment to end takes reset i (mod k)
        return jax.tree.map(lambda x: x[slot], pool)

    def step(self, key, state, action):
        k_step, k_reset = jax.random.split(key)
        state, obs, reward, terminated, truncated, info = self.env.step(k_step, state, action)
        done = terminated | truncated
        info = {**info, "next_obs": obs}

        def reset(carry):
            reset_state, reset_obs = self._resets(k_reset, done)
            return select_where(done, reset_state, carry[0]), select_where(done, reset_obs, carry[1])

        state, obs = jax.lax.cond(jnp.any(done), reset, lambda carry: carry, (state, obs))
        return state, obs, reward, terminated, truncated, info


@struct.dataclass
class EpisodeStatisticsState:
    inner: Any
    episode_return: jnp.ndarray
    episode_length: jnp.ndarray


class EpisodeStatistics(Wrapper):
    """Track undiscounted return and length; where an episode ends, ``info['episode_return']`` and
    ``info['episode_length']`` hold its totals and ``info['episode_done']`` is true."""

    def reset(self, key):
        inner, obs = self.env.reset(key)
        batch = batch_shape(self.observation_space, obs)
        return EpisodeStatisticsState(inner, jnp.zeros(batch, jnp.float32), jnp.zeros(batch, jnp.int32)), obs

    def step(self, key, state, action):
        inner, obs, reward, terminated, truncated, info = self.env.step(key, state.inner, action)
        ret = state.episode_return + reward
        length = state.episode_length + 1
        done = terminated | truncated
        info = {**info, "episode_return": ret, "episode_length": length, "episode_done": done}
        new = EpisodeStatisticsState(inner, jnp.where(done, 0.0, ret), jnp.where(done, 0, length))
        return new, obs, reward, terminated, truncated, info


@struct.dataclass
class NormalizeObservationState:
    inner: Any
    moments: MeanVarState


class NormalizeObservation(Wrapper):
    r"""``clip((obs - mean) / sqrt(var + 1e-8), -clip, clip)`` with running moments of every returned
    observation (one Chan update per step over the whole batch). ``info['next_obs']`` is normalised
    with the same moments. ``constant_moments=(mean, var)`` freezes them (evaluation)."""

    def __init__(self, env, clip: float = 5.0, constant_moments=None):
        super().__init__(env)
        self.clip = clip
        self.constant_moments = constant_moments

    def _moments(self, moments):
        if self.constant_moments is None:
            return moments.mean, moments.var
        return tuple(jnp.asarray(m, jnp.float32) for m in self.constant_moments)

    def normalize(self, moments, obs):
        mean, var = self._moments(moments)
        return jnp.clip((obs - mean) / jnp.sqrt(var + EPS), -self.clip, self.clip).astype(obs.dtype)

    def _update(self, moments, obs):
        if self.constant_moments is not None:
            return moments
        return mean_var_update(
            moments, jnp.reshape(obs, (-1, *self.observation_space.shape)).astype(moments.mean.dtype)
        )

    def reset(self, key):
        inner, obs = self.env.reset(key)
        moments = self._update(mean_var_init(self.observation_space.shape, jnp.float32), obs)
        return NormalizeObservationState(inner, moments), self.normalize(moments, obs)

    def step(self, key, state, action):
        inner, obs, reward, terminated, truncated, info = self.env.step(key, state.inner, action)
        moments = self._update(state.moments, obs)
        if "next_obs" in info:
            info = {**info, "next_obs": self.normalize(moments, info["next_obs"])}
        return (
            NormalizeObservationState(inner, moments),
            self.normalize(moments, obs),
            reward,
            terminated,
            truncated,
            info,
        )


@struct.dataclass
class NormalizeRewardState:
    inner: Any
    returns: jnp.ndarray  # running discounted return per environment
    moments: MeanVarState


class NormalizeReward(Wrapper):
    r"""``clip(r / sqrt(Var[G] + 1e-8), -clip, clip)`` where ``G <- r + gamma G`` is the running
    discounted return, reset to 0 at every episode end. No mean is subtracted (that would change
    the optimal policy). ``constant_var`` freezes the variance. The raw reward stays in
    ``info['raw_reward']``."""

    def __init__(self, env, clip: float = 10.0, gamma: float = 0.99, constant_var=None):
        super().__init__(env)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
        self.clip, self.gamma, self.constant_var = clip, gamma, constant_var

    def reset(self, key):
        inner, obs = self.env.reset(key)
        batch = batch_shape(self.observation_space, obs)
        return NormalizeRewardState(inner, jnp.zeros(batch, jnp.float32), mean_var_init((), jnp.float32)), obs

    def step(self, key, state, action):
        inner, obs, reward, terminated, truncated, info = self.env.step(key, state.inner, action)
        returns = reward + self.gamma * state.returns
        moments = state.moments
        if self.constant_var is None:
            moments = mean_var_update(moments, jnp.reshape(returns, (-1,)))
            var = moments.var
        else:
            var = jnp.asarray(self.constant_var, jnp.float32)
        scaled = jnp.clip(reward / jnp.sqrt(var + EPS), -self.clip, self.clip).astype(reward.dtype)
        returns = jnp.where(terminated | truncated, 0.0, returns)
        info = {**info, "raw_reward": reward}
        return NormalizeRewardState(inner, returns, moments), obs, scaled, terminated, truncated, info


class ClipAction(Wrapper):
    """Clip continuous actions to the action space's bounds."""

    def step(self, key, state, action):
        space = self.action_space
        return self.env.step(key, state, jnp.clip(action, space.low, space.high))


def rescale(action, low, high, to_low, to_high):
    """The affine map of ``[low, high]`` onto ``[to_low, to_high]`` applied to ``action`` (clipped to
    ``[low, high]`` first): how a policy's ``[-1, 1]`` action becomes the environment's."""
    frac = (jnp.clip(action, low, high) - low) / (high - low)
    return to_low + frac * (to_high - to_low)


class RescaleAction(Wrapper):
    """Accept actions in ``[low, high]`` (default ``[-1, 1]``) and map them affinely onto the action space."""

    def __init__(self, env, low: float = -1.0, high: float = 1.0):
        super().__init__(env)
        inner = env.action_space
        if not (isinstance(inner, gym.spaces.Box) and np.issubdtype(inner.dtype, np.floating)):
            raise TypeError(
                f"RescaleAction rescales continuous (float Box) actions, got {inner}"
                + (": an integer Box is a discrete choice, give the env a Discrete action space"
                   if isinstance(inner, gym.spaces.Box) else "")
            )  # fmt: skip
        self.inner_low, self.inner_high = np.asarray(inner.low), np.asarray(inner.high)
        self.low, self.high = low, high
        self.action_space = gym.spaces.Box(low, high, inner.shape, inner.dtype)

    def to_inner(self, action):
        """``action`` in ``[low, high]`` (clipped there) as an action of the wrapped space."""
        return rescale(action, self.low, self.high, self.inner_low, self.inner_high)

    def step(self, key, state, action):
        return self.env.step(key, state, self.to_inner(action))


class SelectObservation(Wrapper):
    """Keep only the observation entries ``indices`` (last axis): e.g. CartPole without its velocities,
    a partially observable task for recurrent policies. ``info['next_obs']`` is cut the same way."""

    def __init__(self, env, indices):
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"SelectObservation needs a 1-D Box observation space, got {space}")
        self.indices = np.asarray(indices, np.int32)
        if self.indices.ndim != 1 or not np.all((0 <= self.indices) & (self.indices < space.shape[0])):
            raise ValueError(f"indices must be a 1-D list of entries of [0, {space.shape[0]}), got {indices!r}")
        self.observation_space = gym.spaces.Box(space.low[self.indices], space.high[self.indices], dtype=space.dtype)

    def reset(self, key):
        state, obs = self.env.reset(key)
        return state, obs[..., self.indices]

    def step(self, key, state, action):
        state, obs, reward, terminated, truncated, info = self.env.step(key, state, action)
        if "next_obs" in info:
            info = {**info, "next_obs": info["next_obs"][..., self.indices]}
        return state, obs[..., self.indices], reward, terminated, truncated, info


class FlattenObservation(Wrapper):
    """Observations as one float32 vector: a ``Box`` of any rank is reshaped, a ``Dict``/``Tuple`` of
    Boxes (structured observations) has its parts flattened and concatenated in
    ``jax.tree.leaves`` order (dict keys sorted). ``info['next_obs']`` is flattened the same way.
    The algorithms add it for an MLP torso on image or structured observations."""

    def __init__(self, env):
        super().__init__(env)
        leaves = _space_leaves(env.observation_space)
        if not leaves or not all(isinstance(b, gym.spaces.Box) for b in leaves):
            raise TypeError(f"FlattenObservation needs Box observations (or a Dict/Tuple of them), got "
                            f"{env.observation_space}")  # fmt: skip
        low = np.concatenate([np.asarray(b.low, np.float32).ravel() for b in leaves])
        high = np.concatenate([np.asarray(b.high, np.float32).ravel() for b in leaves])
        self.observation_space = gym.spaces.Box(low, high, low.shape, np.float32)

    def flatten(self, obs):
        parts = jax.tree.leaves(obs)
        batch = batch_shape(self.env.observation_space, obs)
        return jnp.concatenate([jnp.reshape(x, (*batch, -1)).astype(jnp.float32) for x in parts], axis=-1)

    def reset(self, key):
        state, obs = self.env.reset(key)
        return state, self.flatten(obs)

    def step(self, key, state, action):
        state, obs, reward, terminated, truncated, info = self.env.step(key, state, action)
        if "next_obs" in info:
            info = {**info, "next_obs": self.flatten(info["next_obs"])}
        return state, self.flatten(obs), reward, terminated, truncated, info


def _space_leaves(space) -> list:
    """The leaf spaces of a (possibly Dict/Tuple) gymnasium space in the order ``jax.tree.leaves``
    gives its observations' parts (dict keys sorted)."""

    def tree(space):
        if isinstance(space, gym.spaces.Dict):
            return {k: tree(v) for k, v in space.spaces.items()}
        if isinstance(space, gym.spaces.Tuple):
            return tuple(tree(v) for v in space.spaces)
        return space

    return jax.tree.leaves(tree(space), is_leaf=lambda x: isinstance(x, gym.spaces.Space))
