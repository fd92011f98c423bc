"""Mixture density network head (lagom's ``MDNHead``): an independent K-component Gaussian mixture per
output dimension."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from lagomjax._checks import check_int
from lagomjax.networks.dense import Dense
from lagomjax.networks.init import ortho_init

_LOG_SQRT_2PI = 0.5 * jnp.log(2.0 * jnp.pi)


class MDNHead(nn.Module):
    """``x [N, in_features] -> (logit_pi, mean, std)``, each ``[N, num_density, out_features]``.

    Each output dimension ``d`` has its own mixture ``sum_k pi_kd N(mean_kd, std_kd^2)``.
    """

    in_features: int
    out_features: int
    num_density: int

    @nn.compact
    def __call__(self, x):
        for name in ("in_features", "out_features", "num_density"):
            check_int(f"MDNHead.{name}", getattr(self, name), low=1)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"MDNHead expects x [..., in_features={self.in_features}], got shape {tuple(x.shape)}")
        shape = (*x.shape[:-1], self.num_density, self.out_features)
        n = self.num_density * self.out_features
        logit_pi = Dense(n, **ortho_init(weight_scale=0.01))(x).reshape(shape)
        mean = Dense(n, **ortho_init(weight_scale=0.01))(x).reshape(shape)
        logvar = Dense(n, **ortho_init(weight_scale=0.01))(x).reshape(shape)
        return logit_pi, mean, jnp.exp(0.5 * logvar)

    @staticmethod
    def loss(logit_pi, mean, std, target):
        r"""Mean over the batch of the mixture negative log-likelihood, summed over output dimensions.

        .. math:: -\frac1N \sum_n \sum_d \log \sum_k \pi_{nkd}\, \mathcal N(y_{nd}; \mu_{nkd}, \sigma_{nkd}^2)

        computed with log-softmax and log-sum-exp. ``target`` is ``[N, out_features]``.
        """
        if target.shape != (*mean.shape[:-2], mean.shape[-1]):
            raise ValueError(f"target must be [N, out_features] matching mean {tuple(mean.shape)}, got {target.shape}")
        log_pi = jax.nn.log_softmax(logit_pi, axis=-2)
        z = (target[..., None, :] - mean) / std
        log_normal = -0.5 * z**2 - jnp.log(std) - _LOG_SQRT_2PI
        return -jnp.mean(jnp.sum(jax.nn.logsumexp(log_pi + log_normal, axis=-2), axis=-1))

    @staticmethod
    def sample(key, logit_pi, mean, std, tau=1.0):
        r"""One sample ``[N, out_features]`` per row; ``tau`` is the temperature.

        The component is drawn from ``softmax(logit_pi / tau)``, then ``y = mean + sqrt(tau) std eps``.
        """
        k_pi, k_eps = jax.random.split(key)
        idx = jax.random.categorical(k_pi, logit_pi / tau, axis=-2)  # [N, D]
        pick = lambda a: jnp.take_along_axis(a, idx[..., None, :], axis=-2)[..., 0, :]  # noqa: E731
        eps = jax.random.normal(k_eps, idx.shape, mean.dtype)
        return pick(mean) + jnp.sqrt(tau) * pick(std) * eps
