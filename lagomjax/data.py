"""lagom's data containers for the Python path: ``StepType``, ``TimeStep`` and ``Trajectory``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np


class StepType(IntEnum):
    """Where a :class:`TimeStep` lies in an episode (as dm_env)."""

    FIRST = 0
    MID = 1
    LAST = 2


@dataclass
class TimeStep:
    """One environment step: the observation reached, the reward received on the way, whether the
    episode is over, and the step's info.

    A ``LAST`` step is either *terminal* (a true MDP terminal) or a *time limit* (truncation:
    ``info['TimeLimit.truncated']``); the two are told apart by :meth:`terminal` and :meth:`time_limit`.
    """

    step_type: StepType
    observation: Any
    reward: float | None
    done: bool | None
    info: dict = field(default_factory=dict)

    def first(self) -> bool:
        return self.step_type == StepType.FIRST

    def mid(self) -> bool:
        return self.step_type == StepType.MID

    def last(self) -> bool:
        return self.step_type == StepType.LAST

    def time_limit(self) -> bool:
        """Last step, ended by truncation (and not by reaching a terminal)."""
        return self.last() and bool(self.info.get("TimeLimit.truncated", False))

    def terminal(self) -> bool:
        """Last step, ended by reaching a terminal state."""
        return self.last() and not self.time_limit()


class Trajectory:
    """One episode, or a piece of one: a sequence of ``T + 1`` time steps and the ``T`` actions
    between them (``len(traj) == T + 1``; ``traj[i]``, slices and iteration give time steps).

    Add the ``FIRST`` step with ``action=None``, then each following step with the action that led
    to it. ``extra_info`` holds what the runner adds, e.g. ``extra_info['last_info']``, the agent's
    output on the last observation (for a bootstrap value).
    """

    def __init__(self):
        self.timesteps: list[TimeStep] = []
        self._actions: list = []
        self.extra_info: dict = {}

    def add(self, timestep: TimeStep, action) -> None:
        if self.finished:
            raise ValueError("cannot add to a finished trajectory")
        if not self.timesteps and not timestep.first():
            raise ValueError("a trajectory must start with a FIRST time step")
        if self.timesteps and timestep.first():
            raise ValueError("only the first time step of a trajectory may be FIRST")
        if not self.timesteps and action is not None:
            raise ValueError(f"the FIRST time step is added with action=None, got {action!r}")
        if self.timesteps and action is None:
            raise ValueError("a time step after the first needs the action that led to it, got action=None")
        if self.timesteps:
            self._actions.append(action)
        self.timesteps.append(timestep)

    def __len__(self) -> int:
        return len(self.timesteps)

    def __getitem__(self, index):
        return self.timesteps[index]

    def __iter__(self):
        return iter(self.timesteps)

    @property
    def transitions(self) -> list[list]:
        """``[observation, action, next_observation, reward, done]`` for each of the ``T`` steps."""
        ts = self.timesteps
        return [[ts[t].observation, self._actions[t], ts[t + 1].observation, ts[t + 1].reward, ts[t + 1].done]
                for t in range(self.T)]  # fmt: skip

    @property
    def T(self) -> int:
        """Number of transitions (``len(self) - 1``)."""
        return max(0, len(self.timesteps) - 1)

    @property
    def observations(self) -> np.ndarray:
        """``[T + 1, ...]``, including the last observation reached (the true one, never a reset)."""
        return np.asarray([ts.observation for ts in self.timesteps])

    @property
    def actions(self) -> np.ndarray:
        return np.asarray(self._actions)

    @property
    def rewards(self) -> np.ndarray:
        return np.asarray([ts.reward for ts in self.timesteps[1:]], dtype=np.float32)

    @property
    def dones(self) -> np.ndarray:
        return np.asarray([ts.done for ts in self.timesteps[1:]], dtype=bool)

    @property
    def infos(self) -> list[dict]:
        return [ts.info for ts in self.timesteps[1:]]

    def get_infos(self, key) -> list:
        """``info[key]`` of every step (after the first) that has it."""
        return [info[key] for info in self.infos if key in info]

    @property
    def finished(self) -> bool:
        return bool(self.timesteps) and self.timesteps[-1].last()

    @property
    def reach_terminal(self) -> bool:
        return bool(self.timesteps) and self.timesteps[-1].terminal()

    @property
    def reach_time_limit(self) -> bool:
        return bool(self.timesteps) and self.timesteps[-1].time_limit()

    def __repr__(self):
        return f"Trajectory(T={self.T}, finished={self.finished}, reach_terminal={self.reach_terminal})"
