import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from lagomjax.networks import MLP, calculate_gain, make_cnn, make_fc, make_transposed_cnn, ortho_init


class Stack(nn.Module):
    layers: list

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def out_shape(layers, x):
    model = Stack(layers)
    return model.apply(model.init(jax.random.key(0), x), x).shape


def test_make_fc_shapes():
    assert out_shape(make_fc(3, [16, 8]), jnp.ones((5, 3))) == (5, 8)
    with pytest.raises(ValueError, match="hidden_sizes"):
        make_fc(3, [])


def test_make_cnn_matches_pytorch_output_size():
    # PyTorch: out = floor((in + 2p - k) / s) + 1
    layers = make_cnn(3, channels=[8, 16], kernels=[4, 3], strides=[2, 1], paddings=[1, 0])
    h = (32 + 2 * 1 - 4) // 2 + 1
    h = (h + 0 - 3) // 1 + 1
    assert out_shape(layers, jnp.ones((2, 32, 32, 3))) == (2, h, h, 16)
    with pytest.raises(ValueError, match="same length"):
        make_cnn(3, [8], [3, 3], [1], [0])


def test_make_transposed_cnn_matches_pytorch_output_size():
    # PyTorch: out = (in - 1) s - 2 p + k + output_padding
    layers = make_transposed_cnn(
        16, channels=[8, 3], kernels=[4, 3], strides=[2, 2], paddings=[1, 1], output_paddings=[0, 1]
    )
    h = (5 - 1) * 2 - 2 + 4 + 0
    h = (h - 1) * 2 - 2 + 3 + 1
    assert out_shape(layers, jnp.ones((2, 5, 5, 16))) == (2, h, h, 3)


@pytest.mark.parametrize("nonlinearity, scale", [("relu", None), ("tanh", None), (None, 0.01), (None, 1.0)])
def test_ortho_init_gain_and_bias(nonlinearity, scale):
    kw = ortho_init(nonlinearity, weight_scale=scale or 1.0, constant_bias=0.3)
    layer = nn.Dense(32, **kw)
    params = layer.init(jax.random.key(1), jnp.ones((1, 32)))["params"]
    W = np.asarray(params["kernel"], np.float64)
    gain = calculate_gain(nonlinearity) if nonlinearity else scale
    np.testing.assert_allclose(W.T @ W, gain**2 * np.eye(32), atol=1e-5 * max(gain**2, 1))
    np.testing.assert_allclose(params["bias"], 0.3)
    assert math.isclose(calculate_gain("relu"), math.sqrt(2))
    with pytest.raises(ValueError, match="nonlinearity"):
        calculate_gain("swish")


def test_mlp_torso_shapes_layernorm_and_activation():
    x = jnp.ones((4, 7))
    for kw in [dict(), dict(layer_norm=True), dict(activation="relu"), dict(activation=jax.nn.gelu)]:
        m = MLP((32, 16), **kw)
        params = m.init(jax.random.key(0), x)
        assert m.apply(params, x).shape == (4, 16)
    params = MLP((8,), layer_norm=True).init(jax.random.key(0), x)
    assert "LayerNorm_0" in params["params"]


def test_orthogonal_equals_numpy_qr_with_sign_fix(monkeypatch):
    """The orthogonal initialiser gives jax.nn's distribution: for the same Gaussian matrix, exactly
    the Q of NumPy's QR with columns signed so that diag(R) > 0, alone and vmapped."""
    from lagomjax.networks.init import _qr_q, orthogonal

    for shape in [(6, 6), (40, 5), (64, 64)]:
        a = jax.random.normal(jax.random.key(shape[0]), shape)
        q, r = np.linalg.qr(np.asarray(a, np.float64))
        expected = q * np.sign(np.diag(r))
        np.testing.assert_allclose(np.asarray(_qr_q(a)), expected, atol=2e-5)
        batch = jnp.stack([a, -a, 2 * a])  # vmapped: each matrix its own QR (the signs fixed alike)
        expected = np.stack([expected, -expected, expected])
        np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(_qr_q))(batch)), expected, atol=2e-5)
        with monkeypatch.context() as m:  # an accelerator's batched QR (one call here, so no deadlock)
            m.setattr(jax, "default_backend", lambda: "gpu")
            np.testing.assert_allclose(np.asarray(jax.vmap(_qr_q)(batch)), expected, atol=2e-5)
    for shape in [(4, 64), (3, 3, 8, 16), (7, 2)]:
        w = np.asarray(orthogonal(2.0)(jax.random.key(0), shape)).reshape(-1, shape[-1])
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        np.testing.assert_allclose(gram, 4.0 * np.eye(len(gram)), atol=1e-5)
    # vmapped over keys (where jaxlib's batched QR deadlocked XLA:CPU): distinct orthogonal draws
    ws = jax.jit(jax.vmap(lambda k: orthogonal()(k, (8, 8))))(jax.random.split(jax.random.key(1), 16))
    assert not np.allclose(ws[0], ws[1])
    np.testing.assert_allclose(np.einsum("bij,bik->bjk", ws, ws), np.broadcast_to(np.eye(8), (16, 8, 8)), atol=1e-5)


def test_weight_init_lecun_is_flax_default_and_orthogonal_keeps_its_gains():
    import gymnasium as gym

    from lagomjax.networks import ActorCritic, dense_init

    x = jnp.ones((3, 5))
    key = jax.random.key(0)
    ours = MLP((8, 4), "tanh", weight_init="lecun").init(key, x)["params"]

    class Plain(nn.Module):  # flax's defaults: LeCun normal kernels, zero biases
        @nn.compact
        def __call__(self, x):
            h = nn.tanh(nn.Dense(8)(x))
            return nn.tanh(nn.Dense(4)(h))

    plain = Plain().init(key, x)["params"]
    jax.tree.map(np.testing.assert_array_equal, ours, plain)
    net = ActorCritic(gym.spaces.Discrete(3), (64, 64), weight_init="orthogonal")
    params = net.init(key, x)["params"]
    head = np.asarray(params["CategoricalHead_0"]["Dense_0"]["kernel"])
    np.testing.assert_allclose(head.T @ head, 1e-4 * np.eye(3), atol=1e-9)  # orthogonal, gain 0.01
    lecun = ActorCritic(gym.spaces.Discrete(3), (64, 64), weight_init="lecun").init(key, x)["params"]
    assert float(np.std(lecun["CategoricalHead_0"]["Dense_0"]["kernel"])) == pytest.approx(1 / 8, rel=0.15)
    with pytest.raises(ValueError, match="weight_init"):
        dense_init("xavier")
