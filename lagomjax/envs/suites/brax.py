"""brax's environments behind the registry as ``brax:<name>`` (``ant``, ``halfcheetah``, ``hopper``,
``humanoid``, ``inverted_pendulum``, ``reacher``, ``walker2d``, ...; physics on MJX).

:class:`BraxEnv` steps the bare environment (none of brax's training wrappers: its auto-reset keeps
no final observation and its episode wrapper reports time-outs through ``done``), so ``terminated``
is the environment's own ``done`` (e.g. an unhealthy hopper) and truncation is lagomjax's
:class:`~lagomjax.envs.TimeLimit` at 1000 steps, brax's usual episode length. The reward components
(``state.metrics``) come out in ``info``. ``make`` keyword arguments go to
``brax.envs.get_environment`` (e.g. ``backend``, ``ctrl_cost_weight``). Videos are drawn by MuJoCo's
renderer (:func:`mujoco_render`; headless: ``MUJOCO_GL=egl``).
"""

from __future__ import annotations

import gymnasium as gym
import jax.numpy as jnp
import numpy as np

from lagomjax.envs.functional import JaxEnv, strong_types
from lagomjax.envs.registry import EnvSpec, Suite, register

EPISODE_LENGTH = 1000


class BraxEnv(JaxEnv):
    """A brax ``Env`` as a :class:`~lagomjax.envs.JaxEnv`: observations ``[obs_size]``, actions in
    ``[-1, 1]^action_size``; the state is brax's ``State``."""

    def __init__(self, env):
        self.env = env
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (env.observation_size,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (env.action_size,), np.float32)

    def reset(self, key):
        state = strong_types(self.env.reset(key))
        return state, jnp.asarray(state.obs, jnp.float32)

    def step(self, key, state, action):
        state = self.env.step(state, action)
        info = {k: jnp.asarray(v, jnp.float32) for k, v in state.metrics.items()}
        return state, jnp.asarray(state.obs, jnp.float32), jnp.asarray(state.reward, jnp.float32), state.done > 0, \
            jnp.zeros((), bool), info  # fmt: skip


def mujoco_render(make_env, height: int = 240, width: int = 320):
    """A render hook (:func:`lagomjax.envs.register`) drawing one MJX state of ``make_env()``'s model
    (a brax or MuJoCo Playground environment) with MuJoCo's renderer from the default free camera, as
    the suites' own ``render`` does. The model and renderer are built on the first frame and kept.
    On a machine without a display MuJoCo needs ``MUJOCO_GL=egl`` (or ``osmesa``)."""
    cache = {}

    def draw(state) -> np.ndarray:
        import mujoco

        if not cache:
            env = make_env().env
            model = env.mj_model if hasattr(env, "mj_model") else env.sys.mj_model
            try:
                cache.update(model=model, data=mujoco.MjData(model), renderer=mujoco.Renderer(model, height, width))
            except Exception as e:  # no OpenGL context: GLFW without a display, EGL without a GPU driver
                raise RuntimeError(f"MuJoCo cannot render here ({e}); on a machine without a display set "
                                   "MUJOCO_GL=egl or osmesa") from None  # fmt: skip
        model, data, renderer = cache["model"], cache["data"], cache["renderer"]
        if hasattr(state, "data"):  # Playground's State holds MJX Data
            physics = state.data
            qpos, qvel = physics.qpos, physics.qvel
        else:  # brax's holds its pipeline state (q, qd)
            physics = state.pipeline_state
            qpos, qvel = physics.q, physics.qd
        data.qpos[:], data.qvel[:] = np.asarray(qpos), np.asarray(qvel)
        if model.nmocap and hasattr(physics, "mocap_pos"):
            data.mocap_pos[:], data.mocap_quat[:] = np.asarray(physics.mocap_pos), np.asarray(physics.mocap_quat)
        mujoco.mj_forward(model, data)
        renderer.update_scene(data, camera=-1)
        return renderer.render().copy()

    return draw


def _ids() -> list[str]:
    from brax import envs

    return sorted(name for name in envs._envs if name != "fast")  # 'fast' is brax's test double


def _register(name: str) -> EnvSpec:
    from brax import envs

    def make_fn(**kwargs):
        return BraxEnv(envs.get_environment(name, **kwargs))

    return register(f"brax:{name}", make_fn, EPISODE_LENGTH, render=mujoco_render(make_fn), overwrite=True)


SUITE = Suite("brax", _ids, _register, "brax")
