"""lagom's runners for the Python path: collect ``Trajectory`` s from gymnasium environments.

Single environments must be wrapped in :class:`~lagomjax.envs.gym_wrappers.TimeStepEnv`. gymnasium
vector environments are supported too (one batched agent call per step, trajectories split per
sub-environment); they must auto-reset in the same step (``autoreset_mode=SAME_STEP``) so that the
true final observation is available in ``info['final_obs']``.

At every trajectory end, finished or cut by the runner, the agent is called once more on the true
last observation with ``last_info=True``, and its whole output is stored in
``traj.extra_info['last_info']``: that is where a bootstrap value comes from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import gymnasium as gym
import numpy as np

from lagomjax.data import StepType, TimeStep, Trajectory
from lagomjax.envs.gym_wrappers import TimeStepEnv


class BaseRunner(ABC):
    @abstractmethod
    def __call__(self, agent, env, *args, **kwargs) -> list[Trajectory]: ...


def _close(traj: Trajectory, agent, timestep: TimeStep, **kwargs) -> Trajectory:
    traj.extra_info["last_info"] = dict(agent.choose_action(timestep, last_info=True, **kwargs))
    return traj


def _act(agent, env, timestep, traj, **kwargs) -> TimeStep:
    out = dict(agent.choose_action(timestep, **kwargs))
    action = out.pop("raw_action")
    timestep = env.step(action)
    timestep.info = {**timestep.info, **out}
    traj.add(timestep, action)
    return timestep


def _check_single(env) -> bool:
    """True for a single TimeStepEnv, False for a vector env; anything else is an error."""
    if isinstance(env, gym.vector.VectorEnv):
        return False
    if not isinstance(env, TimeStepEnv):
        raise TypeError(f"wrap a single environment in lagomjax.envs.TimeStepEnv (outermost), got {type(env).__name__}")
    return True


class EpisodeRunner(BaseRunner):
    """``runner(agent, env, N) -> N`` finished episodes (FIRST, MID..., LAST)."""

    def __call__(self, agent, env, N, **kwargs) -> list[Trajectory]:
        if N <= 0:
            raise ValueError(f"N must be > 0, got {N}")
        if not _check_single(env):
            return _VectorCollector(agent, env, kwargs).collect(episodes=N)
        D = []
        for _ in range(N):
            traj = Trajectory()
            timestep = env.reset()
            traj.add(timestep, None)
            while not timestep.last():
                timestep = _act(agent, env, timestep, traj, **kwargs)
            D.append(_close(traj, agent, timestep, **kwargs))
        return D


class StepRunner(BaseRunner):
    """``runner(agent, env, T)``: exactly ``T`` steps (per sub-environment for vector envs), as
    trajectories; an episode that ends is followed by a new one. With ``reset_on_call=False`` the
    next call continues the episode where this one stopped (its first piece starts with a ``FIRST``
    time step holding the current observation and ``info['continued'] = True``)."""

    def __init__(self, reset_on_call=True):
        self.reset_on_call = reset_on_call
        self.timestep = None
        self._collector = None

    @property
    def observation(self):
        """The observation the next call continues from: ``None`` if it will reset (``reset_on_call``,
        nothing collected yet, or the last episode ended); a batch for a vector env."""
        if self.reset_on_call:
            return None
        if self._collector is not None:
            return self._collector.obs
        return None if self.timestep is None or self.timestep.last() else self.timestep.observation

    def __call__(self, agent, env, T, **kwargs) -> list[Trajectory]:
        if T <= 0:
            raise ValueError(f"T must be > 0, got {T}")
        if not _check_single(env):
            if self.reset_on_call or self._collector is None:
                self._collector = _VectorCollector(agent, env, kwargs)
            self._collector.agent, self._collector.kwargs = agent, kwargs
            return self._collector.collect(steps=T)
        D = []
        traj = Trajectory()
        if self.reset_on_call or self.timestep is None or self.timestep.last():
            timestep = env.reset()
        else:
            timestep = TimeStep(StepType.FIRST, self.timestep.observation, None, None, {"continued": True})
        traj.add(timestep, None)
        for _ in range(T):
            timestep = _act(agent, env, timestep, traj, **kwargs)
            if timestep.last():
                D.append(_close(traj, agent, timestep, **kwargs))
                traj = Trajectory()
                timestep = env.reset()
                traj.add(timestep, None)
        if traj.T > 0:
            D.append(_close(traj, agent, timestep, **kwargs))
        self.timestep = timestep
        return D


class _VectorCollector:
    """Per-sub-environment trajectories from a same-step auto-resetting gymnasium vector env."""

    def __init__(self, agent, env, kwargs):
        mode = env.metadata.get("autoreset_mode")
        if mode is not None and getattr(mode, "name", str(mode)) != "SAME_STEP":
            raise ValueError(
                "vector environments must auto-reset in the same step: "
                "create them with vectorization_mode=... and vector_kwargs={'autoreset_mode': "
                f"gym.vector.AutoresetMode.SAME_STEP}}, got autoreset_mode={mode}"
            )
        self.agent, self.env, self.kwargs = agent, env, kwargs
        obs, _ = env.reset()
        self.obs = obs
        self.trajs = [self._start(o, i) for i, o in enumerate(obs)]

    @staticmethod
    def _start(obs, index, info=None):
        """A new trajectory of sub-environment ``index`` (kept in ``extra_info['env_index']``)."""
        traj = Trajectory()
        traj.add(TimeStep(StepType.FIRST, obs, None, None, info or {}), None)
        traj.extra_info["env_index"] = index
        return traj

    def _close_all(self, pieces, obs_batch):
        """Bootstrap info for trajectories cut by the runner: one batched agent call."""
        out = dict(self.agent.choose_action(obs_batch, last_info=True, **self.kwargs))
        for i, traj in pieces:
            traj.extra_info["last_info"] = {k: v[i] for k, v in out.items()}

    def collect(self, steps=None, episodes=None) -> list[Trajectory]:
        env, n = self.env, self.env.num_envs
        D, t = [], 0
        while (steps is not None and t < steps) or (episodes is not None and len(D) < episodes):
            out = dict(self.agent.choose_action(self.obs, **self.kwargs))
            actions = out.pop("raw_action")
            obs, rewards, terminated, truncated, info = env.step(actions)
            done = np.logical_or(terminated, truncated)
            final_obs = np.asarray([info["final_obs"][i] if done[i] else obs[i] for i in range(n)])
            finished = []
            for i in range(n):
                step_info = {k: v[i] for k, v in out.items()}
                step_info.update(terminated=bool(terminated[i]), truncated=bool(truncated[i]))
                if truncated[i] and not terminated[i]:
                    step_info["TimeLimit.truncated"] = True
                step_type = StepType.LAST if done[i] else StepType.MID
                ts = TimeStep(step_type, final_obs[i], float(rewards[i]), bool(done[i]), step_info)
                self.trajs[i].add(ts, actions[i])
                if done[i]:
                    finished.append(i)
            if finished:
                self._close_all([(i, self.trajs[i]) for i in finished], final_obs)
                for i in finished:
                    D.append(self.trajs[i])
                    self.trajs[i] = self._start(obs[i], i)
            self.obs = obs
            t += 1
        if episodes is not None:
            return D[:episodes]
        # cut the unfinished pieces, which continue in the next call
        pieces = [(i, traj) for i, traj in enumerate(self.trajs) if traj.T > 0]
        if pieces:
            self._close_all(pieces, self.obs)
            D.extend(traj for _, traj in pieces)
            self.trajs = [
                self._start(o, i, {"continued": True}) if traj.T > 0 else traj
                for i, (o, traj) in enumerate(zip(self.obs, self.trajs, strict=True))
            ]
        return D
