"""Adapters that put existing JAX environment suites behind lagomjax's environment interface and
registry, each an optional extra; their ids are ``<suite>:<the suite's own id>`` and register on first
use (``envs.make("gymnax:Breakout-MinAtar", num_envs=64)``). The suites' own auto-reset is bypassed:
lagomjax's :class:`~lagomjax.envs.AutoReset` keeps the true final observation, and ``terminated``
stays apart from ``truncated``.

- ``gymnax:`` (``pip install "lagomjax[gymnax]"``): classic control, MinAtar, bsuite, misc.
"""

from lagomjax.envs.registry import register_suite
from lagomjax.envs.suites import gymnax as _gymnax

register_suite(_gymnax.SUITE)
