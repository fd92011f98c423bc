"""Policy and value losses against plain NumPy, with gradients, any batch shape, and shape errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import losses, metric


@pytest.mark.parametrize("shape", [(7,), (5, 3), (4, 3, 2)])
def test_losses_equal_numpy(shape):
    rng = np.random.default_rng(0)
    logp, old, adv, v, tgt, old_v = (rng.normal(size=shape).astype(np.float32) for _ in range(6))
    ratio = np.exp(logp - old)
    ref = -np.mean(np.minimum(ratio * adv, np.clip(ratio, 0.8, 1.2) * adv))
    loss, kl, frac = jax.jit(losses.clipped_surrogate_loss, static_argnums=3)(logp, old, adv, 0.2)
    np.testing.assert_allclose(loss, ref, rtol=1e-5)
    np.testing.assert_allclose(kl, np.mean(ratio - 1 - (logp - old)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(frac, np.mean(np.abs(ratio - 1) > 0.2), rtol=1e-6)
    np.testing.assert_allclose(losses.value_loss(v, tgt), 0.5 * np.mean((v - tgt) ** 2), rtol=1e-5)
    clipped = old_v + np.clip(v - old_v, -0.1, 0.1)
    ref_v = 0.5 * np.mean(np.maximum((v - tgt) ** 2, (clipped - tgt) ** 2))
    np.testing.assert_allclose(losses.value_loss(v, tgt, old_v, 0.1), ref_v, rtol=1e-5)
    np.testing.assert_allclose(losses.policy_gradient_loss(logp, adv), -np.mean(logp * adv), rtol=1e-5)
    # advantages are constants: the gradient with respect to them is zero
    g = jax.grad(losses.policy_gradient_loss, argnums=(0, 1))(jnp.asarray(logp), jnp.asarray(adv))
    np.testing.assert_allclose(g[0], -adv / adv.size, rtol=1e-5)
    np.testing.assert_array_equal(g[1], 0.0)


def test_vtrace_loss_is_the_vtrace_targets_and_advantages():
    rng = np.random.default_rng(1)
    T, B = 6, 3
    blogp, tlogp, r, V, nV = (jnp.asarray(rng.normal(size=(T, B)), jnp.float32) for _ in range(5))
    term = jnp.asarray(rng.random((T, B)) < 0.2)
    trunc = jnp.asarray(rng.random((T, B)) < 0.2) & ~term
    pg, vl = losses.vtrace_loss(blogp, tlogp, 0.9, r, V, nV, term, trunc)
    vs, adv = metric.vtrace_rollout(blogp, tlogp, 0.9, r, V, nV, term, trunc)
    np.testing.assert_allclose(pg, -np.mean(np.asarray(tlogp) * np.asarray(adv)), rtol=1e-5)
    np.testing.assert_allclose(vl, 0.5 * np.mean((np.asarray(V) - np.asarray(vs)) ** 2), rtol=1e-5)
    gv = jax.grad(lambda V: losses.vtrace_loss(blogp, tlogp, 0.9, r, V, nV, term, trunc)[1])(V)
    np.testing.assert_allclose(gv, (np.asarray(V) - np.asarray(vs)) / V.size, rtol=1e-4, atol=1e-6)


def test_shapes_must_match_instead_of_broadcasting():
    with pytest.raises(ValueError, match=r"targets must have the same shape as values.*\(4, 1\)"):
        losses.value_loss(jnp.zeros(4), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match="advantages"):
        losses.clipped_surrogate_loss(jnp.zeros(4), jnp.zeros(4), jnp.zeros((4, 1)), 0.2)
    with pytest.raises(ValueError, match="old_logp"):
        losses.clipped_surrogate_loss(jnp.zeros(4), jnp.zeros(3), jnp.zeros(4), 0.2)
    with pytest.raises(ValueError, match="advantages"):
        losses.policy_gradient_loss(jnp.zeros((2, 3)), jnp.zeros(3))
