"""Layer-normalised LSTM (lagom's ``LayerNormLSTMCell``/``make_lnlstm``) with a time scan that resets the
carry where a new episode starts, so recurrent policies work on auto-resetting rollouts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from lagomjax.networks.dense import Dense
from lagomjax.transform.ops import zero_where


def _zero_carry(hidden_size, batch_shape):
    zeros = jnp.zeros((*batch_shape, hidden_size))
    return zeros, zeros


class LayerNormLSTMCell(nn.Module):
    r"""One LSTM step with LayerNorm on the input and recurrent projections and on the cell.

    .. math::
       g = \mathrm{LN}_i(W_i x) + \mathrm{LN}_h(W_h h), \quad (i, f, c', o) = \mathrm{split}_4(g) \\
       c_{new} = \mathrm{LN}_c(\sigma(f) \odot c + \sigma(i) \odot \tanh(c')), \quad
       h_{new} = \sigma(o) \odot \tanh(c_{new})

    Call: ``(carry, x [..., D]) -> ((h, c), h)`` with ``carry = (h, c)``, each ``[..., hidden_size]``.
    """

    hidden_size: int

    @nn.compact
    def __call__(self, carry, x):
        h, c = carry
        igates = nn.LayerNorm(name="ln_i")(Dense(4 * self.hidden_size, use_bias=False, name="w_i")(x))
        hgates = nn.LayerNorm(name="ln_h")(Dense(4 * self.hidden_size, use_bias=False, name="w_h")(h))
        i, f, g, o = jnp.split(igates + hgates, 4, axis=-1)
        c = nn.LayerNorm(name="ln_c")(jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g))
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    def initialize_carry(self, batch_shape=()):
        """Zero ``(h, c)`` of shape ``[*batch_shape, hidden_size]``."""
        return _zero_carry(self.hidden_size, batch_shape)


class LSTMLayer(nn.Module):
    """A :class:`LayerNormLSTMCell` scanned over time (``nn.scan``, parameters shared across steps).

    Call: ``(carry, xs [T, *B, D], reset [T, *B] or None) -> (carry, hs [T, *B, hidden_size])``.
    Where ``reset[t]`` is true (the observation at ``t`` starts a new episode) the carry is zeroed
    before step ``t``.
    """

    hidden_size: int

    @nn.compact
    def __call__(self, carry, xs, reset=None):
        if reset is None:
            reset = jnp.zeros(xs.shape[:-1], bool)
        if reset.shape != xs.shape[:-1]:
            raise ValueError(f"reset must be [T, *B] = {tuple(xs.shape[:-1])}, got {tuple(reset.shape)}")

        def step(cell, carry, inputs):
            x, r = inputs
            carry = zero_where(r, carry)
            return cell(carry, x)

        scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False}, in_axes=0, out_axes=0)
        return scan(LayerNormLSTMCell(self.hidden_size, name="cell"), carry, (xs, reset))

    def initialize_carry(self, batch_shape=()):
        return _zero_carry(self.hidden_size, batch_shape)


class StackedLSTM(nn.Module):
    """``num_layers`` :class:`LSTMLayer` s; the carry is a tuple with one ``(h, c)`` per layer."""

    hidden_size: int
    num_layers: int = 1

    @nn.compact
    def __call__(self, carry, xs, reset=None):
        if len(carry) != self.num_layers:
            raise ValueError(f"carry must hold {self.num_layers} (h, c) pairs, got {len(carry)}")
        new_carry = []
        for layer, c in enumerate(carry):
            c, xs = LSTMLayer(self.hidden_size, name=f"layer_{layer}")(c, xs, reset)
            new_carry.append(c)
        return tuple(new_carry), xs

    def initialize_carry(self, batch_shape=()):
        return tuple(_zero_carry(self.hidden_size, batch_shape) for _ in range(self.num_layers))


def make_lnlstm(input_size: int, hidden_size: int, num_layers: int = 1) -> StackedLSTM:
    """A :class:`StackedLSTM` of layer-normalised LSTMs (lagom's ``make_lnlstm``).

    ``input_size`` is only checked (Flax infers input sizes).
    """
    if input_size <= 0 or hidden_size <= 0 or num_layers <= 0:
        raise ValueError(
            f"need positive sizes, got input_size={input_size}, hidden_size={hidden_size}, num_layers={num_layers}"
        )
    return StackedLSTM(hidden_size, num_layers)
