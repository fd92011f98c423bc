"""Losses shared by the baselines (all pure, batched over any leading axes, mean-reduced)."""

from __future__ import annotations

import jax.numpy as jnp


def clipped_surrogate_loss(logp, old_logp, advantages, clip_eps):
    r"""PPO's clipped policy loss (Schulman et al. 2017, arXiv:1707.06347), to minimise.

    .. math:: -\mathbb E\left[\min(\rho A, \mathrm{clip}(\rho, 1 - \epsilon, 1 + \epsilon) A)\right],
              \quad \rho = e^{\log\pi - \log\pi_{old}}

    Returns ``(loss, approx_kl, clip_fraction)``.
    """
    log_ratio = logp - old_logp
    ratio = jnp.exp(log_ratio)
    loss = -jnp.mean(jnp.minimum(ratio * advantages, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * advantages))
    approx_kl = jnp.mean((ratio - 1) - log_ratio)  # Schulman's low-variance estimator of KL(old || new)
    clip_fraction = jnp.mean((jnp.abs(ratio - 1) > clip_eps).astype(loss.dtype))
    return loss, approx_kl, clip_fraction


def value_loss(values, targets, old_values=None, clip_eps=None):
    r""":math:`\frac12 \mathbb E[(V - \hat V)^2]`, optionally with PPO's value clipping around ``old_values``."""
    loss = jnp.square(values - targets)
    if clip_eps is not None:
        clipped = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        loss = jnp.maximum(loss, jnp.square(clipped - targets))
    return 0.5 * jnp.mean(loss)


def normalize(x, eps=1e-8):
    """``(x - mean) / (std + eps)`` over all entries (advantage normalisation)."""
    return (x - x.mean()) / (x.std() + eps)
