"""Small jittable array transforms: explained variance, rank transform, masked zeroing of a pytree,
a fast random permutation."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax._checks import as_float_array, check_rank_at_least, check_same_shape


def explained_variance(y_true, y_pred):
    r"""Fraction of the variance of ``y_true`` that ``y_pred`` explains.

    .. math:: 1 - \frac{\mathrm{Var}(y - \hat y)}{\mathrm{Var}(y)}

    Computed along axis 0; 2-D inputs ``[N, K]`` give the mean over the ``K`` columns (as
    scikit-learn's ``explained_variance_score``). Axes of size 1 are squeezed first, as lagom does,
    so ``[1, N]`` and ``[N, 1]`` score as ``[N]``. A column with zero variance scores 1 if it is
    predicted exactly and 0 otherwise, so the result is always finite.

    Args:
      y_true, y_pred: ``[N]`` or ``[N, K]`` (plus axes of size 1), same shape.

    Example:
      >>> explained_variance([3, -0.5, 2, 7], [2.5, 0, 2, 8])
      Array(0.9571734, dtype=float32)
    """
    y_true = as_float_array("y_true", y_true)
    y_pred = as_float_array("y_pred", y_pred).astype(y_true.dtype)
    check_same_shape("y_pred", y_pred, "y_true", y_true)
    check_rank_at_least("y_true", y_true, 1)
    if y_true.ndim > 1 and 1 in y_true.shape and y_true.size > 1:  # lagom squeezes singleton axes
        y_true, y_pred = jnp.squeeze(y_true), jnp.squeeze(y_pred)
    if y_true.ndim > 2:
        raise ValueError(f"y_true must be [N] or [N, K], got shape {tuple(y_true.shape)}")
    var_residual = jnp.var(y_true - y_pred, axis=0)
    var_true = jnp.var(y_true, axis=0)
    safe = jnp.where(var_true > 0, var_true, 1.0)
    score = jnp.where(var_true > 0, 1.0 - var_residual / safe, jnp.where(var_residual > 0, 0.0, 1.0))
    return jnp.mean(score)


def rank_transform(x, centered=True):
    r"""Ranks of the entries along the last axis (0 for the smallest). A 2-D input is ranked row by
    row (lagom raises for it), so a batch of populations is one call.

    Centred ranks are :math:`\mathrm{rank} / (N - 1) - 0.5 \in [-0.5, 0.5]`, the fitness shaping of
    OpenAI-ES (Salimans et al. 2017, arXiv:1703.03864). Ties are ranked by position.

    Args:
      x: ``[..., N]``.
      centered: centre the ranks in ``[-0.5, 0.5]`` (float) instead of ``0..N-1`` (int).

    Example:
      >>> rank_transform([3, 14, 1])
      Array([ 0. ,  0.5, -0.5], dtype=float32)
      >>> rank_transform([3, 14, 1], centered=False)
      Array([1, 2, 0], dtype=int32)
    """
    x = jnp.asarray(x)
    check_rank_at_least("x", x, 1)
    ranks = jnp.argsort(jnp.argsort(x, axis=-1, stable=True), axis=-1, stable=True)
    if not centered:
        return ranks
    n = x.shape[-1]
    return ranks.astype(jnp.result_type(float)) / max(n - 1, 1) - 0.5


def zero_where(mask, tree):
    """Zero the entries of every leaf of ``tree`` (leaves ``[*B, ...]``) where ``mask [*B]`` is true.

    Resets a recurrent policy's carry for the environments whose episode ended.
    """
    return jax.tree.map(lambda x: _select(mask, jnp.zeros((), x.dtype), x), tree)


def select_where(mask, new, old):
    """``new`` where ``mask [*B]`` is true, else ``old``: leaf by leaf over two pytrees of the same
    structure whose leaves have ``mask``'s shape as leading axes (``[*B, ...]``); e.g. the fresh
    states of the environments whose episode ended."""
    return jax.tree.map(lambda n, o: _select(mask, n, o), new, old)


def _select(mask, new, old):
    mask = jnp.asarray(mask)
    return jnp.where(mask.reshape(mask.shape + (1,) * (jnp.ndim(old) - mask.ndim)), new, old)


def permutation(key, n: int):
    """A uniformly random permutation of ``0..n-1`` (``int32 [n]``), as ``jax.random.permutation(key, n)``
    computes one (stable sorts by random keys, as many rounds as keep the chance of tied keys as small)
    but faster on CPU: each round sorts one ``uint32`` array whose high bits are random and whose low
    bits hold the index (XLA sorts one array of integers about 4x faster than the ``(keys, indices)``
    pairs ``jax.random.permutation`` sorts; with the fewer random bits, ``n = 512`` takes two rounds,
    33 us against 67 us here). ``n`` above ``2**16`` falls back to ``jax.random.permutation``. PPO's
    minibatch shuffle.
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    index_bits = max(1, (int(n) - 1).bit_length())
    if index_bits > 16:
        return jax.random.permutation(key, n)
    random_bits = 32 - index_bits
    rounds = max(1, math.ceil(3 * math.log2(n) / random_bits))  # jax.random.permutation's rule, fewer bits
    low = jnp.uint32((1 << index_bits) - 1)
    perm = None
    for k in jax.random.split(key, rounds):  # a handful of rounds, unrolled at trace time
        packed = (jax.random.bits(k, (n,), jnp.uint32) & ~low) | jnp.arange(n, dtype=jnp.uint32)
        order = (jnp.sort(packed) & low).astype(jnp.int32)
        perm = order if perm is None else perm[order]
    return perm
