import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.es import ellipsoid, holder_table, rastrigin, rosenbrock, sphere, styblinski_tang


def test_lagom_reference_values():
    with jax.enable_x64(True):
        np.testing.assert_allclose(rastrigin(jnp.array([5.12])), 28.924713725785896, rtol=1e-12)
        assert float(sphere(jnp.array([1.0, 2.0, 3.0]))) == 14.0
        assert float(styblinski_tang(jnp.array([1.0, 2.0]))) == -24.0
        np.testing.assert_allclose(holder_table(jnp.array([8.05502, 9.66459])), -19.2085, atol=1e-4)


def test_python_lists_as_lagom_passes_them():
    assert float(sphere([1, 2, 3])) == 14.0 and float(styblinski_tang([1.0, 2.0])) == -24.0
    np.testing.assert_allclose(rastrigin([5.12]), 28.924713725785896, rtol=1e-6)
    np.testing.assert_allclose(holder_table([8.05502, 9.66459]), -19.2085, atol=1e-3)
    assert float(rosenbrock([1, 1, 1])) == 0.0 and float(ellipsoid([0.0, 0.0])) == 0.0


def test_minima_and_batching():
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    for f in (sphere, ellipsoid, rosenbrock, rastrigin, styblinski_tang):
        out = jax.jit(f)(x)
        assert out.shape == (4, 3)
        np.testing.assert_allclose(out[1, 2], f(x[1, 2]), rtol=1e-6)
    assert float(sphere(jnp.zeros(5))) == 0.0 and float(rastrigin(jnp.zeros(5))) == 0.0
    assert float(rosenbrock(jnp.ones(5))) == 0.0 and float(ellipsoid(jnp.zeros(5))) == 0.0
    np.testing.assert_allclose(ellipsoid(jnp.eye(3)), [1.0, 1e3, 1e6], rtol=1e-6)
    np.testing.assert_allclose(styblinski_tang(jnp.full(2, -2.903534)), -39.16617 * 2, rtol=1e-6)
    with pytest.raises(ValueError, match="holder_table is 2-D"):
        holder_table(jnp.zeros(3))
