"""DDPG (Lillicrap et al. 2016, arXiv:1509.02971), end to end inside one ``jax.jit``.

    python examples/ddpg.py --env Pendulum-v1 --num-seeds 8 --total-steps 20000

One critic, a deterministic actor with Gaussian exploration noise, and Polyak-averaged targets for
both, as in stable-baselines3 (TD3 without its three changes: see examples/td3.py). Only
``terminated`` stops bootstrapping: time-limit truncations bootstrap from the true final observation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax.baselines import driver, loop, nets, offpolicy
from lagomjax.transform import polyak_update


@dataclass(frozen=True)
class Config:
    env_id: str = "Pendulum-v1"  # a functional environment id, or any gymnasium id (Python path)
    num_envs: int = 1  # environments stepped in parallel per seed
    num_steps: int = 1  # steps per environment between learning phases
    total_steps: int = 20_000  # environment steps per seed
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    gamma: float = 0.98  # discount (RL Zoo's Pendulum value)
    tau: float = 0.005  # Polyak rate of the target networks
    buffer_size: int = 200_000
    batch_size: int = 256  # transitions per gradient step
    learning_starts: int = 1_000  # uniform random actions before this many steps
    gradient_steps: int = 1  # gradient steps after every rollout
    exploration_noise: float = 0.1  # std of the Gaussian added to the actor's action
    hidden_sizes: tuple = (64, 64)  # small nets learn Pendulum and are ~10x faster on CPU than 256-wide
    activation: str = "relu"
    eval_episodes: int = 16  # deterministic evaluation episodes at the end

    @property
    def num_updates(self) -> int:
        return self.total_steps // (self.num_envs * self.num_steps)

    def __post_init__(self):
        driver.check_rollout_config(self)


@struct.dataclass
class Learner:
    actor: dict
    critic: dict
    target_actor: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState


def make_agent(config: Config, action_space) -> loop.Agent:
    action_dim = action_space.shape[0]
    actor = nets.DeterministicActor(action_dim, config.hidden_sizes, config.activation)
    critic = nets.ContinuousQ(config.hidden_sizes, config.activation)
    actor_opt, critic_opt = optax.adam(config.actor_lr), optax.adam(config.critic_lr)

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

    def critic_loss(params, learner, batch):
        next_action = actor.apply(learner.target_actor, batch["next_obs"])
        q_next = critic.apply(learner.target_critic, batch["next_obs"], next_action)
        target = batch["rewards"] + config.gamma * (1.0 - batch["terminated"]) * q_next
        td_error = critic.apply(params, batch["obs"], batch["actions"]) - jax.lax.stop_gradient(target)
        return jnp.mean(jnp.square(td_error)), td_error

    def actor_loss(params, critic_params, obs):
        return -jnp.mean(critic.apply(critic_params, obs, actor.apply(params, obs)))

    def train_step(learner, batch, weights, key, step):
        (c_loss, td_error), grads = jax.value_and_grad(critic_loss, has_aux=True)(learner.critic, learner, batch)
        updates, c_opt = critic_opt.update(grads, learner.critic_opt)
        c = optax.apply_updates(learner.critic, updates)
        a_loss, grads = jax.value_and_grad(actor_loss)(learner.actor, c, batch["obs"])
        updates, a_opt = actor_opt.update(grads, learner.actor_opt)
        a = optax.apply_updates(learner.actor, updates)
        target_actor = polyak_update(learner.target_actor, a, 1.0 - config.tau)
        target_critic = polyak_update(learner.target_critic, c, 1.0 - config.tau)
        learner = Learner(a, c, target_actor, target_critic, a_opt, c_opt)
        return learner, td_error, {"critic_loss": c_loss, "actor_loss": a_loss}

    return offpolicy.make_agent(
        config,
        init_learner=init_learner,
        policy=policy,
        greedy=greedy,
        train_step=train_step,
        random_action=offpolicy.uniform_actions(action_dim),
    )


def make_parts(config: Config) -> driver.TrainParts:
    return loop.make_parts(config, make_agent)


def make_train(config: Config):
    """``train(key) -> (state, metrics)`` in one jittable function (see examples/ppo.py)."""
    return loop.make_train(config, make_agent)


def main(argv=None):
    return driver.main("DDPG", Config, argv, __doc__, make_agent=make_agent)


if __name__ == "__main__":
    main(sys.argv[1:])
