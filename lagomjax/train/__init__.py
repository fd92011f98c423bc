"""Training, written once for every algorithm.

- :mod:`~lagomjax.train.agent`: an algorithm as an :class:`Agent` of pure functions, one policy
  signature for feed-forward and recurrent policies.
- :mod:`~lagomjax.train.loop`: an Agent plus a functional environment -> :class:`TrainParts`
  (``init / update / finish``) -> ``train(key)`` in one ``jit``.
- :mod:`~lagomjax.train.seeds`: many seeds vmapped, run in compiled chunks (progress from inside
  the program, checkpoint/resume with :mod:`lagomjax.checkpoint`).
- :mod:`~lagomjax.train.gym_loop`: the same Agent on any gymnasium id through lagom's runners.
- :mod:`~lagomjax.train.cli` and :mod:`~lagomjax.train.driver`: the command line
  (``python -m lagomjax.train <algorithm>``).
"""

from lagomjax.train.agent import Agent, no_policy_state
from lagomjax.train.loop import (
    TrainParts,
    entry_points,
    finished_episode_mean,
    functional_parts,
    make_envs,
    train_from_parts,
)
from lagomjax.train.seeds import chunk_size, run_seeds

__all__ = [
    "Agent",
    "TrainParts",
    "chunk_size",
    "entry_points",
    "finished_episode_mean",
    "functional_parts",
    "make_envs",
    "no_policy_state",
    "run_seeds",
    "train_from_parts",
]
