"""networks.Conv: nn.Conv's parameters, values and gradients, computed on CPU as patches @ kernel."""

import flax.linen as nn
import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import networks

CASES = [
    ((2, 10, 10, 6), dict(kernel_size=(3, 3), padding="SAME")),  # MinAtar's torso
    ((3, 5, 10, 9, 4), dict(kernel_size=(3, 3), padding="VALID")),  # two batch axes
    ((4, 9, 8, 3), dict(kernel_size=(2, 3), strides=(2, 1), padding="SAME")),
    ((4, 9, 8, 3), dict(kernel_size=(4, 4), strides=2, padding=((1, 2), (0, 1)), kernel_dilation=(2, 1))),
    ((4, 9, 8, 3), dict(kernel_size=(3, 3), padding="CIRCULAR")),
    ((5, 12, 3), dict(kernel_size=(5,), padding="SAME")),  # 1-D
    ((2, 5, 6, 4, 2), dict(kernel_size=(3, 2, 2), padding="SAME")),  # 3-D
    ((4, 9, 8, 4), dict(kernel_size=(3, 3), padding="SAME", feature_group_count=2)),  # lax's own path
    ((4, 9, 8, 3), dict(kernel_size=(3, 3), padding=((1, 1), (1, 1)), input_dilation=2)),  # lax's own path
]


@pytest.mark.parametrize("shape, kwargs", CASES)
def test_conv_equals_flax_conv_in_parameters_values_and_gradients(shape, kwargs):
    x = jax.random.normal(jax.random.key(0), shape)
    features = 8 if "feature_group_count" in kwargs else 7
    ref, ours = nn.Conv(features, **kwargs), networks.Conv(features, **kwargs)
    params, own = ref.init(jax.random.key(1), x), ours.init(jax.random.key(1), x)
    assert jax.tree.structure(own) == jax.tree.structure(params)  # same names, shapes and initial values
    for a, b in zip(jax.tree.leaves(own), jax.tree.leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)

    def loss(module):
        return lambda p: jnp.sum(jnp.sin(module.apply(p, x)))

    want = ref.apply(params, x)
    np.testing.assert_allclose(ours.apply(params, x), want, rtol=1e-5, atol=1e-5)  # eager
    np.testing.assert_allclose(jax.jit(ours.apply)(params, x), want, rtol=1e-5, atol=1e-5)
    got_g, want_g = jax.jit(jax.grad(loss(ours)))(params), jax.jit(jax.grad(loss(ref)))(params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), got_g, want_g)


def test_conv_on_cpu_is_a_matmul_and_compiles_once():
    x = jnp.ones((8, 10, 10, 4))
    conv = networks.Conv(16, (3, 3), padding="SAME")
    params = conv.init(jax.random.key(0), x)
    grad = jax.jit(jax.grad(lambda p, x: jnp.sum(conv.apply(p, x) ** 2)))
    text = grad.lower(params, x).as_text()
    assert "convolution" not in text and "dot_general" in text
    grad(params, x)
    grad(params, x + 1.0)
    assert grad._cache_size() == 1
    flax_text = jax.jit(nn.Conv(16, (3, 3), padding="SAME").apply).lower(params, x).as_text()
    assert "convolution" in flax_text  # what it replaces


def test_minatar_torso_and_lagom_cnn_builder_use_it():
    net = networks.ActorCritic(gym.spaces.Discrete(3), (8,), torso="cnn")
    params = net.init(jax.random.key(0), jnp.zeros((10, 10, 4)))
    assert "convolution" not in jax.jit(net.apply).lower(params, jnp.zeros((2, 10, 10, 4))).as_text()
    assert all(isinstance(layer, networks.Conv) for layer in networks.make_cnn(3, [8, 8], [3, 3], [1, 2], [1, 0]))
