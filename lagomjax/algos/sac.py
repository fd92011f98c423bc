"""SAC (Haarnoja et al. 2018, arXiv:1812.05905) with twin critics and automatic temperature tuning,
end to end inside one ``jax.jit``.

    python -m lagomjax.train sac --env Pendulum-v1 --num-seeds 8 --total-steps 20000

The policy is a tanh-squashed Gaussian in ``[-1, 1]`` (the env rescales actions). The temperature
``alpha`` is learned so that the policy's entropy tracks ``target_entropy`` (``-action_dim`` by
default). Only ``terminated`` stops bootstrapping: time-limit truncations bootstrap.
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

NAME = "SAC"


@dataclass(frozen=True)
class Config(OffPolicyConfig):
    lr: float = 1e-3  # Adam learning rate of actor, critics and temperature
    tau: float = 0.005  # Polyak rate of the target critics
    learning_starts: int = 100
    init_alpha: float = 1.0  # initial temperature
    target_entropy: float = 0.0  # 0 means -action_dim


@struct.dataclass
class Learner:
    actor: dict
    critic: dict
    target_critic: dict
    log_alpha: jnp.ndarray
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState


def make_agent(config: Config, action_space):
    offpolicy.check_action_space("SAC", action_space, gym.spaces.Box)
    action_dim = action_space.shape[0]
    target_entropy = jnp.where(config.target_entropy == 0.0, -float(action_dim), config.target_entropy)
    actor = networks.SquashedGaussianActor(action_dim, config.hidden_sizes, config.activation)
    critic = networks.ContinuousQ(config.hidden_sizes, config.activation, num_critics=2)
    opt = optax.adam(config.lr)

    def init_learner(key, obs):
        k_actor, k_critic = jax.random.split(key)
        a = actor.init(k_actor, obs)
        c = critic.init(k_critic, obs, jnp.zeros((*obs.shape[:1], action_dim)))
        log_alpha = jnp.log(jnp.float32(config.init_alpha))
        return Learner(a, c, c, log_alpha, opt.init(a), opt.init(c), opt.init(log_alpha))

    def greedy(learner, obs):
        return jnp.tanh(actor.apply(learner.actor, obs).distribution.mean())

    def policy(learner, key, obs, steps):
        return actor.apply(learner.actor, obs).sample(seed=key)

    def critic_loss(params, learner, batch, key):
        alpha = jnp.exp(learner.log_alpha)
        next_action, next_logp = actor.apply(learner.actor, batch["next_obs"]).sample_and_log_prob(seed=key)
        q_next = critic.apply(learner.target_critic, batch["next_obs"], next_action).min(axis=0)
        soft_next = q_next - alpha * next_logp
        target = batch["rewards"] + config.gamma * (1.0 - batch["terminated"]) * soft_next
        q = critic.apply(params, batch["obs"], batch["actions"])
        td_error = q - jax.lax.stop_gradient(target)
        return 0.5 * jnp.mean(jnp.square(td_error).sum(axis=0)), td_error[0]

    def actor_loss(params, learner, obs, key):
        action, logp = actor.apply(params, obs).sample_and_log_prob(seed=key)
        q = critic.apply(learner.critic, obs, action).min(axis=0)
        return jnp.mean(jnp.exp(learner.log_alpha) * logp - q), logp

    def alpha_loss(log_alpha, logp):
        return -jnp.mean(log_alpha * jax.lax.stop_gradient(logp + target_entropy))

    def train_step(learner, batch, weights, key, step):
        k_critic, k_actor = jax.random.split(key)
        (c_loss, td_error), grads = jax.value_and_grad(critic_loss, has_aux=True)(
            learner.critic, learner, batch, k_critic
        )
        updates, c_opt = opt.update(grads, learner.critic_opt)
        c = optax.apply_updates(learner.critic, updates)
        learner = learner.replace(critic=c, critic_opt=c_opt)
        (a_loss, logp), grads = jax.value_and_grad(actor_loss, has_aux=True)(
            learner.actor, learner, batch["obs"], k_actor
        )
        updates, a_opt = opt.update(grads, learner.actor_opt)
        al_loss, grads = jax.value_and_grad(alpha_loss)(learner.log_alpha, logp)
        updates_alpha, alpha_opt = opt.update(grads, learner.alpha_opt)
        learner = learner.replace(
            actor=optax.apply_updates(learner.actor, updates),
            actor_opt=a_opt,
            log_alpha=optax.apply_updates(learner.log_alpha, updates_alpha),
            alpha_opt=alpha_opt,
            target_critic=polyak_update(learner.target_critic, c, 1.0 - config.tau),
        )
        metrics = {
            "critic_loss": c_loss,
            "actor_loss": a_loss,
            "alpha": jnp.exp(learner.log_alpha),
            "entropy": -jnp.mean(logp),
        }
        return learner, td_error, metrics

    return offpolicy.make_agent(config, init_learner, policy, greedy, train_step, offpolicy.uniform_actions(action_dim))


make_parts, make_train = entry_points(make_agent)
