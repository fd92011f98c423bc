"""Environments: jittable functional environments with pure wrappers and a scanned ``rollout``
(the JAX path), and gymnasium wrappers for lagom's Python path (any gymnasium env).

The gymnasium wrappers ``NormalizeObservation`` / ``NormalizeReward`` live in
``lagomjax.envs.gym_wrappers`` (exported here as ``GymNormalizeObservation`` / ``GymNormalizeReward``);
the names ``NormalizeObservation`` / ``NormalizeReward`` here are the functional ones.
"""

from lagomjax.envs.functional import (
    AutoReset,
    ClipAction,
    EpisodeStatistics,
    FuncEnvAdapter,
    JaxEnv,
    NormalizeObservation,
    NormalizeReward,
    RescaleAction,
    TimeLimit,
    VmapEnv,
    make,
)
from lagomjax.envs.gym_wrappers import NormalizeObservation as GymNormalizeObservation
from lagomjax.envs.gym_wrappers import NormalizeReward as GymNormalizeReward
from lagomjax.envs.gym_wrappers import RecordEpisodeStatistics, TimeStepEnv
from lagomjax.envs.rollout import Rollout, random_policy, rollout

__all__ = [
    "AutoReset",
    "ClipAction",
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
    "TimeLimit",
    "TimeStepEnv",
    "VmapEnv",
    "make",
    "random_policy",
    "rollout",
]
