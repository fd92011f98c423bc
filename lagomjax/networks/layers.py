"""Layer builders (lagom's ``make_fc``, ``make_cnn``, ``make_transposed_cnn``) and an MLP torso.

Convolutions are channels-last (NHWC), Flax's convention; lagom (PyTorch) was NCHW.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
from flax import linen as nn

from lagomjax.networks.conv import Conv
from lagomjax.networks.dense import Dense
from lagomjax.networks.init import dense_init

# activations by name (the configs' `activation` field takes these)
ACTIVATIONS = {"relu": nn.relu, "tanh": nn.tanh, "elu": nn.elu, "gelu": nn.gelu, "silu": nn.silu}


def _check_lengths(**seqs):
    lengths = {k: len(v) for k, v in seqs.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"arguments must have the same length, got {lengths}")


def make_fc(input_dim: int, hidden_sizes: Sequence[int]) -> list[nn.Dense]:
    """Fully connected layers, no activations: ``input_dim -> hidden_sizes[0] -> ... -> hidden_sizes[-1]``.

    Flax infers input sizes, so ``input_dim`` is only checked (kept for lagom's signature).
    """
    if input_dim <= 0 or not hidden_sizes or any(h <= 0 for h in hidden_sizes):
        raise ValueError(f"need input_dim > 0 and positive hidden_sizes, got {input_dim} and {list(hidden_sizes)}")
    return [Dense(h) for h in hidden_sizes]


def make_cnn(input_channel, channels, kernels, strides, paddings) -> list[Conv]:
    """2-D convolutions, no activations; ``paddings`` as in PyTorch (an int per layer, or 'SAME'/'VALID')."""
    _check_lengths(channels=channels, kernels=kernels, strides=strides, paddings=paddings)
    if input_channel <= 0:
        raise ValueError(f"input_channel must be > 0, got {input_channel}")
    return [
        Conv(c, (k, k), strides=(s, s), padding=p if isinstance(p, str) else ((p, p), (p, p)))
        for c, k, s, p in zip(channels, kernels, strides, paddings, strict=True)
    ]


def make_transposed_cnn(input_channel, channels, kernels, strides, paddings, output_paddings) -> list[nn.ConvTranspose]:
    """2-D transposed convolutions with PyTorch's output size ``(in - 1) s - 2 p + k + output_padding``."""
    _check_lengths(
        channels=channels, kernels=kernels, strides=strides, paddings=paddings, output_paddings=output_paddings
    )
    if input_channel <= 0:
        raise ValueError(f"input_channel must be > 0, got {input_channel}")
    layers = []
    for c, k, s, p, op in zip(channels, kernels, strides, paddings, output_paddings, strict=True):
        lo, hi = k - 1 - p, k - 1 - p + op
        layers.append(nn.ConvTranspose(c, (k, k), strides=(s, s), padding=((lo, hi), (lo, hi)), transpose_kernel=True))
    return layers


class MLP(nn.Module):
    """Torso: ``[Dense -> (LayerNorm) -> activation] * len(hidden_sizes)``, orthogonal init (or ``weight_init``).

    Attributes:
      hidden_sizes: widths of the hidden layers.
      activation: a name ('relu', 'tanh', 'elu', 'gelu', 'silu') or a callable.
      layer_norm: apply LayerNorm before each activation.
      weight_init: ``'orthogonal'`` (gain of the activation) or ``'lecun'`` (:func:`~lagomjax.networks.dense_init`).
    """

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str | Callable = "tanh"
    layer_norm: bool = False
    weight_init: str = "orthogonal"

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        act = ACTIVATIONS[self.activation] if isinstance(self.activation, str) else self.activation
        gain_name = self.activation if self.activation in ("relu", "tanh") else None
        for h in self.hidden_sizes:
            x = Dense(h, **dense_init(self.weight_init, gain_name))(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
            x = act(x)
        return x
