"""lagomjax: a JAX-first functional toolkit for reinforcement-learning research (lagom, re-designed)."""

from lagomjax import agent, data, engine, envs, es, metric, networks, runner, transform, utils
from lagomjax.agent import BaseAgent, RandomAgent
from lagomjax.data import StepType, TimeStep, Trajectory
from lagomjax.engine import BaseEngine
from lagomjax.es import CEM, CMAES, BaseES
from lagomjax.logger import Logger
from lagomjax.runner import BaseRunner, EpisodeRunner, StepRunner

__version__ = "0.1.0"

__all__ = [
    "CEM",
    "CMAES",
    "BaseAgent",
    "BaseES",
    "BaseEngine",
    "BaseRunner",
    "EpisodeRunner",
    "Logger",
    "RandomAgent",
    "StepRunner",
    "StepType",
    "TimeStep",
    "Trajectory",
    "agent",
    "data",
    "engine",
    "envs",
    "es",
    "metric",
    "networks",
    "runner",
    "transform",
    "utils",
    "__version__",
]
