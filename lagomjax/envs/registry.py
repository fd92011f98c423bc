"""The registry of functional environments: ``register`` an id once, then ``make(id, num_envs)``.

A functional environment is one module that defines the physics (a :class:`~lagomjax.envs.JaxEnv`,
or any gymnasium ``FuncEnv``) and one call::

    envs.register("MyEnv-v0", make_fn=MyEnv, max_episode_steps=200, render=draw_my_env)

A gymnasium ``FuncEnv`` class (or instance) is registered as it is: ``make`` puts it behind
:class:`~lagomjax.envs.FuncEnvAdapter`, and keyword arguments of ``make`` become its parameters
(``get_default_params(**kwargs)``), which may be traced values (a sweep can vmap over them).

``make`` then stacks the standard wrappers around it, the algorithms train on it by id (the
command line too), and ``vis.episode_gif`` draws it through its ``render`` hook. Ids that are not
registered are gymnasium ids: the algorithms run those through lagom's Python runners.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import jax

from lagomjax._checks import check_int, check_unit_interval
from lagomjax.envs.functional import (
    AutoReset,
    EpisodeStatistics,
    FuncEnvAdapter,
    JaxEnv,
    NormalizeObservation,
    NormalizeReward,
    TimeLimit,
    VmapEnv,
)

# make()'s own arguments, which the algorithms set: not environment keyword arguments
_MAKE_ARGS = ("num_envs", "auto_reset", "normalize_obs", "normalize_reward", "gamma", "episode_statistics",
              "max_episode_steps", "reset_pool", "render_mode", "vectorization_mode")  # fmt: skip


def parse_env_kwargs(text: str) -> dict:
    """The ``env_kwargs`` field, a YAML mapping (``'{continuous: true}'``, ``''`` for none), as the
    keyword arguments every environment of the run is made with: ``envs.make(env_id, **kwargs)`` for a
    registered functional env (a suite's parameters: ``'{num_rows: 6, num_cols: 6}'``), else
    ``gymnasium.make(env_id, **kwargs)``. ``ValueError`` for anything else, or for an argument the
    algorithms set themselves (``num_envs``, ``max_episode_steps``, ...)."""
    from lagomjax.utils import yaml_loads

    try:
        kwargs = yaml_loads(text) if text.strip() else {}
    except Exception as e:  # yaml.YAMLError: the message names the position
        raise ValueError(f"env_kwargs must be a YAML mapping such as '{{continuous: true}}': {e}") from None
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ValueError(f"env_kwargs must be a YAML mapping of names to values such as '{{continuous: true}}', "
                         f"got {text!r}")  # fmt: skip
    reserved = sorted(set(kwargs) & set(_MAKE_ARGS))
    if reserved:
        raise ValueError(f"env_kwargs {reserved}: set by the algorithm (or its own field), not an environment argument")
    return kwargs


def env_kwargs(config) -> dict:
    """``config``'s environment keyword arguments (:func:`parse_env_kwargs`; ``{}`` without the field)."""
    return parse_env_kwargs(getattr(config, "env_kwargs", ""))


@contextlib.contextmanager
def quiet_suite(package: str):
    """Around a suite's own code while it is traced: silence two warnings that code raises and a user
    can do nothing about, jax 0.10's FutureWarning for scattering ints or floats into bool or int
    arrays (gymnax's MinAtar grids, Jumanji's BinPack) and requests for int64 without x64 from within
    ``package`` (gymnax's Freeway). Every other warning passes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "scatter inputs have incompatible types", FutureWarning)
        warnings.filterwarnings("ignore", "Explicitly requested dtype int64", UserWarning, rf"{package}\.")
        yield


@dataclass(frozen=True)
class EnvSpec:
    """What :func:`register` stored for an id."""

    id: str
    make_fn: Callable[..., JaxEnv]  # (**kwargs) -> one environment, without time limit or wrappers
    max_episode_steps: int | None  # the time limit make() applies (None: none)
    render: Callable | None = None  # (innermost env state) -> RGB frame uint8 [H, W, 3], for GIFs
    kwargs: dict = field(default_factory=dict)  # default keyword arguments of make_fn


_REGISTRY: dict[str, EnvSpec] = {}


def register(
    id: str,
    make_fn: Callable[..., JaxEnv],
    max_episode_steps: int | None = None,
    *,
    render: Callable | None = None,
    kwargs: dict | None = None,
    overwrite: bool = False,
) -> EnvSpec:
    """Register the functional environment ``make_fn(**kwargs)`` under ``id``. Returns its spec.

    Args:
      id: the name ``make`` and the algorithms' ``env_id`` use (e.g. ``'CartPole-v1'``).
      make_fn: builds one unwrapped environment (no time limit, no batch axis); or a gymnasium
        ``FuncEnv`` class or instance (its keyword arguments are then its parameters' fields).
      max_episode_steps: the time limit; episodes are truncated (never terminated) there.
      render: a drawing hook, ``state -> uint8 [H, W, 3]``, given the innermost (physics) state.
      kwargs: default keyword arguments for ``make_fn`` (``make`` can override them).
      overwrite: replace an existing registration instead of raising.
    """
    if not isinstance(id, str) or not id:
        raise TypeError(f"id must be a non-empty string, got {id!r}")
    make_fn = _func_env_maker(make_fn)
    if not callable(make_fn):
        raise TypeError(f"make_fn must be callable, got {type(make_fn).__name__}")
    if max_episode_steps is not None and (not isinstance(max_episode_steps, int) or max_episode_steps <= 0):
        raise ValueError(f"max_episode_steps must be a positive int or None, got {max_episode_steps!r}")
    if render is not None and not callable(render):
        raise TypeError(f"render must be callable or None, got {type(render).__name__}")
    if id in _REGISTRY and not overwrite:
        raise ValueError(f"environment {id!r} is already registered (pass overwrite=True to replace it)")
    _REGISTRY[id] = EnvSpec(id, make_fn, max_episode_steps, render, dict(kwargs or {}))
    return _REGISTRY[id]


def _func_env_maker(make_fn):
    """A gymnasium ``FuncEnv`` class or instance as ``(**params) -> FuncEnvAdapter``; anything else as is."""
    from gymnasium.experimental.functional import FuncEnv

    if isinstance(make_fn, type) and issubclass(make_fn, FuncEnv):
        make_fn = make_fn()
    if not isinstance(make_fn, FuncEnv):
        return make_fn
    func_env = make_fn

    def make_func_env(**params):
        return FuncEnvAdapter(func_env, func_env.get_default_params(**params))

    return make_func_env


@dataclass(frozen=True)
class Suite:
    """A JAX environment suite behind the registry: its ids are ``<prefix>:<the suite's own id>``,
    registered on first use (so the suite is imported only when one of its ids is asked for)."""

    prefix: str
    ids: Callable[[], list[str]]  # the suite's own ids (imports the suite)
    register: Callable[[str], EnvSpec]  # registers '<prefix>:<id>' for the suite's id and returns its spec
    extra: str  # the pip extra that installs it: lagomjax[<extra>]


_SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> None:
    """Make ``<suite.prefix>:<id>`` resolvable by :func:`make`, :func:`spec` and :func:`is_registered`."""
    _SUITES[suite.prefix] = suite


def _resolve(id: str) -> EnvSpec | None:
    """The spec of a suite id, registering it on first use; None if ``id`` names no known suite.
    A suite that is not installed raises ``ImportError`` naming the extra that installs it."""
    prefix, colon, name = id.partition(":")
    suite = _SUITES.get(prefix) if colon else None
    if suite is None:
        return None
    try:
        ids = suite.ids()
    except ImportError as e:
        raise ImportError(f'{id!r} needs the {suite.prefix} suite: pip install "lagomjax[{suite.extra}]" ({e})') from e
    if name not in ids:
        raise ValueError(f"{suite.prefix} has no environment {name!r}; its ids: {', '.join(ids)}")
    # The first make() may come while a function is traced (a search builds its parts inside jit): the
    # suite's environment object, kept by the registry, must hold concrete arrays, never that trace's
    # tracers (leaked into every later program that uses it)
    with jax.ensure_compile_time_eval():
        return suite.register(name)


def spec(id: str) -> EnvSpec:
    """The :class:`EnvSpec` registered under ``id``; a ``ValueError`` lists the registered ids."""
    if id not in _REGISTRY:
        resolved = _resolve(id)
        if resolved is not None:
            return resolved
        raise ValueError(f"no functional environment registered as {id!r}; registered: {registered()}")
    return _REGISTRY[id]


def registered(suites: bool = False) -> list[str]:
    """The registered ids, sorted; with ``suites`` also every id of the installed suites."""
    ids = set(_REGISTRY)
    if suites:
        for suite in _SUITES.values():
            try:
                ids |= {f"{suite.prefix}:{name}" for name in suite.ids()}
            except ImportError:
                pass
    return sorted(ids)


def is_registered(id: str) -> bool:
    """Whether ``id`` is a functional environment (registered, or an id of a known suite). An id of a
    known suite is never handed on to gymnasium: one the suite lacks raises ``ValueError`` listing the
    suite's ids, one of a suite that is not installed ``ImportError`` naming its extra."""
    return id in _REGISTRY or _resolve(id) is not None


def make(
    env_id: str,
    num_envs: int | None = None,
    *,
    auto_reset: bool = True,
    episode_statistics: bool = True,
    normalize_obs: bool = False,
    normalize_reward: bool = False,
    gamma: float = 0.99,
    max_episode_steps: int | None = None,
    reset_pool: int | None = None,
    **kwargs,
) -> JaxEnv:
    """The registered environment ``env_id`` with the standard wrappers.

    Stack (inside out): ``make_fn(**kwargs)`` -> TimeLimit -> VmapEnv (if ``num_envs``) -> AutoReset ->
    EpisodeStatistics -> NormalizeObservation -> NormalizeReward. ``max_episode_steps`` overrides
    the registered time limit; ``reset_pool=k`` computes ``k`` resets for all ``num_envs`` on a step
    where one ended (for costly resets: :class:`~lagomjax.envs.AutoReset`); ``kwargs`` override the
    registered ``make_fn`` arguments.
    """
    s = spec(env_id)
    if num_envs is not None:
        check_int("num_envs", num_envs, 1)
    check_unit_interval("gamma", gamma)
    if max_episode_steps is not None and (not isinstance(max_episode_steps, int) or max_episode_steps <= 0):
        raise ValueError(f"max_episode_steps must be a positive int, got {max_episode_steps!r}")
    env = s.make_fn(**{**s.kwargs, **kwargs})
    limit = max_episode_steps or s.max_episode_steps
    if limit is not None:
        env = TimeLimit(env, limit)
    if num_envs is not None:
        env = VmapEnv(env, num_envs)
    if reset_pool is not None and (num_envs is None or not auto_reset):
        raise ValueError(f"reset_pool={reset_pool} needs num_envs and auto_reset=True")
    if auto_reset:
        env = AutoReset(env, reset_pool)
    if episode_statistics:
        env = EpisodeStatistics(env)
    if normalize_obs:
        env = NormalizeObservation(env)
    if normalize_reward:
        env = NormalizeReward(env, gamma=gamma)
    return env


def time_limit(env_id: str) -> int:
    """Steps that surely end one episode of ``env_id`` (its time limit), for evaluation."""
    limit = spec(env_id).max_episode_steps
    if limit is None:
        raise ValueError(f"{env_id!r} has no time limit: evaluation needs one (register max_episode_steps)")
    return limit
