"""The algorithms, one module each: ``ppo``, ``vpg`` (VPG/A2C), ``dqn``, ``ddpg``, ``td3``, ``sac``
and ``es_policy``. Each has a typed frozen ``Config`` and ``make_train(config) -> train(key)``, a
pure function running the whole training and a deterministic evaluation in one ``jax.jit``::

    from lagomjax.algos import ppo

    train = ppo.make_train(ppo.Config(total_steps=100_000))
    state, metrics = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 8))

Every module also gives ``make_parts(config)`` (the ``init / update / finish`` triple the command
line runs in chunks) and, except ``es_policy``, ``make_agent(config, action_space)`` (the
:class:`~lagomjax.train.Agent`). What they share: :mod:`~lagomjax.algos.configs` (config fields),
:mod:`~lagomjax.algos.actor_critic` (PPO and A2C), :mod:`~lagomjax.algos.offpolicy` (replay).
:mod:`~lagomjax.algos.policies` loads a trained policy back from a command-line run's directory.
The modules are imported on first use, so ``import lagomjax.algos`` stays light.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("ppo", "vpg", "dqn", "ddpg", "td3", "sac", "es_policy")


def get(name: str) -> ModuleType:
    """The algorithm module ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(NAMES)}")
    return importlib.import_module(f"lagomjax.algos.{name}")


def __getattr__(name: str) -> ModuleType:  # ``from lagomjax.algos import ppo`` and ``algos.ppo``
    if name in NAMES:
        return get(name)
    raise AttributeError(f"module 'lagomjax.algos' has no attribute {name!r}")


__all__ = ["NAMES", "get", *NAMES]
