import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn

from lagomjax.networks import MLP, MDNHead


def np_mdn_nll(logit_pi, mean, std, target):
    N, K, D = mean.shape
    total = 0.0
    for n in range(N):
        for d in range(D):
            pi = np.exp(logit_pi[n, :, d] - logit_pi[n, :, d].max())
            pi /= pi.sum()
            like = sum(
                pi[k]
                * np.exp(-0.5 * ((target[n, d] - mean[n, k, d]) / std[n, k, d]) ** 2)
                / (np.sqrt(2 * np.pi) * std[n, k, d])
                for k in range(K)
            )
            total += -np.log(like)
    return total / N


def test_loss_against_naive_loop_and_shapes():
    rng = np.random.default_rng(0)
    head = MDNHead(4, 2, 3)
    x = jnp.asarray(rng.standard_normal((5, 4)), jnp.float32)
    logit_pi, mean, std = head.apply(head.init(jax.random.key(0), x), x)
    assert logit_pi.shape == mean.shape == std.shape == (5, 3, 2)
    logit_pi, mean = rng.standard_normal((5, 3, 2)), rng.standard_normal((5, 3, 2))
    std, target = rng.uniform(0.3, 2.0, (5, 3, 2)), rng.standard_normal((5, 2))
    np.testing.assert_allclose(
        MDNHead.loss(*(jnp.asarray(a, jnp.float32) for a in (logit_pi, mean, std, target))),
        np_mdn_nll(logit_pi, mean, std, target),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="target"):
        MDNHead.loss(jnp.zeros((5, 3, 2)), jnp.zeros((5, 3, 2)), jnp.ones((5, 3, 2)), jnp.zeros((5, 3)))


def test_sample_picks_components_by_weight():
    logit_pi = jnp.log(jnp.array([0.25, 0.75]))[None, :, None].repeat(4000, 0)  # [N, K=2, D=1]
    mean = jnp.array([-10.0, 10.0])[None, :, None].repeat(4000, 0)
    std = jnp.full((4000, 2, 1), 0.1)
    y = MDNHead.sample(jax.random.key(0), logit_pi, mean, std)
    assert y.shape == (4000, 1)
    assert abs(float((y > 0).mean()) - 0.75) < 0.03
    # low temperature concentrates on the heavier component and shrinks the noise
    y_cold = MDNHead.sample(jax.random.key(1), logit_pi, mean, std, tau=0.01)
    assert float((y_cold > 0).mean()) > 0.99 and float(jnp.abs(y_cold - 10).max()) < 0.1


class MDN(nn.Module):
    @nn.compact
    def __call__(self, x):
        return MDNHead(64, 1, 3)(MLP((64, 64))(x))


def test_learns_a_bimodal_dataset():
    """y = +x or -x with equal probability: a single Gaussian cannot get below NLL ~0.8, the mixture can."""
    kx, kb, kn = jax.random.split(jax.random.key(0), 3)
    x = jax.random.uniform(kx, (512, 1), minval=-1, maxval=1)
    y = jnp.where(jax.random.bernoulli(kb, 0.5, (512, 1)), x, -x) + 0.05 * jax.random.normal(kn, (512, 1))
    model = MDN()
    params = model.init(jax.random.key(1), x)
    opt = optax.adam(3e-3)

    def step(carry, _):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(lambda p: MDNHead.loss(*model.apply(p, x), y))(params)
        updates, opt_state = opt.update(grads, opt_state)
        return (optax.apply_updates(params, updates), opt_state), loss

    (params, _), losses = jax.jit(lambda c: jax.lax.scan(step, c, None, length=1500))((params, opt.init(params)))
    assert float(losses[0]) > 0.5
    assert float(losses[-50:].mean()) < -0.4, float(losses[-50:].mean())
