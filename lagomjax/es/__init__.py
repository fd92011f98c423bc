"""Evolution strategies as pure, jittable ask/tell functions, plus lagom-style stateful classes.

Every factory returns a :class:`Strategy` ``(init, ask, tell, result)`` of pure functions; state is a
pytree whose dtypes never change, so a generation compiles once, runs inside ``lax.scan`` and vmaps
over seeds or restarts. Minimisation throughout; a NaN fitness counts as the worst value.
"""

from lagomjax.es.base import Result, Strategy
from lagomjax.es.cem import CEMState, cem
from lagomjax.es.cmaes import CMAESState, cmaes, default_popsize
from lagomjax.es.objectives import ellipsoid, holder_table, rastrigin, rosenbrock, sphere, styblinski_tang
from lagomjax.es.openai_es import OpenAIESState, openai_es
from lagomjax.es.stateful import CEM, CMAES, BaseES, OpenAIES

__all__ = [
    "BaseES",
    "CEM",
    "CEMState",
    "CMAES",
    "CMAESState",
    "OpenAIES",
    "OpenAIESState",
    "Result",
    "Strategy",
    "cem",
    "cmaes",
    "default_popsize",
    "ellipsoid",
    "holder_table",
    "openai_es",
    "rastrigin",
    "rosenbrock",
    "sphere",
    "styblinski_tang",
]
