"""gymnasium wrappers for lagom's Python path (any gymnasium environment: MuJoCo, Atari, your own)."""

from __future__ import annotations

import time
from collections import deque

import gymnasium as gym
import numpy as np

from lagomjax.data import StepType, TimeStep
from lagomjax.envs.functional import JaxEnv
from lagomjax.transform import RunningMeanVar

_FUNCTIONAL = {  # what a functional env uses instead of each of lagom's gymnasium wrappers
    "RecordEpisodeStatistics": "lagomjax.envs.functional.EpisodeStatistics (envs.make adds it)",
    "NormalizeObservation": "lagomjax.envs.functional.NormalizeObservation (or envs.make(..., normalize_obs=True))",
    "NormalizeReward": "lagomjax.envs.functional.NormalizeReward (or envs.make(..., normalize_reward=True))",
    "TimeStepEnv": "its own reset/step (functional envs return terminated and truncated apart)",
}


def _check_gym(wrapper, env) -> None:
    """lagom's wrappers wrap gymnasium envs; a functional JaxEnv gets a clear error."""
    if isinstance(env, JaxEnv):
        name = type(wrapper).__name__
        raise TypeError(
            f"{name} is lagom's gymnasium wrapper, got a functional {type(env).__name__}: use {_FUNCTIONAL[name]}"
        )
    if not isinstance(env, gym.Env):
        raise TypeError(f"{type(wrapper).__name__} wraps a gymnasium.Env, got {type(env).__name__}")


class RecordEpisodeStatistics(gym.Wrapper):
    """``episode_return`` and ``episode_horizon`` of the running episode (as lagom); at each episode
    end ``info['episode'] = {'return', 'horizon', 'time'}``, the last ``deque_size`` returns and
    horizons are kept in ``return_queue`` / ``horizon_queue``, and the running values restart at 0."""

    def __init__(self, env, deque_size=100):
        _check_gym(self, env)
        super().__init__(env)
        self.return_queue = deque(maxlen=deque_size)
        self.horizon_queue = deque(maxlen=deque_size)
        self.episode_return, self.episode_horizon, self._t0 = 0.0, 0, time.perf_counter()

    def reset(self, **kwargs):
        self.episode_return, self.episode_horizon = 0.0, 0
        self._t0 = time.perf_counter()
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        self.episode_horizon += 1
        if terminated or truncated:
            episode = {
                "return": self.episode_return,
                "horizon": self.episode_horizon,
                "time": time.perf_counter() - self._t0,
            }
            info = {**info, "episode": episode}
            self.return_queue.append(self.episode_return)
            self.horizon_queue.append(self.episode_horizon)
            self.episode_return, self.episode_horizon = 0.0, 0
        return obs, reward, terminated, truncated, info


class NormalizeObservation(gym.ObservationWrapper):
    """``clip((obs - mean) / sqrt(var + 1e-8))`` with running moments (float64, ``RunningMeanVar``);
    ``constant_moments=(mean, var)`` freezes them."""

    def __init__(self, env, clip=5.0, constant_moments=None):
        _check_gym(self, env)
        super().__init__(env)
        self.clip = clip
        self.constant_moments = constant_moments
        self.obs_moments = RunningMeanVar(shape=env.observation_space.shape)

    def observation(self, observation):
        if self.constant_moments is None:
            self.obs_moments([observation])
            mean, var = self.obs_moments.mean, self.obs_moments.var
        else:
            mean, var = self.constant_moments
        out = np.clip((observation - mean) / np.sqrt(var + 1e-8), -self.clip, self.clip)
        return out.astype(np.asarray(observation).dtype)


class NormalizeReward(gym.Wrapper):
    """``clip(r / sqrt(Var[G] + 1e-8))`` with ``G <- r + gamma G`` the running discounted return,
    reset to 0 at every episode end; no mean is subtracted. ``constant_var`` freezes the variance."""

    def __init__(self, env, clip=10.0, gamma=0.99, constant_var=None):
        _check_gym(self, env)
        super().__init__(env)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
        self.clip, self.gamma, self.constant_var = clip, gamma, constant_var
        self.reward_moments = RunningMeanVar(shape=())
        self.all_returns = 0.0

    def reset(self, **kwargs):
        self.all_returns = 0.0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.all_returns = reward + self.gamma * self.all_returns
        if self.constant_var is None:
            self.reward_moments([self.all_returns])
            var = self.reward_moments.var
        else:
            var = self.constant_var
        if terminated or truncated:
            self.all_returns = 0.0
        scaled = float(np.clip(reward / np.sqrt(var + 1e-8), -self.clip, self.clip))
        return obs, scaled, terminated, truncated, {**info, "raw_reward": reward}


class TimeStepEnv(gym.Wrapper):
    """Returns lagom's :class:`~lagomjax.data.TimeStep` from ``reset`` and ``step``. It never
    auto-resets, so the last time step carries the true last observation.

    The env's ``info`` passes through unchanged, except on the step that cuts an episode without
    reaching a terminal, which gets ``info['TimeLimit.truncated'] = True`` (as lagom), so
    ``traj.get_infos('TimeLimit.truncated')`` has one entry per truncated episode.
    """

    def __init__(self, env):
        _check_gym(self, env)
        super().__init__(env)

    def reset(self, **kwargs) -> TimeStep:
        obs, info = self.env.reset(**kwargs)
        return TimeStep(StepType.FIRST, obs, None, None, dict(info))

    def step(self, action) -> TimeStep:
        obs, reward, terminated, truncated, info = self.env.step(action)
        done = bool(terminated or truncated)
        if truncated and not terminated:
            info = {**info, "TimeLimit.truncated": True}
        return TimeStep(StepType.LAST if done else StepType.MID, obs, float(reward), done, info)


def flatten_observations(env: gym.Env) -> gym.Env:
    """``env`` with observations the algorithms' networks read, a vector: an observation space that
    is not a ``Box`` (``Discrete``: FrozenLake, Taxi; ``Tuple``: Blackjack; ``Dict``, ``MultiDiscrete``)
    goes through gymnasium's ``FlattenObservation`` (discrete parts one-hot, then concatenated), as
    SB3 does for its policies. ``Box`` observations are left as they are."""
    if isinstance(env.observation_space, gym.spaces.Box):
        return env
    return gym.wrappers.FlattenObservation(env)


def play_episode(env_id: str, act, seed: int, render: bool = False, max_steps: int | None = None, **make_kwargs):
    """One episode of gymnasium's ``env_id`` with ``act(obs, policy_state) -> (action, policy_state)``
    in the algorithms' convention (observations as :func:`flatten_observations` gives them, Box actions
    in ``[-1, 1]``, rescaled onto the env's bounds; the first call gets ``policy_state=None``).
    Returns ``(return, length, frames)``: with ``render`` the env's ``rgb_array`` frames (the first
    after reset, then one per step; MuJoCo needs ``MUJOCO_GL=egl`` or ``osmesa`` on a machine without
    a display), else ``[]``."""
    env = flatten_observations(gym.make(env_id, render_mode="rgb_array" if render else None, **make_kwargs))
    if isinstance(env.action_space, gym.spaces.Box):
        env = gym.wrappers.RescaleAction(env, np.float32(-1), np.float32(1))
    obs, _ = env.reset(seed=int(seed))
    frames = [np.asarray(env.render())] if render else []
    total, length, pstate, done = 0.0, 0, None, False
    while not done and (max_steps is None or length < max_steps):
        action, pstate = act(np.asarray(obs, np.float32), pstate)
        action = np.asarray(action)
        if isinstance(env.action_space, gym.spaces.Box):
            action = action.astype(env.action_space.dtype)
        elif isinstance(env.action_space, gym.spaces.Discrete):
            action = int(action)  # toy-text envs index dicts with it (a 0-d array is unhashable)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, length, done = total + float(reward), length + 1, bool(terminated or truncated)
        if render:
            frames.append(np.asarray(env.render()))
    env.close()
    return total, length, frames
