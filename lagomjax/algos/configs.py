"""The config fields algorithms share, as frozen dataclasses each algorithm's ``Config`` extends
(overriding defaults where it differs). Every field is a command-line flag."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import jax
import numpy as np
import optax

from lagomjax._checks import concrete
from lagomjax.envs.registry import parse_env_kwargs
from lagomjax.networks.actor_critic import TORSOS
from lagomjax.networks.init import INITS
from lagomjax.networks.layers import ACTIVATIONS

# every config field's allowed values (beyond its type, which the default's type gives)
_POSITIVE_INT = {"num_envs", "num_steps", "total_steps", "eval_episodes", "update_epochs", "num_minibatches",
                 "buffer_size", "batch_size", "gradient_steps", "target_update_interval", "policy_delay", "popsize",
                 "generations", "episodes_per_member"}  # fmt: skip
_NONNEGATIVE_INT = {"lstm_size", "learning_starts", "reset_pool"}
_UNIT = {"gamma", "gae_lambda", "exploration_fraction", "exploration_final_eps", "per_alpha", "per_beta0"}
_OPEN_UNIT = {"tau", "elite_ratio"}  # (0, 1]
_POSITIVE = {"lr", "actor_lr", "critic_lr", "es_lr", "max_grad_norm", "std0", "init_alpha", "clip_eps", "sigma0",
             "adam_eps"}  # fmt: skip
_NONNEGATIVE = {"ent_coef", "vf_coef", "exploration_noise", "target_noise", "target_noise_clip"}
CHOICES = {  # named
    "activation": tuple(ACTIVATIONS),
    "strategy": ("cmaes", "cem", "openai_es"),
    "torso": TORSOS,
    "weight_init": INITS,
    "grad_clip": ("global_norm", "element"),
}


def _env_kwargs_text(config) -> None:
    """``env_kwargs``, given as YAML text or (in Python) a dict, stored as one canonical YAML text
    (flow style, sorted keys): the config stays hashable, its ``run.yml`` reads as the flag does, and
    two spellings of the same arguments are one config (``--resume`` compares them)."""
    import yaml

    value = getattr(config, "env_kwargs", "")
    if not isinstance(value, (str, dict)):
        raise TypeError(f"env_kwargs must be a YAML mapping as text, or a dict; got {type(value).__name__}")
    kwargs = parse_env_kwargs(value) if isinstance(value, str) else value
    try:
        text = yaml.safe_dump(kwargs, default_flow_style=True, sort_keys=True, width=10**9).strip() if kwargs else ""
    except yaml.YAMLError as e:
        raise TypeError(f"env_kwargs values must be numbers, strings, booleans, lists or mappings: {e}") from None
    parse_env_kwargs(text)  # a dict's keys: names, none of make()'s own
    object.__setattr__(config, "env_kwargs", text)


def check_fields(config, skip=()) -> None:
    """Check every field of a config dataclass against its type (from its default) and its allowed
    range; raise ``TypeError``/``ValueError`` naming the field, the expected and the given value.
    Runs in ``__post_init__``, so the Python API, the command line and sweeps are refused alike,
    before anything compiles. Fields in ``skip`` are the caller's to check. ``env_kwargs`` given as a
    dict or text is stored as one canonical YAML text."""
    _env_kwargs_text(config)
    for f in dataclasses.fields(config):
        if f.name in skip:
            continue
        name, value, default = f.name, getattr(config, f.name), f.default
        if isinstance(value, (jax.Array, np.ndarray, np.generic)) and isinstance(default, (int, float)):
            _check_array_field(name, value, default)  # a sweep's traced or batched hyper-parameter
            continue
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool (True/False), got {type(value).__name__} {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
            low = 1 if name in _POSITIVE_INT else 0 if name in _NONNEGATIVE_INT else None
            if low is not None and value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
            _check_range(name, float(value))
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
            if name in CHOICES and value not in CHOICES[name]:
                raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}; got {value!r}")
        elif isinstance(default, tuple):
            if not isinstance(value, tuple) or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value
            ):
                raise ValueError(f"{name} must be a tuple of positive ints (layer sizes), got {value!r}")


def gradient_clip(config) -> optax.GradientTransformation:
    """The gradient clip ``config.grad_clip`` names at ``config.max_grad_norm``: the global norm of all
    gradients (lagom, SB3, PureJaxRL; the default) or each gradient entry on its own (``element``:
    ``optax.clip``, as rejax does)."""
    if config.grad_clip == "element":
        return optax.clip(config.max_grad_norm)
    return optax.clip_by_global_norm(config.max_grad_norm)


def _check_array_field(name: str, value, default) -> None:
    """A numeric field given as an array (sweeps vmap over config fields): its dtype kind, and its
    values where they are known (traced values are checked when the sweep builds them)."""
    kind = np.dtype(value.dtype).kind
    want = "b" if isinstance(default, bool) else "iu" if isinstance(default, int) else "fiu"
    if kind not in want:
        raise TypeError(
            f"{name} must be {'bool' if want == 'b' else 'int' if want == 'iu' else 'float'}, got dtype {value.dtype}"
        )
    v = concrete(value)
    if v is None or kind == "b":
        return
    for x in np.atleast_1d(v).ravel().tolist():
        if isinstance(default, float):
            _check_range(name, float(x))
        elif (name in _POSITIVE_INT and x < 1) or (name in _NONNEGATIVE_INT and x < 0):
            raise ValueError(f"{name} must be an int >= {1 if name in _POSITIVE_INT else 0}, got {x}")


def _check_range(name: str, v: float) -> None:
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    rules = [
        (_UNIT, lambda: 0.0 <= v <= 1.0, "in [0, 1]"),
        (_OPEN_UNIT, lambda: 0.0 < v <= 1.0, "in (0, 1]"),
        (_POSITIVE, lambda: v > 0.0, "> 0"),
        (_NONNEGATIVE, lambda: v >= 0.0, ">= 0"),
    ]
    for names, ok, what in rules:
        if name in names and not ok():
            raise ValueError(f"{name} must be {what}, got {v}")


@dataclass(frozen=True)
class RolloutConfig:
    """Training by rollouts of ``num_envs x num_steps`` environment steps, one update each."""

    choices: ClassVar[dict] = CHOICES  # the allowed values of named settings (the command line lists them)

    env_id: str = "CartPole-v1"  # a registered functional environment, or any gymnasium id (Python path)
    env_kwargs: str = ""  # the environment's make() arguments, a YAML mapping: '{continuous: true}'
    num_envs: int = 1  # environments stepped in parallel per seed
    num_steps: int = 1  # steps per environment in each rollout (one update per rollout)
    total_steps: int = 20_000  # environment steps per seed
    gamma: float = 0.99  # discount
    eval_episodes: int = 16  # deterministic evaluation episodes at the end of training
    reset_pool: int = 0  # > 0: this many resets per step shared by the envs that ended (costly resets: Craftax)

    @property
    def rollout_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_steps // self.rollout_size

    def __post_init__(self):
        check_fields(self)
        if self.reset_pool > self.num_envs:
            raise ValueError(f"reset_pool={self.reset_pool} must be at most num_envs={self.num_envs}")
        if self.total_steps < self.rollout_size:
            raise ValueError(f"total_steps={self.total_steps} is less than one rollout of {self.rollout_size} steps")


@dataclass(frozen=True)
class ActorCriticConfig(RolloutConfig):
    """Policy-gradient actor-critics (PPO, A2C): GAE, an optional LSTM torso, optional normalisers."""

    lr: float = 1e-3  # Adam learning rate (linearly annealed to 0 when anneal_lr)
    anneal_lr: bool = True  # linear learning-rate decay over training
    gae_lambda: float = 0.95  # GAE lambda (1.0: Monte-Carlo returns minus the baseline)
    ent_coef: float = 0.0  # entropy bonus
    vf_coef: float = 0.5  # value loss weight
    max_grad_norm: float = 0.5  # gradient clip (the global norm, or each entry: grad_clip)
    grad_clip: str = "global_norm"  # or element: each gradient entry clipped to +-max_grad_norm (rejax's optax.clip)
    hidden_sizes: tuple = (64, 64)  # MLP torso (actor and critic apart; shared under the LSTM); () is linear
    activation: str = "tanh"  # torso nonlinearity
    torso: str = "mlp"  # mlp (image observations flattened), or cnn for image observations [H, W, C]
    weight_init: str = "orthogonal"  # lagom's orthogonal weights (0.01-gain policy head), or lecun (Flax's default)
    lstm_size: int = 0  # > 0: a recurrent policy, MLP -> LayerNorm-LSTM of this size, trained by BPTT
    normalize_obs: bool = False  # running observation normalisation (shared by the seed's envs)
    normalize_reward: bool = False  # reward scaling by the std of the discounted return
    std0: float = 1.0  # initial action std (continuous actions)

    @property
    def recurrent(self) -> bool:
        return self.lstm_size > 0

    def __post_init__(self):
        super().__post_init__()
        if self.lstm_size < 0:
            raise ValueError(f"lstm_size must be >= 0, got {self.lstm_size}")


@dataclass(frozen=True)
class OffPolicyConfig(RolloutConfig):
    """Replay-buffer algorithms (DQN, DDPG, TD3, SAC): a buffer in the train state, random actions
    until ``learning_starts``, then ``gradient_steps`` sampled updates after every rollout."""

    env_id: str = "Pendulum-v1"
    buffer_size: int = 200_000  # replay capacity (transitions)
    batch_size: int = 256  # transitions per gradient step
    learning_starts: int = 1_000  # uniform random actions before this many steps
    gradient_steps: int = 1  # gradient steps after every rollout
    hidden_sizes: tuple = (64, 64)  # small nets learn Pendulum and are ~10x faster on CPU than 256-wide
    activation: str = "relu"

    def __post_init__(self):
        super().__post_init__()
        if self.rollout_size > self.buffer_size:
            raise ValueError(f"buffer_size={self.buffer_size} is smaller than one rollout ({self.rollout_size} steps)")
        if self.num_updates * self.rollout_size < self.learning_starts:
            raise ValueError(
                f"learning_starts={self.learning_starts} is past the run's last step "
                f"(total_steps={self.total_steps}, in rollouts of {self.rollout_size}): no gradient step would be taken"
            )
        if min(self.batch_size, self.gradient_steps) < 1:
            raise ValueError(f"batch_size={self.batch_size} and gradient_steps={self.gradient_steps} must be >= 1")
