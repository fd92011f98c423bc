r"""Policy and value losses (pure, mean-reduced over all entries, any batch shape ``[*B]``).

Every function takes arrays of one shape (checked at trace time, so a ``[N]`` against ``[N, 1]``
mistake raises instead of broadcasting to ``[N, N]``) and returns a scalar to *minimise*.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lagomjax import metric
from lagomjax._checks import as_float_array, check_positive, check_same_shape


def _same(ref_name, ref, **others):
    ref = as_float_array(ref_name, ref)
    out = [ref]
    for name, x in others.items():
        x = as_float_array(name, x)
        check_same_shape(name, x, ref_name, ref)
        out.append(x)
    return out


def policy_gradient_loss(logp, advantages):
    r"""The score-function (REINFORCE / A2C) loss :math:`-\mathbb E[\log\pi(a|s)\, A]`; ``advantages``
    are treated as constants (no gradient flows into them).

    Args:
      logp: ``[*B]`` log-probabilities of the taken actions under the current policy.
      advantages: ``[*B]``.
    """
    logp, advantages = _same("logp", logp, advantages=advantages)
    return -jnp.mean(logp * jax.lax.stop_gradient(advantages))


def clipped_surrogate_loss(logp, old_logp, advantages, clip_eps):
    r"""PPO's clipped policy loss (Schulman et al. 2017, arXiv:1707.06347).

    .. math:: -\mathbb E\left[\min(\rho A, \mathrm{clip}(\rho, 1 - \epsilon, 1 + \epsilon) A)\right],
              \quad \rho = e^{\log\pi - \log\pi_{old}}

    Args:
      logp, old_logp, advantages: ``[*B]``.
      clip_eps: the ratio clip :math:`\epsilon`.

    Returns ``(loss, approx_kl, clip_fraction)``; ``approx_kl`` is Schulman's low-variance
    estimator of KL(old || new).
    """
    logp, old_logp, advantages = _same("logp", logp, old_logp=old_logp, advantages=advantages)
    check_positive("clip_eps", clip_eps)
    log_ratio = logp - old_logp
    ratio = jnp.exp(log_ratio)
    loss = -jnp.mean(jnp.minimum(ratio * advantages, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * advantages))
    approx_kl = jnp.mean((ratio - 1) - log_ratio)
    clip_fraction = jnp.mean((jnp.abs(ratio - 1) > clip_eps).astype(loss.dtype))
    return loss, approx_kl, clip_fraction


def value_loss(values, targets, old_values=None, clip_eps=None):
    r""":math:`\frac12 \mathbb E[(V - \hat V)^2]`, optionally with PPO's value clipping around ``old_values``.

    Args:
      values, targets (and ``old_values``): ``[*B]``.
    """
    values, targets = _same("values", values, targets=targets)
    loss = jnp.square(values - targets)
    if clip_eps is not None:
        check_positive("clip_eps", clip_eps)
        if old_values is None:
            raise ValueError("value_loss: value clipping (clip_eps given) needs old_values")
        (old_values,) = _same("old_values", old_values, values=values)[:1]
        clipped = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        loss = jnp.maximum(loss, jnp.square(clipped - targets))
    return 0.5 * jnp.mean(loss)


def vtrace_loss(behavior_logprobs, target_logprobs, gamma, rewards, values, next_values, terminated, truncated,
                clip_rho=1.0, clip_pg_rho=1.0):  # fmt: skip
    r"""IMPALA's actor and critic losses (Espeholt et al. 2018, arXiv:1802.01561) on a rollout.

    With :math:`(v_s, A) =` :func:`~lagomjax.metric.vtrace_rollout`, the policy loss is
    :math:`-\mathbb E[\log\pi(a|s)\, A]` and the value loss :math:`\frac12\mathbb E[(v_s - V)^2]`,
    both with :math:`v_s, A` held constant.

    Args:
      behavior_logprobs: ``[T, *B]`` log-probabilities under the acting policy.
      target_logprobs: ``[T, *B]`` under the policy being learned (gradients flow here).
      gamma, rewards, values, next_values, terminated, truncated, clip_rho, clip_pg_rho: as
        :func:`~lagomjax.metric.vtrace_rollout` (``values`` carry the critic's gradient).

    Returns ``(policy_loss, value_loss)``.
    """
    rewards, behavior_logprobs, target_logprobs, values, next_values = _same(
        "rewards", rewards, behavior_logprobs=behavior_logprobs, target_logprobs=target_logprobs, values=values,
        next_values=next_values,
    )  # fmt: skip
    vs, pg_adv = metric.vtrace_rollout(
        jax.lax.stop_gradient(behavior_logprobs), jax.lax.stop_gradient(target_logprobs), gamma, rewards,
        jax.lax.stop_gradient(values), jax.lax.stop_gradient(next_values), terminated, truncated, clip_rho, clip_pg_rho,
    )  # fmt: skip
    return policy_gradient_loss(target_logprobs, pg_adv), value_loss(values, jax.lax.stop_gradient(vs))


def normalize(x, eps=1e-8):
    """``(x - mean) / (std + eps)`` over all entries (advantage normalisation)."""
    x = as_float_array("x", x)
    check_positive("eps", eps)
    return (x - x.mean()) / (x.std() + eps)
