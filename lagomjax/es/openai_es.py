r"""OpenAI-ES (Salimans et al. 2017, arXiv:1703.03864): a Gaussian-smoothed gradient estimate, Adam.

.. math:: \hat g = \frac{1}{P \sigma} \sum_i u_i \epsilon_i, \qquad x_i = \mu + \sigma \epsilon_i

with antithetic pairs :math:`\pm\epsilon`, centred-rank fitness shaping ``u`` (minimisation: the
gradient points uphill and the optimiser descends), optax's Adam with optional weight decay, and
``sigma`` following a linear schedule from ``sigma0`` to ``sigma_final`` over ``sigma_decay_steps``.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax.es.base import Best, Strategy, best_init, best_update, check_start, check_told, guarded, make_result
from lagomjax.transform import rank_transform


@struct.dataclass
class OpenAIESState:
    mean: jnp.ndarray  # [D]
    sigma0: jnp.ndarray  # initial noise scale
    opt_state: optax.OptState
    best: Best


def openai_es(
    popsize: int,
    lr: float | optax.Schedule = 0.01,
    sigma_final: float | None = None,
    sigma_decay_steps: int = 1,
    weight_decay: float = 0.0,
    antithetic: bool = True,
    centered_rank: bool = True,
    dtype=None,
) -> Strategy:
    """OpenAI-ES (minimisation) as a :class:`~lagomjax.es.Strategy`.

    Args:
      popsize: samples per generation (even when ``antithetic``).
      lr: Adam learning rate, a float or an optax schedule.
      sigma_final: noise scale reached after ``sigma_decay_steps`` generations (``None``: constant).
      sigma_decay_steps: length of the linear sigma schedule.
      weight_decay: L2 coefficient added to the gradient estimate (``optax.add_decayed_weights``).
      antithetic: mirrored sampling ``+-epsilon``.
      centered_rank: replace fitness by centred ranks in ``[-0.5, 0.5]``.
      dtype: float dtype of the state.
    """
    if not isinstance(popsize, int) or popsize < 2:
        raise ValueError(f"popsize must be an int >= 2, got {popsize!r}")
    if antithetic and popsize % 2:
        raise ValueError(f"popsize must be even with antithetic sampling, got {popsize}")
    if sigma_decay_steps < 1:
        raise ValueError(f"sigma_decay_steps must be >= 1, got {sigma_decay_steps}")
    if sigma_final is not None and not (isinstance(sigma_final, numbers.Real) and sigma_final > 0):
        raise ValueError(
            f"sigma_final must be a number > 0 (the gradient estimate divides by sigma), got {sigma_final!r}"
        )
    if isinstance(lr, numbers.Real) and not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    optimizer = optax.chain(optax.add_decayed_weights(weight_decay), optax.adam(lr))

    def sigma(state: OpenAIESState):
        if sigma_final is None:
            return state.sigma0
        frac = jnp.minimum(state.best.iterations / sigma_decay_steps, 1.0).astype(state.sigma0.dtype)
        return state.sigma0 + frac * (sigma_final - state.sigma0)

    def init(x0, sigma0) -> OpenAIESState:
        x0 = check_start(x0, sigma0, dtype)
        if jnp.ndim(sigma0) != 0 or (isinstance(sigma0, numbers.Real) and not sigma0 > 0):
            raise ValueError(f"sigma0 must be a positive scalar, got {sigma0!r}")
        return OpenAIESState(
            mean=x0, sigma0=jnp.asarray(sigma0, x0.dtype), opt_state=optimizer.init(x0), best=best_init(x0)
        )

    def noise(key, state: OpenAIESState):
        shape = (popsize // 2 if antithetic else popsize, state.mean.shape[0])
        eps = jax.random.normal(key, shape, state.mean.dtype)
        return jnp.concatenate([eps, -eps]) if antithetic else eps

    def ask(key, state: OpenAIESState):
        return state.mean + sigma(state) * noise(key, state), state

    def tell(state: OpenAIESState, solutions, fitness) -> OpenAIESState:
        solutions, fitness = check_told(popsize, state.mean.shape[0], solutions, fitness)
        solutions = solutions.astype(state.mean.dtype)
        s = sigma(state)
        eps = (solutions - state.mean) / s
        u = rank_transform(fitness) if centered_rank else fitness
        grad = (u.astype(eps.dtype) @ eps) / (popsize * s)
        updates, opt_state = optimizer.update(grad, state.opt_state, state.mean)
        mean = optax.apply_updates(state.mean, updates)
        new = state.replace(mean=mean, opt_state=opt_state, best=best_update(state.best, solutions, fitness))
        return guarded(state, new, (mean,))

    def result(state: OpenAIESState):
        return make_result(state.best, state.mean, jnp.broadcast_to(sigma(state), state.mean.shape))

    return Strategy(init, ask, tell, result)
