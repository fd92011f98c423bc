import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.transform import geometric_cumsum, reverse_linear_scan


def np_geometric_cumsum(alpha, x):
    x = np.atleast_2d(np.asarray(x, np.float64))
    out = np.zeros_like(x)
    for row in range(x.shape[0]):
        for i in range(x.shape[1]):
            out[row, i] = sum(alpha**k * x[row, i + k] for k in range(x.shape[1] - i))
    return out


def test_geometric_cumsum_lagom_values():
    np.testing.assert_allclose(
        geometric_cumsum(0.1, [[1, 2, 3, 4], [5, 6, 7, 8]]), [[1.234, 2.34, 3.4, 4], [5.678, 6.78, 7.8, 8]], 1e-6
    )
    np.testing.assert_allclose(geometric_cumsum(0.1, [1, 2, 3, 4]), [1.234, 2.34, 3.4, 4], 1e-6)


@pytest.mark.parametrize("shape", [(9,), (3, 9), (2, 3, 9)])
@pytest.mark.parametrize("jit", [False, True])
def test_geometric_cumsum_against_loop(shape, jit):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    fn = jax.jit(lambda x: geometric_cumsum(0.8, x)) if jit else (lambda x: geometric_cumsum(0.8, x))
    expected = np_geometric_cumsum(0.8, x.reshape(-1, shape[-1])).reshape(shape)
    np.testing.assert_allclose(fn(x), expected, rtol=1e-5, atol=1e-5)


def test_reverse_linear_scan_array_discount_and_init():
    rng = np.random.default_rng(1)
    x, c, init = rng.standard_normal((6, 2)), rng.uniform(0, 1, (6, 2)), rng.standard_normal(2)
    y, expected = init.copy(), np.zeros((6, 2))
    for t in reversed(range(6)):
        y = x[t] + c[t] * y
        expected[t] = y
    np.testing.assert_allclose(reverse_linear_scan(x, c, init), expected, rtol=1e-5, atol=1e-6)
    assert reverse_linear_scan(jnp.zeros((3, 2), jnp.float32), 0.5).dtype == jnp.float32


def test_rank_errors():
    with pytest.raises(ValueError, match="x must have at least 1"):
        geometric_cumsum(0.5, 3.0)
