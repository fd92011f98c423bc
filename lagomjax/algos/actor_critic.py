"""What PPO and A2C share: the actor-critic model (feed-forward or recurrent, by ``config.lstm_size``)
behind one calling convention, its acting and greedy policies, and the replay of a rollout that
recomputes log-probs, entropies and values (backpropagation through time for an LSTM).

The model is ``apply(params, policy_state, obs) -> (policy_state, distribution, value)``; a
feed-forward model's policy state is ``()`` and it accepts any leading axes, a recurrent one takes one
step of ``[B, ...]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax import networks
from lagomjax.algos.configs import gradient_clip
from lagomjax.train.agent import Agent, no_policy_state
from lagomjax.transform.ops import zero_where


class Model(NamedTuple):
    init: Callable  # (key, policy_state, obs) -> params
    apply: Callable  # (params, policy_state, obs) -> (policy_state, distribution, value)
    init_policy_state: Callable  # batch_shape -> policy_state
    recurrent: bool


@struct.dataclass
class ActorCriticState:
    params: dict
    opt_state: optax.OptState


def make_model(config, action_space) -> Model:
    """``networks.RecurrentActorCritic`` if ``config.lstm_size > 0``, else ``networks.ActorCritic``."""
    if config.lstm_size > 0:
        net = networks.RecurrentActorCritic(
            action_space,
            config.hidden_sizes,
            config.activation,
            config.lstm_size,
            config.std0,
            config.torso,
            config.weight_init,
        )
        return Model(net.init, net.apply, net.initial_state, True)
    net = networks.ActorCritic(
        action_space, config.hidden_sizes, config.activation, config.std0, config.torso, config.weight_init
    )
    return Model(
        lambda key, pstate, obs: net.init(key, obs),
        lambda params, pstate, obs: (pstate, *net.apply(params, obs)),
        no_policy_state,
        False,
    )


def optimizer(config, num_gradient_steps: int, eps: float = 1e-8) -> optax.GradientTransformation:
    """Adam after the gradient clip (:func:`~lagomjax.algos.configs.gradient_clip`); the learning rate
    decays linearly to 0 over ``num_gradient_steps`` when ``config.anneal_lr``."""
    lr = optax.linear_schedule(config.lr, 0.0, num_gradient_steps) if config.anneal_lr else config.lr
    return optax.chain(gradient_clip(config), optax.adam(lr, eps=eps))


def make_agent(model: Model, opt: optax.GradientTransformation, learn: Callable) -> Agent:
    """An :class:`~lagomjax.train.agent.Agent` acting with ``model`` (sampling, recording ``logp``,
    ``value`` and the ``policy_state`` each step started from) and learning with ``learn``."""

    def init(key, obs):
        params = model.init(key, model.init_policy_state(obs.shape[:1]), obs)
        return ActorCriticState(params, opt.init(params))

    def act(state, key, obs, pstate):
        new_pstate, dist, value = model.apply(state.params, pstate, obs)
        action, logp = dist.sample_and_log_prob(seed=key)
        return action, {"logp": logp, "value": value, "policy_state": pstate}, new_pstate

    def greedy(state, obs, pstate):
        pstate, dist, _ = model.apply(state.params, pstate, obs)
        return networks.mode(dist), pstate

    return Agent(init, act, learn, greedy, model.init_policy_state)


def apply_gradients(opt, state: ActorCriticState, grads) -> ActorCriticState:
    updates, opt_state = opt.update(grads, state.opt_state, state.params)
    return ActorCriticState(optax.apply_updates(state.params, updates), opt_state)


def episode_starts(ro):
    """``[T, B]``: step ``t`` starts from a zeroed policy state because an episode ended at ``t - 1``
    (step 0 starts from the stored ``policy_state``, already zeroed where needed)."""
    done = ro.terminated | ro.truncated
    return jnp.concatenate([jnp.zeros_like(done[:1]), done[:-1]])


def replay(model: Model, params, obs, actions, policy_state, starts):
    """Log-probs of ``actions``, entropies and values along ``obs [T, B, ...]`` under ``params``, and
    the policy state after each step. A recurrent model is scanned from ``policy_state`` (the state
    at ``t = 0``), zeroed where ``starts [T, B]``, exactly as the rollout ran it."""
    if not model.recurrent:
        _, dist, values = model.apply(params, (), obs)
        return dist.log_prob(actions), dist.entropy(), values, ()

    def step(carry, inputs):
        o, a, s = inputs
        carry, dist, value = model.apply(params, zero_where(s, carry), o)
        return carry, (dist.log_prob(a), dist.entropy(), value, carry)

    _, (logp, entropy, values, after) = jax.lax.scan(step, policy_state, (obs, actions, starts))
    return logp, entropy, values, after


def initial_policy_state(ro):
    """The policy state the rollout's first step started from (``()`` for feed-forward policies)."""
    return jax.tree.map(lambda x: x[0], ro.extras["policy_state"])


def next_values(model: Model, params, ro):
    """``V`` of the true next observations ``[T, B]``: after step ``t``'s policy state for a
    recurrent model (replayed over the rollout)."""
    after = ()
    if model.recurrent:
        after = replay(model, params, ro.obs, ro.actions, initial_policy_state(ro), episode_starts(ro))[3]
    return model.apply(params, after, ro.next_obs)[2]
