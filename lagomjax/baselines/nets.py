"""Value and policy networks the baselines share (Flax linen; parameters are plain pytrees)."""

from __future__ import annotations

import distrax
import flax.linen as nn
import gymnasium as gym
import jax.numpy as jnp

from lagomjax.networks import MLP, CategoricalHead, DiagGaussianHead, ValueHead


def policy_head(action_space, feature_dim: int, std0: float = 1.0) -> nn.Module:
    """The head for ``action_space``: categorical for ``Discrete``, a diagonal Gaussian (initial std
    ``std0``) for ``Box``. Call it inside a compact module, so the head is that module's child."""
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalHead(feature_dim, int(action_space.n))
    return DiagGaussianHead(feature_dim, action_space.shape[0], std0)


class ActorCritic(nn.Module):
    """``obs -> (distribution, value)`` with separate actor and critic MLP torsos (PPO, A2C)."""

    action_space: gym.spaces.Space
    hidden_sizes: tuple = (64, 64)
    activation: str = "tanh"
    std0: float = 1.0

    @nn.compact
    def __call__(self, obs):
        h = self.hidden_sizes[-1]
        dist = policy_head(self.action_space, h, self.std0)(MLP(self.hidden_sizes, self.activation)(obs))
        value = ValueHead(h)(MLP(self.hidden_sizes, self.activation)(obs))
        return dist, value


def mode(dist):
    """The deterministic action: argmax of a categorical, the mean of a Gaussian."""
    return dist.mode() if isinstance(dist, distrax.Categorical) else dist.mean()


class DiscreteQ(nn.Module):
    """``obs [..., D] -> Q(obs, .) [..., num_actions]`` (DQN)."""

    num_actions: int
    hidden_sizes: tuple = (64, 64)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs):
        return nn.Dense(self.num_actions)(MLP(self.hidden_sizes, self.activation)(obs))


class ContinuousQ(nn.Module):
    """``(obs [..., D], action [..., A]) -> Q [...]``; with ``num_critics > 1`` an ensemble of
    independently initialised critics stacked on a leading axis: ``[num_critics, ...]`` (TD3, SAC)."""

    hidden_sizes: tuple = (256, 256)
    activation: str = "relu"
    num_critics: int = 1

    @nn.compact
    def __call__(self, obs, action):
        def critic(module, x):
            return nn.Dense(1)(MLP(self.hidden_sizes, self.activation)(x))[..., 0]

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
    """``obs -> tanh(...)`` in ``[-1, 1]^A`` (DDPG, TD3)."""

    action_dim: int
    hidden_sizes: tuple = (256, 256)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs):
        return jnp.tanh(nn.Dense(self.action_dim)(MLP(self.hidden_sizes, self.activation)(obs)))
