"""What the baselines in ``examples/`` share: an algorithm is a :class:`~lagomjax.baselines.loop.Agent`
of pure functions; ``loop`` runs it on functional envs inside one ``jit``, ``gym_loop`` on any
gymnasium id through lagom's runners, ``offpolicy`` and ``replay`` add a replay buffer, ``driver`` is
the command line (flags, seeds in one program, progress, checkpoints, lagom's log layout, table,
learning curve); ``losses``, ``nets`` and ``evaluation`` are the common pieces."""

from lagomjax.baselines.evaluation import evaluate
from lagomjax.baselines.loop import Agent, functional_parts, make_envs, make_parts
from lagomjax.baselines.losses import clipped_surrogate_loss, normalize, value_loss

__all__ = [
    "Agent",
    "clipped_surrogate_loss",
    "evaluate",
    "functional_parts",
    "make_envs",
    "make_parts",
    "normalize",
    "value_loss",
]
