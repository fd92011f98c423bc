"""gymnax and the suites written on its interface behind the registry:

- ``gymnax:<id>`` for every id gymnax registers (classic control, MinAtar, bsuite, misc) except
  ``MNISTBandit-bsuite``, which downloads MNIST when made;
- ``craftax:<id>`` for Craftax (``Craftax-Symbolic-v1``, ``Craftax-Classic-Symbolic-v1`` and the
  pixel versions), whose achievements come out in ``info``.

:class:`GymnaxEnv` calls the suite's ``reset_env``/``step_env`` (not ``step``, which auto-resets and
returns the new episode's first observation in place of the final one, and one ``done`` for both
kinds of episode end). ``terminated`` is the suite's ``is_terminal`` with the time limit lifted, and
the time limit (``max_steps_in_episode``; Craftax: ``max_timesteps``) is lagomjax's
:class:`~lagomjax.envs.TimeLimit`, so ``truncated`` is never a termination. Keyword arguments of
``make`` replace fields of the environment's ``EnvParams`` and may be traced (a sweep can vmap over
them); the episode length is ``make(..., max_episode_steps=N)``.
"""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax._checks import concrete
from lagomjax.envs.functional import JaxEnv, strong_types
from lagomjax.envs.registry import EnvSpec, Suite, quiet_suite, register

NEEDS_NETWORK = ("MNISTBandit-bsuite",)
_NEVER = 2**30  # a time limit no episode reaches: gymnax's is_terminal then reports terminations only


def to_gym_space(space, dtype=None) -> gym.spaces.Space:
    """A gymnax space as the gymnasium space the algorithms read (Box bounds broadcast to its shape)."""
    kind = type(space).__name__
    if kind == "Discrete":
        return gym.spaces.Discrete(int(space.n))
    if kind == "Box":
        dtype = dtype or np.dtype(space.dtype)
        low = np.broadcast_to(np.asarray(space.low, dtype), space.shape)
        high = np.broadcast_to(np.asarray(space.high, dtype), space.shape)
        return gym.spaces.Box(low, high, tuple(space.shape), dtype)
    if kind == "Dict":
        return gym.spaces.Dict({k: to_gym_space(v, dtype) for k, v in space.spaces.items()})
    if kind == "Tuple":
        return gym.spaces.Tuple([to_gym_space(v, dtype) for v in space.spaces])
    raise TypeError(f"no gymnasium equivalent for the gymnax space {kind}")


def gym_spaces(env, params) -> tuple[gym.spaces.Space, gym.spaces.Space]:
    """``(observation_space, action_space)`` of a gymnax env as gymnasium spaces (observations float32)."""
    with jax.ensure_compile_time_eval():  # concrete even when first asked for inside a trace
        action, observation = env.action_space(params), env.observation_space(params)
        box = type(action).__name__ == "Box"
        return to_gym_space(observation, np.dtype(np.float32)), to_gym_space(
            action, np.dtype(np.float32) if box else None
        )


class GymnaxEnv(JaxEnv):
    """One gymnax environment with its ``EnvParams`` as a :class:`~lagomjax.envs.JaxEnv` (observations
    float32, rewards float32, ``terminated`` bool, never truncates by itself). ``spaces`` (from
    :func:`gym_spaces` of concrete params) lets ``params`` hold traced values."""

    def __init__(self, env, params, spaces=None, time_field: str = "max_steps_in_episode"):
        self.env, self.params = env, params
        lifted = hasattr(params, time_field)
        self._terminal_params = params.replace(**{time_field: _NEVER}) if lifted else None
        self.observation_space, self.action_space = spaces or gym_spaces(env, params)

    def _obs(self, obs):
        return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), obs)

    def reset(self, key):
        with quiet_suite("gymnax"):
            obs, state = self.env.reset_env(key, self.params)
        return strong_types(state), self._obs(obs)

    def step(self, key, state, action):
        with quiet_suite("gymnax"):
            obs, state, reward, done, info = self.env.step_env(key, state, action, self.params)
            if self._terminal_params is not None:
                terminated = self.env.is_terminal(state, self._terminal_params)
            else:  # no time limit of its own: every end is a termination
                terminated = done
        info = {k: v for k, v in info.items() if k != "discount"}  # the suite's own: 0 at both kinds of end
        return state, self._obs(obs), jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool), \
            jnp.zeros((), bool), info  # fmt: skip


def _ids() -> list[str]:
    import gymnax

    return [name for name in gymnax.registered_envs if name not in NEEDS_NETWORK]


def _draw_image(env, params):
    """A drawing hook for image observations ``[H, W, C]`` (MinAtar): one colour per channel."""
    colours = np.asarray(
        [[230, 85, 13], [49, 130, 189], [49, 163, 84], [117, 107, 177], [253, 174, 107], [158, 202, 225],
         [161, 217, 155], [188, 189, 220], [99, 99, 99], [222, 45, 38]], np.float32,
    )  # fmt: skip

    def draw(state) -> np.ndarray:
        obs = np.asarray(env.get_obs(state, params), np.float32)
        weights = obs / np.maximum(obs.sum(-1, keepdims=True), 1.0)
        rgb = 255.0 - (weights[..., None] * (255.0 - colours[np.arange(obs.shape[-1]) % len(colours)])).sum(-2)
        return np.kron(rgb, np.ones((16, 16, 1))).astype(np.uint8)  # 16x16 pixels per cell

    return draw


def register_env(suite: str, name: str, env, params, time_field: str = "max_steps_in_episode", render=None) -> EnvSpec:
    """Register the gymnax-interface ``env`` (with default ``params``) as ``<suite>:<name>``; image
    observations are drawn one colour per channel unless ``render`` is given."""
    spaces = gym_spaces(env, params)  # computed here, outside any trace

    def make_fn(**fields):
        if time_field in fields:
            raise ValueError(f"set the episode length with make(..., max_episode_steps=N), not {time_field}")
        unknown = sorted(set(fields) - set(vars(params)))
        if unknown:
            raise TypeError(f"{suite}:{name} params have no fields {unknown}; its fields: {sorted(vars(params))}")
        given = params.replace(**fields)
        traced = any(concrete(v) is None for v in jax.tree.leaves(fields))  # a sweep's values: the default spaces
        return GymnaxEnv(env, given, spaces if traced or not fields else gym_spaces(env, given), time_field)

    limit = getattr(params, time_field, None)
    image = len(spaces[0].shape) == 3 and hasattr(env, "get_obs")
    return register(f"{suite}:{name}", make_fn, int(limit) if limit else None,
                    render=render or (_draw_image(env, params) if image else None), overwrite=True)  # fmt: skip


def _register(name: str) -> EnvSpec:
    import gymnax

    return register_env("gymnax", name, *gymnax.make(name))


SUITE = Suite("gymnax", _ids, _register, "gymnax")

CRAFTAX_IDS = ("Craftax-Symbolic-v1", "Craftax-Classic-Symbolic-v1", "Craftax-Pixels-v1", "Craftax-Classic-Pixels-v1")


def _craftax_ids() -> list[str]:
    import craftax.craftax_env  # noqa: F401  (ImportError when not installed)

    return list(CRAFTAX_IDS)


def _register_craftax(name: str) -> EnvSpec:
    from craftax.craftax_env import make_craftax_env_from_name

    env = make_craftax_env_from_name(name, auto_reset=False)
    return register_env("craftax", name, env, env.default_params, "max_timesteps", _draw_craftax(name))


def _draw_craftax(name: str):
    """Craftax's own pixel renderer (16 pixels per block, jitted on the first frame; Craftax builds
    its textures once, on first use, in about a minute)."""
    cache = []

    def draw(state) -> np.ndarray:
        if not cache:
            import importlib

            game = "craftax.craftax_classic" if "Classic" in name else "craftax.craftax"
            renderer = importlib.import_module(f"{game}.renderer")
            size = importlib.import_module(f"{game}.constants").BLOCK_PIXEL_SIZE_IMG
            cache.append(jax.jit(renderer.make_craftax_pixel_renderer(size)))
        return np.asarray(cache[0](state)).clip(0, 255).astype(np.uint8)

    return draw


CRAFTAX = Suite("craftax", _craftax_ids, _register_craftax, "craftax")
