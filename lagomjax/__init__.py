"""lagomjax: a JAX-first functional toolkit for reinforcement-learning research (lagom, re-designed)."""

from lagomjax import agent, data, engine, envs, es, metric, networks, runner, transform, utils
from lagomjax.logger import Logger

__version__ = "0.1.0"

__all__ = [
    "Logger",
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
