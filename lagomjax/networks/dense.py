"""``Dense``: Flax's ``nn.Dense`` with a kernel gradient that XLA:CPU computes at full speed.

A dense layer's kernel gradient is ``x^T @ dy``: a contraction over the batch, the leading axis of
both operands. XLA:CPU runs that transposed-operand matmul through a slower path than the plain
``[m, k] @ [k, n]`` it hands to its fast matmul library (measured here: PPO's minibatch step spends
most of its time in its 64-wide matmuls, and the transposed ones took up to twice as long as the
others). :func:`dense_dot_general` computes the same product from an explicitly transposed copy of
``x`` on CPU (a small copy: one layer's inputs) and leaves other platforms to XLA. The forward value
is the same ``dot_general`` and gradients agree to float rounding. It is a ``custom_vjp``: reverse
mode (``jax.grad``, also of gradients) works, forward mode (``jax.jvp``, ``jax.jacfwd``,
``jax.hessian``) does not; a network that needs it can be built from ``flax.linen.Dense``. (A
``custom_jvp`` version measured slower: JAX transposes its kernel tangent back into the slow form.)
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
from flax import linen as nn
from jax import lax


def _dense_dims(x):
    return ((x.ndim - 1,), (0,)), ((), ())


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dense_matmul(x, kernel, precision):
    return lax.dot_general(x, kernel, _dense_dims(x), precision=precision)


def _transposed_rows(x):
    """``x`` as rows ``[N, in]``, transposed to ``[in, N]``; on CPU a physical copy (the barrier stops
    XLA folding the transpose back into the matmul's dimension numbers)."""
    rows = x.reshape(-1, x.shape[-1])
    return lax.platform_dependent(rows, cpu=lambda r: lax.optimization_barrier(r.T), default=lambda r: r.T)


def _dense_matmul_fwd(x, kernel, precision):
    return _dense_matmul(x, kernel, precision), (x, kernel)


def _dense_matmul_bwd(precision, residuals, dy):
    x, kernel = residuals
    dx = lax.dot_general(dy, kernel, (((dy.ndim - 1,), (1,)), ((), ())), precision=precision)
    dkernel = lax.dot_general(_transposed_rows(x), dy.reshape(-1, dy.shape[-1]), (((1,), (0,)), ((), ())),
                              precision=precision)  # fmt: skip
    return dx, dkernel


_dense_matmul.defvjp(_dense_matmul_fwd, _dense_matmul_bwd)


def dense_dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, **kwargs):
    """A drop-in ``dot_general`` for ``nn.Dense(..., dot_general=dense_dot_general)``: Dense's product
    ``x [..., in] @ kernel [in, out]`` with the fast kernel gradient described above; any other
    contraction (or an explicit ``preferred_element_type``) goes to ``lax.dot_general`` unchanged."""
    standard = rhs.ndim == 2 and lhs.ndim >= 1 and tuple(map(tuple, dimension_numbers[0])) == _dense_dims(lhs)[0]
    if standard and not dimension_numbers[1][0] and preferred_element_type is None and not kwargs:
        return _dense_matmul(lhs, rhs, precision)
    return lax.dot_general(
        lhs, rhs, dimension_numbers, precision=precision, preferred_element_type=preferred_element_type, **kwargs
    )


class Dense(nn.Dense):
    """``flax.linen.Dense`` (same fields, parameter names and values, same forward) computing its kernel
    gradient with :func:`dense_dot_general`. Every dense layer of ``lagomjax.networks`` is one."""

    dot_general: Any = dense_dot_general
