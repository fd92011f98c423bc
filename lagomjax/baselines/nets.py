"""Value and policy networks the off-policy baselines share (Flax linen; parameters are plain pytrees)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from lagomjax.networks import MLP


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
