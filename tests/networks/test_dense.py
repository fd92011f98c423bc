import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.networks import MLP
from lagomjax.networks.dense import Dense, dense_dot_general


def _loss(module):
    return lambda params, x: jnp.sum(jnp.sin(module.apply(params, x)))


def _close(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(7,), (5, 7), (3, 5, 7)])
def test_dense_matches_flax_dense_values_and_gradients(shape):
    x = jax.random.normal(jax.random.key(0), shape)
    ours, flax_dense = Dense(4), nn.Dense(4)
    params = flax_dense.init(jax.random.key(1), x)
    _close(ours.init(jax.random.key(1), x), params)  # same parameter names and initial values
    np.testing.assert_array_equal(ours.apply(params, x), flax_dense.apply(params, x))
    for grad in (jax.grad(_loss(ours), argnums=(0, 1)), jax.jit(jax.grad(_loss(ours), argnums=(0, 1)))):
        _close(grad(params, x), jax.grad(_loss(flax_dense), argnums=(0, 1))(params, x))
    # reverse over reverse (second derivatives), and per-example gradients under vmap
    second = jax.jacrev(jax.grad(_loss(ours)))(params, x)
    _close(second, jax.jacrev(jax.grad(_loss(flax_dense)))(params, x))
    if len(shape) > 1:
        per_example = jax.jit(jax.vmap(jax.grad(_loss(ours)), in_axes=(None, 0)))(params, x)
        _close(per_example, jax.vmap(jax.grad(_loss(flax_dense)), in_axes=(None, 0))(params, x))


def test_mlp_kernel_gradients_avoid_the_transposed_operand_matmul_on_cpu():
    x = jnp.ones((128, 4))
    mlp = MLP((64, 64))
    params = mlp.init(jax.random.key(0), x)
    hlo = jax.jit(jax.grad(_loss(mlp))).lower(params, x).compile().as_text()
    dots = [line for line in hlo.splitlines() if " dot(" in line or "dot_general" in line.split("=")[0]]
    transposed = [line for line in dots if "lhs_contracting_dims={0}" in line]
    if jax.default_backend() == "cpu":
        assert not transposed, transposed  # every kernel gradient is a plain [in, N] @ [N, out]
        flax_hlo = jax.jit(jax.grad(_loss(nn.Dense(64)))).lower(nn.Dense(64).init(jax.random.key(0), x), x)
        assert "lhs_contracting_dims={0}" in flax_hlo.compile().as_text()  # what Flax's own Dense compiles to


def test_dense_dot_general_falls_back_for_other_contractions_and_refuses_forward_mode():
    a, b = jnp.arange(6.0).reshape(2, 3), jnp.arange(6.0).reshape(2, 3)
    dims = (((0,), (0,)), ((), ()))  # not Dense's contraction: lax.dot_general itself
    np.testing.assert_array_equal(dense_dot_general(a, b, dims), jax.lax.dot_general(a, b, dims))
    params = Dense(2).init(jax.random.key(0), a)
    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(lambda p: Dense(2).apply(p, a), (params,), (params,))
