"""Adapters that put existing JAX environment suites behind lagomjax's environment interface and
registry, each an optional extra; their ids are ``<suite>:<the suite's own id>`` and register on first
use (``envs.make("gymnax:Breakout-MinAtar", num_envs=64)``). The suites' own auto-reset is bypassed:
lagomjax's :class:`~lagomjax.envs.AutoReset` keeps the true final observation, and ``terminated``
stays apart from ``truncated``.

- ``gymnax:`` (``pip install "lagomjax[gymnax]"``): classic control, MinAtar, bsuite, misc.
- ``craftax:`` (``pip install "lagomjax[craftax]"``): Craftax and Craftax-Classic, symbolic or pixels.
- ``brax:`` (``pip install "lagomjax[brax]"``): brax's MuJoCo-class locomotion on MJX.
- ``playground:`` (``pip install "lagomjax[playground]"``): MuJoCo Playground's DeepMind Control Suite
  on MJX (``playground:CartpoleSwingup``, ``playground:WalkerWalk``, ...).
- ``jumanji:`` (``pip install "lagomjax[jumanji]"``): Jumanji's games and combinatorial problems.
"""

from lagomjax.envs.registry import register_suite
from lagomjax.envs.suites import brax as _brax
from lagomjax.envs.suites import gymnax as _gymnax
from lagomjax.envs.suites import jumanji as _jumanji
from lagomjax.envs.suites import playground as _playground

register_suite(_gymnax.SUITE)
register_suite(_gymnax.CRAFTAX)
register_suite(_brax.SUITE)
register_suite(_jumanji.SUITE)
register_suite(_playground.SUITE)
