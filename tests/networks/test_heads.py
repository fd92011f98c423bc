import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax

from lagomjax.networks import (
    CategoricalHead,
    DiagGaussianHead,
    MDNHead,
    MultiCategoricalHead,
    TanhGaussianHead,
    ValueHead,
    tanh_gaussian,
)

X = jnp.asarray(np.random.default_rng(0).standard_normal((6, 5)), jnp.float32)


def dense(params, x):
    return np.asarray(x, np.float64) @ np.asarray(params["kernel"], np.float64) + np.asarray(params["bias"], np.float64)


def test_categorical_logprob_entropy_closed_form_and_near_uniform_start():
    head = CategoricalHead(5, 4)
    params = head.init(jax.random.key(0), X)
    dist = head.apply(params, X)
    logp = log_softmax(dense(params["params"]["Dense_0"], X), axis=-1)
    actions = np.array([0, 1, 2, 3, 0, 1])
    np.testing.assert_allclose(dist.log_prob(actions), logp[np.arange(6), actions], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dist.entropy(), -(np.exp(logp) * logp).sum(-1), rtol=1e-5)
    np.testing.assert_allclose(dist.probs, 0.25, atol=0.02)  # 0.01-scaled weights: near uniform


def test_diag_gaussian_logprob_entropy_and_std0():
    head = DiagGaussianHead(5, 3, std0=0.5)
    params = head.init(jax.random.key(0), X)
    dist = head.apply(params, X)
    np.testing.assert_allclose(dist.stddev(), 0.5, rtol=1e-6)
    mean = dense(params["params"]["Dense_0"], X)
    a = np.random.default_rng(1).standard_normal((6, 3))
    ref = stats.norm(mean, 0.5).logpdf(a).sum(-1)
    np.testing.assert_allclose(dist.log_prob(jnp.asarray(a, jnp.float32)), ref, rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), 3 * 0.5 * np.log(2 * np.pi * np.e * 0.25), rtol=1e-6)
    assert np.abs(mean).max() < 0.2  # near-zero initial mean
    with pytest.raises(ValueError, match="std0"):
        DiagGaussianHead(5, 3, std0=0.0).init(jax.random.key(0), X)


def np_tanh_gaussian_logprob(u, mean, std):
    """float64 reference: log N(u) - sum log(1 - tanh(u)^2), the latter via the stable identity."""
    log_det = 2.0 * (np.log(2.0) - u - np.logaddexp(0.0, -2.0 * u))
    return (stats.norm(mean, std).logpdf(u) - log_det).sum(-1)


def test_tanh_gaussian_logprob_against_numpy_including_near_plus_minus_one():
    mean = np.array([[0.1, -0.2], [0.5, 0.0], [0.0, 0.3]])
    std = np.array([[0.5, 1.0], [0.8, 0.3], [2.0, 1.5]])
    dist = tanh_gaussian(jnp.asarray(mean, jnp.float32), jnp.asarray(std, jnp.float32))
    u = np.array([[0.3, -1.2], [2.5, 0.1], [-3.0, 1.7]])  # moderate: tanh is invertible in float32
    np.testing.assert_allclose(
        dist.log_prob(jnp.asarray(np.tanh(u), jnp.float32)), np_tanh_gaussian_logprob(u, mean, std), rtol=2e-3
    )
    # actions at or next to +-1 (tanh of large u rounds to exactly 1 in float32): finite, and equal to
    # the reference at the clipped action
    edge = jnp.array([[1.0, -1.0], [0.9999999, -0.9999999], [1.0, 0.0]], jnp.float32)
    lp = dist.log_prob(edge)
    assert np.all(np.isfinite(lp))
    a = np.clip(np.asarray(edge, np.float64), -(1 - 1e-6), 1 - 1e-6)
    np.testing.assert_allclose(lp, np_tanh_gaussian_logprob(np.arctanh(a), mean, std), rtol=1e-2)


def test_tanh_gaussian_head_sample_and_log_prob_is_exact_and_in_range():
    head = TanhGaussianHead(5, 2)
    params = head.init(jax.random.key(0), X)
    dist = head.apply(params, X)
    a, lp = dist.sample_and_log_prob(seed=jax.random.key(3))
    assert a.shape == (6, 2) and lp.shape == (6,)
    assert np.all(np.abs(a) <= 1.0) and np.all(np.isfinite(lp))
    base = dist.distribution
    u = np.arctanh(np.asarray(a, np.float64))
    ref = np_tanh_gaussian_logprob(u, np.asarray(base.mean(), np.float64), np.asarray(base.stddev(), np.float64))
    np.testing.assert_allclose(lp, ref, rtol=1e-3)
    std = np.asarray(base.stddev())
    assert np.all((std >= np.exp(-5.0) - 1e-6) & (std <= np.exp(2.0) + 1e-6))


def test_value_head_and_feature_check():
    head = ValueHead(5)
    params = head.init(jax.random.key(0), X)
    np.testing.assert_allclose(head.apply(params, X), dense(params["params"]["Dense_0"], X)[:, 0], rtol=1e-5)
    with pytest.raises(ValueError, match=r"feature_dim=5.*\(6, 4\)"):
        head.init(jax.random.key(0), jnp.ones((6, 4)))


@pytest.mark.parametrize(
    "head, match",
    [
        (CategoricalHead(4, 0), r"CategoricalHead.num_action must be an int >= 1, got 0"),
        (CategoricalHead(0, 3), r"CategoricalHead.feature_dim must be an int >= 1, got 0"),
        (DiagGaussianHead(4, -1), r"DiagGaussianHead.action_dim must be an int >= 1, got -1"),
        (TanhGaussianHead(4, 0), r"TanhGaussianHead.action_dim must be an int >= 1, got 0"),
        (MultiCategoricalHead(4, ()), r"nvec must name at least one action dimension"),
        (MultiCategoricalHead(4, (3, 0)), r"nvec entries must be an int >= 1, got 0"),
        (MDNHead(4, 2, 0), r"MDNHead.num_density must be an int >= 1, got 0"),
    ],
)
def test_heads_refuse_empty_sizes_before_building(head, match):
    # a head of 0 actions used to build, give -inf log-probabilities and fail only when sampled
    with pytest.raises(ValueError, match=match):
        head.init(jax.random.key(0), jnp.ones((2, 4)))


def test_heads_refuse_a_float_size():
    with pytest.raises(TypeError, match=r"CategoricalHead.num_action must be an int, got float 3.0"):
        CategoricalHead(4, 3.0).init(jax.random.key(0), jnp.ones((2, 4)))
