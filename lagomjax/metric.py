r"""RL metrics: returns, TD targets and errors, GAE and V-trace, as pure time-major functions.

Every function takes ``[T, *B]`` arrays (axis 0 is time, any trailing axes are batch) and runs one
``lax.scan`` over axis 0 (no ``vmap``), so ``[T]``, ``[T, B]`` and ``[T, B, N]`` all work, under
``jit``, ``vmap`` and ``grad``. Python lists, NumPy and JAX arrays are accepted.

Two families:

* **Single segment** (lagom's pinned signatures): the ``T`` steps are one piece of one episode.
  ``last_V = V(s_T)`` has shape ``*B`` (or broadcasts to it) and ``reach_terminal`` says whether
  ``s_T`` is terminal. The bootstrap value is ``Bv = 0 if reach_terminal else last_V`` and
  ``V_ext = [V_0, ..., V_{T-1}, Bv]``.

* **Rollout** (``*_rollout``): a ``[T, *B]`` batch from auto-resetting vectorised environments, in
  which episodes end and restart anywhere. Each step ``t`` carries its reward ``r_t``, the value
  ``V_t = V(s_t)``, and the value of the **true next observation** ``next_V_t = V(s'_{t+1})`` (when
  an episode ends at ``t`` that is the episode's final observation, never the observation the
  auto-reset put in its place), plus two separate flags:

  - ``terminated_t``: ``s'_{t+1}`` is an MDP terminal, so nothing is bootstrapped from it;
  - ``truncated_t``: the episode was cut (time limit); bootstrap from ``next_V_t``.

  Accumulation never crosses an episode end, and the end of the batch (``t = T-1``) is treated as a
  truncation, so the last step bootstraps from ``next_V_{T-1}``. Applied to a single episode these
  equal the single-segment functions with ``last_V = next_V_{T-1}`` and
  ``reach_terminal = terminated_{T-1}``.

Example (two episodes in one column, a termination then a time-limit truncation)::

    >>> r    = jnp.array([1., 1., 1., 1.])
    >>> V    = jnp.array([.5, .5, .5, .5])
    >>> nV   = jnp.array([.5, 9., .5, 7.])        # V(true next obs); 9. is never used
    >>> term = jnp.array([False, True, False, False])
    >>> trunc = jnp.array([False, False, False, True])
    >>> bootstrapped_returns_rollout(1.0, r, nV, term, trunc)
    Array([2., 1., 9., 8.], dtype=float32)

Reference: Schulman et al. 2016 (GAE, arXiv:1506.02438); Espeholt et al. 2018 (V-trace,
arXiv:1802.01561); Pardo et al. 2018 (time limits, arXiv:1712.00378).
"""

from __future__ import annotations

import jax.numpy as jnp

from lagomjax._checks import (
    as_bool_array,
    as_float_array,
    check_broadcasts_to,
    check_nonnegative,
    check_rank_at_least,
    check_same_shape,
    check_unit_interval,
)
from lagomjax.transform.scan import reverse_linear_scan

__all__ = [
    "returns",
    "bootstrapped_returns",
    "td0_target",
    "td0_error",
    "gae",
    "vtrace",
    "returns_rollout",
    "bootstrapped_returns_rollout",
    "td0_target_rollout",
    "td0_error_rollout",
    "gae_rollout",
    "vtrace_rollout",
    "next_values",
]


# ----------------------------------------------------------------------------------------------
# argument handling
# ----------------------------------------------------------------------------------------------


def _rewards(rewards, name="rewards"):
    rewards = as_float_array(name, rewards)
    check_rank_at_least(name, rewards, 1)
    return rewards


def _like(name, x, rewards, dtype=None):
    x = as_float_array(name, x).astype(dtype or rewards.dtype)
    check_same_shape(name, x, "rewards", rewards)
    return x


def _flag(name, x, rewards):
    x = as_bool_array(name, x)
    check_same_shape(name, x, "rewards", rewards)
    return x


def _bootstrap(last_V, reach_terminal, rewards):
    """``Bv = 0 if reach_terminal else last_V``, broadcast to the batch shape ``*B``."""
    batch = rewards.shape[1:]
    last_V = as_float_array("last_V", last_V).astype(rewards.dtype)
    if not batch and last_V.shape == (1,):  # lagom's agents pass V(s_T) of shape [1] for a [T] segment
        last_V = last_V[0]
    check_broadcasts_to("last_V", last_V, batch, "the batch shape rewards.shape[1:] =")
    reach_terminal = as_bool_array("reach_terminal", reach_terminal)
    check_broadcasts_to("reach_terminal", reach_terminal, batch, "the batch shape rewards.shape[1:] =")
    return jnp.broadcast_to(jnp.where(reach_terminal, 0.0, last_V), batch).astype(rewards.dtype)


def _next_V(Vs, Bv):
    """``V_ext[1:] = [V_1, ..., V_{T-1}, Bv]``."""
    return jnp.concatenate([Vs[1:], Bv[None]], axis=0)


def _segment_end(truncated):
    """Truncation flags with the end of the batch counted as a truncation."""
    return truncated.at[-1].set(True)


# ----------------------------------------------------------------------------------------------
# single segment (lagom's pinned signatures)
# ----------------------------------------------------------------------------------------------


def returns(gamma, rewards):
    r"""Discounted returns of one segment, never bootstrapped.

    .. math:: G_t = \sum_{k \ge t} \gamma^{k-t} r_k

    Args:
      gamma: discount in ``[0, 1]``.
      rewards: ``[T, *B]``.

    Returns:
      ``[T, *B]``.

    Example:
      >>> returns(0.1, [1, 2, 3, 4, 5])
      Array([1.2345, 2.345 , 3.45  , 4.5   , 5.    ], dtype=float32)
    """
    check_unit_interval("gamma", gamma)
    return reverse_linear_scan(_rewards(rewards), gamma)


def bootstrapped_returns(gamma, rewards, last_V, reach_terminal):
    r"""Discounted returns of one segment bootstrapped from ``V(s_T)``.

    .. math:: G_t = \sum_{k=t}^{T-1} \gamma^{k-t} r_k + \gamma^{T-t} B_v, \qquad
              B_v = 0 \text{ if reach\_terminal else last\_V}

    Args:
      gamma: discount in ``[0, 1]``.
      rewards: ``[T, *B]``.
      last_V: ``V(s_T)``, shape ``*B`` or broadcastable to it.
      reach_terminal: bool, or a bool array broadcastable to ``*B``.

    Example:
      >>> bootstrapped_returns(0.99, [0.1, 0.2, 0.3, 0.4], 2, False)
      Array([2.901342, 2.829638, 2.6562  , 2.38    ], dtype=float32)
    """
    check_unit_interval("gamma", gamma)
    rewards = _rewards(rewards)
    return reverse_linear_scan(rewards, gamma, init=_bootstrap(last_V, reach_terminal, rewards))


def td0_target(gamma, rewards, Vs, last_V, reach_terminal):
    r"""One-step TD targets :math:`r_t + \gamma V_{ext}[t+1]`.

    Args:
      gamma: discount in ``[0, 1]``.
      rewards, Vs: ``[T, *B]``.
      last_V: ``V(s_T)``, broadcastable to ``*B``.
      reach_terminal: bool or bool array broadcastable to ``*B``.

    Example:
      >>> td0_target(0.99, [0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4], 2, False)
      Array([2.08, 3.17, 4.26, 2.38], dtype=float32)
    """
    check_unit_interval("gamma", gamma)
    rewards = _rewards(rewards)
    Vs = _like("Vs", Vs, rewards)
    return rewards + gamma * _next_V(Vs, _bootstrap(last_V, reach_terminal, rewards))


def td0_error(gamma, rewards, Vs, last_V, reach_terminal):
    r"""One-step TD errors :math:`\delta_t = r_t + \gamma V_{ext}[t+1] - V_{ext}[t]`.

    Shapes as in :func:`td0_target`.

    Example:
      >>> td0_error(0.1, [0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4], 2, True)
      Array([-0.7, -1.5, -2.3, -3.6], dtype=float32)
    """
    rewards = _rewards(rewards)
    Vs = _like("Vs", Vs, rewards)
    return td0_target(gamma, rewards, Vs, last_V, reach_terminal) - Vs


def gae(gamma, lam, rewards, Vs, last_V, reach_terminal):
    r"""Generalized advantage estimates of one segment.

    .. math:: A_t = \sum_{k \ge 0} (\gamma\lambda)^k \delta_{t+k}, \qquad
              \delta_t = r_t + \gamma V_{ext}[t+1] - V_{ext}[t]

    Args:
      gamma: discount in ``[0, 1]``.
      lam: GAE :math:`\lambda` in ``[0, 1]``.
      rewards, Vs: ``[T, *B]``.
      last_V: ``V(s_T)``, broadcastable to ``*B``.
      reach_terminal: bool or bool array broadcastable to ``*B``.

    Example:
      >>> gae(1.0, 0.5, [1, 2, 3], [0.1, 1.1, 2.1], 10, True)
      Array([3.725, 3.45 , 0.9  ], dtype=float32)
    """
    check_unit_interval("lam", lam)
    return reverse_linear_scan(td0_error(gamma, rewards, Vs, last_V, reach_terminal), gamma * lam)


def vtrace(behavior_logprobs, target_logprobs, gamma, Rs, Vs, last_V, reach_terminal, clip_rho=1.0, clip_pg_rho=1.0):
    r"""V-trace value targets and policy-gradient advantages of one segment.

    .. math::
       \rho_t = e^{\log\pi(a_t|s_t) - \log\mu(a_t|s_t)}, \quad
       (v_s - V)_t = \min(\bar\rho, \rho_t)\,\delta_t + \gamma \min(1, \rho_t)\,(v_s - V)_{t+1}, \\
       A_t = \min(\bar\rho_{pg}, \rho_t)\,(R_t + \gamma v_{s, t+1} - V_t), \qquad v_{s,T} = B_v

    Args:
      behavior_logprobs: ``[T, *B]`` log-probabilities of the actions under the behaviour policy.
      target_logprobs: ``[T, *B]`` log-probabilities under the target policy.
      gamma: discount in ``[0, 1]``.
      Rs: ``[T, *B]`` rewards.
      Vs: ``[T, *B]`` values ``V(s_t)``.
      last_V: ``V(s_T)``, broadcastable to ``*B``.
      reach_terminal: bool or bool array broadcastable to ``*B``.
      clip_rho: :math:`\bar\rho`, truncation of the importance weight in the value target.
      clip_pg_rho: :math:`\bar\rho_{pg}`, truncation in the advantage.

    Returns:
      ``(vs, As)``, both ``[T, *B]``.

    Example:
      >>> vs, As = vtrace([0, 0, 0], jnp.log(jnp.array([.5, 1, 2])), 0.9, [1, 0, 2], [.5, 1, 1.5], 3, False)
      >>> vs, As
      (Array([2.6535, 4.23  , 4.7   ], dtype=float32), Array([2.1535, 3.23  , 3.2   ], dtype=float32))
    """
    check_unit_interval("gamma", gamma)
    check_nonnegative("clip_rho", clip_rho)
    check_nonnegative("clip_pg_rho", clip_pg_rho)
    Rs = _rewards(Rs, "Rs")
    Vs = _like("Vs", Vs, Rs)
    rhos = _importance_weights(behavior_logprobs, target_logprobs, Rs)
    Bv = _bootstrap(last_V, reach_terminal, Rs)
    next_V = _next_V(Vs, Bv)
    deltas = jnp.minimum(clip_rho, rhos) * (Rs + gamma * next_V - Vs)
    vs = Vs + reverse_linear_scan(deltas, gamma * jnp.minimum(1.0, rhos))
    next_vs = _next_V(vs, Bv)
    As = jnp.minimum(clip_pg_rho, rhos) * (Rs + gamma * next_vs - Vs)
    return vs, As


def _importance_weights(behavior_logprobs, target_logprobs, Rs):
    behavior_logprobs = _like("behavior_logprobs", behavior_logprobs, Rs)
    target_logprobs = _like("target_logprobs", target_logprobs, Rs)
    return jnp.exp(target_logprobs - behavior_logprobs)


# ----------------------------------------------------------------------------------------------
# rollouts from auto-resetting vectorised environments
# ----------------------------------------------------------------------------------------------


def next_values(Vs, last_V, done, final_Vs):
    r"""Values of the true next observations for a rollout.

    .. math:: next\_V_t = \begin{cases} final\_V_t & \text{done}_t \\ V_{t+1} & \text{otherwise}
              \end{cases}, \qquad V_T = last\_V

    where ``final_Vs[t]`` is ``V`` of the episode's true final observation at the steps that ended
    one (what the auto-reset replaced; its value elsewhere is ignored).

    Args:
      Vs: ``[T, *B]`` values of the observations the policy acted on.
      last_V: ``*B``, value of the observation after the last step.
      done: ``[T, *B]`` bool, ``terminated | truncated``.
      final_Vs: ``[T, *B]`` values of the true final observations.

    Returns:
      ``next_Vs``, ``[T, *B]``, ready for the ``*_rollout`` functions.
    """
    Vs = as_float_array("Vs", Vs)
    check_rank_at_least("Vs", Vs, 1)
    final_Vs = _like("final_Vs", final_Vs, Vs)
    done = as_bool_array("done", done)
    check_same_shape("done", done, "Vs", Vs)
    last_V = as_float_array("last_V", last_V).astype(Vs.dtype)
    check_broadcasts_to("last_V", last_V, Vs.shape[1:], "the batch shape Vs.shape[1:] =")
    return jnp.where(done, final_Vs, _next_V(Vs, jnp.broadcast_to(last_V, Vs.shape[1:])))


def returns_rollout(gamma, rewards, terminated, truncated):
    r"""Discounted returns of a rollout, cut at every episode end and never bootstrapped.

    .. math:: G_t = r_t + \gamma (1 - d_t) G_{t+1}, \qquad d_t = terminated_t \lor truncated_t,
              \quad G_T = 0

    Args:
      gamma: discount in ``[0, 1]``.
      rewards, terminated, truncated: ``[T, *B]``.
    """
    check_unit_interval("gamma", gamma)
    rewards = _rewards(rewards)
    done = _flag("terminated", terminated, rewards) | _flag("truncated", truncated, rewards)
    return reverse_linear_scan(rewards, gamma * (1.0 - done.astype(rewards.dtype)))


def bootstrapped_returns_rollout(gamma, rewards, next_Vs, terminated, truncated):
    r"""Discounted returns of a rollout, bootstrapped at truncations and at the end of the batch.

    .. math:: G_t = r_t + \gamma (1 - term_t)\,[\,cut_t\, next\_V_t + (1 - cut_t)\, G_{t+1}\,],
              \qquad cut_t = truncated_t \lor (t = T-1)

    Args:
      gamma: discount in ``[0, 1]``.
      rewards, next_Vs, terminated, truncated: ``[T, *B]``.
    """
    check_unit_interval("gamma", gamma)
    rewards = _rewards(rewards)
    next_Vs = _like("next_Vs", next_Vs, rewards)
    alive = 1.0 - _flag("terminated", terminated, rewards).astype(rewards.dtype)
    cut = _segment_end(_flag("truncated", truncated, rewards)).astype(rewards.dtype)
    return reverse_linear_scan(rewards + gamma * alive * cut * next_Vs, gamma * alive * (1.0 - cut))


def td0_target_rollout(gamma, rewards, next_Vs, terminated):
    r"""One-step TD targets of a rollout :math:`r_t + \gamma (1 - term_t)\, next\_V_t`.

    Truncation does not enter: a truncated step bootstraps from its true final observation like any
    other non-terminal step.

    Args:
      gamma: discount in ``[0, 1]``.
      rewards, next_Vs, terminated: ``[T, *B]``.
    """
    check_unit_interval("gamma", gamma)
    rewards = _rewards(rewards)
    next_Vs = _like("next_Vs", next_Vs, rewards)
    alive = 1.0 - _flag("terminated", terminated, rewards).astype(rewards.dtype)
    return rewards + gamma * alive * next_Vs


def td0_error_rollout(gamma, rewards, Vs, next_Vs, terminated):
    r"""One-step TD errors of a rollout :math:`r_t + \gamma (1 - term_t)\, next\_V_t - V_t`.

    Args:
      gamma: discount in ``[0, 1]``.
      rewards, Vs, next_Vs, terminated: ``[T, *B]``.
    """
    rewards = _rewards(rewards)
    Vs = _like("Vs", Vs, rewards)
    return td0_target_rollout(gamma, rewards, next_Vs, terminated) - Vs


def gae_rollout(gamma, lam, rewards, Vs, next_Vs, terminated, truncated):
    r"""Generalized advantage estimates of a rollout, cut at every episode end.

    .. math:: A_t = \delta_t + \gamma\lambda (1 - d_t) A_{t+1}, \qquad
              \delta_t = r_t + \gamma (1 - term_t)\, next\_V_t - V_t, \quad A_T = 0

    with ``d_t = terminated_t | truncated_t``. Value targets for the critic are ``A + Vs``.

    Args:
      gamma: discount in ``[0, 1]``.
      lam: GAE :math:`\lambda` in ``[0, 1]``.
      rewards, Vs, next_Vs, terminated, truncated: ``[T, *B]``.

    Example:
      >>> r, V = jnp.ones((3, 2)), jnp.zeros((3, 2))
      >>> term = jnp.array([[False, False], [True, False], [False, False]])
      >>> gae_rollout(1.0, 1.0, r, V, V, term, jnp.zeros((3, 2), bool))[:, 0]
      Array([2., 1., 1.], dtype=float32)
    """
    check_unit_interval("lam", lam)
    rewards = _rewards(rewards)
    deltas = td0_error_rollout(gamma, rewards, Vs, next_Vs, terminated)
    done = _flag("terminated", terminated, rewards) | _flag("truncated", truncated, rewards)
    return reverse_linear_scan(deltas, gamma * lam * (1.0 - done.astype(rewards.dtype)))


def vtrace_rollout(
    behavior_logprobs,
    target_logprobs,
    gamma,
    rewards,
    Vs,
    next_Vs,
    terminated,
    truncated,
    clip_rho=1.0,
    clip_pg_rho=1.0,
):
    r"""V-trace targets and advantages of a rollout, cut at every episode end.

    .. math::
       (v_s - V)_t = \min(\bar\rho, \rho_t)\,\delta_t + \gamma (1 - d_t) \min(1, \rho_t)\,(v_s - V)_{t+1},
       \quad \delta_t = r_t + \gamma (1 - term_t)\, next\_V_t - V_t \\
       A_t = \min(\bar\rho_{pg}, \rho_t)\,(r_t + \gamma (1 - term_t)\, next\_v_{s,t} - V_t), \quad
       next\_v_{s,t} = next\_V_t \text{ if } cut_t \text{ else } v_{s,t+1}

    with ``d_t = terminated_t | truncated_t`` and ``cut_t = d_t | (t = T-1)``.

    Args:
      behavior_logprobs, target_logprobs: ``[T, *B]`` log-probabilities of the taken actions.
      gamma: discount in ``[0, 1]``.
      rewards, Vs, next_Vs, terminated, truncated: ``[T, *B]``.
      clip_rho, clip_pg_rho: importance-weight truncations.

    Returns:
      ``(vs, As)``, both ``[T, *B]``.
    """
    check_unit_interval("gamma", gamma)
    check_nonnegative("clip_rho", clip_rho)
    check_nonnegative("clip_pg_rho", clip_pg_rho)
    rewards = _rewards(rewards)
    Vs = _like("Vs", Vs, rewards)
    next_Vs = _like("next_Vs", next_Vs, rewards)
    rhos = _importance_weights(behavior_logprobs, target_logprobs, rewards)
    term = _flag("terminated", terminated, rewards)
    alive = 1.0 - term.astype(rewards.dtype)
    done = term | _flag("truncated", truncated, rewards)
    deltas = jnp.minimum(clip_rho, rhos) * (rewards + gamma * alive * next_Vs - Vs)
    vs = Vs + reverse_linear_scan(deltas, gamma * (1.0 - done.astype(rewards.dtype)) * jnp.minimum(1.0, rhos))
    cut = _segment_end(done)
    next_vs = jnp.where(cut, next_Vs, jnp.concatenate([vs[1:], vs[-1:]], axis=0))
    As = jnp.minimum(clip_pg_rho, rhos) * (rewards + gamma * alive * next_vs - Vs)
    return vs, As
