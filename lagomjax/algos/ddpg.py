"""DDPG (Lillicrap et al. 2016, arXiv:1509.02971), end to end inside one ``jax.jit``; also the
implementation TD3 extends (:mod:`lagomjax.algos.td3` only adds its three settings).

    python -m lagomjax.train ddpg --env Pendulum-v1 --num-seeds 8 --total-steps 20000

A deterministic actor with Gaussian exploration noise, Polyak-averaged target networks, and
``num_critics`` critics whose minimum is the target (1 for DDPG, 2 for TD3), with the actor and
targets updated every ``policy_delay`` critic steps and clipped noise on the target action
(``target_noise``, 0 for DDPG). Actions live in ``[-1, 1]`` (the env rescales). Only ``terminated``
stops bootstrapping: time-limit truncations bootstrap from the true final observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax import networks
from lagomjax.algos import offpolicy
from lagomjax.algos.configs import OffPolicyConfig
from lagomjax.train.loop import entry_points
from lagomjax.transform import polyak_update

NAME = "DDPG"


@dataclass(frozen=True)
class Config(OffPolicyConfig):
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    gamma: float = 0.98  # discount (RL Zoo's Pendulum value)
    tau: float = 0.005  # Polyak rate of the target networks
    exploration_noise: float = 0.1  # std of the Gaussian added to the actor's action

    # DDPG's values of TD3's settings (TD3's Config makes them fields)
    num_critics = 1
    policy_delay = 1
    target_noise = 0.0
    target_noise_clip = 0.0


@struct.dataclass
class Learner:
    actor: dict
    critic: dict
    target_actor: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState


def make_agent(config: Config, action_space):
    offpolicy.check_action_space("DDPG/TD3", action_space, gym.spaces.Box)
    action_dim = action_space.shape[0]
    actor = networks.DeterministicActor(action_dim, config.hidden_sizes, config.activation)
    critic = networks.ContinuousQ(config.hidden_sizes, config.activation, num_critics=config.num_critics)
    actor_opt, critic_opt = optax.adam(config.actor_lr), optax.adam(config.critic_lr)

    def q_values(params, obs, action):  # [num_critics, batch]
        q = critic.apply(params, obs, action)
        return q[None] if config.num_critics == 1 else q

    def init_learner(key, obs):
        k_actor, k_critic = jax.random.split(key)
        a = actor.init(k_actor, obs)
        c = critic.init(k_critic, obs, actor.apply(a, obs))
        return Learner(a, c, a, c, actor_opt.init(a), critic_opt.init(c))

    def greedy(learner, obs):
        return actor.apply(learner.actor, obs)

    def policy(learner, key, obs, steps):
        noise = config.exploration_noise * jax.random.normal(key, (*obs.shape[:1], action_dim))
        return jnp.clip(greedy(learner, obs) + noise, -1.0, 1.0)

    def critic_loss(params, learner, batch, key):
        next_action = actor.apply(learner.target_actor, batch["next_obs"])
        if not (isinstance(config.target_noise, (int, float)) and config.target_noise == 0):  # TD3's smoothing
            noise = config.target_noise * jax.random.normal(key, batch["actions"].shape)
            noise = jnp.clip(noise, -config.target_noise_clip, config.target_noise_clip)
            next_action = jnp.clip(next_action + noise, -1.0, 1.0)
        q_next = q_values(learner.target_critic, batch["next_obs"], next_action).min(axis=0)
        target = batch["rewards"] + config.gamma * (1.0 - batch["terminated"]) * q_next
        td_error = q_values(params, batch["obs"], batch["actions"]) - jax.lax.stop_gradient(target)
        return jnp.mean(jnp.square(td_error).sum(axis=0)), td_error[0]

    def actor_loss(params, critic_params, obs):
        return -jnp.mean(q_values(critic_params, obs, actor.apply(params, obs))[0])

    def actor_and_targets(learner, obs):
        a_loss, grads = jax.value_and_grad(actor_loss)(learner.actor, learner.critic, obs)
        updates, a_opt = actor_opt.update(grads, learner.actor_opt)
        a = optax.apply_updates(learner.actor, updates)
        return learner.replace(
            actor=a,
            actor_opt=a_opt,
            target_actor=polyak_update(learner.target_actor, a, 1.0 - config.tau),
            target_critic=polyak_update(learner.target_critic, learner.critic, 1.0 - config.tau),
        ), a_loss

    def train_step(learner, batch, weights, key, step):
        (c_loss, td_error), grads = jax.value_and_grad(critic_loss, has_aux=True)(learner.critic, learner, batch, key)
        updates, c_opt = critic_opt.update(grads, learner.critic_opt)
        learner = learner.replace(critic=optax.apply_updates(learner.critic, updates), critic_opt=c_opt)
        if config.policy_delay == 1:
            learner, a_loss = actor_and_targets(learner, batch["obs"])
        else:  # ``step`` is the same for every seed, so this stays a real branch under vmap
            learner, a_loss = jax.lax.cond(
                step % config.policy_delay == 0,
                actor_and_targets,
                lambda lr, obs: (lr, jnp.float32(jnp.nan)),
                learner,
                batch["obs"],
            )
        return learner, td_error, {"critic_loss": c_loss, "actor_loss": a_loss}

    return offpolicy.make_agent(config, init_learner, policy, greedy, train_step, offpolicy.uniform_actions(action_dim))


make_parts, make_train = entry_points(make_agent)
