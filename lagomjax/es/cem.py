r"""Cross-entropy method: a diagonal Gaussian refitted to the elite (lagom's ``CEM``).

.. math:: x \sim \mathcal N(\mu, \mathrm{diag}(\sigma^2 + \epsilon_g)), \qquad
          \mu, \sigma \leftarrow \mathrm{mean}, \mathrm{std}(\text{elite})

where the extra noise :math:`\epsilon_g` follows ``LinearSchedule(*noise_scheduler_args)`` over
generations ``g`` (Szita and Lorincz 2006, "Learning Tetris Using the Noisy Cross-Entropy Method").
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from lagomjax.es.base import Best, Strategy, best_init, best_update, check_start, check_told, guarded, make_result
from lagomjax.transform import LinearSchedule


@struct.dataclass
class CEMState:
    mean: jnp.ndarray  # [D]
    std: jnp.ndarray  # [D]
    best: Best


def cem(popsize: int, elite_ratio: float = 0.2, noise_scheduler_args=(0.0, 0.0, 1, 0), dtype=None) -> Strategy:
    """CEM (minimisation) as a :class:`~lagomjax.es.Strategy`.

    Args:
      popsize: samples per generation.
      elite_ratio: fraction kept as the elite, at least one sample.
      noise_scheduler_args: ``(initial, final, N, start)`` of the extra variance schedule.
      dtype: float dtype of the state.
    """
    if not isinstance(popsize, int) or popsize < 2:
        raise ValueError(f"popsize must be an int >= 2, got {popsize!r}")
    if not 0.0 < elite_ratio <= 1.0:
        raise ValueError(f"elite_ratio must lie in (0, 1], got {elite_ratio}")
    elite_size = max(1, int(elite_ratio * popsize))
    noise = LinearSchedule(*noise_scheduler_args)

    def init(x0, sigma0) -> CEMState:
        x0 = check_start(x0, sigma0, dtype, allow_zero_sigma=True)
        std = jnp.broadcast_to(jnp.asarray(sigma0, x0.dtype), x0.shape)
        if jnp.ndim(sigma0) not in (0, 1) or std.shape != x0.shape:
            raise ValueError(f"sigma0 must be a scalar or [D] = {x0.shape}, got shape {jnp.shape(sigma0)}")
        return CEMState(mean=x0, std=std, best=best_init(x0))

    def ask(key, state: CEMState):
        extra = noise(state.best.iterations).astype(state.mean.dtype)
        std = jnp.sqrt(jnp.square(state.std) + extra)
        eps = jax.random.normal(key, (popsize, *state.mean.shape), state.mean.dtype)
        return state.mean + std * eps, state

    def tell(state: CEMState, solutions, fitness) -> CEMState:
        solutions, fitness = check_told(popsize, state.mean.shape[0], solutions, fitness)
        solutions = solutions.astype(state.mean.dtype)
        elite = solutions[jnp.argsort(fitness, stable=True)[:elite_size]]
        mean, std = elite.mean(0), elite.std(0)
        new = CEMState(mean=mean, std=std, best=best_update(state.best, solutions, fitness))
        return guarded(state, new, (mean, std))

    def result(state: CEMState):
        return make_result(state.best, state.mean, state.std)

    return Strategy(init, ask, tell, result)
