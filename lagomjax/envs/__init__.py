"""Environments: jittable functional environments with pure wrappers, a registry, a scanned
``rollout`` and ``evaluate`` (the JAX path), and gymnasium wrappers for lagom's Python path (any
gymnasium env).

``NormalizeObservation``, ``NormalizeReward``, ``RecordEpisodeStatistics`` and ``TimeStepEnv`` here
are lagom's gymnasium wrappers (``lagomjax.envs.gym_wrappers``). The functional (JAX) wrappers of the
same purpose live in ``lagomjax.envs.functional`` (``functional.NormalizeObservation``, ...; ``make``
adds them). Each kind refuses the other kind of environment with a ``TypeError``.
"""

from lagomjax.envs import (
    classic_control,  # noqa: F401  (registers CartPole-v1, CartPoleNoVel-v1, Pendulum-v1)
    functional,
    suites,  # noqa: F401  (makes the suites' ids, e.g. gymnax:Breakout-MinAtar, resolvable)
)
from lagomjax.envs.functional import (
    AutoReset,
    ClipAction,
    EpisodeStatistics,
    FlattenObservation,
    FuncEnvAdapter,
    JaxEnv,
    RescaleAction,
    SelectObservation,
    TimeLimit,
    VmapEnv,
)
from lagomjax.envs.gym_wrappers import NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, TimeStepEnv
from lagomjax.envs.registry import EnvSpec, is_registered, make, register, registered, spec, time_limit
from lagomjax.envs.rollout import Rollout, evaluate, random_policy, rollout

__all__ = [
    "AutoReset",
    "ClipAction",
    "EnvSpec",
    "EpisodeStatistics",
    "FlattenObservation",
    "FuncEnvAdapter",
    "JaxEnv",
    "NormalizeObservation",
    "NormalizeReward",
    "RecordEpisodeStatistics",
    "RescaleAction",
    "Rollout",
    "SelectObservation",
    "TimeLimit",
    "TimeStepEnv",
    "VmapEnv",
    "evaluate",
    "functional",
    "is_registered",
    "make",
    "random_policy",
    "register",
    "registered",
    "rollout",
    "spec",
    "time_limit",
]
