import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.networks import LayerNormLSTMCell, LSTMLayer, make_lnlstm


def np_layernorm(x, p, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * np.asarray(p["scale"]) + np.asarray(p["bias"])


def np_cell(p, h, c, x):
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    g = np_layernorm(x @ np.asarray(p["w_i"]["kernel"]), p["ln_i"]) + np_layernorm(
        h @ np.asarray(p["w_h"]["kernel"]), p["ln_h"]
    )
    i, f, gg, o = np.split(g, 4, axis=-1)
    c = np_layernorm(sig(f) * c + sig(i) * np.tanh(gg), p["ln_c"])
    return sig(o) * np.tanh(c), c


def test_cell_against_numpy():
    cell = LayerNormLSTMCell(8)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((3, 5)), jnp.float32)
    carry = (jnp.ones((3, 8)) * 0.1, jnp.ones((3, 8)) * -0.2)
    params = cell.init(jax.random.key(0), carry, x)
    (h, c), out = cell.apply(params, carry, x)
    h_ref, c_ref = np_cell(params["params"], np.asarray(carry[0]), np.asarray(carry[1]), np.asarray(x))
    np.testing.assert_allclose(h, h_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c, c_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out, h)


def test_layer_against_step_by_step_numpy_with_resets():
    rng = np.random.default_rng(1)
    T, B, D, H = 9, 3, 4, 6
    xs = jnp.asarray(rng.standard_normal((T, B, D)), jnp.float32)
    reset = jnp.asarray(rng.random((T, B)) < 0.25).at[0].set(True)
    layer = LSTMLayer(H)
    carry = layer.initialize_carry((B,))
    carry = (carry[0] + 0.5, carry[1] - 0.5)  # non-zero carry: resets must zero it
    params = layer.init(jax.random.key(2), carry, xs, reset)
    (h_T, c_T), hs = jax.jit(layer.apply)(params, carry, xs, reset)
    p = params["params"]["cell"]
    h, c = np.asarray(carry[0], np.float64), np.asarray(carry[1], np.float64)
    for t in range(T):
        r = np.asarray(reset[t])[:, None]
        h, c = np.where(r, 0.0, h), np.where(r, 0.0, c)
        h, c = np_cell(p, h, c, np.asarray(xs[t], np.float64))
        np.testing.assert_allclose(hs[t], h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c_T, c, rtol=1e-4, atol=1e-5)
    # resets matter: without them the outputs differ
    _, hs_no_reset = layer.apply(params, carry, xs, jnp.zeros_like(reset))
    assert not np.allclose(hs_no_reset, hs)
    with pytest.raises(ValueError, match="reset must be"):
        layer.apply(params, carry, xs, reset[:, :2])


def test_stacked_lstm_shapes_and_no_retrace():
    lstm = make_lnlstm(4, 16, num_layers=2)
    carry = lstm.initialize_carry((3,))
    xs = jnp.ones((7, 3, 4))
    params = lstm.init(jax.random.key(0), carry, xs)
    traces = []

    def apply(params, carry, xs):
        traces.append(1)
        return lstm.apply(params, carry, xs)

    f = jax.jit(apply)
    new_carry, hs = f(params, carry, xs)
    f(params, new_carry, xs + 1)
    assert len(traces) == 1
    assert hs.shape == (7, 3, 16) and len(new_carry) == 2
    assert jax.tree.map(lambda a: a.dtype, new_carry) == jax.tree.map(lambda a: a.dtype, carry)
    with pytest.raises(ValueError, match="input_size"):
        make_lnlstm(0, 16)
