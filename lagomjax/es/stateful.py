"""lagom-style stateful ``CMAES``, ``CEM`` and ``OpenAIES``: thin host-side wrappers over the pure core.

``CMAES(x0, sigma0, opts={'backend': 'pycma'})`` runs the ``cma`` package instead (the reference),
so switching between the reference and the jitted path is one option.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax.es.base import Result, Strategy
from lagomjax.es.cem import cem
from lagomjax.es.cmaes import cmaes, default_popsize
from lagomjax.es.openai_es import openai_es


class BaseES(ABC):
    """lagom's interface of an evolution strategy: ``ask() -> solutions [popsize, D]``,
    ``tell(solutions, function_values)`` (minimisation) and the ``result`` property."""

    @abstractmethod
    def ask(self): ...

    @abstractmethod
    def tell(self, solutions, function_values): ...

    @property
    @abstractmethod
    def result(self): ...


class _Stateful(BaseES):
    """A :class:`Strategy` of pure functions behind :class:`BaseES` (jitted ask and tell)."""

    def __init__(self, strategy: Strategy, x0, sigma0, seed: int):
        self.strategy = strategy
        self._ask = jax.jit(strategy.ask)
        self._tell = jax.jit(strategy.tell)
        self.state = strategy.init(jnp.asarray(x0), sigma0)
        self.key = jax.random.key(seed)

    def ask(self) -> np.ndarray:
        self.key, key = jax.random.split(self.key)
        solutions, self.state = self._ask(key, self.state)
        return np.asarray(solutions)

    def tell(self, solutions, function_values) -> None:
        self.state = self._tell(self.state, jnp.asarray(solutions), jnp.asarray(function_values))

    @property
    def result(self) -> Result:
        return jax.tree.map(np.asarray, self.strategy.result(self.state))


def _checked_opts(opts: dict, known: set, name: str) -> dict:
    """A copy of ``opts`` after checking that every key is known."""
    unknown = set(opts) - known
    if unknown:
        raise ValueError(f"unknown {name} opts {sorted(unknown)}; known: {sorted(known)}")
    return dict(opts)


class CMAES(_Stateful):
    """CMA-ES with lagom's interface.

    opts: ``popsize`` (default ``4 + floor(3 ln n)``), ``seed`` (0), ``backend`` (``'jax'`` or
    ``'pycma'``), and for the JAX backend ``decomposition``, ``diagonal``, ``active``, ``lazy_gap``.
    """

    _KNOWN = {"popsize", "seed", "backend", "decomposition", "diagonal", "active", "lazy_gap"}

    def __init__(self, x0, sigma0, opts=None):
        opts = _checked_opts(opts or {}, self._KNOWN, "CMAES")
        x0 = np.asarray(x0, dtype=np.float64)
        self.popsize = opts.pop("popsize", default_popsize(x0.size))
        seed = opts.pop("seed", 0)
        self.backend = opts.pop("backend", "jax")
        if self.backend == "pycma":
            if opts:
                raise ValueError(f"opts {sorted(opts)} apply only to the 'jax' backend")
            import cma  # the reference implementation, loaded only when asked for

            self.es = cma.CMAEvolutionStrategy(x0, sigma0, {"popsize": self.popsize, "seed": seed + 1, "verbose": -9})
        elif self.backend == "jax":
            super().__init__(cmaes(self.popsize, **opts), x0, sigma0, seed)
        else:
            raise ValueError(f"backend must be 'jax' or 'pycma', got {self.backend!r}")

    def ask(self) -> np.ndarray:
        if self.backend == "pycma":
            return np.asarray(self.es.ask())
        return super().ask()

    def tell(self, solutions, function_values) -> None:
        if self.backend == "pycma":
            fitness = np.asarray(function_values, dtype=np.float64)
            if fitness.shape != (self.popsize,):
                raise ValueError(f"function_values must be [popsize] = ({self.popsize},), got shape {fitness.shape}")
            self.es.tell(list(np.asarray(solutions)), list(np.where(np.isnan(fitness), np.inf, fitness)))
            return
        super().tell(solutions, function_values)

    @property
    def result(self) -> Result:
        if self.backend == "pycma":
            r = self.es.result
            stop = {k: True for k in self.es.stop()}
            return Result(r.xbest, r.fbest, r.evals_best, r.evaluations, r.iterations, r.xfavorite, r.stds, stop)
        return super().result


class CEM(_Stateful):
    """CEM with lagom's interface. opts: ``popsize`` (required), ``elite_ratio``, ``noise_scheduler_args``, ``seed``."""

    def __init__(self, x0, sigma0, opts):
        opts = _checked_opts(opts, {"popsize", "elite_ratio", "noise_scheduler_args", "seed"}, "CEM")
        seed = opts.pop("seed", 0)
        super().__init__(cem(**opts), x0, sigma0, seed)


class OpenAIES(_Stateful):
    """OpenAI-ES with lagom's interface. opts: ``popsize`` (required), ``seed`` and the keyword arguments
    of :func:`~lagomjax.es.openai_es`."""

    def __init__(self, x0, sigma0, opts):
        known = {"popsize", "seed", "lr", "sigma_final", "sigma_decay_steps", "weight_decay", "antithetic"}
        opts = _checked_opts(opts, known | {"centered_rank"}, "OpenAIES")
        seed = opts.pop("seed", 0)
        super().__init__(openai_es(**opts), x0, sigma0, seed)
