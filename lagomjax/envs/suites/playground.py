"""MuJoCo Playground's DeepMind Control Suite behind the registry as ``playground:<name>``
(``CartpoleSwingup``, ``CheetahRun``, ``WalkerWalk``, ``ReacherEasy``, ...; physics on MJX).

The tasks are the DM Control Suite's, re-implemented on MJX by MuJoCo Playground: rewards in [0, 1]
per step, 1000-step episodes, so returns lie in [0, 1000]. The bare environment is stepped (none of
Playground's training wrappers, whose auto-reset keeps no final observation), so ``terminated`` is
the environment's own ``done`` (the physics went non-finite; DM Control tasks never end otherwise)
and truncation is lagomjax's :class:`~lagomjax.envs.TimeLimit` at the task's ``episode_length``.
``make`` keyword arguments override the task's config (e.g. ``ctrl_dt``; the time limit is
``make``'s ``max_episode_steps``); ``impl`` defaults to ``"jax"`` (MJX's pure-JAX pipeline, which
runs on CPU; Playground's default, ``"warp"``, needs an NVIDIA GPU). Videos are drawn by MuJoCo's
renderer (headless: ``MUJOCO_GL=egl``).
"""

from __future__ import annotations

from lagomjax.envs.registry import EnvSpec, Suite, register
from lagomjax.envs.suites.brax import BraxEnv, mujoco_render


def _ids() -> list[str]:
    from mujoco_playground import dm_control_suite

    return sorted(dm_control_suite.ALL_ENVS)


def _register(name: str) -> EnvSpec:
    from mujoco_playground import dm_control_suite

    def make_fn(**overrides):
        overrides = {"impl": "jax", **overrides}
        return BraxEnv(dm_control_suite.load(name, config_overrides=overrides))  # same State protocol as brax

    config = dm_control_suite.get_default_config(name)
    limit = config.episode_length // config.action_repeat
    return register(f"playground:{name}", make_fn, limit, render=mujoco_render(make_fn), overwrite=True)


SUITE = Suite("playground", _ids, _register, "playground")
