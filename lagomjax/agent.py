"""lagom's agent interface for the Python path: ``BaseAgent`` and ``RandomAgent``."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class BaseAgent(ABC):
    """An agent: ``choose_action(x) -> dict`` with at least ``'raw_action'`` (what the environment
    takes) plus any extras (log-probs, values, ...), and ``learn(D) -> dict`` of statistics.

    ``x`` is a :class:`~lagomjax.data.TimeStep` for a single environment, or the batched
    observations ``[num_envs, ...]`` of a gymnasium vector environment.
    """

    def __init__(self, config, env, **kwargs):
        self.config = config
        self.env = env
        self.info = {}
        for k, v in kwargs.items():
            setattr(self, k, v)

    @abstractmethod
    def choose_action(self, x, **kwargs) -> dict: ...

    @abstractmethod
    def learn(self, D, **kwargs) -> dict: ...


class RandomAgent(BaseAgent):
    """Samples uniformly from the environment's action space (one action per sub-environment of a
    vector environment), whatever ``x`` is (a TimeStep or a raw observation). Seed it through
    ``env.action_space.seed``."""

    def choose_action(self, x, **kwargs) -> dict:
        return {"raw_action": self.env.action_space.sample()}

    def learn(self, D, **kwargs) -> dict:
        return {"num_trajectories": len(D), "num_steps": int(np.sum([traj.T for traj in D]))}
