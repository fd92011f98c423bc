import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lagomjax.transform import LinearSchedule, PolyakAverage, polyak_update


def test_linear_schedule_lagom_values():
    s = LinearSchedule(1.0, 0.1, 3)
    assert [round(s(i), 6) for i in range(6)] == [1.0, 0.7, 0.4, 0.1, 0.1, 0.1]
    s = LinearSchedule(1.0, 0.1, 3, start=2)
    assert [round(s(i), 6) for i in range(7)] == [1.0, 1.0, 1.0, 0.7, 0.4, 0.1, 0.1]


def test_linear_schedule_get_current_and_negative_step():
    """lagom: ``get_current()`` is the last value returned; a negative step is an error."""
    s = LinearSchedule(1.0, 0.1, 3)
    assert s.get_current() == 1.0
    assert s(2) == s.get_current() and round(s.get_current(), 6) == 0.4
    jax.jit(s)(jnp.int32(3))  # traced calls keep no state
    assert round(s.get_current(), 6) == 0.4
    with pytest.raises(ValueError, match="step x must be >= 0"):
        s(-1)


def test_linear_schedule_jittable_and_as_optax_schedule():
    s = LinearSchedule(1.0, 0.1, 3)
    np.testing.assert_allclose(jax.jit(s)(jnp.arange(6)), [1.0, 0.7, 0.4, 0.1, 0.1, 0.1], rtol=1e-6)
    opt = optax.sgd(learning_rate=s)
    state = opt.init(jnp.zeros(1))
    updates, state = opt.update(jnp.ones(1), state)
    np.testing.assert_allclose(updates, [-1.0])
    updates, state = opt.update(jnp.ones(1), state)
    np.testing.assert_allclose(updates, [-0.7], rtol=1e-6)


@pytest.mark.parametrize("kwargs", [dict(N=0), dict(N=-1), dict(N=3, start=-1), dict(N=2.5)])
def test_linear_schedule_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        LinearSchedule(1.0, 0.1, **kwargs)


def test_polyak_average_lagom_value():
    f = PolyakAverage(0.1)
    assert f(0.5) == 0.5
    np.testing.assert_allclose(f(1.5), 1.4)
    np.testing.assert_allclose(f.get_current(), 1.4)


def test_polyak_update_on_pytrees():
    old = {"w": jnp.ones(3), "b": jnp.zeros(())}
    new = {"w": jnp.zeros(3), "b": jnp.ones(())}
    out = jax.jit(polyak_update)(old, new, 0.9)
    np.testing.assert_allclose(out["w"], 0.9)
    np.testing.assert_allclose(out["b"], 0.1, rtol=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        PolyakAverage(1.5)
