"""lagomjax: a JAX-first functional toolkit for reinforcement-learning research (lagom, re-designed)."""

from lagomjax import es, metric, networks, transform, utils
from lagomjax.logger import Logger

__version__ = "0.1.0"

__all__ = ["Logger", "es", "metric", "networks", "transform", "utils", "__version__"]
