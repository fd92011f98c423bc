"""The PBT paper's toy problem (Jaderberg et al. 2017, arXiv:1711.09846, fig. 2) as training parts:
a search problem with a known optimum, for testing and trying searches in seconds.

Maximise ``Q(theta) = 1.2 - |theta|^2`` from ``theta = (0.9, 0.9)`` by gradient ascent on the
surrogate ``1.2 - (h0 theta0^2 + h1 theta1^2)``: each update is
``theta <- theta - step * 2 h * theta`` and reports ``episode_return = Q(theta)``. With ``h = (1, 0)``
or ``(0, 1)`` only one coordinate moves and ``Q`` stalls at ``1.2 - 0.81``; the optimum 1.2 needs
both weights, which PBT finds by exploiting and exploring.

    >>> from lagomjax.experiment import pbt
    >>> from lagomjax.experiment.toy import Toy, toy_parts
    >>> pbt(toy_parts, Toy(), {"h0": {"low": 0.0, "high": 1.0}, "h1": {"low": 0.0, "high": 1.0}}, 8, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from lagomjax.train.loop import TrainParts


@dataclass(frozen=True)
class Toy:
    h0: float = 1.0  # surrogate weight of coordinate 0
    h1: float = 0.0  # surrogate weight of coordinate 1
    step: float = 0.05  # gradient step
    num_updates: int = 40  # updates


@struct.dataclass
class ToyState:
    theta: jnp.ndarray  # [2]
    key: jax.Array  # unused by the updates; a member keeps its own when PBT copies another's state


def toy_parts(config) -> TrainParts:
    """``(init, update, finish)`` of the toy for ``config`` (a :class:`Toy`, or any config with its
    fields); metrics ``episode_return`` (``Q``) and ``env_steps`` (updates so far)."""

    def q(theta):
        return 1.2 - jnp.sum(theta**2)

    def init(key):
        return ToyState(jnp.full(2, 0.9, jnp.float32), key)

    def update(s, i):
        theta = s.theta - config.step * 2.0 * jnp.stack([config.h0, config.h1]) * s.theta
        return s.replace(theta=theta), {"episode_return": q(theta), "env_steps": i + 1}

    def finish(s, key):
        return q(s.theta)

    return TrainParts(init, update, finish)
