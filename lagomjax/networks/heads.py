"""Distribution and value heads. Policy heads return ``distrax`` distributions and start near-uniform
(orthogonal weights scaled by 0.01; ``weight_init='lecun'``: Flax's default initialisation instead)."""

from __future__ import annotations

import math

import distrax
import jax.numpy as jnp
from flax import linen as nn

from lagomjax._checks import check_int
from lagomjax.networks.dense import Dense
from lagomjax.networks.init import dense_init, ortho_init, zeros_like_init


def _check_features(module, x, *sizes: str):
    """``x``'s last axis is ``module.feature_dim``; ``feature_dim`` and the fields named in ``sizes``
    are positive ints (a head of 0 actions would build, give -inf log-probabilities and fail to sample)."""
    for name in ("feature_dim", *sizes):
        check_int(f"{type(module).__name__}.{name}", getattr(module, name), low=1)
    if x.shape[-1] != module.feature_dim:
        raise ValueError(
            f"{type(module).__name__} expects x [..., feature_dim={module.feature_dim}], got shape {tuple(x.shape)}"
        )


class CategoricalHead(nn.Module):
    """``x [..., feature_dim] -> Categorical`` over ``num_action`` actions."""

    feature_dim: int
    num_action: int
    weight_init: str = "orthogonal"

    @nn.compact
    def __call__(self, x) -> distrax.Categorical:
        _check_features(self, x, "num_action")
        logits = Dense(self.num_action, **dense_init(self.weight_init, weight_scale=0.01))(x)
        return distrax.Categorical(logits=logits)


class MultiCategoricalHead(nn.Module):
    """``x [..., feature_dim] -> Independent(Categorical)`` over ``len(nvec)`` discrete actions, the
    ``d``-th of ``nvec[d]`` choices (a ``MultiDiscrete`` space): actions ``[..., len(nvec)]``, their
    log-probabilities and entropies summed over the dimensions. Shorter dimensions are padded with
    logits of -1e9 (probability exactly 0, contributing nothing to the entropy)."""

    feature_dim: int
    nvec: tuple
    weight_init: str = "orthogonal"

    @nn.compact
    def __call__(self, x) -> distrax.Independent:
        _check_features(self, x)
        if not len(self.nvec):
            raise ValueError(f"MultiCategoricalHead.nvec must name at least one action dimension, got {self.nvec!r}")
        for n in self.nvec:
            check_int("MultiCategoricalHead.nvec entries", n, low=1)
        nvec, width = tuple(int(n) for n in self.nvec), max(int(n) for n in self.nvec)
        logits = Dense(sum(nvec), **dense_init(self.weight_init, weight_scale=0.01))(x)
        parts, start = [], 0
        for n in nvec:  # a static loop over action dimensions (a few), not over time or batch
            part = logits[..., start : start + n]
            parts.append(jnp.pad(part, [(0, 0)] * (part.ndim - 1) + [(0, width - n)], constant_values=-1e9))
            start += n
        return distrax.Independent(distrax.Categorical(logits=jnp.stack(parts, axis=-2)), 1)


class DiagGaussianHead(nn.Module):
    """``x [..., feature_dim] -> N(mean(x), diag(std^2))`` with a state-independent log-std.

    The log-std is one learned vector initialised to ``log(std0)``.
    """

    feature_dim: int
    action_dim: int
    std0: float = 1.0
    weight_init: str = "orthogonal"

    @nn.compact
    def __call__(self, x) -> distrax.MultivariateNormalDiag:
        _check_features(self, x, "action_dim")
        if self.std0 <= 0:
            raise ValueError(f"std0 must be > 0, got {self.std0}")
        mean = Dense(self.action_dim, **dense_init(self.weight_init, weight_scale=0.01))(x)
        logstd = self.param("logstd", zeros_like_init(math.log(self.std0)), (self.action_dim,))
        return distrax.MultivariateNormalDiag(mean, jnp.broadcast_to(jnp.exp(logstd), mean.shape))


class _StableTanh(distrax.Tanh):
    """``tanh`` bijector whose inverse clips to ``(-1, 1)`` so ``log_prob`` of actions at +-1 is finite.

    distrax computes ``log|d tanh(u)/du| = 2 (log 2 - u - softplus(-2u))``, which is exact and
    stable for every ``u``; only ``atanh`` needs the clip.
    """

    def __init__(self, eps: float):
        super().__init__()
        self._eps = eps

    def inverse_and_log_det(self, y):
        lim = 1.0 - self._eps
        x = jnp.arctanh(jnp.clip(y, -lim, lim))
        return x, -self.forward_log_det_jacobian(x)

    def inverse(self, y):
        return self.inverse_and_log_det(y)[0]

    def inverse_log_det_jacobian(self, y):
        return self.inverse_and_log_det(y)[1]


def tanh_gaussian(mean, std, eps: float = 1e-6) -> distrax.Transformed:
    r"""``tanh(u)``, ``u ~ N(mean, diag(std^2))``: actions in ``(-1, 1)^d``.

    .. math:: \log \pi(a) = \log \mathcal N(u; \mu, \sigma) - \sum_i \log(1 - \tanh^2 u_i)

    Use ``sample_and_log_prob`` when sampling (it never inverts tanh, so it is exact);
    ``log_prob(a)`` clips ``a`` to ``[-1 + eps, 1 - eps]`` before ``atanh``.
    """
    base = distrax.MultivariateNormalDiag(mean, std)
    return distrax.Transformed(base, distrax.Block(_StableTanh(eps), ndims=1))


class TanhGaussianHead(nn.Module):
    """SAC's squashed Gaussian: state-dependent mean and log-std, ``a = tanh(u)``.

    The log-std is squashed smoothly into ``[log_std_min, log_std_max]`` (``tanh`` rescaling, which
    keeps gradients, rather than a hard clip).
    """

    feature_dim: int
    action_dim: int
    log_std_min: float = -5.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, x) -> distrax.Transformed:
        _check_features(self, x, "action_dim")
        mean = Dense(self.action_dim, **ortho_init(weight_scale=0.01))(x)
        raw = Dense(self.action_dim, **ortho_init(weight_scale=0.01))(x)
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (jnp.tanh(raw) + 1.0)
        return tanh_gaussian(mean, jnp.exp(log_std))


class ValueHead(nn.Module):
    """``x [..., feature_dim] -> V(x) [...]`` (orthogonal init, gain 1; or ``weight_init='lecun'``)."""

    feature_dim: int
    weight_init: str = "orthogonal"

    @nn.compact
    def __call__(self, x) -> jnp.ndarray:
        _check_features(self, x)
        return Dense(1, **dense_init(self.weight_init, weight_scale=1.0))(x)[..., 0]
