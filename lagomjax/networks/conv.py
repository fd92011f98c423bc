"""``Conv``: Flax's ``nn.Conv`` computed on CPU as one matmul over image patches.

XLA:CPU runs the small convolutions of MinAtar-sized networks (a 3x3 kernel over a 10x10 image)
through a slow generic path, its kernel gradient above all: one forward and backward pass of a 3x3,
16-channel convolution over ``[128, 10, 10, 6]`` took 8.1 ms here, against 0.64 ms for the same
product written as patches (each output pixel's ``kh * kw * C`` inputs side by side) times the
kernel reshaped to ``[kh * kw * C, F]``. :func:`patch_conv_general_dilated` is that product, through
:func:`~lagomjax.networks.dense.dense_dot_general` (whose kernel gradient is the fast one too), on
CPU; other platforms keep ``lax.conv_general_dilated`` (their convolution libraries are fast).
The values agree with the convolution's to float rounding; parameters are ``nn.Conv``'s. As with
``Dense``, the CPU path is reverse-mode only (``jax.grad``, also twice); forward mode (``jax.jvp``,
``jacfwd``, ``hessian``) needs a network built from ``flax.linen.Conv``.
"""

from __future__ import annotations

import itertools
from typing import Any

import jax.numpy as jnp
from flax import linen as nn
from jax import lax

from lagomjax.networks.dense import dense_dot_general


def _flax_layout(ndim: int, dimension_numbers) -> bool:
    """Whether ``dimension_numbers`` is the channels-last layout ``nn.Conv`` passes."""
    image = (0, ndim - 1, *range(1, ndim - 1))  # batch, features, spatial
    return dimension_numbers == lax.ConvDimensionNumbers(image, (ndim - 1, ndim - 2, *range(ndim - 2)), image)


def _patch_conv(x, kernel, strides, padding, rhs_dilation, precision):
    """``x [N, *spatial, C]`` convolved with ``kernel [*window, C, F]`` as patches ``@`` the kernel."""
    window, spatial = kernel.shape[:-2], x.shape[1:-1]
    dilated = [(k - 1) * d + 1 for k, d in zip(window, rhs_dilation, strict=True)]
    pads = lax.padtype_to_pads(spatial, dilated, strides, padding) if isinstance(padding, str) else padding
    x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    out = [(n + lo + hi - k) // s + 1 for n, (lo, hi), k, s in zip(spatial, pads, dilated, strides, strict=True)]
    taps = []
    for offset in itertools.product(*(range(k) for k in window)):  # the window's taps (static), not data
        start = [0, *(o * d for o, d in zip(offset, rhs_dilation, strict=True)), 0]
        limit = [x.shape[0], *(b + (m - 1) * s + 1 for b, m, s in zip(start[1:-1], out, strides, strict=True)),
                 x.shape[-1]]  # fmt: skip
        taps.append(lax.slice(x, start, limit, (1, *strides, 1)))
    patches = jnp.concatenate(taps, axis=-1)  # [N, *out, taps * C], taps major: the kernel's row order
    flat = kernel.reshape(-1, kernel.shape[-1])
    return dense_dot_general(patches, flat, (((patches.ndim - 1,), (0,)), ((), ())), precision=precision)


def patch_conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                               dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
                               preferred_element_type=None):  # fmt: skip
    """A drop-in ``lax.conv_general_dilated`` for ``nn.Conv(..., conv_general_dilated=...)``: on CPU the
    patches-times-kernel product described above, for ``nn.Conv``'s layout with any strides, padding
    and kernel dilation; anything else (input dilation, feature groups, another layout) goes to
    ``lax.conv_general_dilated`` unchanged."""
    args = (lhs, rhs, window_strides, padding)
    kwargs = dict(lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                  feature_group_count=feature_group_count, batch_group_count=batch_group_count, precision=precision,
                  preferred_element_type=preferred_element_type)  # fmt: skip
    n = len(window_strides)
    rhs_dilation = tuple(rhs_dilation or (1,) * n)
    simple = (
        _flax_layout(lhs.ndim, dimension_numbers)
        and all(d == 1 for d in (lhs_dilation or (1,) * n))
        and feature_group_count == batch_group_count == 1
        and preferred_element_type is None
    )
    if not simple:
        return lax.conv_general_dilated(*args, **kwargs)
    return lax.platform_dependent(
        lhs,
        rhs,
        cpu=lambda x, k: _patch_conv(x, k, tuple(window_strides), padding, rhs_dilation, precision),
        default=lambda x, k: lax.conv_general_dilated(x, k, window_strides, padding, **kwargs),
    )


class Conv(nn.Conv):
    """``flax.linen.Conv`` (same fields, parameter names and values, same forward to float rounding)
    computed with :func:`patch_conv_general_dilated`. Every convolution of ``lagomjax.networks`` is one."""

    conv_general_dilated: Any = patch_conv_general_dilated
