"""Environments: jittable functional environments with pure wrappers, a registry, a scanned
``rollout`` and ``evaluate`` (the JAX path), and gymnasium wrappers for lagom's Python path (any
gymnasium env).

The gymnasium wrappers ``NormalizeObservation`` / ``NormalizeReward`` live in
``lagomjax.envs.gym_wrappers`` (exported here as ``GymNormalizeObservation`` / ``GymNormalizeReward``);
the names ``NormalizeObservation`` / ``NormalizeReward`` here are the functional ones.
"""

from lagomjax.envs import classic_control  # noqa: F401  (registers CartPole-v1, CartPoleNoVel-v1, Pendulum-v1)
from lagomjax.envs.functional import (
    AutoReset,
    ClipAction,
    EpisodeStatistics,
    FuncEnvAdapter,
    JaxEnv,
    NormalizeObservation,
    NormalizeReward,
    RescaleAction,
    SelectObservation,
    TimeLimit,
    VmapEnv,
)
from lagomjax.envs.gym_wrappers import NormalizeObservation as GymNormalizeObservation
from lagomjax.envs.gym_wrappers import NormalizeReward as GymNormalizeReward
from lagomjax.envs.gym_wrappers import RecordEpisodeStatistics, TimeStepEnv
from lagomjax.envs.registry import EnvSpec, is_registered, make, register, registered, spec, time_limit
from lagomjax.envs.rollout import Rollout, evaluate, random_policy, rollout

__all__ = [
    "AutoReset",
    "ClipAction",
    "EnvSpec",
    "EpisodeStatistics",
    "FuncEnvAdapter",
    "GymNormalizeObservation",
    "GymNormalizeReward",
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
    "is_registered",
    "make",
    "random_policy",
    "register",
    "registered",
    "rollout",
    "spec",
    "time_limit",
]
