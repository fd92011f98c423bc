"""Running mean and variance with Chan's parallel update: a pure form for ``jit`` and a host class."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from lagomjax._checks import as_float_array

INITIAL_COUNT = 1e-8  # pseudo-count of the prior (mean 0, var 1), as in lagom's final version


@struct.dataclass
class MeanVarState:
    """Moments of everything seen so far: ``mean`` and ``var`` of shape ``shape``, scalar ``count``."""

    mean: jnp.ndarray
    var: jnp.ndarray
    count: jnp.ndarray


def mean_var_init(shape=(), dtype=None) -> MeanVarState:
    """Mean 0, variance 1, pseudo-count 1e-8. ``dtype`` defaults to float64 when x64 is enabled."""
    dtype = dtype or jnp.result_type(float)
    return MeanVarState(
        mean=jnp.zeros(shape, dtype), var=jnp.ones(shape, dtype), count=jnp.asarray(INITIAL_COUNT, dtype)
    )


def _chan(xp, mean, var, count, x):
    """Chan et al. (1979) merge of (mean, var, count) with the batch ``x`` (axis 0). ``xp`` is np or jnp."""
    batch_mean, batch_var, batch_count = x.mean(0), x.var(0), x.shape[0]
    delta = batch_mean - mean
    total = count + batch_count
    new_mean = mean + delta * (batch_count / total)
    m2 = var * count + batch_var * batch_count + xp.square(delta) * (count * batch_count / total)
    return new_mean, m2 / total, total


def mean_var_update(state: MeanVarState, x) -> MeanVarState:
    r"""Merge a batch ``x`` of shape ``[N, *shape]`` (axis 0 is the batch) into ``state``. Pure; jittable.

    .. math:: \delta = \bar x_B - \mu,\; n' = n + N,\; \mu' = \mu + \delta N / n',\;
              \sigma'^2 = (\sigma^2 n + \sigma_B^2 N + \delta^2 n N / n') / n'
    """
    x = as_float_array("x", x).astype(state.mean.dtype)
    if x.shape[1:] != state.mean.shape:
        raise ValueError(f"x must be [N, *shape] with shape {tuple(state.mean.shape)}, got x.shape={tuple(x.shape)}")
    if x.shape[0] == 0:  # nothing seen: the moments stay (a merge would divide 0 by 0)
        return state
    mean, var, count = _chan(jnp, state.mean, state.var, state.count, x)
    return MeanVarState(mean=mean, var=var, count=count.astype(state.count.dtype))


class RunningMeanVar:
    """lagom's callable running mean/variance, in NumPy float64 (host side). ``n`` is the number of
    samples seen (an int); the prior (mean 0, var 1) weighs a pseudo-count of 1e-8 in the merge.

    Example:
      >>> f = RunningMeanVar(shape=(2,))
      >>> f(np.array([[1., 2.], [3., 4.]])); f.mean.round(4), f.n
      (array([2., 3.]), 2)
    """

    def __init__(self, shape=()):
        self.shape = tuple(shape)
        self.mean = np.zeros(self.shape, np.float64)
        self.var = np.ones(self.shape, np.float64)
        self.n = 0

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != self.shape:
            raise ValueError(f"x must be [N, *shape] with shape {self.shape}, got x.shape={x.shape}")
        if x.shape[0] == 0:
            return
        self.mean, self.var, _ = _chan(np, self.mean, self.var, self.n + INITIAL_COUNT, x)
        self.n += x.shape[0]

    @property
    def state(self) -> MeanVarState:
        """The moments as a :class:`MeanVarState` (float64 NumPy arrays; ``count`` includes the pseudo-count)."""
        return MeanVarState(mean=self.mean, var=self.var, count=np.float64(self.n + INITIAL_COUNT))
