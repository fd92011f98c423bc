"""Jumanji's environments behind the registry as ``jumanji:<id>`` (``Snake-v1``, ``Game2048-v1``,
``Maze-v0``, ``Sokoban-v0``, ``Tetris-v0``, ...).

:class:`JumanjiEnv` reads Jumanji's ``TimeStep``: an episode's last step with discount 0 is a
termination, with a nonzero discount a truncation. Several Jumanji environments end at their own
time limit with discount 0, a termination (Snake does): so the adapter builds each environment with
its time limit lifted and registers that limit as lagomjax's :class:`~lagomjax.envs.TimeLimit`,
which truncates (``make(..., max_episode_steps=N)`` sets it). Environments without a time limit of
their own (BinPack, Knapsack, TSP, Sudoku, Game2048, ...) get one of :data:`SAFETY_LIMIT` steps.
Structured observations (Jumanji's named tuples and dataclasses) come out as dicts of float32 arrays
with a gymnasium ``Dict`` space; :class:`~lagomjax.envs.FlattenObservation` makes one vector of them
(the algorithms add it for an MLP). Discrete and box actions are supported by the algorithms;
multi-discrete ones convert to ``gymnasium.spaces.MultiDiscrete``. Videos draw through Jumanji's own
matplotlib viewers (:func:`_draw`), where an environment has one.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax.envs.functional import JaxEnv, strong_types
from lagomjax.envs.registry import EnvSpec, Suite, quiet_suite, register

_LAST = 2  # jumanji.types.StepType.LAST
_NEVER = 2**30  # a time limit no episode reaches
# the time limit of environments without one (the combinatorial ones, BinPack, TSP, Sudoku, ..., whose
# episodes end by themselves, and Game2048): evaluation needs a bound, and a greedy policy may repeat
# a move that changes nothing. Their episodes end long before it; make(..., max_episode_steps=N) sets it
SAFETY_LIMIT = 10_000


def _fields(x) -> tuple[str, ...] | None:
    """The field names of a structured Jumanji value (a named tuple such as Snake's ``Observation``,
    or a dataclass such as BinPack's ``Space`` and ``Item``); None for an array."""
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return x._fields
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return tuple(f.name for f in dataclasses.fields(x))
    return None


def as_dict(obs):
    """A Jumanji observation (named tuples and dataclasses, nested) as dicts of float32 arrays."""
    fields = _fields(obs)
    if fields is not None:
        return {f: as_dict(getattr(obs, f)) for f in fields}
    return jnp.asarray(obs, jnp.float32)


def _box(spec) -> gym.spaces.Box:
    shape = tuple(spec.shape)
    if hasattr(spec, "num_values") and np.ndim(spec.num_values) == 0:
        low, high = 0.0, float(spec.num_values) - 1.0
    elif hasattr(spec, "minimum"):
        low, high = np.asarray(spec.minimum, np.float32), np.asarray(spec.maximum, np.float32)
    else:
        low, high = -np.inf, np.inf
    return gym.spaces.Box(np.broadcast_to(np.float32(low), shape), np.broadcast_to(np.float32(high), shape), shape,
                          np.float32)  # fmt: skip


def observation_space(spec, sample) -> gym.spaces.Space:
    """The gymnasium space of the observations ``as_dict`` gives, from Jumanji's spec and one value."""
    fields = _fields(sample)
    if fields is not None:
        return gym.spaces.Dict({f: observation_space(getattr(spec, f), getattr(sample, f)) for f in fields})
    return _box(spec)


def action_space(spec) -> gym.spaces.Space:
    kind = type(spec).__name__
    if kind == "DiscreteArray":
        return gym.spaces.Discrete(int(spec.num_values))
    if kind == "MultiDiscreteArray":
        return gym.spaces.MultiDiscrete(np.asarray(spec.num_values, np.int64))
    if kind == "BoundedArray":
        return gym.spaces.Box(np.broadcast_to(np.asarray(spec.minimum, np.float32), spec.shape),
                              np.broadcast_to(np.asarray(spec.maximum, np.float32), spec.shape), tuple(spec.shape),
                              np.float32)  # fmt: skip
    raise TypeError(f"no gymnasium equivalent for the Jumanji action spec {kind}")


class JumanjiEnv(JaxEnv):
    """A Jumanji ``Environment`` as a :class:`~lagomjax.envs.JaxEnv` (observations as dicts of
    float32, rewards float32, ``terminated`` and ``truncated`` from the last step's discount)."""

    def __init__(self, env, spaces=None):
        self.env = env
        self.observation_space, self.action_space = spaces or gym_spaces(env)

    def reset(self, key):
        with quiet_suite("jumanji"):
            state, timestep = self.env.reset(key)
        return strong_types(state), as_dict(timestep.observation)

    def step(self, key, state, action):
        with quiet_suite("jumanji"):
            state, ts = self.env.step(state, action)
        last = ts.step_type == _LAST
        return state, as_dict(ts.observation), jnp.asarray(ts.reward, jnp.float32), last & (ts.discount == 0), \
            last & (ts.discount != 0), {}  # fmt: skip


def gym_spaces(env):
    with jax.ensure_compile_time_eval():
        spec = env.observation_spec
        return observation_space(spec, spec.generate_value()), action_space(env.action_spec)


def _ids() -> list[str]:
    import jumanji

    return sorted(jumanji.registered_environments())


def _register(name: str) -> EnvSpec:
    import inspect

    import jumanji

    try:
        default = jumanji.make(name)
    except OSError as e:  # Sokoban downloads its levels from the Hugging Face hub when made
        raise ValueError(f"jumanji:{name} could not be made (it fetches data when made): {e}") from None
    spaces = gym_spaces(default)
    limit = getattr(default, "time_limit", None)
    liftable = limit is not None and "time_limit" in inspect.signature(type(default).__init__).parameters

    def make_fn(**kwargs):
        if "time_limit" in kwargs:
            raise ValueError("set the episode length with make(..., max_episode_steps=N), not time_limit")
        with jax.ensure_compile_time_eval():  # Jumanji's specs compute with jnp: eagerly, even under a trace
            # the spaces follow the arguments (a 6 x 6 Snake), with the environment's own time limit
            own = gym_spaces(jumanji.make(name, **kwargs)) if kwargs else spaces
            if liftable:  # the environment never ends an episode by time itself: TimeLimit truncates
                kwargs = {**kwargs, "time_limit": _NEVER}
            return JumanjiEnv(jumanji.make(name, **kwargs) if kwargs else default, own)

    render = _draw(name) if _drawable(default) else None
    return register(f"jumanji:{name}", make_fn, int(limit) if limit else SAFETY_LIMIT, render=render, overwrite=True)


def _drawable(env) -> bool:
    """Whether Jumanji draws ``env`` with a matplotlib viewer (GraphColoring, FlatPack, MMST and
    SlidingTilePuzzle keep none where the others do)."""
    from jumanji.viewer import MatplotlibViewer

    return isinstance(getattr(env, "_viewer", None), MatplotlibViewer)


def _draw(name: str, size: float = 4.0):
    """A render hook (:func:`lagomjax.envs.register`): Jumanji's own viewer of ``name`` in its
    ``rgb_array`` mode, ``size`` inches at 100 dpi (400 x 400 pixels). The viewer is built on the
    first frame and kept (its figure is reused frame after frame)."""
    import warnings

    cache = []

    def render(state) -> np.ndarray:
        import jumanji

        if not cache:
            viewer = jumanji.make(name)._viewer
            viewer._display = viewer._display_rgb_array  # what its render_mode="rgb_array" sets
            viewer.figure_size = (size, size)
            cache.append(viewer)
        with warnings.catch_warnings():  # Jumanji shows its figure, which a non-interactive backend cannot
            warnings.filterwarnings("ignore", "FigureCanvasAgg is non-interactive", UserWarning)
            frame = cache[0].render(jax.device_get(state))
        return np.asarray(frame)[..., :3].copy()

    return render


SUITE = Suite("jumanji", _ids, _register, "jumanji")
