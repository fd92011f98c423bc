"""Schedules and moving averages: ``LinearSchedule``, ``PolyakAverage`` and ``polyak_update``."""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import optax


class LinearSchedule:
    r"""Linear interpolation from ``initial`` to ``final`` over ``N`` steps, starting at ``start``.

    .. math:: s(x) = \text{initial} + (\text{final} - \text{initial})
              \cdot \mathrm{clip}\left(\frac{x - \text{start}}{N}, 0, 1\right)

    Calling it with a Python number returns a Python float (a negative step raises, as in lagom);
    with an array (also a traced one, so it works inside ``jit`` and as an optax schedule) it
    returns an array. :meth:`get_current` returns the last value computed for a Python step.

    Args:
      initial: value for ``x <= start``.
      final: value for ``x >= start + N``.
      N: number of steps of the ramp, ``> 0``.
      start: step at which the ramp begins, ``>= 0``.

    Example:
      >>> s = LinearSchedule(1.0, 0.1, 3)
      >>> [round(s(i), 6) for i in range(6)]
      [1.0, 0.7, 0.4, 0.1, 0.1, 0.1]
    """

    def __init__(self, initial, final, N, start=0):
        if not isinstance(N, numbers.Integral) or N <= 0:
            raise ValueError(f"N must be a positive integer, got {N!r}")
        if not isinstance(start, numbers.Integral) or start < 0:
            raise ValueError(f"start must be a non-negative integer, got {start!r}")
        self.initial = float(initial)
        self.final = float(final)
        self.N = int(N)
        self.start = int(start)
        self.current = self.initial

    def __call__(self, x):
        if isinstance(x, numbers.Real):
            if x < 0:
                raise ValueError(f"the step x must be >= 0, got {x}")
            ratio = min(max((x - self.start) / self.N, 0.0), 1.0)
            self.current = self.final if ratio == 1.0 else self.initial + (self.final - self.initial) * ratio
            return self.current
        ratio = jnp.clip((jnp.asarray(x) - self.start) / self.N, 0.0, 1.0)  # pure: no state kept under jit
        return self.initial + (self.final - self.initial) * ratio

    def get_current(self) -> float:
        """The value of the last call with a Python number (``initial`` before any), as lagom's."""
        return self.current

    def __repr__(self):
        return f"LinearSchedule(initial={self.initial}, final={self.final}, N={self.N}, start={self.start})"


def polyak_update(old, new, alpha):
    r"""Polyak averaging of two pytrees (target networks): :math:`\alpha\, old + (1 - \alpha)\, new`.

    Args:
      old: pytree of arrays (the average).
      new: pytree of the same structure (the latest value).
      alpha: weight of the old value in ``[0, 1]``.
    """
    return optax.incremental_update(new, old, 1.0 - alpha)


class PolyakAverage:
    r"""Running Polyak average (lagom's ``PolyakAverage``), host-side convenience.

    The first value is stored as is; every later call does :math:`x \leftarrow \alpha x + (1-\alpha)\, new`.
    Works on scalars, arrays and pytrees. Use :func:`polyak_update` inside ``jit``.

    Example:
      >>> f = PolyakAverage(0.1)
      >>> f(0.5); round(float(f(1.5)), 6)
      0.5
      1.4
    """

    def __init__(self, alpha):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.alpha = alpha
        self.x = None

    def __call__(self, x):
        self.x = x if self.x is None else polyak_update(self.x, x, self.alpha)
        return self.x

    def get_current(self):
        return self.x
