"""Host-side (NumPy) curve utilities for analysis and plots: smoothing, interpolation, summaries."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def smooth_filter(x, window_length, polyorder, **kwargs):
    """Savitzky-Golay smoothing of a 1-D curve (``scipy.signal.savgol_filter``).

    Args:
      x: ``[N]`` values.
      window_length: odd window length, ``polyorder < window_length <= N``.
      polyorder: order of the local polynomial.
    """
    from scipy.signal import savgol_filter  # scipy.signal is slow to import: only where used

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    if not polyorder < window_length <= x.size:
        raise ValueError(
            f"need polyorder < window_length <= len(x), got polyorder={polyorder}, "
            f"window_length={window_length}, len(x)={x.size}"
        )
    return savgol_filter(x, window_length, polyorder, **kwargs)


def interp_curves(xs, ys, num_point=200):
    """Resample several curves onto one shared, evenly spaced x grid by piecewise-linear interpolation.

    The grid spans the smallest to the largest x over all curves; each curve is held constant beyond
    its own ends (``np.interp``).

    Args:
      xs: list of ``[N_i]`` increasing x values.
      ys: list of ``[N_i]`` y values.
      num_point: number of grid points.

    Returns:
      ``(new_x [num_point], new_ys list of [num_point])``.
    """
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys must hold the same number of curves, got {len(xs)} and {len(ys)}")
    xs = [np.asarray(x, dtype=np.float64) for x in xs]
    ys = [np.asarray(y, dtype=np.float64) for y in ys]
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"curve {i}: x and y must be 1-D of the same length, got {x.shape} and {y.shape}")
    new_x = np.linspace(min(x.min() for x in xs), max(x.max() for x in xs), num=num_point)
    return new_x, [np.interp(new_x, x, y) for x, y in zip(xs, ys, strict=True)]


class Describe(NamedTuple):
    """Summary statistics of an array along an axis."""

    count: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray

    def __repr__(self):
        f = np.array2string
        return (
            f"Describe(count={self.count}, mean={f(np.asarray(self.mean), precision=4)}, "
            f"std={f(np.asarray(self.std), precision=4)}, min={f(np.asarray(self.min), precision=4)}, "
            f"max={f(np.asarray(self.max), precision=4)})"
        )


def describe(x, axis=-1):
    """Count, mean, std, min and max of ``x`` along ``axis`` (NaN statistics for an empty input).

    Example:
      >>> describe([1., 2., 3.])
      Describe(count=3, mean=2., std=0.8165, min=1., max=3.)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return Describe(count=0, mean=np.nan, std=np.nan, min=np.nan, max=np.nan)
    return Describe(count=x.shape[axis], mean=x.mean(axis), std=x.std(axis), min=x.min(axis), max=x.max(axis))
