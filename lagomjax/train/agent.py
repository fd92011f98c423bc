"""An algorithm as an :class:`Agent`: pure functions of its state, one policy signature.

Every policy carries a *policy state* (an LSTM carry for a recurrent policy, ``()`` for a
feed-forward one), so recurrent and feed-forward agents run through the same loops: the loops zero
the policy state of the environments whose episode ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


def no_policy_state(batch_shape: tuple):
    """The policy state of a feed-forward policy: the empty pytree."""
    return ()


class Agent(NamedTuple):
    """An algorithm as pure functions of its state (params, optimiser states, replay buffer, counters).

    - ``init(key, obs) -> state``; ``obs`` is a batch of observations ``[B, ...]``, for shapes.
    - ``act(state, key, obs, policy_state) -> (action, extras, policy_state)``: the behaviour
      policy; ``extras`` (log-probs, values, ...) are stored in ``rollout.extras``.
    - ``learn(state, rollout, key, update_index) -> (state, metrics)``: metrics are scalars.
    - ``greedy(state, obs, policy_state) -> (action, policy_state)``: the deterministic policy used
      for evaluation.
    - ``init_policy_state(batch_shape) -> policy_state``: zeros for ``batch_shape`` environments
      (``()`` for feed-forward policies, the default).
    """

    init: Callable
    act: Callable
    learn: Callable
    greedy: Callable
    init_policy_state: Callable = no_policy_state
