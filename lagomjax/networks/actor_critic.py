"""Actor-critic, actor and Q networks for the algorithms (Flax linen; parameters are plain pytrees).

- :class:`ActorCritic` ``obs -> (distribution, value)``, separate actor and critic MLPs (PPO, A2C);
  :class:`RecurrentActorCritic` ``(carry, obs) -> (carry, distribution, value)``, a shared
  MLP -> LayerNorm-LSTM torso (recurrent PPO and A2C).
- :class:`DiscreteQ` ``obs -> Q(obs, .)`` (DQN); :class:`ContinuousQ` ``(obs, action) -> Q``, an
  ensemble of critics with ``num_critics > 1`` (TD3, SAC).
- :class:`DeterministicActor` ``obs -> action in [-1, 1]`` (DDPG, TD3);
  :class:`SquashedGaussianActor` ``obs -> tanh-Gaussian`` (SAC).
"""

from __future__ import annotations

import distrax
import flax.linen as nn
import gymnasium as gym
import jax.numpy as jnp
import numpy as np

from lagomjax.networks.conv import Conv
from lagomjax.networks.dense import Dense
from lagomjax.networks.heads import (
    CategoricalHead,
    DiagGaussianHead,
    MultiCategoricalHead,
    TanhGaussianHead,
    ValueHead,
)
from lagomjax.networks.layers import MLP
from lagomjax.networks.lstm import LayerNormLSTMCell


def policy_head(action_space, feature_dim: int, std0: float = 1.0, weight_init: str = "orthogonal") -> nn.Module:
    """The head for ``action_space``: categorical for ``Discrete``, one categorical per dimension for
    ``MultiDiscrete``, a diagonal Gaussian (initial std
    ``std0``) for ``Box``; ``weight_init`` as :func:`~lagomjax.networks.init.dense_init`. Call it inside a
    compact module, so the head is that module's child."""
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalHead(feature_dim, int(action_space.n), weight_init)
    if isinstance(action_space, gym.spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
        return MultiCategoricalHead(feature_dim, tuple(int(n) for n in action_space.nvec), weight_init)
    if isinstance(action_space, gym.spaces.Box) and not np.issubdtype(action_space.dtype, np.floating):
        raise TypeError(f"an integer Box action space ({action_space}) is a discrete choice: give the env a "
                        "Discrete or MultiDiscrete action space")  # fmt: skip
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return DiagGaussianHead(feature_dim, action_space.shape[0], std0, weight_init)
    raise TypeError(f"policy_head supports Discrete, 1-D MultiDiscrete and 1-D Box action spaces, got {action_space}")


def mode(dist):
    """The deterministic action: argmax of a categorical (per dimension of a multi-categorical), the
    mean of a Gaussian."""
    discrete = isinstance(dist, distrax.Categorical) or (
        isinstance(dist, distrax.Independent) and isinstance(dist.distribution, distrax.Categorical)
    )
    return dist.mode() if discrete else dist.mean()


TORSOS = ("mlp", "cnn")


def torso(kind: str, hidden_sizes: tuple, activation: str, obs, weight_init: str = "orthogonal"):
    """The features of ``obs``; call it inside a compact module (its layers become that module's).
    ``mlp``: an MLP on vector observations ``[..., D]``. ``cnn``: MinAtar's network (Young and Tian,
    2019) for image observations ``[..., H, W, C]``: one 3x3 convolution of 16 channels and a ReLU,
    flattened, then the MLP (its ``weight_init``)."""
    if kind == "cnn":
        x = nn.relu(Conv(16, (3, 3), padding="SAME")(obs))
        obs = x.reshape(*x.shape[:-3], -1)
    elif kind != "mlp":
        raise ValueError(f"torso must be one of {TORSOS}, got {kind!r}")
    return MLP(hidden_sizes, activation, weight_init=weight_init)(obs)


class ActorCritic(nn.Module):
    """``obs -> (distribution, value [...])`` with separate actor and critic torsos (:func:`torso`)."""

    action_space: gym.spaces.Space
    hidden_sizes: tuple = (64, 64)
    activation: str = "tanh"
    std0: float = 1.0
    torso: str = "mlp"
    weight_init: str = "orthogonal"  # or 'lecun' (networks.init.dense_init)

    @nn.compact
    def __call__(self, obs):
        features = lambda: torso(self.torso, self.hidden_sizes, self.activation, obs, self.weight_init)  # noqa: E731
        x = features()  # [..., hidden_sizes[-1]], or the observation's width for a linear policy (hidden_sizes=())
        dist = policy_head(self.action_space, x.shape[-1], self.std0, self.weight_init)(x)
        x = features()
        return dist, ValueHead(x.shape[-1], self.weight_init)(x)


class RecurrentActorCritic(nn.Module):
    """One step of a shared MLP -> LayerNorm-LSTM torso with policy and value heads:
    ``(carry, obs [B, D]) -> (carry, distribution, value [B])``; ``carry`` is ``(c, h)``, each
    ``[B, lstm_size]`` (:meth:`initial_state`)."""

    action_space: gym.spaces.Space
    hidden_sizes: tuple = (64, 64)
    activation: str = "tanh"
    lstm_size: int = 64
    std0: float = 1.0
    torso: str = "mlp"
    weight_init: str = "orthogonal"  # of the torso and heads (the LSTM keeps its own)

    @nn.compact
    def __call__(self, carry, obs):
        x = torso(self.torso, self.hidden_sizes, self.activation, obs, self.weight_init)
        carry, h = LayerNormLSTMCell(self.lstm_size)(carry, x)
        dist = policy_head(self.action_space, self.lstm_size, self.std0, self.weight_init)(h)
        return carry, dist, ValueHead(self.lstm_size, self.weight_init)(h)

    def initial_state(self, batch_shape: tuple):
        zeros = jnp.zeros((*batch_shape, self.lstm_size))
        return (zeros, zeros)


class DiscreteQ(nn.Module):
    """``obs -> Q(obs, .) [..., num_actions]`` (:func:`torso`)."""

    num_actions: int
    hidden_sizes: tuple = (64, 64)
    activation: str = "relu"
    torso: str = "mlp"

    @nn.compact
    def __call__(self, obs):
        return Dense(self.num_actions)(torso(self.torso, self.hidden_sizes, self.activation, obs))


class ContinuousQ(nn.Module):
    """``(obs [..., D], action [..., A]) -> Q [...]``; with ``num_critics > 1`` an ensemble of
    independently initialised critics stacked on a leading axis: ``[num_critics, ...]``."""

    hidden_sizes: tuple = (256, 256)
    activation: str = "relu"
    num_critics: int = 1

    @nn.compact
    def __call__(self, obs, action):
        def critic(module, x):
            return Dense(1)(MLP(self.hidden_sizes, self.activation)(x))[..., 0]

        x = jnp.concatenate([obs, action], axis=-1)
        if self.num_critics == 1:
            return critic(self, x)
        ensemble = nn.vmap(
            lambda module, x: critic(module, x),
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            axis_size=self.num_critics,
        )
        return ensemble(self, x)


class DeterministicActor(nn.Module):
    """``obs -> tanh(...)`` in ``[-1, 1]^A``."""

    action_dim: int
    hidden_sizes: tuple = (256, 256)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs):
        return jnp.tanh(Dense(self.action_dim)(MLP(self.hidden_sizes, self.activation)(obs)))


class SquashedGaussianActor(DeterministicActor):
    """``obs -> tanh(Normal)``, a distribution over ``[-1, 1]^A`` (:class:`~lagomjax.networks.TanhGaussianHead`)."""

    @nn.compact
    def __call__(self, obs):
        h = MLP(self.hidden_sizes, self.activation)(obs)
        return TanhGaussianHead(h.shape[-1], self.action_dim)(h)
